import CQRS
import Terminal

/// Draws a ``DashboardSnapshot`` and a ``DashboardUI`` into a ``CellGrid``. Pure: the same inputs
/// give the same grid, which is what lets ``DashboardApp`` skip frames that would not change
/// anything and lets tests assert on the screen without a terminal.
public struct DashboardRenderer: Sendable {
    public var glyphs: Glyphs
    /// Rows the zoomed pane's lists are scrolled by, while drawing that pane.
    var scroll = 0
    /// The `/` filter for the zoomed pane's table rows, while drawing that pane.
    var filter: String?

    public init(glyphs: Glyphs) {
        self.glyphs = glyphs
    }

    /// Renders one frame of `width` x `height`. `inspectorEvents` are the events the app fetched
    /// for the inspector's window (see ``DashboardLayout/inspectorWindow(cursor:head:)``).
    public func render(
        _ snapshot: DashboardSnapshot, ui: DashboardUI, width: Int, height: Int,
        inspectorEvents: [EventLine] = []
    ) -> CellGrid {
        var grid = CellGrid(width: width, height: height, asciiOnly: glyphs.isASCII)
        let layout = DashboardLayout(
            width: width, height: height, ui: ui, projectorCount: snapshot.projectors.count,
            narrationLines: snapshot.narration.map { $0.lines.count }, narrationTarget: snapshot.narration?.target ?? .none)
        if layout.mode == .tooSmall {
            drawTooSmall(into: &grid)
            return grid
        }
        drawStatus(snapshot, ui: ui, in: layout.status, into: &grid)
        if layout.mode == .grid {
            drawSparklines(snapshot, in: layout.secondRow, into: &grid)
        } else {
            drawTabs(snapshot, ui: ui, in: layout.secondRow, into: &grid)
        }
        let target = snapshot.narration?.target ?? .none
        for (pane, rect) in layout.panes {
            drawPane(pane, snapshot: snapshot, ui: ui, highlighted: target == .pane(pane), in: rect, into: &grid)
        }
        if let rect = layout.inspector, let inspector = ui.inspector {
            drawInspector(inspector, events: inspectorEvents, head: snapshot.head, in: rect, into: &grid)
        }
        if let rect = layout.narration, let narration = snapshot.narration {
            drawNarration(narration, offset: ui.narrationOffset, in: rect, into: &grid)
        }
        if let rect = layout.projectors {
            drawProjectors(snapshot, ui: ui, highlighted: target == .projectors, in: rect, into: &grid)
        }
        if let rect = layout.eventTail {
            drawEventTail(snapshot.recentEvents, filter: ui.filter, highlighted: target == .eventTail, in: rect, into: &grid)
        }
        drawMessage(snapshot, ui: ui, in: layout.message, into: &grid)
        drawHints(ui, walkthrough: snapshot.narration != nil, in: layout.hints, into: &grid)
        if ui.showHelp { drawHelp(ui, walkthrough: snapshot.narration != nil, into: &grid) }
        return grid
    }

    // MARK: - Frame pieces

    func drawTooSmall(into grid: inout CellGrid) {
        let lines = DashboardRenderer.tooSmallLines(width: grid.width, height: grid.height)
        let top = max(0, (grid.height - lines.count) / 2)
        for (i, line) in lines.enumerated() {
            let x = max(0, (grid.width - line.count) / 2)
            grid.put(line, x: x, y: top + i, style: CellStyle(.warn, attributes: .bold))
        }
    }

    /// "terminal too small: need 60x16, have WxH" on one line if it fits; else the complaint on
    /// a line of its own and the sizes below, broken between phrases ("need 60x16," stays
    /// together), then between words. A word is cut only when it is wider than the screen.
    static func tooSmallLines(width: Int, height: Int) -> [String] {
        let phrases = ["terminal too small:", "need \(DashboardLayout.minimumWidth)x\(DashboardLayout.minimumHeight),", "have \(width)x\(height)"]
        let room = max(1, width)
        let whole = phrases.joined(separator: " ")
        if whole.count <= room { return [whole] }
        var lines: [String] = []
        for (i, phrase) in phrases.enumerated() {
            if i > 1, let last = lines.last, last.count + 1 + phrase.count <= room {
                lines[lines.count - 1] = last + " " + phrase
            } else if phrase.count <= room {
                lines.append(phrase)
            } else {
                lines += wrapText(phrase, width: room)
            }
        }
        return lines
    }

