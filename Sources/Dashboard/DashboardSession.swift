import Terminal

/// The dashboard's logic between keys and frames, without a terminal: it pulls snapshots,
/// applies keys, executes actions (presentation ones itself, the rest through the data source),
/// fetches time-travel views and inspector events, and renders frames, skipping those that would
/// not change. ``DashboardApp`` wires it to a ``CursesScreen``; tests drive it directly.
///
/// Not thread-safe: it lives on the dashboard thread with the screen.
public final class DashboardSession {
    public let dataSource: any DashboardDataSource
    public private(set) var ui = DashboardUI()
    public private(set) var snapshot: DashboardSnapshot
    public private(set) var theme: Theme
    public private(set) var renderer: DashboardRenderer
    /// Set by `q`; the loop leaves at once.
    public private(set) var quitRequested = false
    /// Set when the screen must repaint everything (theme change, Ctrl-L); the loop clears it.
    public var needsFullRepaint = false

    private let themeLocator: ThemeLocator
    private var timeTravelViews: (position: UInt64, views: DashboardViews?, computing: String?)?
    private var inspectorEvents: (from: UInt64, count: Int, head: UInt64, events: [EventLine])?
    private var lastFrame: FrameInputs?
    private var travelTail: (position: UInt64, events: [EventLine])?
    private var lastSize = (width: 0, height: 0)

    /// Everything a frame depends on; equal inputs mean an identical frame.
    private struct FrameInputs: Equatable {
        var snapshot: DashboardSnapshot
        var ui: DashboardUI
        var width: Int
        var height: Int
        var events: [EventLine]
        var glyphs: Glyphs
    }

    public init(dataSource: any DashboardDataSource, theme: Theme, glyphs: Glyphs, themeLocator: ThemeLocator) {
        self.dataSource = dataSource
        self.theme = theme
        self.renderer = DashboardRenderer(glyphs: glyphs)
        self.themeLocator = themeLocator
        self.snapshot = dataSource.snapshot()
    }

    /// Pulls a fresh snapshot from the data source (once per frame interval).
    public func refresh() {
        snapshot = dataSource.snapshot()
    }

    /// Applies a key and whatever action it produces. The caller renders right after, so every
    /// key shows its effect at once rather than at the next tick.
    public func handle(_ key: Key) {
        if key == .resize { return }
        let action = ui.handle(key, head: snapshot.head)
        // A zoomed pane scrolls no further than its longest list's last row.
        ui.zoomOffset = min(ui.zoomOffset, max(0, DashboardRenderer.longestList(ui.focus, in: snapshot) - 1))
        guard let action else { return }
        execute(action)
    }

    /// Executes an action: presentation ones here, the rest by the data source.
    public func execute(_ action: DashboardAction) {
        switch action {
        case .quit:
            quitRequested = true
        case .redraw:
            needsFullRepaint = true
        case .cycleTheme:
            cycleTheme()
        case .timeTravel(let position):
            // Views are fetched lazily in frame(), once per position.
            if position == nil { timeTravelViews = nil; travelTail = nil }
        case .inspect:
            // The inspector's window is fetched in frame(), where its size is known.
            break
        case .togglePause, .changeRate, .toggleProjector, .rebuildProjector, .submitCommand:
            if let message = dataSource.perform(action) { ui.message = message }
            // Show the effect (paused, projector stopped, new event) in this very frame.
            refresh()
        }
    }

    private func cycleTheme() {
        let names = themeLocator.availableNames()
        let start = names.firstIndex(of: theme.name) ?? -1
        // Skip themes that fail to load, saying why, rather than getting stuck on one.
        for step in 1...max(1, names.count) {
            let name = names[(start + step + names.count) % names.count]
            do {
                theme = try themeLocator.load(name)
                needsFullRepaint = true
                ui.message = "theme \(theme.name)"
                return
            } catch {
                ui.message = "\(error)"
            }
        }
    }

