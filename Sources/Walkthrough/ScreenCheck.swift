import Dashboard
import Terminal

/// What a walkthrough's `see` looks at: the dashboard rendered exactly as the learner's screen
/// shows it (the same session, renderer and layout, at the same size), cut to one region.
enum ScreenCheck {
    /// Runs of spaces as one, ends trimmed: tables pad their columns, an author writes words.
    static func squeeze(_ text: String) -> String {
        text.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }

    /// The rows of `region` (or the whole screen) as the dashboard draws them now. The session
    /// starts as the learner's does: the pane the step highlights is focused (as the dashboard
    /// does on entering the step), the views travel where the walkthrough put them; a pane the
    /// small screen's tabs do not show is looked at by its number key.
    static func render(display: WalkthroughDisplay, travel: UInt64?, width: Int, height: Int, region: String?) -> CellGrid {
        let source = WalkthroughDataSource(display: display)
        source.wrapWidth.store(width - 4, ordering: .relaxed)
        let session = DashboardSession(dataSource: source, theme: Theme.fallback, glyphs: .unicode,
                                       themeLocator: ThemeLocator(searchDirectories: []))
        if case .pane(let pane) = display.current.target { session.focus(pane) }
        if let travel { WalkthroughApp.apply(travel: travel, to: session) }
        var grid = session.frame(width: width, height: height) ?? CellGrid(width: width, height: height)
        guard let region else { return grid }
        var rect = rectangle(of: region, session: session, width: width, height: height)
        if rect == nil, let pane = DashboardPane.allCases.first(where: { $0.projectorName == region }) {
            session.focus(pane)
            grid = session.frame(width: width, height: height) ?? grid
            rect = rectangle(of: region, session: session, width: width, height: height)
        }
        guard let r = rect, !r.isEmpty else { return CellGrid(width: 1, height: 0) }
        var cut = CellGrid(width: r.width, height: r.height)
        for y in 0..<r.height {
            for x in 0..<r.width { cut[x, y] = grid[r.x + x, r.y + y] }
        }
        return cut
    }

    static func rectangle(of region: String, session: DashboardSession, width: Int, height: Int) -> Rect? {
        let s = session.snapshot
        let layout = DashboardLayout(
            width: width, height: height, ui: session.ui, projectorCount: s.projectors.count,
            narrationLines: s.narration.map { $0.lines.count }, narrationTarget: s.narration?.target ?? .none)
        switch region {
        case "events": return layout.eventTail
        case "projectors": return layout.projectors
        case "status": return layout.status
        case "message": return layout.message
        case "narration": return layout.narration
        default: return layout.panes.first { $0.0.projectorName == region }?.1
        }
    }
}
