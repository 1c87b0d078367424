import CQRS
import Shop

/// Everything the dashboard shows in one frame, filled by the app layer. A plain value: the
/// dashboard compares two snapshots to decide whether anything needs drawing at all, and tests
/// build one by hand.
public struct DashboardSnapshot: Sendable, Equatable {
    /// Where the log lives, as the user should see it.
    public var dataFolder: String
    /// Position of the last event in the log.
    public var head: UInt64
    public var commandsAcceptedPerSecond: Double
    public var commandsRejectedPerSecond: Double
    public var eventsPerSecond: Double
    /// 99th percentile of append latency, milliseconds.
    public var appendP99Milliseconds: Double
    /// `durable` (fdatasync before acknowledging) or `relaxed`.
    public var durability: String
    /// Name of the theme in use; ``DashboardApp`` overwrites it with the theme it is drawing.
    public var themeName: String
    public var load: LoadState
    /// The load generator's target, commands per second.
    public var loadRate: Double
    /// Set while time travelling: the views are as of this position, and a banner says so.
    public var asOf: UInt64?
    /// The four views; nil means not built yet (or its projector is stopped with no view).
    public var shoppers: ShoppersView?
    public var warehouse: WarehouseView?
    public var finance: FinanceView?
    public var support: SupportView?
    /// One per projection, named `shoppers`, `warehouse`, `finance`, `support`.
    public var projectors: [ProjectorStatus]
    /// The newest events, oldest first, for the event tail.
    public var recentEvents: [EventLine]
    public var history: RateHistory
    /// A one-line note from the app layer (`accepted position=P`, `rejected: REASON`).
    public var message: String?
    /// Watch mode: another process writes; commands, pause and rate are unavailable.
    public var readOnly: Bool
    /// A guided walkthrough's current step, shown in its own panel.
    public var narration: Narration?
    /// Watch mode: no writer answers on the log's endpoint (it was stopped or crashed), so
    /// nothing is being made durable and commands are refused.
    public var writerGone = false

    public init(
        dataFolder: String = "", head: UInt64 = 0,
        commandsAcceptedPerSecond: Double = 0, commandsRejectedPerSecond: Double = 0,
        eventsPerSecond: Double = 0, appendP99Milliseconds: Double = 0,
        durability: String = "durable", themeName: String = "default",
        load: LoadState = .off, loadRate: Double = 0, asOf: UInt64? = nil,
        shoppers: ShoppersView? = nil, warehouse: WarehouseView? = nil,
        finance: FinanceView? = nil, support: SupportView? = nil,
        projectors: [ProjectorStatus] = [], recentEvents: [EventLine] = [],
        history: RateHistory = RateHistory(), message: String? = nil, readOnly: Bool = false,
        narration: Narration? = nil
    ) {
        self.dataFolder = dataFolder
        self.head = head
        self.commandsAcceptedPerSecond = commandsAcceptedPerSecond
        self.commandsRejectedPerSecond = commandsRejectedPerSecond
        self.eventsPerSecond = eventsPerSecond
        self.appendP99Milliseconds = appendP99Milliseconds
        self.durability = durability
        self.themeName = themeName
        self.load = load
        self.loadRate = loadRate
        self.asOf = asOf
        self.shoppers = shoppers
        self.warehouse = warehouse
        self.finance = finance
        self.support = support
        self.projectors = projectors
        self.recentEvents = recentEvents
        self.history = history
        self.message = message
        self.readOnly = readOnly
        self.narration = narration
    }

    /// The status of the projector named `name`, if reported.
    public func projector(named name: String) -> ProjectorStatus? {
        projectors.first { $0.name == name }
    }
}

/// The demo load generator's state.
public enum LoadState: String, Sendable, Equatable {
    case live
    case paused
    /// No load generator (watch mode, or started without one).
    case off
}

/// One event as the event tail and the inspector show it: already decoded by the app layer, so
/// the dashboard needs no knowledge of the log's encoding.
public struct EventLine: Sendable, Equatable {
    public var position: UInt64
    /// The event type's name, e.g. `OrderPlaced`.
    public var type: String
    public var stream: String
    /// The event's version in its stream (1 for the stream's first event); 0 when unknown.
    public var version: UInt64
    /// One line: `alice MUG:2 $25.98`.
    public var summary: String
    /// The decoded fields, one per line (`sku: MUG`), for the inspector's detail box.
    public var details: [String]

    public init(position: UInt64, type: String, stream: String, summary: String, details: [String] = [], version: UInt64 = 0) {
        self.position = position
        self.version = version
        self.type = type
        self.stream = stream
        self.summary = summary
        self.details = details
    }
}

/// Recent samples of the rates, oldest first, one per sampling interval, for sparklines.
public struct RateHistory: Sendable, Equatable {
    public var commandsAccepted: [Double]
    public var commandsRejected: [Double]
    public var events: [Double]
    public var appendP99Milliseconds: [Double]

    public init(
        commandsAccepted: [Double] = [], commandsRejected: [Double] = [], events: [Double] = [],
        appendP99Milliseconds: [Double] = []
    ) {
        self.commandsAccepted = commandsAccepted
        self.commandsRejected = commandsRejected
        self.events = events
        self.appendP99Milliseconds = appendP99Milliseconds
    }
}

/// A guided walkthrough's step: a titled panel of text, and the part of the screen it is about,
/// which the dashboard highlights.
public struct Narration: Sendable, Equatable {
    public enum Target: Sendable, Equatable {
        case pane(DashboardPane)
        case projectors
        case eventTail
        case none
    }

    public var title: String
    public var lines: [String]
    public var target: Target

    public init(title: String, lines: [String], target: Target = .none) {
        self.title = title
        self.lines = lines
        self.target = target
    }
}

/// The four category panes, in key order (1-4).
public enum DashboardPane: Int, Sendable, Equatable, CaseIterable {
    case shoppers, warehouse, finance, support

    public var title: String {
        switch self {
        case .shoppers: "Shoppers"
        case .warehouse: "Warehouse"
        case .finance: "Finance"
        case .support: "Support"
        }
    }

    /// The projection (and projector) that feeds this pane.
    public var projectorName: String {
        switch self {
        case .shoppers: "shoppers"
        case .warehouse: "warehouse"
        case .finance: "finance"
        case .support: "support"
        }
    }
}
