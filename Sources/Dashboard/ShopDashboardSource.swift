import CQRS
import Dispatch
import EventStore
import Foundation
import Shop
import Synchronization

/// The dashboard's window onto a running ``ShopSystem``: it turns published views, projector
/// statuses and writer counters into snapshots, and keys into actions on the system.
///
/// Everything here is called on the curses thread and returns quickly: it reads published
/// values (a reference copy each), the log's in-memory tail, and atomic counters. The one
/// exception is a palette command, which waits for its own group commit (a few milliseconds)
/// so that the reply can say `accepted position=P` truthfully.
public final class ShopDashboardSource: DashboardDataSource {
    public let system: ShopSystem
    private let dataFolder: String

    struct Meters {
        var accepted = RateMeter()
        var rejected = RateMeter()
        var events = RateMeter()
        var history = RateHistory()
        /// Watch mode: the writer's load as last asked (monotonic ns, state, rate).
        var writerLoad: (checked: UInt64, state: LoadState, rate: Double)?
        var lastSample: UInt64 = 0
        var sampledHead: UInt64 = 0
        /// The event tail as of `head`: read and decoded again only when the head moves, so an
        /// idle dashboard's frame tick costs next to nothing.
        var recent: (head: UInt64, lines: [EventLine]) = (0, [])
        /// Folds kept for time travel, ascending by position: the last one shown, and one every
        /// ``ShopDashboardSource/timeTravelSpacing`` events or so, so that stepping back refolds a
        /// few thousand events from the nearest earlier fold instead of the whole log.
        var timeTravel: [ShopFold] = []
        /// The time travel being folded off the curses thread, or the last one folded.
        var travel: Travel?
    }

    /// A time travel folded on a thread of its own.
    struct Travel {
        var target: UInt64
        var generation: Int
        var done: UInt64 = 0
        var total: UInt64
        var result: DashboardViews??
    }

    private let travelGeneration = Atomic<Int>(0)

    private let meters = Mutex<Meters>(Meters())
    static let historyLength = 120

    public init(system: ShopSystem) {
        self.system = system
        self.dataFolder = system.directory ?? system.store.description
    }

    public func snapshot() -> DashboardSnapshot {
        let store = system.store
        let head = store.head
        let now = Clock.monotonicNanos()
        let stats = system.writer?.statistics
        let (accepted, rejected, events, history) = meters.withLock { m -> (Double, Double, Double, RateHistory) in
            if let stats {
                m.accepted.record(total: stats.accepted, now: now)
                m.rejected.record(total: stats.rejected, now: now)
                m.events.record(total: stats.events, now: now)
            } else {
                m.events.record(total: head, now: now)
            }
            let a = m.accepted.rate(now: now), r = m.rejected.rate(now: now), e = m.events.rate(now: now)
            let p99 = stats?.appendP99Milliseconds ?? 0
            if now - m.lastSample >= 1_000_000_000 {
                m.lastSample = now
                // An idle system freezes its sparklines instead of scrolling the same sample
                // along them once a second: an idle dashboard then sends nothing at all to the
                // terminal. Any new event, or any rate still settling, resumes the scrolling.
                let h = m.history
                let same = head == m.sampledHead && h.commandsAccepted.last == a && h.commandsRejected.last == r
                    && h.events.last == e && h.appendP99Milliseconds.last == p99
                if !same {
                    m.sampledHead = head
                    Self.push(&m.history.commandsAccepted, a)
                    Self.push(&m.history.commandsRejected, r)
                    Self.push(&m.history.events, e)
                    Self.push(&m.history.appendP99Milliseconds, p99)
                }
            }
            return (a, r, e, m.history)
        }
        let statuses = system.statuses
        var load = LoadState.off
        var loadRate = system.load?.rate ?? 0
        if let driver = system.load {
            load = driver.isPaused ? .paused : .live
        } else if system.writer == nil {
            (load, loadRate) = writerLoad(now: now)
        }
        var snapshot = DashboardSnapshot(
            dataFolder: dataFolder, head: head,
            commandsAcceptedPerSecond: accepted, commandsRejectedPerSecond: rejected, eventsPerSecond: events,
            appendP99Milliseconds: stats?.appendP99Milliseconds ?? 0,
            durability: store.durabilityLabel, load: load, loadRate: loadRate,
            shoppers: system.shoppers.view, warehouse: system.warehouse.view,
            finance: system.finance.view, support: system.support.view,
            projectors: statuses,
            recentEvents: recentEvents(head: head),
            history: history,
            message: stats?.failure.map { "error: the last commit failed: \($0)" }
                ?? statuses.first { $0.error != nil }.map { "error: the \($0.name) projector stopped: \($0.error!) (s starts it again)" }
                ?? system.snapshots?.allNotices.last,
            readOnly: system.writer == nil)
        snapshot.writerGone = system.writer == nil && meters.withLock { $0.writerLoad.map { $0.state == .off } ?? false }
        return snapshot
    }