    func drawStatus(_ s: DashboardSnapshot, ui: DashboardUI, in rect: Rect, into grid: inout CellGrid) {
        let bar = CellStyle(.text, attributes: .reverse)
        grid.fill(rect, with: Cell(" ", style: bar))
        var x = rect.x
        if let at = ui.timeTravel ?? s.asOf {
            x = grid.put(" AS OF \(Format.position(at)) ", x: x, y: rect.y, style: CellStyle(.warn, attributes: [.reverse, .bold]))
        }
        x = grid.put(" PRISM ", x: x, y: rect.y, style: CellStyle(.title, attributes: [.reverse, .bold]))
        var load: String
        switch s.load {
        case .live: load = "load \(Format.rate(s.loadRate))/s"
        case .paused: load = "load PAUSED"
        case .off: load = s.readOnly ? "read-only" : "no load"
        }
        // Watching: the load shown is the writer's, as its endpoint last reported it; with no
        // writer there is no load and nothing is made durable, and the line says so.
        if s.readOnly { load = s.writerGone ? "WATCH" : "WATCH " + load }
        let sep = " " + glyphs.separator + " "
        // Watching another process's log: its command rates and commit latency live in that
        // process, so they are left out rather than shown as zeros.
        let fields = [
            "head \(Format.position(s.head))",
            s.readOnly ? "" : "cmd \(Format.rate(s.commandsAcceptedPerSecond))/s rej \(Format.rate(s.commandsRejectedPerSecond))/s",
            "ev \(Format.rate(s.eventsPerSecond))/s",
            s.readOnly ? "" : "p99 \(Format.milliseconds(s.appendP99Milliseconds))",
            load,
            s.writerGone ? "NO WRITER: commands refused" : s.durability,
            "theme \(s.themeName)",
            s.dataFolder,
        ]
        // Fields that do not fit are left out whole, from the end (the folder first), rather than
        // cut in the middle of a word; only a first field too long for the line is cut.
        let room = rect.maxX - x
        var text = ""
        for field in fields where !field.isEmpty {
            let next = text.isEmpty ? " " + field : text + sep + field
            if !text.isEmpty && CellGrid.displayWidth(next) > room { break }
            text = next
        }
        grid.put(text, x: x, y: rect.y, width: room, style: bar, ellipsis: glyphs.ellipsis)
    }

    func drawSparklines(_ s: DashboardSnapshot, in rect: Rect, into grid: inout CellGrid) {
        // Watching another process's log, only the event rate can be known here (from the
        // head); the writer's command rates and latency are left out, as in the status line.
        let items: [(String, [Double], String, ColorRole)] = s.readOnly
            ? [("ev/s", s.history.events, Format.rate(s.eventsPerSecond), .accent)]
            : [
                ("cmd/s", s.history.commandsAccepted, Format.rate(s.commandsAcceptedPerSecond), .good),
                ("rej/s", s.history.commandsRejected, Format.rate(s.commandsRejectedPerSecond), .bad),
                ("ev/s", s.history.events, Format.rate(s.eventsPerSecond), .accent),
                ("p99", s.history.appendP99Milliseconds, Format.milliseconds(s.appendP99Milliseconds), .warn),
            ]
        let slot = rect.width / items.count
        for (i, item) in items.enumerated() {
            let x0 = rect.x + i * slot
            var x = grid.put(" " + item.0 + " ", x: x0, y: rect.y, style: CellStyle(.dim))
            let valueText = " " + item.2
            let sparkWidth = max(0, slot - (x - x0) - valueText.count - 1)
            grid.sparkline(item.1, x: x, y: rect.y, width: sparkWidth, glyphs: glyphs, style: CellStyle(item.3))
            x += sparkWidth
            grid.put(valueText, x: x, y: rect.y, style: CellStyle(.text, attributes: .bold), maxX: x0 + slot)
        }
    }

