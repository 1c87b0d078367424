import Foundation
import Synchronization
import Terminal

/// How to run the dashboard.
public struct DashboardOptions: Sendable {
    /// Frame cap: snapshots are pulled and drawn at most this often. Keys are answered at once
    /// regardless.
    public var framesPerSecond: Int
    /// A theme name (looked up by `themeLocator`) or a path to a `.theme` file.
    public var theme: String
    public var themeLocator: ThemeLocator
    /// Force ASCII glyphs even in a UTF-8 locale.
    public var asciiOnly: Bool
    /// The environment consulted for `TERM` and `NO_COLOR`.
    public var environment: [String: String]
    /// The terminal to draw on; a pseudo-terminal for `prism bench render`.
    public var device: TerminalDevice
    /// Stop after this long, returning ``DashboardExit/timeLimit`` (benchmarks); nil runs until
    /// `q` or a signal.
    public var timeLimit: Duration?
    /// Counters the loop keeps, for benchmarks; nil keeps none.
    public var statistics: DashboardStatistics?
    /// Clicks focus panes and the wheel scrolls; off (`--no-mouse`) leaves the terminal's
    /// own mouse handling (selecting text) alone.
    public var mouse = true

    public init(
        framesPerSecond: Int = 10, theme: String = "default", themeLocator: ThemeLocator = ThemeLocator(),
        asciiOnly: Bool = false, environment: [String: String] = ProcessInfo.processInfo.environment,
        device: TerminalDevice = .standard, timeLimit: Duration? = nil, statistics: DashboardStatistics? = nil
    ) {
        self.framesPerSecond = framesPerSecond
        self.theme = theme
        self.themeLocator = themeLocator
        self.asciiOnly = asciiOnly
        self.environment = environment
        self.device = device
        self.timeLimit = timeLimit
        self.statistics = statistics
    }
}

/// What the run loop did, counted as it goes. Atomics, so a benchmark may read them from
/// another thread while the loop runs.
public final class DashboardStatistics: Sendable {
    /// Frame intervals that passed (one snapshot pulled each).
    public let ticks = Atomic<Int>(0)
    /// Frames that differed from the one before and were drawn.
    public let framesDrawn = Atomic<Int>(0)
    /// Cells handed to curses; 0 for frames equal to the one on screen.
    public let cellsWritten = Atomic<Int>(0)
    /// Keys read.
    public let keys = Atomic<Int>(0)

    public init() {}
}

/// Why the dashboard returned.
public enum DashboardExit: Sendable, Equatable {
    /// The user pressed `q`.
    case quit
    /// SIGINT, SIGTERM or SIGHUP arrived; the terminal has been restored. A command line may
    /// want to exit with 128 + signal.
    case signal(Int32)
    /// ``DashboardOptions/timeLimit`` passed.
    case timeLimit
}

/// The dashboard's run loop.
public enum DashboardApp {
    /// Runs the dashboard on the calling thread until `q` or a signal, then restores the
    /// terminal, whatever happened (errors and signals included).
    ///
    /// Each turn blocks in curses' key read for at most the time left until the next frame, so
    /// an idle dashboard sleeps in the kernel. A key is handled and drawn at once. A frame pulls
    /// one snapshot; if neither it nor the UI state changed, nothing is rendered or written.
    ///
    /// - Throws: ``ThemeError`` for a theme that cannot be loaded (before the terminal is
    ///   touched), ``TerminalError`` when the terminal cannot be used.
    public static func run(dataSource: any DashboardDataSource, options: DashboardOptions = DashboardOptions()) throws -> DashboardExit {
        let theme = try options.themeLocator.load(options.theme)
        let signals = TerminalGuard()
        defer { signals.uninstall() }
        let screen = try CursesScreen(theme: theme, environment: options.environment, device: options.device)
        screen.setMouse(options.mouse)
        defer { screen.restore() }
        let session = DashboardSession(
            dataSource: dataSource, theme: theme, glyphs: options.asciiOnly ? .ascii : screen.glyphs,
            themeLocator: options.themeLocator)
        let stats = options.statistics

        let clock = ContinuousClock()
        let start = clock.now
        let deadline = options.timeLimit.map { start + $0 }
        let interval = Duration.nanoseconds(1_000_000_000 / Int64(max(1, min(options.framesPerSecond, 120))))
        var nextTick = start + interval

        func draw() {
            if session.needsFullRepaint {
                if screen.theme != session.theme { screen.setTheme(session.theme) } else { screen.invalidate() }
            }
            let size = screen.size
            if let grid = session.frame(width: size.width, height: size.height) {
                let cells = screen.draw(grid)
                if let stats {
                    stats.framesDrawn.add(1, ordering: .relaxed)
                    stats.cellsWritten.add(cells, ordering: .relaxed)
                }
            }
            session.needsFullRepaint = false
        }

        draw()
        while true {
            if let sig = signals.receivedSignal { return .signal(sig) }
            let now = clock.now
            if let deadline, now >= deadline { return .timeLimit }
            // Sleep in the key read until the next frame is due: an idle dashboard costs a
            // wake-up per frame and nothing else. A signal is seen within one frame interval.
            let left = min(nextTick, deadline ?? nextTick) - now
            let timeoutMs = max(0, Int(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            if let key = screen.readKey(timeoutMs: timeoutMs) {
                stats?.keys.add(1, ordering: .relaxed)
                session.handle(key)
                if session.quitRequested { return .quit }
            }
            if clock.now >= nextTick {
                session.refresh()
                stats?.ticks.add(1, ordering: .relaxed)
                nextTick += interval
                // After a stall (a suspended process, a slow data source) do not race to catch up.
                if nextTick < clock.now { nextTick = clock.now + interval }
            }
            draw()
        }
    }
}