    private func recentEvents(head: UInt64) -> [EventLine] {
        if let cached = meters.withLock({ $0.recent.head == head ? $0.recent.lines : nil }) { return cached }
        let lines = events(from: head > 30 ? head - 29 : 1, count: 30, details: false)
        meters.withLock { $0.recent = (head, lines) }
        return lines
    }

    private static func push(_ values: inout [Double], _ value: Double) {
        values.append(value)
        if values.count > historyLength { values.removeFirst(values.count - historyLength) }
    }

    public func perform(_ action: DashboardAction) -> String? {
        switch action {
        case .togglePause:
            guard let load = system.load else {
                guard let status = askWriter("status") else { return noWriter }
                return askWriter(status.state == .live ? "pause" : "resume").map { "writer's load: \($0.state.rawValue) at \(Int($0.rate)) commands/s" } ?? noWriter
            }
            if load.isPaused { load.resume(); return "load resumed at \(Int(load.rate)) commands/s" }
            load.pause()
            return "load paused"
        case .changeRate(let step):
            guard let load = system.load else {
                guard let status = askWriter("status") else { return noWriter }
                let rate = LoadDriver.rate(after: status.rate, step: step)
                return askWriter("rate \(Int(rate))").map { "writer's load rate \(Int($0.rate)) commands/s" } ?? noWriter
            }
            load.step(step)
            return "load rate \(Int(load.rate)) commands/s"
        case .toggleProjector(let name):
            if system.isStopped(projector: name) {
                system.start(projector: name)
                return "\(name) projector started: catching up from its checkpoint"
            }
            system.stop(projector: name)
            return "\(name) projector stopped: its view goes stale while the others stay live"
        case .rebuildProjector(let name):
            system.rebuild(projector: name)
            return "rebuilding \(name) from position 1; the old view stays until the new one is done"
        case .submitCommand(let text):
            return submit(text)
        case .quit, .timeTravel, .inspect, .cycleTheme, .redraw:
            return nil
        }
    }

    private var noWriter: String { "error: no writer answers on \(dataFolder) (start `prism serve`)" }

    /// Sends a load-control request to the writer's endpoint (watch mode) and parses its
    /// `ok load=live|paused|off rate=N head=P` answer; nil when no writer answers within 0.2 s.
    private func askWriter(_ request: String) -> (state: LoadState, rate: Double)? {
        guard let answer = try? CommandEndpoint.control(request, dataDirectory: dataFolder, timeoutSeconds: 0.2),
              answer.hasPrefix("ok ") else { return nil }
        var state = LoadState.off
        var rate = 0.0
        for field in answer.split(separator: " ") {
            if field.hasPrefix("load="), let s = LoadState(rawValue: String(field.dropFirst(5))) { state = s }
            if field.hasPrefix("rate="), let r = Double(field.dropFirst(5)) { rate = r }
        }
        // Every answer refreshes what the status line shows, so a key's effect shows at once.
        meters.withLock { $0.writerLoad = (Clock.monotonicNanos(), state, rate) }
        return (state, rate)
    }

