import Shop
import Terminal

/// The help overlay (`?`, `h`, F1): the keys of the mode the user is in, then the command syntax
/// itself, so nobody needs a document they may not have.
extension DashboardRenderer {
    /// One block of the help overlay: a heading and its entries, each a key (or a command's
    /// syntax) and what it does.
    struct HelpSection: Equatable {
        var title: String
        var entries: [(key: String, what: String)]
        /// Commands are long: one per row, never side by side.
        var oneColumn = false

        static func == (a: HelpSection, b: HelpSection) -> Bool {
            a.title == b.title && a.oneColumn == b.oneColumn
                && a.entries.map(\.key) == b.entries.map(\.key) && a.entries.map(\.what) == b.entries.map(\.what)
        }
    }

    /// What each command does, in `CommandParser.verbs` order; the syntax comes from the parser
    /// itself, so the help cannot drift from what the palette accepts.
    static let commandPurposes: [String: String] = [
        "register": "add a product to the catalog",
        "restock": "add QTY units to stock",
        "price": "change a product's price",
        "place": "order; as ORDER picks its id",
        "pay": "record a payment for an order",
        "ship": "ship a paid order",
        "cancel": "cancel an order, saying why",
    ]

    /// The sections for the current mode, most specific first. `walkthrough` adds the lesson keys.
    static func helpSections(_ ui: DashboardUI, walkthrough: Bool) -> [HelpSection] {
        var sections: [HelpSection] = []
        if walkthrough {
            sections.append(HelpSection(title: "Walkthrough", entries: [
                ("n, Right", "next step"), ("b, Left", "back a step (replayed on a fresh log)"),
                ("Up/Down, PgUp/PgDn, Space", "more of the step's text"),
            ]))
        }
        if ui.inspector != nil {
            sections.append(HelpSection(title: "Event inspector", entries: [
                ("Up/Down, k/j", "previous / next event"), ("PgUp/PgDn", "20 events back / on"),
                ("Home/End", "first event / head"), ("g", "go to a position (digits, Enter)"),
                ("Esc, e, q", "close the inspector"), ("?, h, F1", "this help"),
            ]))
            return sections
        }
        let commandKeys: [(key: String, what: String)] = [
            ("Enter", "submit"), ("Esc", "cancel"), ("Backspace", "delete a character"), ("Ctrl-U", "clear the line"),
        ]
        if ui.palette != nil {
            sections.append(HelpSection(title: "Command palette", entries: commandKeys))
            sections.append(commandSection)
            return sections
        }
        if ui.timeTravel != nil {
            sections.append(HelpSection(title: "Time travel: every view as of position P", entries: [
                ("Left/Right", "P one event back / on"), ("PgUp/PgDn", "P 100 events back / on"),
                ("Home/End", "P to the first event / the head"), ("Esc, t", "back to live"),
            ]))
        }
        sections.append(HelpSection(title: ui.timeTravel != nil ? "Other keys" : "Keys", entries: [
            ("?, h, F1", "this help"), ("q", "quit"),
            ("Tab, 1-4", "focus a pane"), ("z, Enter", "zoom the focused pane (arrows scroll)"),
            (":", "command palette (below)"), ("e", "event inspector"),
            ("t", "time travel"), ("T", "next theme"),
            ("p", "pause or resume the load"), ("+, -", "load rate up / down"),
            ("/", "filter the event tail and zoomed rows"), ("Esc", "clear filter / unzoom / cancel / live"),
            ("s", "stop or start the focused pane's projector (view goes stale)"),
            ("r", "rebuild the focused pane's projection from position 1"),
        ]))
        sections.append(commandSection)
        return sections
    }

    static var commandSection: HelpSection {
        HelpSection(
            title: "Commands (: palette, or prism send); money as 1299 or 12.99",
            entries: CommandParser.verbs.map { (CommandParser.usage[$0] ?? $0, commandPurposes[$0] ?? "") },
            oneColumn: true)
    }

    /// The overlay's lines: section headings, then entries, two to a row where both fit half
    /// the box (so that the whole help fits 80x24), a long one on a row of its own.
    static func helpLines(_ sections: [HelpSection], width: Int) -> [[(String, CellStyle)]] {
        let keyStyle = CellStyle(.accent, attributes: .bold)
        let textStyle = CellStyle(.text)
        let gap = 3
        let half = (width - gap) / 2
        var lines: [[(String, CellStyle)]] = []
        for (i, section) in sections.enumerated() {
            if i > 0 { lines.append([]) }
            lines.append([(section.title, CellStyle(.title, attributes: .bold))])
            let keyWidth = (section.entries.map { $0.key.count }.max() ?? 0) + 2
            func fitsHalf(_ index: Int) -> Bool {
                !section.oneColumn && index < section.entries.count && keyWidth + section.entries[index].what.count <= half
            }
            var index = 0
            while index < section.entries.count {
                let entry = section.entries[index]
                var line: [(String, CellStyle)] = [(Format.column(entry.key, keyWidth), keyStyle)]
                if fitsHalf(index) && fitsHalf(index + 1) {
                    let next = section.entries[index + 1]
                    line.append((Format.column(entry.what, half - keyWidth + gap), textStyle))
                    line.append((Format.column(next.key, keyWidth), keyStyle))
                    line.append((next.what, textStyle))
                    index += 2
                } else {
                    // A command's syntax says more than a cut purpose: on a narrow box, drop it.
                    if !(section.oneColumn && keyWidth + entry.what.count > width) { line.append((entry.what, textStyle)) }
                    index += 1
                }
                lines.append(line)
            }
        }
        return lines
    }

    func drawHelp(_ ui: DashboardUI, walkthrough: Bool, into grid: inout CellGrid) {
        let w = min(grid.width - 4, 100)
        guard w > 10 else { return }
        let sections = DashboardRenderer.helpSections(ui, walkthrough: walkthrough)
        var lines = DashboardRenderer.helpLines(sections, width: w - 4)
        let h = min(grid.height - 2, lines.count + 2)
        guard h > 2 else { return }
        if lines.count > h - 2 {
            // Too short for all of it: say so on the last row rather than cutting silently.
            lines = Array(lines.prefix(h - 3)) + [[("\(glyphs.ellipsis) a taller terminal shows the rest", CellStyle(.dim))]]
        }
        let rect = Rect(x: (grid.width - w) / 2, y: (grid.height - h) / 2, width: w, height: h)
        grid.fill(rect)
        let mode = ui.inspector != nil ? "inspector" : ui.palette != nil ? "command palette" : ui.timeTravel != nil ? "time travel" : "live"
        grid.box(rect, glyphs: glyphs, style: borderStyle(focused: true, highlighted: false), title: "Help: \(mode)",
                 titleStyle: titleStyle(focused: true, highlighted: false), heavy: true)
        let inner = Rect(x: rect.x + 2, y: rect.y + 1, width: w - 4, height: h - 2)
        for (row, line) in lines.prefix(inner.height).enumerated() {
            var x = inner.x
            for (text, style) in line {
                x = grid.put(text, x: x, y: inner.y + row, width: inner.maxX - x, style: style, ellipsis: glyphs.ellipsis)
            }
        }
    }
}