    func drawTabs(_ s: DashboardSnapshot, ui: DashboardUI, in rect: Rect, into grid: inout CellGrid) {
        var x = rect.x
        for pane in DashboardPane.allCases {
            let focused = pane == ui.focus
            let stopped = s.projector(named: pane.projectorName)?.state == .stopped
            var style = focused ? CellStyle(.focus, attributes: [.reverse, .bold]) : CellStyle(.text)
            if stopped && !focused { style = style.dimmed }
            if case .pane(pane) = s.narration?.target ?? .none, !focused { style = CellStyle(.accent, attributes: [.bold, .underline]) }
            x = grid.put(" \(pane.rawValue + 1) \(pane.title)\(stopped ? " (stopped)" : "") ", x: x, y: rect.y, style: style, maxX: rect.maxX)
            x = grid.put(glyphs.separator, x: x, y: rect.y, style: CellStyle(.border), maxX: rect.maxX)
        }
    }

    /// The projector strip: one row per projection.
    func drawProjectors(_ s: DashboardSnapshot, ui: DashboardUI, highlighted: Bool, in rect: Rect, into grid: inout CellGrid) {
        grid.box(rect, glyphs: glyphs, style: borderStyle(focused: false, highlighted: highlighted), title: "Projectors",
                 titleStyle: titleStyle(focused: false, highlighted: highlighted), heavy: highlighted)
        let inner = rect.inner
        for (i, p) in s.projectors.enumerated() where i < inner.height {
            let y = inner.y + i
            let focused = p.name == ui.focus.projectorName
            var x = grid.put(focused ? glyphs.pointer + " " : "  ", x: inner.x, y: y, style: CellStyle(.focus, attributes: .bold), maxX: inner.maxX)
            x = grid.put(Format.column(p.name, 10), x: x, y: y, style: CellStyle(.text, attributes: focused ? .bold : []), maxX: inner.maxX)
            x = grid.put(Format.column(p.state.rawValue, 12), x: x, y: y, style: stateStyle(p.state), maxX: inner.maxX)
            let lagStyle = p.lagEvents > 1000 ? CellStyle(.bad) : p.lagEvents > 0 ? CellStyle(.warn) : CellStyle(.good)
            // Narrow strips drop the rate column and padding so that lag, the point of the strip, stays.
            let wide = inner.width >= 84
            x = grid.put(Format.column(Format.position(p.checkpoint), wide ? 12 : 9, right: true), x: x, y: y, style: CellStyle(.text), maxX: inner.maxX)
            x = grid.put(Format.column("lag " + Format.grouped(p.lagEvents), wide ? 13 : 11, right: true), x: x, y: y, style: lagStyle, maxX: inner.maxX)
            x = grid.put(Format.column(Format.milliseconds(p.lagMilliseconds), wide ? 10 : 9, right: true), x: x, y: y, style: lagStyle, maxX: inner.maxX)
            if wide {
                x = grid.put(Format.column(Format.rate(p.eventsPerSecond) + " ev/s", 12, right: true), x: x, y: y, style: CellStyle(.dim), maxX: inner.maxX)
            }
            if let progress = p.rebuildProgress {
                x += 2
                let eta = p.rebuildETASeconds.map { " ETA " + Format.duration($0) } ?? ""
                let tail = " \(Int((min(1, max(0, progress)) * 100).rounded()))%" + eta
                let barWidth = min(30, inner.maxX - x - tail.count)
                if barWidth >= 4 {
                    grid.bar(fraction: progress, x: x, y: y, width: barWidth, glyphs: glyphs)
                    x += barWidth
                }
                grid.put(tail, x: x, y: y, style: CellStyle(.accent), maxX: inner.maxX)
            } else if let error = p.error {
                // Stopped by an error, not by a person: say why, on the projector's own row.
                grid.put("  " + error, x: x, y: y, style: CellStyle(.bad), maxX: inner.maxX)
            }
        }
        if s.projectors.isEmpty {
            grid.put("no projectors reported", x: inner.x + 1, y: inner.y, style: CellStyle(.dim), maxX: inner.maxX)
        }
    }