    /// The writer's load as its endpoint last reported it, asked at most once a second so that
    /// an idle watcher stays idle (and a hung writer costs the screen 0.2 s a second at worst).
    private func writerLoad(now: UInt64) -> (LoadState, Double) {
        let cached = meters.withLock { $0.writerLoad }
        if let cached, now - cached.checked < 1_000_000_000 { return (cached.state, cached.rate) }
        guard let fresh = askWriter("status") else {
            meters.withLock { $0.writerLoad = (now, .off, 0) }
            return (.off, 0)
        }
        return fresh
    }

    private func submit(_ text: String) -> String {
        if system.writer != nil {
            let system = self.system
            return ((try? runBlocking { await system.submit(text: text) }) ?? .failed("no answer")).description
        }
        do {
            guard let reply = try CommandEndpoint.send(text, commandId: nil, dataDirectory: dataFolder) else {
                return "error: no writer is running on \(dataFolder) (start `prism serve`)"
            }
            return reply.description
        } catch {
            return "error: \(error)"
        }
    }

    public func events(from position: UInt64, count: Int) -> [EventLine] {
        events(from: position, count: count, details: true)
    }

    private func events(from position: UInt64, count: Int, details: Bool) -> [EventLine] {
        guard count > 0, position >= 1 else { return [] }
        var lines: [EventLine] = []
        lines.reserveCapacity(count)
        try? system.store.read(from: position, through: position + UInt64(count) - 1) { record in
            lines.append(Self.line(record, details: details))
            return true
        }
        return lines
    }

    static func line(_ record: EventView, details: Bool) -> EventLine {
        let type = record.type
        let stream = record.stream
        guard let event = try? ShopEvent.decode(record) else {
            return EventLine(position: record.position, type: type, stream: stream, summary: "(undecodable payload)")
        }
        var extra: [String] = []
        if details {
            extra = [
                "position  \(record.position)",
                "stream    \(stream) v\(record.streamVersion)",
                "type      \(type)",
                "time      \(ShopJSON.iso8601(nanos: record.timestampNanos))",
            ]
            if let id = record.commandId { extra.append("command   \(id)") }
            extra.append("data      \(event.dataJSON)")
        }
        return EventLine(position: record.position, type: type, stream: stream, summary: summary(event), details: extra,
                         version: record.streamVersion)
    }

    static func summary(_ event: ShopEvent) -> String {
        func money(_ cents: Int64) -> String { String(format: "$%lld.%02lld", cents / 100, abs(cents % 100)) }
        switch event {
        case .productRegistered(let sku, let name, let price): return "\(sku) \"\(name)\" at \(money(price))"
        case .productRestocked(let sku, let qty): return "\(sku) +\(qty)"
        case .priceChanged(let sku, let price): return "\(sku) now \(money(price))"
        case .orderPlaced(let id, let customer, let lines, let total):
            let items = lines.map { "\($0.sku)x\($0.quantity)" }.joined(separator: " ")
            return "\(id) by \(customer): \(items) = \(money(total))"
        case .paymentReceived(let id, let amount): return "\(id) paid \(money(amount))"
        case .orderShipped(let id): return "\(id) shipped"
        case .orderCancelled(let id, let reason, let refund):
            return refund > 0 ? "\(id) cancelled (\(reason)), refund \(money(refund))" : "\(id) cancelled (\(reason))"
        }
    }

