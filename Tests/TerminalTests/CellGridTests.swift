import Testing
@testable import Terminal

@Suite struct CellGridTests {
    @Test func writesAreClippedNotWrapped() {
        var grid = CellGrid(width: 10, height: 2)
        grid.put("hello world, long", x: 2, y: 0)
        #expect(grid.rows[0] == "  hello wo")
        #expect(grid.rows[1] == "          ")
        grid.put("abcdef", x: 0, y: 1, width: 4)
        #expect(grid.rows[1].hasPrefix("abc~"))
    }

    @Test func controlCharactersNeverReachTheTerminal() {
        var grid = CellGrid(width: 12, height: 1)
        // ESC, a C0 control, DEL, and C1 controls (U+009B is CSI to some terminals).
        grid.put("a\u{1b}[2J\u{7}\u{7f}\u{9b}\u{85}é", x: 0, y: 0)
        #expect(grid.rows[0] == "a?[2J????é  ")
        #expect(grid.cells.allSatisfy { cell in cell.text.unicodeScalars.allSatisfy { $0.properties.generalCategory != .control } })
    }

    @Test func unchangedFrameWritesNothing() {
        var a = CellGrid(width: 40, height: 10)
        a.box(a.bounds, glyphs: .unicode, title: "Title")
        a.put("some text", x: 2, y: 2, style: CellStyle(.accent, attributes: .bold))
        let b = a
        #expect(b.changes(since: a).isEmpty)
    }

    @Test func diffReportsOnlyChangedRuns() {
        let a = CellGrid(width: 20, height: 3)
        var b = a
        b.put("abc", x: 5, y: 1)
        let runs = b.changes(since: a)
        #expect(runs == [CellRun(x: 5, y: 1, text: "abc", style: .plain)])
        // A style change alone is a change; differently styled neighbours are separate runs.
        var c = b
        c.put("c", x: 7, y: 1, style: CellStyle(.bad))
        #expect(c.changes(since: b) == [CellRun(x: 7, y: 1, text: "c", style: CellStyle(.bad))])
    }

    @Test func firstFrameOrNewSizeWritesEverything() {
        let a = CellGrid(width: 4, height: 2)
        #expect(a.changes(since: nil).reduce(0) { $0 + $1.text.count } == 8)
        let b = CellGrid(width: 5, height: 2)
        #expect(b.changes(since: a).reduce(0) { $0 + $1.text.count } == 10)
    }

    @Test func asciiGridReplacesNonASCIIAndControlCharacters() {
        var grid = CellGrid(width: 10, height: 1, asciiOnly: true)
        grid.put("é\u{1b}x─", x: 0, y: 0)
        #expect(grid.rows[0] == "??x?      ")
        var unicode = CellGrid(width: 6, height: 1)
        unicode.put("a\u{7}b", x: 0, y: 0)
        #expect(unicode.rows[0] == "a?b   ")
    }

    @Test func sparklineScalesToPeakAndFallsBackToASCII() {
        var grid = CellGrid(width: 8, height: 2)
        grid.sparkline([0, 1, 2, 3, 4, 5, 6, 7], x: 0, y: 0, width: 8, glyphs: .unicode)
        #expect(grid.rows[0] == "▁▂▃▄▅▆▇█")
        grid.sparkline([0, 10], x: 0, y: 1, width: 4, glyphs: .ascii)
        #expect(grid.rows[1] == "  _#    ")
    }

    @Test func barFillsInProportion() {
        var grid = CellGrid(width: 10, height: 1)
        grid.bar(fraction: 0.5, x: 0, y: 0, width: 10, glyphs: .ascii)
        #expect(grid.rows[0] == "#####.....")
    }

    @Test func boxDrawsTitle() {
        var grid = CellGrid(width: 12, height: 3)
        grid.box(grid.bounds, glyphs: .ascii, title: "Hi")
        #expect(grid.rows == ["+ Hi ------+", "|          |", "+----------+"])
    }

    @Test func wrapBreaksOnWordsAndLongWords() {
        #expect(wrapText("aa bb cc", width: 5) == ["aa bb", "cc"])
        #expect(wrapText("abcdefgh", width: 3) == ["abc", "def", "gh"])
    }
}