    func drawEventTail(_ events: [EventLine], filter: String? = nil, highlighted: Bool, in rect: Rect, into grid: inout CellGrid) {
        let title = filter.map { "Events  filter \"\($0)\"" } ?? "Events"
        grid.box(rect, glyphs: glyphs, style: borderStyle(focused: false, highlighted: highlighted), title: title,
                 titleStyle: titleStyle(focused: false, highlighted: highlighted), heavy: highlighted)
        let inner = rect.inner
        guard inner.height > 0 else { return }
        let matching = events.filter { e in
            DashboardUI.matches(e.type, filter) || DashboardUI.matches(e.stream, filter) || DashboardUI.matches(e.summary, filter)
        }
        let shown = matching.suffix(inner.height)
        if shown.isEmpty {
            grid.put(events.isEmpty ? "no events yet" : "no recent event matches the filter (Esc clears it)",
                     x: inner.x + 1, y: inner.y, style: CellStyle(.dim), maxX: inner.maxX)
        }
        for (i, e) in shown.enumerated() {
            drawEventLine(e, x: inner.x, y: inner.y + i, maxX: inner.maxX, selected: false, into: &grid)
        }
    }

    func drawEventLine(_ e: EventLine, x: Int, y: Int, maxX: Int, selected: Bool, into grid: inout CellGrid) {
        let extra: TextAttributes = selected ? .reverse : []
        // Narrow lines give the summary (what happened) the columns the padding would take.
        let wide = maxX - x >= 100
        let position = Format.position(e.position)
        var col = grid.put(Format.column(position, wide ? 12 : max(7, position.count), right: true) + "  ", x: x, y: y, style: CellStyle(.dim, attributes: extra), maxX: maxX)
        col = grid.put(Format.column(e.type, wide ? 18 : 17) + (wide ? "" : " "), x: col, y: y, style: CellStyle(DashboardRenderer.role(forEventType: e.type), attributes: extra.union(.bold)), maxX: maxX)
        // The stream and the event's version in it: `order-o-1 v2` is that order's second event.
        let stream = e.version > 0 ? "\(e.stream) v\(e.version)" : e.stream
        col = grid.put(Format.column(stream, wide ? 22 : 18) + " ", x: col, y: y, style: CellStyle(.text, attributes: extra), maxX: maxX)
        let summaryWidth = maxX - col
        if summaryWidth > 0 {
            grid.put(Format.column(e.summary, summaryWidth), x: col, y: y, width: summaryWidth, style: CellStyle(.text, attributes: extra), ellipsis: glyphs.ellipsis)
        }
    }

