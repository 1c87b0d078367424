/// Widgets that draw straight into a ``CellGrid``: boxes, bars, sparklines. Each clips to its
/// rectangle, so a layout that runs out of room degrades by cutting, never by overdrawing.
extension CellGrid {
    /// Draws a border around `rect` with an optional title in the top edge, in heavy lines
    /// when `heavy` (the focused or highlighted box).
    /// The title is clipped to fit and padded with one space each side.
    public mutating func box(
        _ rect: Rect, glyphs: Glyphs, style: CellStyle = CellStyle(.border),
        title: String? = nil, titleStyle: CellStyle = CellStyle(.title, attributes: .bold), heavy: Bool = false
    ) {
        guard rect.width >= 2, rect.height >= 2 else { return }
        let lines = heavy ? glyphs.heavy : glyphs.light
        let x1 = rect.maxX - 1, y1 = rect.maxY - 1
        for x in rect.x + 1..<x1 {
            self[x, rect.y] = Cell(lines.horizontal, style: style)
            self[x, y1] = Cell(lines.horizontal, style: style)
        }
        for y in rect.y + 1..<y1 {
            self[rect.x, y] = Cell(lines.vertical, style: style)
            self[x1, y] = Cell(lines.vertical, style: style)
        }
        self[rect.x, rect.y] = Cell(lines.topLeft, style: style)
        self[x1, rect.y] = Cell(lines.topRight, style: style)
        self[rect.x, y1] = Cell(lines.bottomLeft, style: style)
        self[x1, y1] = Cell(lines.bottomRight, style: style)
        if let title, !title.isEmpty, rect.width > 4 {
            put(" " + title + " ", x: rect.x + 1, y: rect.y, width: rect.width - 2, style: titleStyle, ellipsis: glyphs.ellipsis)
        }
    }

    /// Draws a horizontal bar `width` cells wide, filled in proportion to `fraction` (0...1).
    public mutating func bar(
        fraction: Double, x: Int, y: Int, width: Int, glyphs: Glyphs,
        style: CellStyle = CellStyle(.accent), emptyStyle: CellStyle = CellStyle(.dim)
    ) {
        guard width > 0 else { return }
        let f = fraction.isFinite ? min(1, max(0, fraction)) : 0
        let filled = Int((f * Double(width)).rounded())
        for i in 0..<width {
            if i < filled { self[x + i, y] = Cell(glyphs.barFull, style: style) }
            else { self[x + i, y] = Cell(glyphs.barEmpty, style: emptyStyle) }
        }
    }

    /// Draws the last `width` values of `values` as a sparkline scaled to their maximum, so a
    /// quiet system shows a flat low line rather than noise blown up to full height.
    public mutating func sparkline(
        _ values: [Double], x: Int, y: Int, width: Int, glyphs: Glyphs, style: CellStyle = CellStyle(.accent)
    ) {
        guard width > 0, !glyphs.sparks.isEmpty else { return }
        let shown = values.suffix(width)
        let peak = shown.reduce(0) { max($0, $1.isFinite ? $1 : 0) }
        let levels = glyphs.sparks.count
        let pad = width - shown.count
        for i in 0..<pad { self[x + i, y] = Cell(" ", style: style) }
        for (i, v) in shown.enumerated() {
            let value = v.isFinite ? max(0, v) : 0
            let level = peak > 0 ? min(levels - 1, Int((value / peak) * Double(levels - 1) + 0.5)) : 0
            self[x + pad + i, y] = Cell(glyphs.sparks[level], style: style)
        }
    }

    /// Writes `lines` into `rect`, one per row, each clipped; returns the rows used.
    @discardableResult
    public mutating func lines(_ lines: [(String, CellStyle)], in rect: Rect, ellipsis: String) -> Int {
        var row = 0
        for (text, style) in lines where row < rect.height {
            put(text, x: rect.x, y: rect.y + row, width: rect.width, style: style, ellipsis: ellipsis)
            row += 1
        }
        return row
    }
}

/// Word-wraps `text` to lines of at most `width` columns, breaking long words hard.
public func wrapText(_ text: String, width: Int) -> [String] {
    guard width > 0 else { return [] }
    var lines: [String] = []
    var current = ""
    for word in text.split(separator: " ", omittingEmptySubsequences: true) {
        var w = String(word)
        while w.count > width {
            if !current.isEmpty { lines.append(current); current = "" }
            lines.append(String(w.prefix(width)))
            w = String(w.dropFirst(width))
        }
        if current.isEmpty { current = w }
        else if current.count + 1 + w.count <= width { current += " " + w }
        else { lines.append(current); current = w }
    }
    if !current.isEmpty { lines.append(current) }
    return lines.isEmpty ? [""] : lines
}