    /// Pages a walkthrough's narration by `delta` lines (negative: up), within its text.
    public func scrollNarration(_ delta: Int) {
        guard let lines = snapshot.narration?.lines.count else { return }
        let layout = DashboardLayout(
            width: lastSize.width, height: lastSize.height, ui: ui, projectorCount: snapshot.projectors.count,
            narrationLines: lines, narrationTarget: snapshot.narration?.target ?? .none)
        let rows = max(1, (layout.narration?.height ?? 3) - 2)
        ui.narrationOffset = max(0, min(ui.narrationOffset + delta, lines - rows))
    }

    /// Back to the narration's first line (a new step).
    public func resetNarration() { ui.narrationOffset = 0 }

    /// Rows of narration text on screen, for paging by a page.
    public var narrationPage: Int {
        let layout = DashboardLayout(
            width: lastSize.width, height: lastSize.height, ui: ui, projectorCount: snapshot.projectors.count,
            narrationLines: snapshot.narration?.lines.count, narrationTarget: snapshot.narration?.target ?? .none)
        return max(1, (layout.narration?.height ?? 3) - 2)
    }

    /// Focuses a pane, as its number key does (a walkthrough brings the pane it is about into view).
    public func focus(_ pane: DashboardPane) { ui.focus = pane }

    /// Renders a frame of the given size, or returns nil when it would equal the last one:
    /// then nothing needs computing, diffing or sending.
    public func frame(width: Int, height: Int) -> CellGrid? {
        lastSize = (width, height)
        var shown = snapshot
        shown.themeName = theme.name
        var shownUI = ui
        if let position = ui.timeTravel {
            // The event tail shows the events up to the travel position, the ones the views are folded from.
            if travelTail?.position != position {
                let count = Int(min(position, 32))
                travelTail = (position, count > 0 ? dataSource.events(from: position - UInt64(count) + 1, count: count) : [])
            }
            shown.recentEvents = travelTail?.events ?? []
            // Asked again every frame while the source is still folding: the screen shows the
            // progress and never waits for the fold.
            if timeTravelViews?.position != position || timeTravelViews?.computing != nil {
                switch dataSource.timeTravel(to: position) {
                case .ready(let views):
                    timeTravelViews = (position, views, nil)
                case .computing(let done, let total):
                    let percent = total == 0 ? 0 : Int(Double(done) * 100 / Double(total))
                    timeTravelViews = (position, nil, "computing view as of \(Format.position(position))\u{2026} \(percent)%")
                }
            }
            if let computing = timeTravelViews?.computing { shownUI.message = computing }
            shown.asOf = position
            let views = timeTravelViews?.views
            shown.shoppers = views?.shoppers
            shown.warehouse = views?.warehouse
            shown.finance = views?.finance
            shown.support = views?.support
        }
        var events: [EventLine] = []
        if let inspector = ui.inspector {
            let layout = DashboardLayout(
                width: width, height: height, ui: ui, projectorCount: shown.projectors.count,
                narrationLines: shown.narration.map { $0.lines.count }, narrationTarget: shown.narration?.target ?? .none)
            let window = layout.inspectorWindow(cursor: inspector.cursor, head: shown.head)
            // Refetch when the window moves, or when the head moves while the window reaches it.
            let reachesHead = window.from + UInt64(window.count) > (inspectorEvents?.head ?? 0)
            if let cached = inspectorEvents, cached.from == window.from, cached.count == window.count,
               !(reachesHead && cached.head != shown.head) {
                events = cached.events
            } else {
                events = window.count > 0 ? dataSource.events(from: window.from, count: window.count) : []
                inspectorEvents = (window.from, window.count, shown.head, events)
            }
        } else {
            inspectorEvents = nil
        }
        let inputs = FrameInputs(snapshot: shown, ui: shownUI, width: width, height: height, events: events, glyphs: renderer.glyphs)
        if !needsFullRepaint, inputs == lastFrame { return nil }
        lastFrame = inputs
        return renderer.render(shown, ui: shownUI, width: width, height: height, inspectorEvents: events)
    }
}
