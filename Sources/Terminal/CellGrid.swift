import CNCursesw

/// One screen cell: a grapheme (or nothing, for the right half of a wide character) and a style.
public struct Cell: Sendable, Hashable {
    /// The grapheme shown; empty for the second column of a double-width character.
    public var text: String
    public var style: CellStyle

    public init(_ text: String = " ", style: CellStyle = .plain) {
        self.text = text
        self.style = style
    }

    public static let blank = Cell()
    /// True for the trailing column of a double-width character; the terminal fills it itself.
    public var isContinuation: Bool { text.isEmpty }
}

/// A rectangle on the grid, used to lay out panes.
public struct Rect: Sendable, Hashable, CustomStringConvertible {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = max(0, width)
        self.height = max(0, height)
    }

    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    public var isEmpty: Bool { width <= 0 || height <= 0 }
    /// Whether the cell at column `x`, row `y` lies inside.
    public func contains(x px: Int, y py: Int) -> Bool { px >= x && px < maxX && py >= y && py < maxY }
    /// The area inside a one-cell border.
    public var inner: Rect { Rect(x: x + 1, y: y + 1, width: width - 2, height: height - 2) }
    public var description: String { "(\(x),\(y) \(width)x\(height))" }

    /// Splits off `rows` rows at the top; returns (top, rest).
    public func splitTop(_ rows: Int) -> (Rect, Rect) {
        let r = min(max(0, rows), height)
        return (Rect(x: x, y: y, width: width, height: r), Rect(x: x, y: y + r, width: width, height: height - r))
    }

    /// Splits off `rows` rows at the bottom; returns (rest, bottom).
    public func splitBottom(_ rows: Int) -> (Rect, Rect) {
        let r = min(max(0, rows), height)
        return (Rect(x: x, y: y, width: width, height: height - r), Rect(x: x, y: maxY - r, width: width, height: r))
    }

    /// Splits off `columns` columns at the left; returns (left, rest).
    public func splitLeft(_ columns: Int) -> (Rect, Rect) {
        let c = min(max(0, columns), width)
        return (Rect(x: x, y: y, width: c, height: height), Rect(x: x + c, y: y, width: width - c, height: height))
    }
}

