import CQRS
import Shop
import Terminal

/// The four category panes of SPEC.md section 3.
extension DashboardRenderer {
    /// Draws one pane: a border whose title carries the projector's checkpoint and lag, and the
    /// view's contents. A stopped projector's pane is dimmed and says STOPPED, so a frozen view
    /// is never mistaken for a quiet one.
    func drawPane(
        _ pane: DashboardPane, snapshot s: DashboardSnapshot, ui: DashboardUI, highlighted: Bool,
        in rect: Rect, into grid: inout CellGrid
    ) {
        guard rect.width >= 4, rect.height >= 3 else { return }
        let status = s.projector(named: pane.projectorName)
        let focused = pane == ui.focus
        let stale = status?.state == .stopped
        var title = pane.title
        if let at = ui.timeTravel ?? s.asOf {
            title += "  as of \(Format.position(at))"
        } else if let p = status {
            switch p.state {
            case .stopped: title += "  STOPPED"
            case .rebuilding: title += "  REBUILDING \(Int(((p.rebuildProgress ?? 0) * 100).rounded()))%"
            case .stalled: title += "  STALLED"
            case .catchingUp, .live: break
            }
            title += "  \(Format.position(p.checkpoint))  lag \(Format.grouped(p.lagEvents))"
        }
        if focused && ui.zoomed { title += "  [zoom]" }
        var titleStyle = titleStyle(focused: focused, highlighted: highlighted)
        if stale { titleStyle = CellStyle(.bad, attributes: [.bold, .reverse]) }
        grid.box(rect, glyphs: glyphs, style: borderStyle(focused: focused, highlighted: highlighted), title: title,
                 titleStyle: titleStyle, heavy: focused || highlighted)
        let inner = Rect(x: rect.x + 1, y: rect.y + 1, width: rect.width - 2, height: rect.height - 2)
        let content = Rect(x: inner.x + 1, y: inner.y, width: inner.width - 2, height: inner.height)
        // Zoomed, the pane's lists start at the scroll offset (Up/Down, PgUp/PgDn).
        var renderer = self
        renderer.scroll = focused && ui.zoomed ? ui.zoomOffset : 0
        renderer.filter = focused && ui.zoomed ? ui.filter : nil
        switch pane {
        case .shoppers:
            if let v = s.shoppers { renderer.drawShoppers(v, in: content, into: &grid) } else { drawMissing(stale, in: content, into: &grid) }
        case .warehouse:
            if let v = s.warehouse { renderer.drawWarehouse(v, in: content, into: &grid) } else { drawMissing(stale, in: content, into: &grid) }
        case .finance:
            if let v = s.finance { renderer.drawFinance(v, in: content, into: &grid) } else { drawMissing(stale, in: content, into: &grid) }
        case .support:
            if let v = s.support { renderer.drawSupport(v, head: ui.timeTravel ?? s.asOf ?? s.head, in: content, into: &grid) } else { drawMissing(stale, in: content, into: &grid) }
        }
        if stale {
            grid.restyle(inner) { style in
                var dimmed = style
                dimmed.foreground = .dim
                dimmed.attributes.insert(.dim)
                return dimmed
            }
        }
    }

    /// Rows in the pane's longest list, which bounds how far its zoomed view scrolls.
    public static func longestList(_ pane: DashboardPane, in s: DashboardSnapshot) -> Int {
        switch pane {
        case .shoppers: max(s.shoppers?.catalog.count ?? 0, s.shoppers?.customers.count ?? 0)
        case .warehouse: max(s.warehouse?.stock.count ?? 0, s.warehouse?.pickQueue.count ?? 0)
        case .finance: s.finance?.topSkus.count ?? 0
        case .support: max(s.support?.oldestUnpaid.count ?? 0, s.support?.cancellationReasons.count ?? 0)
        }
    }

