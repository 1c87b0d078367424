import Dashboard
import Foundation
import Synchronization
import Terminal

/// The dashboard's data source during a walkthrough: the shop's own ``ShopDashboardSource``
/// (swapped for a fresh one when the walkthrough goes back), plus the narration panel and the
/// step's message.
public final class WalkthroughDataSource: DashboardDataSource {
    public let display: WalkthroughDisplay
    /// Columns the narration is wrapped to; the run loop sets it from the screen width.
    public let wrapWidth = Atomic<Int>(112)

    public init(display: WalkthroughDisplay) {
        self.display = display
    }

    public func snapshot() -> DashboardSnapshot {
        let d = display.current
        var s = d.source?.snapshot() ?? DashboardSnapshot(dataFolder: "(setting up a fresh log)")
        let width = max(20, wrapWidth.load(ordering: .relaxed))
        let lines = d.paragraphs.flatMap { paragraph -> [String] in
            // List items keep their dash and hang their continuation lines under the text.
            if paragraph.hasPrefix("- ") {
                let wrapped = wrapText(String(paragraph.dropFirst(2)), width: width - 2)
                return wrapped.enumerated().map { ($0.offset == 0 ? "- " : "  ") + $0.element }
            }
            return wrapText(paragraph, width: width)
        }
        s.narration = Narration(title: d.title, lines: lines, target: d.target)
        s.message = d.message
        if let load = d.childLoad {
            s.load = d.writerDown ? .off : (load.paused ? .paused : .live)
            s.loadRate = load.rate
            s.writerGone = d.writerDown
        }
        return s
    }

    public func perform(_ action: DashboardAction) -> String? {
        guard let source = display.current.source else { return "setting up: try again in a moment" }
        return source.perform(action)
    }

    public func events(from position: UInt64, count: Int) -> [EventLine] {
        display.current.source?.events(from: position, count: count) ?? []
    }

    public func viewsAsOf(_ position: UInt64) -> DashboardViews? {
        display.current.source?.viewsAsOf(position)
    }
}

/// The walkthrough keys, on top of the dashboard's: `n` or Right for the next step, `b` or Left
/// for the one before. They give way to whatever is typing or reading keys of its own: the
/// command palette, the event inspector, help, and time travel (where Left and Right step
/// through positions; `n` and `b` still move through the walkthrough).
public enum WalkthroughKeys {
    /// Lines to page the narration by, for Up/Down (one line) and PgUp/PgDn (a page); nil when
    /// the key belongs to something else (a zoomed pane scrolls, time travel steps by 100).
    public static func scroll(for key: Key, ui: DashboardUI, page: Int) -> Int? {
        if ui.palette != nil || ui.inspector != nil || ui.showHelp || ui.zoomed || ui.filterInput != nil { return nil }
        switch key {
        case .up: return -1
        case .down: return 1
        case .pageUp where ui.timeTravel == nil: return -max(1, page)
        case .pageDown where ui.timeTravel == nil: return max(1, page)
        case .char(" ") where ui.timeTravel == nil: return max(1, page)
        default: return nil
        }
    }

    public static func move(for key: Key, ui: DashboardUI) -> WalkthroughDisplay.Move? {
        if ui.palette != nil || ui.inspector != nil || ui.showHelp || ui.filterInput != nil { return nil }
        switch key {
        case .char("n"): return .next
        case .char("b"): return .back
        case .right where ui.timeTravel == nil: return .next
        case .left where ui.timeTravel == nil: return .back
        default: return nil
        }
    }
}