    func drawInspector(_ state: DashboardUI.Inspector, events: [EventLine], head: UInt64, in rect: Rect, into grid: inout CellGrid) {
        let listHeight = DashboardLayout.inspectorListHeight(rect)
        let (listBox, detailBox) = rect.splitTop(listHeight)
        grid.fill(rect)
        grid.box(listBox, glyphs: glyphs, style: borderStyle(focused: true, highlighted: false),
                 title: "Event inspector  \(Format.position(state.cursor)) of \(Format.position(head))",
                 titleStyle: titleStyle(focused: true, highlighted: false), heavy: true)
        let inner = listBox.inner
        for (i, e) in events.prefix(inner.height).enumerated() {
            let selected = e.position == state.cursor
            if selected { grid.put(glyphs.pointer, x: inner.x, y: inner.y + i, style: CellStyle(.focus, attributes: .bold)) }
            drawEventLine(e, x: inner.x + 1, y: inner.y + i, maxX: inner.maxX, selected: selected, into: &grid)
        }
        if events.isEmpty {
            grid.put("no events at \(Format.position(state.cursor))", x: inner.x + 1, y: inner.y, style: CellStyle(.dim), maxX: inner.maxX)
        }
        guard detailBox.height >= 3 else { return }
        grid.box(detailBox, glyphs: glyphs, title: "Selected event")
        let d = detailBox.inner
        guard let e = events.first(where: { $0.position == state.cursor }) else { return }
        // Each field once (the details carry position, stream and version, type, time, command
        // and data); a long line, the data above all, wraps under its value instead of being cut.
        let details = e.details.isEmpty
            ? ["position  \(e.position)", "stream    \(e.stream)", "type      \(e.type)", "summary   \(e.summary)"] : e.details
        var lines: [(String, CellStyle)] = []
        let room = max(10, d.width - 1)
        for detail in details {
            let isType = detail.hasPrefix("type ")
            let style = isType ? CellStyle(DashboardRenderer.role(forEventType: e.type), attributes: .bold) : CellStyle(.text)
            let label = String(detail.prefix { $0 != " " })
            let value = detail.dropFirst(label.count).drop { $0 == " " }
            let indent = min(10, detail.count - value.count)
            let wrapped = DashboardRenderer.hardWrap(String(value), width: room - indent)
            for (i, part) in wrapped.enumerated() {
                lines.append(((i == 0 ? String(detail.prefix(indent)) : String(repeating: " ", count: indent)) + part, style))
            }
        }
        if lines.count > d.height, d.height > 0 {
            lines = Array(lines.prefix(d.height - 1)) + [("+\(lines.count - d.height + 1) more lines", CellStyle(.dim))]
        }
        grid.lines(lines, in: d, ellipsis: glyphs.ellipsis)
    }

    /// Splits `text` into lines of at most `width` characters, at spaces or commas where it
    /// can (JSON has few spaces), else anywhere.
    static func hardWrap(_ text: String, width: Int) -> [String] {
        guard width > 0, text.count > width else { return [text] }
        var lines: [String] = []
        var rest = Substring(text)
        while rest.count > width {
            let head = rest.prefix(width)
            var cut = head.count
            if let i = head.lastIndex(where: { $0 == " " || $0 == "," }), head.distance(from: head.startIndex, to: i) > width / 2 {
                cut = head.distance(from: head.startIndex, to: i) + 1
            }
            lines.append(String(rest.prefix(cut)))
            rest = rest.dropFirst(cut)
        }
        if !rest.isEmpty { lines.append(String(rest)) }
        return lines
    }

    /// The narration box: as many lines as fit from `offset` on; when there are more above or
    /// below, the bottom border says so and which keys page, so no text is silently cut.
    func drawNarration(_ n: Narration, offset: Int, in rect: Rect, into grid: inout CellGrid) {
        grid.fill(rect)
        grid.box(rect, glyphs: glyphs, style: CellStyle(.accent, attributes: .bold), title: n.title,
                 titleStyle: CellStyle(.accent, attributes: [.bold, .reverse]))
        let inner = rect.inner
        guard inner.height > 0 else { return }
        let start = DashboardRenderer.narrationStart(offset: offset, lines: n.lines.count, rows: inner.height)
        grid.lines(n.lines.dropFirst(start).map { ($0, CellStyle(.text)) },
                   in: Rect(x: inner.x + 1, y: inner.y, width: inner.width - 2, height: inner.height), ellipsis: glyphs.ellipsis)
        let below = n.lines.count - start - inner.height
        guard start > 0 || below > 0 else { return }
        var marker = " lines \(start + 1)-\(min(n.lines.count, start + inner.height)) of \(n.lines.count)"
        if below > 0 { marker += "  " + (glyphs.isASCII ? "v" : "▼") + " more: Down/PgDn" }
        if start > 0 { marker += "  " + (glyphs.isASCII ? "^" : "▲") + " Up/PgUp" }
        marker += " "
        let x = max(rect.x + 1, rect.maxX - 1 - CellGrid.displayWidth(marker))
        grid.put(marker, x: x, y: rect.maxY - 1, style: CellStyle(.accent, attributes: [.bold, .reverse]), maxX: rect.maxX - 1)
    }