    func drawMissing(_ stopped: Bool, in rect: Rect, into grid: inout CellGrid) {
        grid.put(stopped ? "projector stopped; no view yet (s to start)" : "not built yet", x: rect.x, y: rect.y,
                 width: rect.width, style: CellStyle(.dim), ellipsis: glyphs.ellipsis)
    }

    // MARK: - Shoppers

    func drawShoppers(_ v: ShoppersView, in rect: Rect, into grid: inout CellGrid) {
        let (catalogRect, customerRect) = twoSections(
            rect, left: 34, right: 31, needs: (2 + max(1, v.catalog.count), 2 + max(1, v.customers.count)))
        let catalog = v.catalog.map { item -> [TableCell] in
            let availStyle = item.available == 0 ? CellStyle(.bad, attributes: .bold) : item.available < 5 ? CellStyle(.warn) : CellStyle(.text)
            return [TableCell(item.sku), TableCell(item.name), TableCell(Format.money(item.priceCents)),
                    TableCell(Format.grouped(item.available), availStyle)]
        }
        drawTable(
            title: "Catalog (\(v.catalog.count))",
            columns: [Column("SKU", 8), Column("Name", 6, flexible: true), Column("Price", 10, right: true), Column("Avail", 7, right: true)],
            rows: catalog, in: catalogRect, into: &grid)
        let customers = v.customers.map { c -> [TableCell] in
            [TableCell(c.customer), TableCell(Format.grouped(c.orders)), TableCell(Format.grouped(c.open)), TableCell(Format.money(c.spentCents))]
        }
        drawTable(
            title: "Customers (\(v.customers.count))",
            columns: [Column("Customer", 6, flexible: true), Column("Orders", 6, right: true), Column("Open", 5, right: true), Column("Spent", 11, right: true)],
            rows: customers, in: customerRect, into: &grid)
    }

    // MARK: - Warehouse

    func drawWarehouse(_ v: WarehouseView, in rect: Rect, into grid: inout CellGrid) {
        // The side's width decides how many rows its wrapped lists need; half the pane is close enough.
        let sideWidth = max(18, rect.width / 2)
        let sideNeeds = 2 + max(1, wrapText(v.pickQueue.joined(separator: " "), width: max(1, sideWidth)).count)
            + max(1, wrapText(v.lowStock.joined(separator: " "), width: max(1, sideWidth)).count)
        let (stockRect, sideRect) = twoSections(rect, left: 33, right: 18, needs: (2 + max(1, v.stock.count), sideNeeds))
        let stock = v.stock.map { line -> [TableCell] in
            let availStyle = line.available == 0 ? CellStyle(.bad, attributes: .bold) : line.available < 5 ? CellStyle(.warn, attributes: .bold) : CellStyle(.text)
            return [TableCell(line.sku), TableCell(Format.grouped(line.onHand)), TableCell(Format.grouped(line.reserved)),
                    TableCell(Format.grouped(line.available), availStyle)]
        }
        drawTable(
            title: "Stock (\(v.stock.count))",
            columns: [Column("SKU", 6, flexible: true), Column("On hand", 8, right: true), Column("Reserved", 9, right: true), Column("Avail", 7, right: true)],
            rows: stock, in: stockRect, into: &grid)
        guard !sideRect.isEmpty else { return }
        var lines: [(String, CellStyle)] = []
        lines.append(("Pick queue (\(v.pickQueue.count))", CellStyle(.title, attributes: .bold)))
        let queueLines = wrapText(v.pickQueue.joined(separator: " "), width: max(1, sideRect.width))
        let lowRows = v.lowStock.isEmpty ? 2 : 2 + min(2, wrapText(v.lowStock.joined(separator: " "), width: max(1, sideRect.width)).count)
        let queueRoom = max(1, sideRect.height - 1 - lowRows)
        if v.pickQueue.isEmpty {
            lines.append(("nothing to ship", CellStyle(.dim)))
        } else {
            lines += queueLines.prefix(queueRoom).map { ($0, CellStyle(.paid)) }
        }
        lines.append(("Low stock (\(v.lowStock.count))", CellStyle(.title, attributes: .bold)))
        if v.lowStock.isEmpty {
            lines.append(("none", CellStyle(.dim)))
        } else {
            lines += wrapText(v.lowStock.joined(separator: " "), width: max(1, sideRect.width)).map { ($0, CellStyle(.warn, attributes: .bold)) }
        }
        grid.lines(lines, in: sideRect, ellipsis: glyphs.ellipsis)
    }

