import CQRS
import Shop
import Terminal
import Testing
@testable import Dashboard

private func render(_ w: Int, _ h: Int, snapshot s: DashboardSnapshot = .sample, ui: DashboardUI = DashboardUI(), glyphs: Glyphs = .unicode, events: [EventLine] = []) -> CellGrid {
    DashboardRenderer(glyphs: glyphs).render(s, ui: ui, width: w, height: h, inspectorEvents: events)
}

@Suite struct RenderTests {
    @Test func gridLayoutAt120x40ShowsAllFourPanesWithCheckpointAndLag() {
        let g = render(120, 40)
        #expect(g.contains("Shoppers  #12,345  lag 0"))
        #expect(g.contains("Warehouse  #12,345  lag 0"))
        #expect(g.contains("Finance  #12,342  lag 3"))
        #expect(g.contains("Support  REBUILDING 48%  #6,000  lag 6,345"))
        #expect(g.contains("Projectors"))
        #expect(g.contains("Events"))
        // Money as dollars, from every view.
        #expect(g.contains("$12,345.67"))   // finance revenue
        #expect(g.contains("$12.99"))       // catalog price
        #expect(g.contains("$259.80"))      // alice spent
        #expect(g.contains("o-7 o-9 o-12")) // pick queue
        #expect(g.contains("out of stock")) // cancellation reasons
        #expect(g.contains("o-40"))         // oldest unpaid
        #expect(!g.contains("1 Shoppers"))  // no tab bar
        #expect(g.contains("48% ETA 3s"))   // rebuild progress
        #expect(g.contains("head #12,345"))
        #expect(g.contains("q quit"))
        #expect(g.rows[1].contains("█"))     // sparklines
        #expect(g.rows.count == 40 && g.rows.allSatisfy { $0.count == 120 })
    }

    @Test func wideScreenKeepsGrid() {
        let g = render(200, 60)
        #expect(g.contains("Shoppers  #") && g.contains("Support  REBUILDING"))
        #expect(g.contains("Top SKUs by revenue"))
    }

    @Test func smallScreensUseTabs() {
        for (w, h) in [(80, 24), (60, 16), (119, 40), (200, 35)] {
            let g = render(w, h)
            #expect(g.contains("1 Shoppers") && g.contains("4 Support"), "tabs at \(w)x\(h)")
            #expect(g.contains("Shoppers  #12,345"), "focused pane at \(w)x\(h)")
            #expect(!g.contains("Finance  #"), "only one pane at \(w)x\(h)")
            #expect(g.contains("Projectors"), "strip kept at \(w)x\(h)")
            #expect(g.contains("PRISM"), "status kept at \(w)x\(h)")
        }
        var ui = DashboardUI()
        _ = ui.handle(.char("3"), head: 12_345)
        #expect(render(80, 24, ui: ui).contains("Finance  #12,342  lag 3"))
    }

    @Test func tooSmallSaysSo() {
        #expect(render(59, 15).text.contains("terminal too small: need 60x16, have 59x15"))
        #expect(render(59, 40).text.contains("need 60x16, have 59x40"))
        #expect(render(120, 15).text.contains("need 60x16, have 120x15"))
        // Tiny sizes still render without crashing.
        #expect(render(10, 3).rows.count == 3)
        #expect(render(0, 0).rows.isEmpty)
        #expect(!render(60, 16).contains("too small"))
    }

    @Test(arguments: [(60, 16), (80, 24), (120, 40), (200, 60)])
    func asciiModeHasOnlyASCII(size: (Int, Int)) {
        var s = DashboardSnapshot.sample
        s.shoppers?.catalog[0].name = "Café mug ☕"
        let g = render(size.0, size.1, snapshot: s, glyphs: .ascii)
        #expect(g.text.allSatisfy { $0.isASCII })
        #expect(g.contains("PRISM"))
    }

    @Test func unicodeModeUsesBoxDrawing() {
        #expect(render(120, 40).text.contains("┌"))
        #expect(render(120, 40, glyphs: .ascii).text.contains("+-"))
    }

    @Test func renderingIsTheSameWithAndWithoutColourButStylesStayDistinct() {
        // The renderer speaks roles; only the resolver differs by capability.
        let g = render(120, 40)
        let mono = StyleResolver(theme: Theme.fallback, support: .monochrome)
        let colour = StyleResolver(theme: Theme.fallback, support: .twoFiftySix)
        guard let y = g.rows.firstIndex(where: { $0.contains("OrderPlaced") }),
              let x = g.rows[y].distance(of: "OrderPlaced") else {
            Issue.record("no OrderPlaced in the event tail"); return
        }
        let placed = g[x, y].style
        #expect(placed.foreground == ColorRole.placed)
        #expect(colour.resolve(placed).foreground != colour.resolve(CellStyle(.paid)).foreground)
        #expect(mono.resolve(placed).foreground == -1)
        // The focused pane's title is reverse video, visible without colour.
        guard let ty = g.rows.firstIndex(where: { $0.contains("Shoppers  #") }),
              let tx = g.rows[ty].distance(of: "Shoppers  #") else {
            Issue.record("no Shoppers title"); return
        }
        #expect(mono.resolve(g[tx, ty].style).attributes.contains(.reverse))
    }

