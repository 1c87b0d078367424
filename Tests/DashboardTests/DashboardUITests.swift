import Foundation
import Terminal
import Testing
@testable import Dashboard

@Suite struct DashboardUITests {
    let head: UInt64 = 500

    @Test func focusAndZoom() {
        var ui = DashboardUI()
        #expect(ui.handle(.tab, head: head) == nil && ui.focus == .warehouse)
        _ = ui.handle(.backTab, head: head)
        _ = ui.handle(.backTab, head: head)
        #expect(ui.focus == .support)
        _ = ui.handle(.char("3"), head: head)
        #expect(ui.focus == .finance)
        _ = ui.handle(.char("z"), head: head)
        #expect(ui.zoomed)
        _ = ui.handle(.enter, head: head)
        #expect(!ui.zoomed)
    }

    @Test func actionKeys() {
        var ui = DashboardUI()
        _ = ui.handle(.char("2"), head: head)
        #expect(ui.handle(.char("q"), head: head) == .quit)
        #expect(ui.handle(.char("p"), head: head) == .togglePause)
        #expect(ui.handle(.char("+"), head: head) == .changeRate(1))
        #expect(ui.handle(.char("-"), head: head) == .changeRate(-1))
        #expect(ui.handle(.char("s"), head: head) == .toggleProjector("warehouse"))
        #expect(ui.handle(.char("r"), head: head) == .rebuildProjector("warehouse"))
        #expect(ui.handle(.char("T"), head: head) == .cycleTheme)
        #expect(ui.handle(.control("l"), head: head) == .redraw)
        #expect(ui.handle(.resize, head: head) == nil)
    }

    @Test func hintLineKeepsEveryHintAt120ColumnsAndDegradesBelow() {
        let s = DashboardSnapshot(head: head)
        let wide = DashboardRenderer(glyphs: .unicode).render(s, ui: DashboardUI(), width: 120, height: 40)
        let line = wide.rows[39]
        for hint in ["q quit", "? help", "r rebuild", "s stop", "t time", "+/- rate", "p pause"] {
            #expect(line.contains(hint), "\(hint) in \(line)")
        }
        let narrow = DashboardRenderer(glyphs: .unicode).render(s, ui: DashboardUI(), width: 60, height: 16)
        // Whole hints only, most important first.
        #expect(narrow.rows[15].hasPrefix("q quit ? help"))
        let last = narrow.rows[15].split(separator: " ").last.map(String.init) ?? ""
        let labels = DashboardRenderer.hints(DashboardUI()).flatMap { $0.short.split(separator: " ").map(String.init) }
        #expect(labels.contains(last), "the line ends with a whole hint, not '\(last)'")
    }