    // MARK: - Finance

    func drawFinance(_ v: FinanceView, in rect: Rect, into grid: inout CellGrid) {
        let (figuresRect, topRect) = twoSections(rect, left: 24, right: 24, needs: (6, 1 + max(1, v.topSkus.count)))
        let figures: [(String, String, CellStyle)] = [
            ("Revenue", Format.money(v.revenueCents), CellStyle(.good, attributes: .bold)),
            ("Refunds", Format.money(v.refundsCents), CellStyle(.bad)),
            ("Net", Format.money(v.netCents), CellStyle(.text, attributes: .bold)),
            ("Outstanding", Format.money(v.outstandingCents), CellStyle(.warn)),
            ("Paid orders", Format.grouped(v.paidOrders), CellStyle(.text)),
            ("Avg order", Format.money(v.averageOrderCents), CellStyle(.text)),
        ]
        let valueWidth = max(12, figures.map(\.1.count).max() ?? 0)
        for (i, f) in figures.enumerated() where i < figuresRect.height {
            let y = figuresRect.y + i
            grid.put(f.0, x: figuresRect.x, y: y, style: CellStyle(.dim), maxX: figuresRect.maxX)
            let x = max(figuresRect.x + 12, figuresRect.maxX - valueWidth)
            grid.put(Format.column(f.1, valueWidth, right: true), x: x, y: y, style: f.2, maxX: figuresRect.maxX)
        }
        guard !topRect.isEmpty else { return }
        grid.put("Top SKUs by revenue", x: topRect.x, y: topRect.y, style: CellStyle(.title, attributes: .bold), maxX: topRect.maxX)
        if v.topSkus.isEmpty {
            grid.put("no paid orders yet", x: topRect.x, y: topRect.y + 1, style: CellStyle(.dim), maxX: topRect.maxX)
            return
        }
        let peak = Double(v.topSkus.map(\.revenueCents).max() ?? 1)
        let moneyWidth = max(10, v.topSkus.map { Format.money($0.revenueCents).count }.max() ?? 0)
        let skuWidth = min(16, max(4, v.topSkus.map(\.sku.count).max() ?? 4))
        for (i, top) in v.topSkus.dropFirst(min(scroll, max(0, v.topSkus.count - 1))).enumerated() where i + 1 < topRect.height {
            let y = topRect.y + 1 + i
            var x = grid.put(Format.column(top.sku, skuWidth) + " ", x: topRect.x, y: y, style: CellStyle(.text), maxX: topRect.maxX)
            x = grid.put(Format.column(Format.money(top.revenueCents), moneyWidth, right: true) + " ", x: x, y: y, style: CellStyle(.good), maxX: topRect.maxX)
            let barWidth = topRect.maxX - x
            if barWidth >= 3 {
                grid.bar(fraction: peak > 0 ? Double(top.revenueCents) / peak : 0, x: x, y: y, width: barWidth, glyphs: glyphs,
                         style: CellStyle(.accent), emptyStyle: CellStyle(.dim))
            }
        }
    }

    // MARK: - Support