    @Test(arguments: [(120, 40), (80, 24)])
    func focusedPaneHasAHeavyBorderInTheFocusColour(size: (Int, Int)) {
        var ui = DashboardUI()
        _ = ui.handle(.char("2"), head: 12_345)
        let g = render(size.0, size.1, ui: ui)
        guard let y = g.rows.firstIndex(where: { $0.contains("Warehouse  #") }),
              let x = g.rows[y].distance(of: "Warehouse  #") else { Issue.record("no Warehouse title"); return }
        // The corner left of the title: heavy, bold, in the focus colour; the title reversed.
        let corner = g[x - 2, y]
        #expect(corner.text == "┏")
        #expect(corner.style.foreground == ColorRole.focus && corner.style.attributes.contains(.bold))
        #expect(g[x, y].style.foreground == ColorRole.focus && g[x, y].style.attributes.contains(.reverse))
        if size.0 >= 120 {
            // Unfocused panes keep the light border.
            guard let sy = g.rows.firstIndex(where: { $0.contains("Shoppers  #") }) else { Issue.record("no Shoppers"); return }
            #expect(g[0, sy].text == "┌" && g[0, sy].style.foreground == ColorRole.border)
        }
        let ascii = render(size.0, size.1, ui: ui, glyphs: .ascii)
        #expect(ascii.rows[y].contains("# Warehouse  #") && ascii.rows[y].contains("==#"))
    }

    @Test func statusLineLeavesOutWholeFieldsThatDoNotFit() {
        let wide = render(200, 60).rows[0]
        #expect(wide.contains("theme default"))
        let narrow = render(80, 24).rows[0]
        #expect(narrow.contains("head #12,345"))
        #expect(!narrow.contains("…"), "a field cut in half: \(narrow)")
        #expect(!narrow.contains("theme"))
    }

    @Test(arguments: [(80, 24), (120, 40), (60, 30)])
    func helpShowsTheKeysAndTheCommandSyntax(size: (Int, Int)) {
        var ui = DashboardUI()
        _ = ui.handle(.char("h"), head: 12_345)
        let g = render(size.0, size.1, ui: ui)
        #expect(g.contains("Help: live"))
        for usage in ["register SKU PRICE NAME...", "restock SKU QTY", "price SKU PRICE", "place CUSTOMER SKU:QTY... [as ORDER]",
                      "pay ORDER AMOUNT", "ship ORDER", "cancel ORDER REASON..."] {
            #expect(g.contains(usage), "\(usage) at \(size)")
        }
        for key in ["this help", "focus a pane", "rebuild the focused", "stop or start the focused", "time travel", "quit"] {
            #expect(g.contains(key), "\(key) at \(size)")
        }
        #expect(!g.text.contains("SPEC"))
        #expect(!g.contains("taller terminal"), "everything fits at \(size)")
    }

    @Test func helpShowsTheKeysOfTheCurrentMode() {
        var travel = DashboardUI()
        _ = travel.handle(.char("t"), head: 12_345)
        _ = travel.handle(.char("?"), head: 12_345)
        var g = render(80, 24, ui: travel)
        #expect(g.contains("Help: time travel") && g.contains("Time travel: every view as of position P"))
        #expect(g.contains("back to live") && g.contains("P 100 events back / on"))

        var inspect = DashboardUI()
        _ = inspect.handle(.char("e"), head: 12_345)
        _ = inspect.handle(.function(1), head: 12_345)
        g = render(80, 24, ui: inspect)
        #expect(g.contains("Help: inspector") && g.contains("go to a position") && g.contains("close the inspector"))
        #expect(!g.contains("register SKU"), "the inspector takes no commands")

        var palette = DashboardUI()
        _ = palette.handle(.char(":"), head: 12_345)
        _ = palette.handle(.function(1), head: 12_345)
        g = render(80, 24, ui: palette)
        #expect(g.contains("Command palette") && g.contains("clear the line") && g.contains("pay ORDER AMOUNT"))

        var s = DashboardSnapshot.sample
        s.narration = Narration(title: "Step 1", lines: ["Watch."], target: .none)
        var live = DashboardUI()
        _ = live.handle(.char("?"), head: 12_345)
        g = render(120, 40, snapshot: s, ui: live)
        #expect(g.contains("Walkthrough") && g.contains("next step") && g.contains("back a step"))
        #expect(!render(120, 40, ui: live).contains("next step"), "no walkthrough keys outside a walkthrough")

        // Too short for everything: the cut is said, not silent.
        #expect(render(80, 16, ui: live).contains("taller terminal"))
    }

    @Test func stoppedProjectorMakesPaneStale() {
        var s = DashboardSnapshot.sample
        s.projectors[2].state = .stopped
        let g = render(120, 40, snapshot: s)
        #expect(g.contains("Finance  STOPPED  #12,342"))
        guard let y = g.rows.firstIndex(where: { $0.contains("Revenue") }), let x = g.rows[y].distance(of: "Revenue") else {
            Issue.record("no Revenue line"); return
        }
        #expect(g[x, y].style.attributes.contains(.dim))
        #expect(g.contains("stopped"))
    }