    /// The first narration line shown: `offset`, kept where the last page is still full.
    public static func narrationStart(offset: Int, lines: Int, rows: Int) -> Int {
        max(0, min(offset, lines - rows))
    }

    func drawMessage(_ s: DashboardSnapshot, ui: DashboardUI, in rect: Rect, into grid: inout CellGrid) {
        if let input = ui.filterInput {
            let x = grid.put("/", x: rect.x, y: rect.y, style: CellStyle(.focus, attributes: .bold))
            let end = grid.put(String(input.suffix(max(1, rect.width - 3))), x: x, y: rect.y, style: CellStyle(.text), maxX: rect.maxX)
            grid.put(" ", x: end, y: rect.y, style: CellStyle(.text, attributes: .reverse), maxX: rect.maxX)
            return
        }
        if let input = ui.palette {
            let x = grid.put(":", x: rect.x, y: rect.y, style: CellStyle(.focus, attributes: .bold))
            // Show the end of a long input: that is where the user is typing.
            let room = max(1, rect.width - 2)
            let visible = String(input.suffix(room - 1))
            let end = grid.put(visible, x: x, y: rect.y, style: CellStyle(.text), maxX: rect.maxX)
            grid.put(" ", x: end, y: rect.y, style: CellStyle(.text, attributes: .reverse), maxX: rect.maxX)
            return
        }
        if let goto = ui.inspector?.gotoInput {
            let x = grid.put("go to position: ", x: rect.x, y: rect.y, style: CellStyle(.focus, attributes: .bold))
            let end = grid.put(goto, x: x, y: rect.y, style: CellStyle(.text), maxX: rect.maxX)
            grid.put(" ", x: end, y: rect.y, style: CellStyle(.text, attributes: .reverse), maxX: rect.maxX)
            return
        }
        // An error from the system (a failed writer) outranks the last key's message.
        let systemError = s.message.flatMap { $0.hasPrefix("error") ? $0 : nil }
        guard let text = systemError ?? ui.message ?? s.message, !text.isEmpty else { return }
        let role: ColorRole = text.hasPrefix("rejected") || text.hasPrefix("error") ? .bad
            : text.hasPrefix("accepted") ? .good : .text
        grid.put(text, x: rect.x, y: rect.y, width: rect.width, style: CellStyle(role, attributes: .bold), ellipsis: glyphs.ellipsis)
    }

    /// A key hint: the key, what it does, and a shorter word for narrow screens.
    struct Hint {
        var key: String
        var long: String
        var short: String
        init(_ key: String, _ long: String, _ short: String? = nil) {
            self.key = key
            self.long = long
            self.short = short ?? long
        }
    }

    /// The hints for the current mode, most important first.
    static func hints(_ ui: DashboardUI, walkthrough: Bool = false) -> [Hint] {
        if ui.showHelp { return [Hint("any key", "closes help")] }
        // A walkthrough's own keys come first wherever they work (see WalkthroughKeys).
        if walkthrough && ui.palette == nil && ui.inspector == nil {
            let moves = ui.timeTravel == nil ? [Hint("n/Right", "next step", "next"), Hint("b/Left", "back", "back")]
                : [Hint("n", "next step", "next"), Hint("b", "back")]
            return moves + [Hint("Up/Down", "more text", "more")] + hints(ui).filter { $0.key != "Left/Right" || ui.timeTravel != nil }
        }
        if ui.palette != nil {
            return [Hint("Enter", "submit"), Hint("Esc", "cancel"), Hint("F1", "help"), Hint("e.g.", "place alice MUG:2"),
                    Hint("Backspace", "delete", "del")]
        }
        if ui.inspector?.gotoInput != nil { return [Hint("digits", "position"), Hint("Enter", "go"), Hint("Esc", "cancel")] }
        if ui.filterInput != nil { return [Hint("Enter", "filter"), Hint("Esc", "cancel"), Hint("text", "type, stream or words")] }
        if ui.inspector != nil {
            return [Hint("Esc", "close"), Hint("Up/Down", "move"), Hint("g", "go to position", "go to"), Hint("?", "help"),
                    Hint("PgUp/PgDn", "page"), Hint("Home/End", "first/last", "ends")]
        }
        if ui.timeTravel != nil {
            return [Hint("Esc", "back to live", "live"), Hint("Left/Right", "step 1", "1"), Hint("PgUp/PgDn", "step 100", "100"),
                    Hint("?", "help"), Hint("e", "events"), Hint("q", "quit"), Hint("Home/End", "first/head", "ends")]
        }
        // The most used first (quit, help, focus, commands, time travel, events): a narrow line
        // drops hints from the end, so what goes is what is needed least.
        var h = [Hint("q", "quit"), Hint("?", "help"), Hint("Tab/1-4", "focus"), Hint(":", "command", "cmd"), Hint("t", "time travel", "time")]
        h += [Hint("e", "events"), Hint("z", "zoom"), Hint("/", "filter"), Hint("s", "stop/start", "stop"), Hint("r", "rebuild"), Hint("p", "pause")]
        h += [Hint("+/-", "rate"), Hint("T", "theme")]
        return h
    }