    func drawSupport(_ v: SupportView, head: UInt64, in rect: Rect, into grid: inout CellGrid) {
        let restNeeds = 2 + max(1, v.oldestUnpaid.count) + max(1, v.cancellationReasons.count)
        let (countsRect, restRect) = twoSections(rect, left: 22, right: 30, needs: (5, restNeeds))
        let c = v.statusCounts
        let counts: [(String, Int, ColorRole)] = [
            ("placed", c.placed, .placed), ("paid", c.paid, .paid), ("shipped", c.shipped, .shipped), ("cancelled", c.cancelled, .cancelled),
        ]
        grid.put("Orders by status", x: countsRect.x, y: countsRect.y, style: CellStyle(.title, attributes: .bold), maxX: countsRect.maxX)
        let total = max(1, counts.reduce(0) { $0 + $1.1 })
        for (i, entry) in counts.enumerated() where i + 1 < countsRect.height {
            let y = countsRect.y + 1 + i
            var x = grid.put(Format.column(entry.0, 10), x: countsRect.x, y: y, style: CellStyle(entry.2, attributes: .bold), maxX: countsRect.maxX)
            x = grid.put(Format.column(Format.grouped(entry.1), 8, right: true) + " ", x: x, y: y, style: CellStyle(.text), maxX: countsRect.maxX)
            let barWidth = countsRect.maxX - x
            if barWidth >= 3 {
                grid.bar(fraction: Double(entry.1) / Double(total), x: x, y: y, width: barWidth, glyphs: glyphs,
                         style: CellStyle(entry.2), emptyStyle: CellStyle(.dim))
            }
        }
        guard !restRect.isEmpty else { return }
        var lines: [(String, CellStyle)] = [("Oldest unpaid", CellStyle(.title, attributes: .bold))]
        if v.oldestUnpaid.isEmpty { lines.append(("none", CellStyle(.dim))) }
        // Columns as wide as their longest entry (ids and names are short in a lesson, long
        // under load), so that a narrow side still shows the age, the point of the list.
        let idWidth = min(10, v.oldestUnpaid.map(\.orderId.count).max() ?? 0)
        let customerWidth = min(10, v.oldestUnpaid.map(\.customer.count).max() ?? 0)
        for o in v.oldestUnpaid.dropFirst(min(scroll, max(0, v.oldestUnpaid.count - 1))) {
            let age = head > o.placedAt ? head - o.placedAt : 0
            lines.append(("\(Format.column(o.orderId, idWidth)) \(Format.column(o.customer, customerWidth)) \(Format.position(o.placedAt))  \(Format.grouped(age)) ev ago", CellStyle(.warn)))
        }
        lines.append(("Cancellation reasons", CellStyle(.title, attributes: .bold)))
        let reasons = v.cancellationReasons.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        if reasons.isEmpty { lines.append(("none", CellStyle(.dim))) }
        for (reason, count) in reasons {
            lines.append(("\(Format.column(Format.grouped(count), 6, right: true))  \(reason)", CellStyle(.cancelled)))
        }
        grid.lines(lines, in: restRect, ellipsis: glyphs.ellipsis)
    }

    // MARK: - Helpers

    /// Splits a pane's content in two sections: side by side when both fit their minimum
    /// widths (`left` and `right` columns), else one above the other sharing the rows by what each
    /// needs (`needs`: rows each would use to show everything). Neither is left out: when rows
    /// are short each gets a fair share (at least 2 rows, a title and one line), so a short pane
    /// still shows both sections, each saying how many more it holds.
    func twoSections(_ rect: Rect, left: Int, right: Int, needs: (Int, Int)) -> (Rect, Rect) {
        if rect.width >= left + right + 2 {
            // The left side gets what it needs and at most its share; the rest is the right's.
            let leftWidth = max(left, min(rect.width - right - 2, rect.width * left / max(1, left + right)))
            let (l, r) = rect.splitLeft(leftWidth + 2)
            return (Rect(x: l.x, y: l.y, width: l.width - 2, height: l.height), r)
        }
        let topRows = DashboardRenderer.shareRows(rect.height, needs: needs)
        return rect.splitTop(topRows)
    }

