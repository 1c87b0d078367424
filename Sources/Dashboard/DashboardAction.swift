import Shop

/// What a key asks for. ``DashboardUI`` produces these; ``DashboardApp`` handles the ones about
/// presentation (`quit`, `cycleTheme`, `timeTravel`, `inspect`, `redraw`) itself and hands all
/// others to ``DashboardDataSource/perform(_:)``.
public enum DashboardAction: Sendable, Equatable {
    case quit
    /// Pause or resume the load generator.
    case togglePause
    /// Make the load generator faster (+1) or slower (-1), one step.
    case changeRate(Int)
    /// Stop a running projector, or start a stopped one (by projection name).
    case toggleProjector(String)
    /// Refold the projection from position 1 into a fresh view that replaces the old one.
    case rebuildProjector(String)
    /// A command in the text form of SPEC.md section 2, typed in the palette.
    case submitCommand(String)
    /// Show the views as of a position; nil returns to live.
    case timeTravel(to: UInt64?)
    /// The inspector's selection moved to this position (the app fetches events around it).
    case inspect(from: UInt64)
    /// Switch to the next theme.
    case cycleTheme
    /// Repaint the whole screen (Ctrl-L), for a terminal garbled by something else.
    case redraw

}

/// The four views at one position, for time travel.
public struct DashboardViews: Sendable, Equatable {
    public var shoppers: ShoppersView
    public var warehouse: WarehouseView
    public var finance: FinanceView
    public var support: SupportView

    public init(shoppers: ShoppersView, warehouse: WarehouseView, finance: FinanceView, support: SupportView) {
        self.shoppers = shoppers
        self.warehouse = warehouse
        self.finance = finance
        self.support = support
    }
}

/// Where the dashboard gets its data and sends its actions; implemented by the app layer.
///
/// Every method is called on the dashboard's (curses) thread, once per frame at most for
/// ``snapshot()``, so each must return quickly: read published values, never wait on the writer
/// for long. `Sendable` because the app layer shares the object with its own threads.
public protocol DashboardDataSource: AnyObject, Sendable {
    /// The current state of everything shown.
    func snapshot() -> DashboardSnapshot
    /// Executes a write or control action (pause, rate, projectors, commands) and returns a
    /// one-line message to show, such as `accepted position=P` or `rejected: REASON`.
    func perform(_ action: DashboardAction) -> String?
    /// Up to `count` events starting at `position`, oldest first, for the inspector.
    func events(from position: UInt64, count: Int) -> [EventLine]
    /// The four views as of `position`, or nil if unavailable; may take as long as the fold.
    func viewsAsOf(_ position: UInt64) -> DashboardViews?
    /// The four views as of `position` without blocking: ready, or how far their computation
    /// (on a thread of the source's own) has come. Called every frame until ready. The default
    /// asks ``viewsAsOf(_:)``, for sources that answer at once.
    func timeTravel(to position: UInt64) -> TimeTravelViews
}

extension DashboardDataSource {
    public func timeTravel(to position: UInt64) -> TimeTravelViews { .ready(viewsAsOf(position)) }
}

/// What a time-travel request has produced so far.
public enum TimeTravelViews: Sendable, Equatable {
    /// The views (nil: unavailable).
    case ready(DashboardViews?)
    /// Still folding: `done` of `total` events.
    case computing(done: UInt64, total: UInt64)
}