    /// The key-hint line. Degrades in steps rather than cutting a hint in half: full words, then
    /// short words, then as many hints as fit, in order, so the most used (listed first) stay.
    /// `?` lists every key, so a dropped hint is never a hidden key.
    func drawHints(_ ui: DashboardUI, walkthrough: Bool, in rect: Rect, into grid: inout CellGrid) {
        let hints = DashboardRenderer.hints(ui, walkthrough: walkthrough)
        func width(_ short: Bool, gap: Int) -> Int {
            hints.reduce(0) { $0 + $1.key.count + 1 + (short ? $1.short : $1.long).count } + gap * (hints.count - 1)
        }
        let useShort = width(false, gap: 2) > rect.width
        let gap = useShort && width(true, gap: 2) > rect.width ? 1 : 2
        var x = rect.x
        for hint in hints {
            let what = useShort ? hint.short : hint.long
            if x + hint.key.count + 1 + what.count > rect.maxX { break }
            x = grid.put(hint.key, x: x, y: rect.y, style: CellStyle(.accent, attributes: .bold))
            x = grid.put(" " + what, x: x, y: rect.y, style: CellStyle(.dim))
            x += gap
        }
    }

    // MARK: - Styles

    /// Focus and a walkthrough's highlight must read at a glance, in colour and without: their
    /// boxes are drawn in heavy lines, bold, in the focus (or accent) colour, with the title in
    /// reverse video; plain boxes keep the quiet border colour.
    func borderStyle(focused: Bool, highlighted: Bool) -> CellStyle {
        if highlighted { return CellStyle(.accent, attributes: .bold) }
        return focused ? CellStyle(.focus, attributes: .bold) : CellStyle(.border)
    }

    func titleStyle(focused: Bool, highlighted: Bool) -> CellStyle {
        if highlighted { return CellStyle(.accent, attributes: [.bold, .reverse]) }
        return focused ? CellStyle(.focus, attributes: [.bold, .reverse]) : CellStyle(.title, attributes: .bold)
    }

    func stateStyle(_ state: ProjectorState) -> CellStyle {
        switch state {
        case .live: CellStyle(.good)
        case .catchingUp: CellStyle(.warn)
        case .rebuilding: CellStyle(.accent, attributes: .bold)
        case .stopped: CellStyle(.bad, attributes: [.bold, .reverse])
        case .stalled: CellStyle(.bad, attributes: .bold)
        }
    }

    /// The colour role of an event type in SPEC.md section 2; unknown types read as plain text.
    public static func role(forEventType type: String) -> ColorRole {
        switch type {
        case "ProductRegistered": .registered
        case "ProductRestocked": .restocked
        case "PriceChanged": .priceChanged
        case "OrderPlaced": .placed
        case "PaymentReceived": .paid
        case "OrderShipped": .shipped
        case "OrderCancelled": .cancelled
        default: .text
        }
    }
}