    /// Rows for the first of two stacked sections out of `total`: each gets what it needs when
    /// both fit; else the one that needs less keeps it (up to half), the other takes the rest.
    static func shareRows(_ total: Int, needs: (Int, Int)) -> Int {
        let (a, b) = (max(1, needs.0), max(1, needs.1))
        if a + b <= total { return a }
        if total < 4 { return total }
        let half = total / 2
        if a <= half { return a }
        if b <= total - half { return total - b }
        return half
    }

    struct Column {
        var header: String
        var width: Int
        var right: Bool
        var flexible: Bool
        init(_ header: String, _ width: Int, right: Bool = false, flexible: Bool = false) {
            self.header = header
            self.width = width
            self.right = right
            self.flexible = flexible
        }
    }

    struct TableCell {
        var text: String
        var style: CellStyle?
        init(_ text: String, _ style: CellStyle? = nil) {
            self.text = text
            self.style = style
        }
    }

    /// A titled table: a heading, a header row and as many rows as fit, the last row saying how
    /// many more there are when they do not all fit. The flexible column takes the spare width.
    func drawTable(title: String, columns: [Column], rows: [[TableCell]], in rect: Rect, into grid: inout CellGrid) {
        guard rect.height > 0, rect.width > 0 else { return }
        // Rows that do not fit are counted on the title line, so every row below it is data;
        // scrolled (a zoomed pane), the title says which rows are shown.
        let room = max(0, rect.height - 2)
        let kept = filter == nil ? rows : rows.filter { row in row.contains { DashboardUI.matches($0.text, filter) } }
        let skip = min(scroll, max(0, kept.count - 1))
        let all = kept.count
        let rows = Array(kept.dropFirst(skip))
        let title = filter.map { title + "  \"\($0)\"" } ?? title
        let hidden = rows.count > room ? rows.count - room : 0
        let x = grid.put(title, x: rect.x, y: rect.y, width: rect.width, style: CellStyle(.title, attributes: .bold), ellipsis: glyphs.ellipsis)
        if skip > 0 {
            grid.put("  rows \(skip + 1)-\(skip + min(room, rows.count)) of \(Format.grouped(all))", x: x, y: rect.y, style: CellStyle(.dim), maxX: rect.maxX)
        } else if hidden > 0 {
            grid.put("  +\(Format.grouped(hidden)) more", x: x, y: rect.y, style: CellStyle(.dim), maxX: rect.maxX)
        }
        guard rect.height > 1 else { return }
        var widths = columns.map(\.width)
        let fixed = widths.reduce(0, +) + columns.count - 1
        if let flex = columns.firstIndex(where: \.flexible) {
            // Grow the flexible column to the longest content (or the room left), never below its minimum.
            let longest = rows.map { $0[flex].text.count }.max() ?? 0
            widths[flex] = max(columns[flex].width, columns[flex].header.count, min(max(longest, columns[flex].header.count), rect.width - (fixed - columns[flex].width)))
        }
        func drawRow(_ cells: [(String, CellStyle)], y: Int) {
            var x = rect.x
            for (i, column) in columns.enumerated() where x < rect.maxX {
                let (text, style) = cells[i]
                let w = min(widths[i], rect.maxX - x)
                if w <= 0 { break }
                if text.count > w && !column.right {
                    grid.put(text, x: x, y: y, width: w, style: style, ellipsis: glyphs.ellipsis)
                } else {
                    grid.put(Format.column(text, w, right: column.right), x: x, y: y, style: style, maxX: rect.maxX)
                }
                x += widths[i] + 1
            }
        }
        drawRow(columns.map { ($0.header, CellStyle(.dim, attributes: .underline)) }, y: rect.y + 1)
        guard room > 0 else { return }
        if rows.isEmpty {
            grid.put("none yet", x: rect.x, y: rect.y + 2, style: CellStyle(.dim), maxX: rect.maxX)
            return
        }
        for (i, row) in rows.prefix(room).enumerated() {
            drawRow(row.map { ($0.text, $0.style ?? CellStyle(.text)) }, y: rect.y + 2 + i)
        }
    }
}