    /// Time travel off the curses thread: a target within ``synchronousReach`` events after a
    /// kept fold (a step, a page) is folded at once; anything farther starts a fold on a thread
    /// of its own, and each frame asks how far it has come until it is ready. A new target
    /// abandons the fold of the old one.
    public func timeTravel(to position: UInt64) -> TimeTravelViews {
        let target = min(position, system.store.head)
        let (travel, near) = meters.withLock { m in
            (m.travel, m.timeTravel.last { $0.position <= target }.map { target - $0.position })
        }
        if let travel, travel.target == target {
            if let result = travel.result { return .ready(result) }
            return .computing(done: travel.done, total: travel.total)
        }
        if let near, near <= Self.synchronousReach {
            let views = viewsAsOf(target)
            meters.withLock { $0.travel = Travel(target: target, generation: travelGeneration.load(ordering: .relaxed), total: 0, result: .some(views)) }
            return .ready(views)
        }
        let generation = travelGeneration.add(1, ordering: .relaxed).newValue
        let total = target - min(target, near.map { target - $0 } ?? 0)
        meters.withLock { $0.travel = Travel(target: target, generation: generation, total: total) }
        let thread = Thread { [self] in
            let views = fold(to: target) { done, total in
                meters.withLock { m in
                    guard m.travel?.generation == generation else { return false }
                    m.travel?.done = done
                    m.travel?.total = total
                    return true
                }
            }
            meters.withLock { m in
                if m.travel?.generation == generation { m.travel?.result = .some(views) }
            }
        }
        thread.name = "prism-time-travel"
        thread.start()
        return .computing(done: 0, total: total)
    }

    /// How many events after a kept fold the curses thread folds itself: a step or a page.
    static let synchronousReach: UInt64 = 20_000

    /// Views as of `position`, folded from the nearest kept fold at or before it (from position
    /// 1 when there is none), so that stepping in either direction stays quick on a long log.
    public func viewsAsOf(_ position: UInt64) -> DashboardViews? {
        fold(to: position) { _, _ in true }
    }

    /// The fold behind ``viewsAsOf(_:)``; `progress(done, total)` is called every few thousand
    /// events and stops the fold (nil) when it returns false.
    private func fold(to position: UInt64, progress: (UInt64, UInt64) -> Bool) -> DashboardViews? {
        let target = min(position, system.store.head)
        var fold = meters.withLock { m -> ShopFold in
            m.timeTravel.last { $0.position <= target } ?? ShopFold()
        }
        // The nearest snapshots at or before the target, when they are nearer than any kept
        // fold: a jump far back folds at most one archive spacing of events, not the log.
        if let snapshots = system.snapshots {
            var resumed = ShopFold()
            let from = resumed.resume(from: snapshots, store: system.store, atOrBefore: target, quiet: true)
            if from > fold.position + 1 { fold = resumed }
        }
        let spacing = max(Self.timeTravelSpacing, target / UInt64(Self.timeTravelFolds))
        var kept: [ShopFold] = []
        let start = fold.position
        var stopped = false
        do {
            if fold.position < target {
                try system.store.read(from: fold.position + 1, through: target) { record in
                    try fold.apply(record)
                    if fold.position % spacing == 0 && fold.position < target { kept.append(fold) }
                    if fold.position % 4096 == 0, !progress(fold.position - start, target - start) {
                        stopped = true
                        return false
                    }
                    return true
                }
            }
        } catch {
            return nil
        }
        if stopped { return nil }
        let folded = fold
        meters.withLock { m in
            var all = m.timeTravel + kept + [folded]
            all.sort { $0.position < $1.position }
            // Keep one fold per position; drop every other old one when there are too many.
            var unique: [ShopFold] = []
            for f in all where unique.last?.position != f.position { unique.append(f) }
            while unique.count > Self.timeTravelFolds + 4 {
                unique = unique.enumerated().filter { $0.offset % 2 == 1 || $0.element.position == folded.position }.map(\.element)
            }
            m.timeTravel = unique
        }
        let v = fold.views
        return DashboardViews(shoppers: v.shoppers, warehouse: v.warehouse, finance: v.finance, support: v.support)
    }

    /// The smallest distance between kept time-travel folds, in events, and about how many are
    /// kept over the log: stepping back refolds at most max(spacing, head / folds) events. Few,
    /// because each fold is a full copy of the four projections' state.
    static let timeTravelSpacing: UInt64 = 2_000
    static let timeTravelFolds = 8
}