/// An in-memory screen: widgets render into it, tests read it back, and ``CursesScreen`` diffs
/// two of them to send only what changed. Like ratatui's TestBackend, it is what makes the
/// dashboard testable without a terminal.
///
/// When `asciiOnly` is set, every write replaces non-ASCII graphemes with `?`, so a terminal in
/// a non-UTF-8 locale never receives bytes it would garble, whatever the data contains.
public struct CellGrid: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let asciiOnly: Bool
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int, asciiOnly: Bool = false, fill: Cell = .blank) {
        self.width = max(0, width)
        self.height = max(0, height)
        self.asciiOnly = asciiOnly
        self.cells = Array(repeating: fill, count: self.width * self.height)
    }

    public var bounds: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    public subscript(x: Int, y: Int) -> Cell {
        get {
            guard x >= 0, y >= 0, x < width, y < height else { return .blank }
            return cells[y * width + x]
        }
        set {
            guard x >= 0, y >= 0, x < width, y < height else { return }
            cells[y * width + x] = newValue
        }
    }

    /// Each row as plain text (continuation cells dropped), for tests and debugging.
    public var rows: [String] {
        (0..<height).map { y in
            var line = ""
            for x in 0..<width {
                let cell = cells[y * width + x]
                if !cell.isContinuation { line += cell.text }
            }
            return line
        }
    }

    /// The whole grid as text, one row per line, trailing spaces trimmed.
    public var text: String {
        rows.map { row in
            var r = Substring(row)
            while r.last == " " { r = r.dropLast() }
            return String(r)
        }.joined(separator: "\n")
    }

    /// Whether any row contains `needle`.
    public func contains(_ needle: String) -> Bool { rows.contains { $0.contains(needle) } }

    /// Fills a rectangle with one cell.
    public mutating func fill(_ rect: Rect, with cell: Cell = .blank) {
        let r = rect.clipped(to: bounds)
        guard !r.isEmpty else { return }
        for y in r.y..<r.maxY {
            for x in r.x..<r.maxX { cells[y * width + x] = cell }
        }
    }

    /// Sets the style of every cell in a rectangle, keeping their text.
    public mutating func restyle(_ rect: Rect, _ transform: (CellStyle) -> CellStyle) {
        let r = rect.clipped(to: bounds)
        guard !r.isEmpty else { return }
        for y in r.y..<r.maxY {
            for x in r.x..<r.maxX { cells[y * width + x].style = transform(cells[y * width + x].style) }
        }
    }

    /// Writes `string` at (x, y), clipped at `maxX` (default: the grid's right edge); never wraps.
    /// Returns the column after the last cell written.
    @discardableResult
    public mutating func put(_ string: String, x: Int, y: Int, style: CellStyle = .plain, maxX: Int? = nil) -> Int {
        let limit = min(maxX ?? width, width)
        guard y >= 0, y < height else { return x }
        var col = x
        for ch in string {
            let (glyph, w) = displayForm(of: ch)
            if w == 0 { continue }
            if col + w > limit { break }
            if col >= 0 {
                cells[y * width + col] = Cell(glyph, style: style)
                if w == 2 { cells[y * width + col + 1] = Cell("", style: style) }
            }
            col += w
        }
        return col
    }

    /// Writes `string` clipped to `width` columns, ending in `ellipsis` when it had to be cut.
    @discardableResult
    public mutating func put(_ string: String, x: Int, y: Int, width w: Int, style: CellStyle = .plain, ellipsis: String = "~") -> Int {
        guard w > 0 else { return x }
        if CellGrid.displayWidth(string, asciiOnly: asciiOnly) <= w {
            return put(string, x: x, y: y, style: style, maxX: x + w)
        }
        let cut = put(string, x: x, y: y, style: style, maxX: x + w - 1)
        return put(ellipsis, x: cut, y: y, style: style, maxX: x + w)
    }

    /// How the grid stores a character and how many columns it takes: control characters become
    /// `?` (a stray escape byte in data must never reach the terminal; nor a C1 control such as
    /// U+009B, which some terminals take for CSI), and so does anything non-ASCII in ASCII mode.
    func displayForm(of ch: Character) -> (String, Int) {
        if ch.isASCII {
            if let v = ch.asciiValue, v < 0x20 || v == 0x7f { return ("?", 1) }
            return (String(ch), 1)
        }
        if asciiOnly || ch.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) { return ("?", 1) }
        return (String(ch), CellGrid.columns(of: ch))
    }

    /// Columns a character occupies on a terminal, from the C library's `wcwidth` of its first
    /// scalar (what curses itself will assume); unprintable scalars count as one `?`.
    public static func columns(of ch: Character) -> Int {
        guard let scalar = ch.unicodeScalars.first else { return 0 }
        if scalar.isASCII { return 1 }
        let w = prism_wcwidth(scalar.value)
        return w < 1 ? 1 : Int(min(w, 2))
    }

    /// The width `string` takes when written to a grid.
    public static func displayWidth(_ string: String, asciiOnly: Bool = false) -> Int {
        string.reduce(0) { $0 + (asciiOnly || $1.isASCII ? 1 : columns(of: $1)) }
    }

    /// The cells that differ from `previous`, as runs of same-styled neighbours on one row: what
    /// a screen must write to turn `previous` into `self`. A different size means everything.
    public func changes(since previous: CellGrid?) -> [CellRun] {
        var runs: [CellRun] = []
        let full = previous == nil || previous!.width != width || previous!.height != height
        for y in 0..<height {
            var x = 0
            while x < width {
                let i = y * width + x
                if !full && previous!.cells[i] == cells[i] { x += 1; continue }
                if cells[i].isContinuation { x += 1; continue }
                // Grow a run of changed cells with the same style.
                let style = cells[i].style
                var text = ""
                let start = x
                while x < width {
                    let j = y * width + x
                    let cell = cells[j]
                    if cell.style != style { break }
                    if !full && previous!.cells[j] == cell && !cell.isContinuation { break }
                    text += cell.text
                    x += 1
                }
                runs.append(CellRun(x: start, y: y, text: text, style: style))
            }
        }
        return runs
    }
}

/// A horizontal run of cells sharing one style: the unit a screen writes in one call.
public struct CellRun: Sendable, Equatable {
    public var x: Int
    public var y: Int
    public var text: String
    public var style: CellStyle
}

extension Rect {
    /// The part of `self` inside `other`.
    public func clipped(to other: Rect) -> Rect {
        let x0 = max(x, other.x), y0 = max(y, other.y)
        let x1 = min(maxX, other.maxX), y1 = min(maxY, other.maxY)
        return Rect(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }
}