    @Test(arguments: [80, 70, 60])
    func narrowHintLinesKeepTheMostUsedKeys(width: Int) {
        let s = DashboardSnapshot(head: head)
        let g = DashboardRenderer(glyphs: .unicode).render(s, ui: DashboardUI(), width: width, height: 24)
        let line = g.rows[23]
        for hint in ["q quit", "? help", "Tab/1-4 focus", ": cmd", "t time", "e events"] {
            #expect(line.contains(hint), "\(hint) at \(width) columns: \(line)")
        }
        // What goes is what is needed least, not whatever happened to be last.
        if width < 80 { #expect(!line.contains("T theme")) }
        // Time travel keeps its way back, and help.
        var travel = DashboardUI()
        _ = travel.handle(.char("t"), head: head)
        let t = DashboardRenderer(glyphs: .unicode).render(s, ui: travel, width: width, height: 24).rows[23]
        #expect(t.contains("Esc") && t.contains("Left/Right") && t.contains("? help"), "\(t)")
    }

    @Test func tooSmallScreenBreaksBetweenPhrasesAndWords() {
        for width in 12..<DashboardLayout.minimumWidth {
            let g = DashboardRenderer(glyphs: .unicode).render(DashboardSnapshot(head: head), ui: DashboardUI(), width: width, height: 10)
            let rows = g.rows.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let words = "terminal too small: need 60x16, have \(width)x10".split(separator: " ").map(String.init)
            // Every word whole, in order, none cut across rows.
            #expect(rows.flatMap { $0.split(separator: " ").map(String.init) } == words, "at \(width): \(rows)")
            if width >= 22 { #expect(rows.contains("need 60x16, have \(width)x10") || rows.count == 1, "at \(width): \(rows)") }
            if width < 22 && width >= 19 { #expect(rows == ["terminal too small:", "need 60x16,", "have \(width)x10"], "at \(width): \(rows)") }
        }
        let one = DashboardRenderer(glyphs: .unicode).render(DashboardSnapshot(head: head), ui: DashboardUI(), width: 59, height: 15)
        #expect(one.contains("terminal too small: need 60x16, have 59x15"))
    }

    @Test func helpSwallowsTheNextKey() {
        var ui = DashboardUI()
        _ = ui.handle(.char("?"), head: head)
        #expect(ui.showHelp)
        #expect(ui.handle(.char("q"), head: head) == nil)
        #expect(!ui.showHelp)
    }

    @Test func hAndF1OpenHelpInEveryMode() {
        for key in [Key.char("?"), .char("h"), .function(1)] {
            var live = DashboardUI()
            _ = live.handle(key, head: head)
            #expect(live.showHelp, "\(key) in live mode")

            var travel = DashboardUI()
            _ = travel.handle(.char("t"), head: head)
            _ = travel.handle(key, head: head)
            #expect(travel.showHelp && travel.timeTravel == head, "\(key) while time travelling")
            _ = travel.handle(.char("x"), head: head)
            #expect(!travel.showHelp && travel.timeTravel == head, "closing help stays in time travel")

            var inspect = DashboardUI()
            _ = inspect.handle(.char("e"), head: head)
            _ = inspect.handle(key, head: head)
            #expect(inspect.showHelp && inspect.inspector != nil, "\(key) in the inspector")
            _ = inspect.handle(.char("q"), head: head)
            #expect(!inspect.showHelp && inspect.inspector != nil, "q closes help, not the inspector")
        }
        // In the palette ? and h are text; F1 opens help and keeps what was typed.
        var palette = DashboardUI()
        _ = palette.handle(.char(":"), head: head)
        _ = palette.handle(.char("h"), head: head)
        _ = palette.handle(.char("?"), head: head)
        #expect(palette.palette == "h?" && !palette.showHelp)
        _ = palette.handle(.function(1), head: head)
        #expect(palette.showHelp)
        _ = palette.handle(.escape, head: head)
        #expect(!palette.showHelp && palette.palette == "h?")
    }

    @Test func paletteNeverTakesControlCharacters() {
        var ui = DashboardUI()
        _ = ui.handle(.char(":"), head: head)
        for c in ["a", "\u{1b}", "\u{1c}", "\u{0}", "\u{9b}", "\u{85}", "é", "b"] as [Character] {
            _ = ui.handle(.char(c), head: head)
        }
        #expect(ui.palette == "aéb")
    }

    @Test func paletteEditsSubmitsAndCancels() {
        var ui = DashboardUI()
        _ = ui.handle(.char(":"), head: head)
        #expect(ui.palette == "")
        for c in "ship o-1x" { #expect(ui.handle(.char(c), head: head) == nil) }
        _ = ui.handle(.backspace, head: head)
        #expect(ui.palette == "ship o-1")
        // Keys that act elsewhere are text here.
        #expect(ui.handle(.char("q"), head: head) == nil)
        _ = ui.handle(.backspace, head: head)
        #expect(ui.handle(.enter, head: head) == .submitCommand("ship o-1"))
        #expect(ui.palette == nil)
        _ = ui.handle(.char(":"), head: head)
        _ = ui.handle(.char("x"), head: head)
        #expect(ui.handle(.escape, head: head) == nil && ui.palette == nil)
        _ = ui.handle(.char(":"), head: head)
        #expect(ui.handle(.enter, head: head) == nil)
    }

    @Test func timeTravelStepsAndReturns() {
        var ui = DashboardUI()
        #expect(ui.handle(.char("t"), head: head) == .timeTravel(to: 500))
        #expect(ui.handle(.left, head: head) == .timeTravel(to: 499))
        #expect(ui.handle(.right, head: head) == .timeTravel(to: 500))
        #expect(ui.handle(.right, head: head) == .timeTravel(to: 500))
        #expect(ui.handle(.pageUp, head: head) == .timeTravel(to: 400))
        #expect(ui.handle(.pageDown, head: head) == .timeTravel(to: 500))
        for _ in 0..<6 { _ = ui.handle(.pageUp, head: head) }
        #expect(ui.timeTravel == 1)
        #expect(ui.focus == .shoppers)
        _ = ui.handle(.tab, head: head)
        #expect(ui.focus == .warehouse)
        #expect(ui.handle(.escape, head: head) == .timeTravel(to: nil))
        #expect(ui.timeTravel == nil)
        var empty = DashboardUI()
        #expect(empty.handle(.char("t"), head: 0) == nil && empty.message != nil)
    }

    @Test func inspectorScrollsAndJumps() {
        var ui = DashboardUI()
        #expect(ui.handle(.char("e"), head: head) == .inspect(from: 500))
        #expect(ui.handle(.up, head: head) == .inspect(from: 499))
        #expect(ui.handle(.pageUp, head: head) == .inspect(from: 479))
        #expect(ui.handle(.down, head: head) == .inspect(from: 480))
        #expect(ui.handle(.char("g"), head: head) == nil)
        for c in "42x" { _ = ui.handle(.char(c), head: head) }
        #expect(ui.inspector?.gotoInput == "42")
        #expect(ui.handle(.enter, head: head) == .inspect(from: 42))
        _ = ui.handle(.char("g"), head: head)
        for c in "99999" { _ = ui.handle(.char(c), head: head) }
        #expect(ui.handle(.enter, head: head) == .inspect(from: 500))
        #expect(ui.handle(.char("q"), head: head) == nil && ui.inspector == nil)
    }

    @Test func loadKeysAndThePaletteActInWatchModeToo() {
        var ui = DashboardUI()
        // No mode refuses them: `prism watch` sends pause, rate and commands to the writer's endpoint.
        #expect(ui.handle(.char("p"), head: head) == .togglePause)
        #expect(ui.handle(.char("+"), head: head) == .changeRate(1))
        // The palette stays: `prism watch` sends its commands through the writer's endpoint.
        #expect(ui.handle(.char(":"), head: head) == nil && ui.palette == "")
        _ = ui.handle(.escape, head: head)
        #expect(ui.handle(.char("s"), head: head) == .toggleProjector("shoppers"))
        #expect(ui.handle(.char("q"), head: head) == .quit)
    }
}

@Suite struct DashboardSessionTests {
    func session(_ source: SampleDataSource = SampleDataSource()) -> DashboardSession {
        DashboardSession(dataSource: source, theme: Theme.fallback, glyphs: .unicode,
                         themeLocator: ThemeLocator(searchDirectories: []))
    }

    @Test func unchangedStateProducesNoFrame() {
        let s = session()
        #expect(s.frame(width: 120, height: 40) != nil)
        s.refresh()
        #expect(s.frame(width: 120, height: 40) == nil)
        #expect(s.frame(width: 100, height: 40) != nil)
    }

    @Test func keysShowTheirEffectInTheNextFrame() throws {
        let source = SampleDataSource()
        let s = session(source)
        _ = s.frame(width: 120, height: 40)
        s.handle(.char("p"))
        #expect(source.performed == [.togglePause])
        let grid = try #require(s.frame(width: 120, height: 40))
        #expect(grid.contains("load PAUSED"))
        #expect(grid.contains("load paused"))
        s.handle(.char("3"))
        s.handle(.char("s"))
        #expect(try #require(s.frame(width: 120, height: 40)).contains("Finance  STOPPED"))
        s.handle(.char(":"))
        for c in "place bob MUG:1" { s.handle(.char(c)) }
        s.handle(.enter)
        #expect(try #require(s.frame(width: 120, height: 40)).contains("accepted position=12346"))
        s.handle(.char("q"))
        #expect(s.quitRequested)
    }

    @Test func timeTravelUsesViewsAsOf() throws {
        let s = session()
        s.handle(.char("t"))
        s.handle(.pageUp)
        let grid = try #require(s.frame(width: 120, height: 40))
        #expect(grid.contains("AS OF #12,245"))
        #expect(grid.contains("Finance  as of #12,245"))
        s.handle(.escape)
        #expect(try #require(s.frame(width: 120, height: 40)).contains("Finance  #12,342  lag 3"))
    }

    @Test func themeCycleWalksBuiltins() {
        let s = session()
        s.handle(.char("T"))
        #expect(s.theme.name == "light" && s.needsFullRepaint)
        for _ in 0..<3 { s.handle(.char("T")) }
        #expect(s.theme.name == "default")
    }
}

/// The zoomed pane's scrolling and the `/` filter, through the session as keys drive them.
@Suite struct ZoomScrollAndFilterTests {
    func session() -> DashboardSession {
        DashboardSession(dataSource: SampleDataSource(), theme: Theme.fallback, glyphs: .unicode,
                         themeLocator: ThemeLocator(searchDirectories: []))
    }

    /// "+N more" could not be reached: zoomed, Down and PgDn scroll the rows into view, and
    /// the scroll stops at the last row, so Up comes straight back.
    @Test func zoomedPaneScrollsThroughAllItsRows() throws {
        let s = session()
        s.handle(.char("1"))
        s.handle(.char("z"))
        let longest = DashboardRenderer.longestList(.shoppers, in: s.snapshot)
        try #require(longest >= 3)
        var g = try #require(s.frame(width: 80, height: 24))
        let first = g.rows.first { $0.contains("Customers (") } ?? ""
        for _ in 0..<(longest + 20) { s.handle(.down) }
        #expect(s.ui.zoomOffset == longest - 1)
        g = try #require(s.frame(width: 80, height: 24))
        #expect(g.contains("rows \(longest)-\(longest) of \(longest)"), "\(g.text)")
        s.handle(.up)
        #expect(s.ui.zoomOffset == longest - 2)
        s.handle(.home)
        #expect(s.ui.zoomOffset == 0)
        g = try #require(s.frame(width: 80, height: 24))
        #expect(g.rows.contains(first))
    }

    /// `/` then text and Enter keeps only matching events in the tail; Esc clears it.
    @Test func slashFiltersTheEventTail() throws {
        let s = session()
        let events = s.snapshot.recentEvents
        let type = try #require(events.last?.type)
        let other = try #require(events.first { $0.type != type }?.type)
        s.handle(.char("/"))
        for c in type { s.handle(.char(c)) }
        s.handle(.enter)
        #expect(s.ui.filter == type)
        var g = try #require(s.frame(width: 120, height: 40))
        #expect(g.contains("filter \"\(type)\""))
        #expect(!g.rows.contains { $0.contains(" \(other) ") && $0.contains("#") && !$0.contains(type) })
        s.handle(.escape)
        #expect(s.ui.filter == nil)
        g = try #require(s.frame(width: 120, height: 40))
        #expect(!g.contains("filter \""))
    }
}