    /// A projector stopped by an error (not by a person) says why on its row of the strip.
    @Test func aProjectorStoppedByAnErrorShowsTheErrorOnTheStrip() {
        var s = DashboardSnapshot.sample
        s.projectors[1].state = .stopped
        s.projectors[1].error = "warehouse: cannot apply position 77: unknown event type"
        let g = render(120, 40, snapshot: s)
        guard let row = g.rows.first(where: { $0.contains("warehouse") && $0.contains("stopped") }) else {
            Issue.record("no warehouse row on the strip"); return
        }
        #expect(row.contains("cannot apply position 77"))
    }

    @Test func missingViewsSayNotBuilt() {
        var s = DashboardSnapshot.sample
        s.finance = nil
        #expect(render(120, 40, snapshot: s).contains("not built yet"))
    }

    @Test func timeTravelShowsBanner() {
        var ui = DashboardUI()
        _ = ui.handle(.char("t"), head: 12_345)
        _ = ui.handle(.left, head: 12_345)
        let g = render(120, 40, ui: ui)
        #expect(g.contains("AS OF #12,344"))
        #expect(g.contains("Esc back to live"))
    }

    @Test func paletteHelpInspectorAndMessages() {
        var ui = DashboardUI()
        _ = ui.handle(.char(":"), head: 1)
        for c in "place alice MUG:2" { _ = ui.handle(.char(c), head: 1) }
        #expect(render(80, 24, ui: ui).contains(":place alice MUG:2"))

        var help = DashboardUI()
        _ = help.handle(.char("?"), head: 1)
        #expect(render(80, 24, ui: help).contains("command palette"))

        var inspect = DashboardUI()
        _ = inspect.handle(.char("e"), head: 12_345)
        let source = SampleDataSource()
        let layout = DashboardLayout(width: 120, height: 40, ui: inspect, projectorCount: 4, narrationLines: nil)
        let window = layout.inspectorWindow(cursor: 12_345, head: 12_345)
        let g = render(120, 40, ui: inspect, events: source.events(from: window.from, count: window.count))
        #expect(g.contains("Event inspector  #12,345 of #12,345"))
        #expect(g.contains("Selected event"))
        #expect(g.contains("orderId: o-3087"))

        var s = DashboardSnapshot.sample
        s.message = "rejected: insufficient stock for MUG: 2 available, 5 asked"
        #expect(render(80, 24, snapshot: s).contains("rejected: insufficient stock"))
    }

    @Test func narrationPanelAndHighlight() {
        var s = DashboardSnapshot.sample
        s.narration = Narration(title: "Step 1: projections lag", lines: ["Watch the Finance pane."], target: .pane(.finance))
        let g = render(120, 40, snapshot: s)
        #expect(g.contains("Step 1: projections lag"))
        #expect(g.contains("Watch the Finance pane."))
        guard let y = g.rows.firstIndex(where: { $0.contains("Finance  #") }) else { Issue.record("no Finance"); return }
        #expect(g[0, y].style.foreground == ColorRole.accent)
        #expect(g[60, y].style.foreground == ColorRole.border)
    }

    @Test func readOnlyShowsTheWritersLoadAndLeavesOutItsRates() {
        var s = DashboardSnapshot.sample
        s.readOnly = true
        s.load = .off
        var g = render(120, 40, snapshot: s)
        #expect(g.contains("WATCH read-only"))
        #expect(!g.contains("cmd 1"))
        s.load = .paused
        g = render(120, 40, snapshot: s)
        #expect(g.contains("WATCH load PAUSED"))
        #expect(g.contains("p pause"))
    }

    /// Watching: the sparkline row shows only what this process can know (the event rate),
    /// never zeros for the writer's command rates and latency.
    @Test func watchLeavesOutTheSparklinesItCannotKnow() {
        var s = DashboardSnapshot.sample
        s.readOnly = true
        let g = render(120, 40, snapshot: s)
        #expect(g.rows[1].contains("ev/s"))
        #expect(!g.rows[1].contains("cmd/s"))
        #expect(!g.rows[1].contains("p99"))
    }

    /// Watching with the writer gone: the status line says so instead of `durable`.
    @Test func watchSaysWhenTheWriterIsGone() {
        var s = DashboardSnapshot.sample
        s.readOnly = true
        s.load = .off
        s.writerGone = true
        let g = render(120, 40, snapshot: s)
        #expect(g.rows[0].contains("NO WRITER: commands refused"))
        #expect(!g.rows[0].contains("durable"))
    }
}

extension String {
    /// Column of the first occurrence of `needle` at or after column `from`.
    func distance(of needle: String, from: Int = 0) -> Int? {
        let chars = Array(self)
        let n = Array(needle)
        guard n.count <= chars.count else { return nil }
        for i in from...(chars.count - n.count) where Array(chars[i..<i + n.count]) == n { return i }
        return nil
    }
}