/// The dashboard run loop for a walkthrough: ``DashboardApp``'s loop with the walkthrough keys
/// in front of the dashboard's, and the walkthrough's time travel applied to the session.
public enum WalkthroughApp {
    public static func run(runner: WalkthroughRunner, options: DashboardOptions = DashboardOptions()) throws -> DashboardExit {
        let theme = try options.themeLocator.load(options.theme)
        let source = WalkthroughDataSource(display: runner.display)
        let signals = TerminalGuard()
        defer { signals.uninstall() }
        let screen = try CursesScreen(theme: theme, environment: options.environment)
        defer { screen.restore() }
        let session = DashboardSession(
            dataSource: source, theme: theme, glyphs: options.asciiOnly ? .ascii : screen.glyphs,
            themeLocator: options.themeLocator)
        let driver = Driver(runner: runner)

        let clock = ContinuousClock()
        let interval = Duration.nanoseconds(1_000_000_000 / Int64(max(1, min(options.framesPerSecond, 120))))
        var nextTick = clock.now + interval
        var travelGeneration = 0
        var shownTitle = ""
        var shownTarget = Narration.Target.none

        func draw() {
            if session.needsFullRepaint {
                if screen.theme != session.theme { screen.setTheme(session.theme) } else { screen.invalidate() }
            }
            let size = screen.size
            source.wrapWidth.store(size.width - 4, ordering: .relaxed)
            let d = runner.display.current
            if d.width != size.width || d.height != size.height {
                runner.display.update { $0.width = size.width; $0.height = size.height }
            }
            // A new step starts at its first line of text, with the pane it is about in view.
            if d.title != shownTitle {
                shownTitle = d.title
                session.resetNarration()
            }
            if d.target != shownTarget {
                shownTarget = d.target
                if case .pane(let pane) = d.target { session.focus(pane) }
            }
            if let grid = session.frame(width: size.width, height: size.height) {
                _ = screen.draw(grid)
            }
            session.needsFullRepaint = false
        }

        func syncTravel() {
            let d = runner.display.current
            guard d.travelGeneration != travelGeneration else { return }
            let ui = session.ui
            // Not while the user types or reads: it is applied once they close what is open.
            guard ui.palette == nil, ui.inspector == nil, !ui.showHelp else { return }
            travelGeneration = d.travelGeneration
            apply(travel: d.travel, to: session)
        }

        session.refresh()
        draw()
        while true {
            if let sig = signals.receivedSignal { return .signal(sig) }
            let left = nextTick - clock.now
            let timeoutMs = max(0, Int(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            if let key = screen.readKey(timeoutMs: timeoutMs) {
                if let move = WalkthroughKeys.move(for: key, ui: session.ui) {
                    driver.request(move)
                    session.refresh()
                } else if let lines = WalkthroughKeys.scroll(for: key, ui: session.ui, page: session.narrationPage) {
                    session.scrollNarration(lines)
                } else {
                    session.handle(key)
                    if session.quitRequested { return .quit }
                }
            }
            if clock.now >= nextTick {
                session.refresh()
                nextTick += interval
                if nextTick < clock.now { nextTick = clock.now + interval }
            }
            syncTravel()
            draw()
        }
    }

    /// Puts the session's time travel where the walkthrough wants it, with the keys a user would
    /// press (`t`, Home, Right..., Esc), so the dashboard's own state stays the only state.
    static func apply(travel target: UInt64?, to session: DashboardSession) {
        guard let target else {
            if session.ui.timeTravel != nil { session.handle(.escape) }
            return
        }
        if session.ui.timeTravel == nil { session.handle(.char("t")) }
        guard var at = session.ui.timeTravel else { return }
        if target < at {
            session.handle(.home)
            at = session.ui.timeTravel ?? 1
        }
        while at < target {
            session.handle(.right)
            guard let now = session.ui.timeTravel, now > at else { break }
            at = now
        }
    }

    /// Runs one step move at a time, off the dashboard thread. A key pressed while a step runs
    /// (a replay after going back takes a few seconds) is queued and runs next, in order, so no
    /// key is lost; the message line says it is queued.
    final class Driver: Sendable {
        let runner: WalkthroughRunner
        private let queue = Mutex<(driving: Bool, pending: [WalkthroughDisplay.Move])>((false, []))

        init(runner: WalkthroughRunner) { self.runner = runner }

        func request(_ move: WalkthroughDisplay.Move) {
            let start = queue.withLock { q -> Bool in
                if q.driving {
                    q.pending.append(move)
                    return false
                }
                q.driving = true
                return true
            }
            guard start else {
                let n = queue.withLock { $0.pending.count }
                runner.display.update { $0.message = "a step is still running: \(n) key\(n == 1 ? "" : "s") queued" }
                return
            }
            Task.detached { [self] in
                var next: WalkthroughDisplay.Move? = move
                while let m = next {
                    switch m {
                    case .next: await runner.next()
                    case .back: await runner.back()
                    }
                    next = queue.withLock { q -> WalkthroughDisplay.Move? in
                        if q.pending.isEmpty {
                            q.driving = false
                            return nil
                        }
                        return q.pending.removeFirst()
                    }
                }
            }
        }
    }
}
