import CNCursesw
import Foundation
import Synchronization

/// Whether curses currently owns the terminal; read by the `atexit` fallback so that a process
/// leaving through `exit()` from anywhere still gets its terminal back.
private let cursesActive = Atomic<Bool>(false)
private let atexitInstalled = Atomic<Bool>(false)

/// The terminal curses draws on, as two file descriptors.
public struct TerminalDevice: Sendable, Equatable {
    public var input: Int32
    public var output: Int32

    public init(input: Int32, output: Int32) {
        self.input = input
        self.output = output
    }

    /// Standard input and output: the terminal Prism was started in.
    public static let standard = TerminalDevice(input: STDIN_FILENO, output: STDOUT_FILENO)
}

/// The only type in Prism that calls curses.
///
/// curses keeps global state and is not thread-safe, so exactly one thread may use a screen:
/// the thread that created it. Every call checks this (like swift-nio's `NIOLoopBound`), turning
/// a data race that would corrupt the display into an immediate, named crash.
///
/// Output is incremental: ``draw(_:)`` diffs the new grid against the last one drawn, writes only
/// the changed runs, then does one `wnoutrefresh` and one `doupdate`. It never calls `clear()`
/// per frame (that repaints the whole screen, measured at 44x the bytes); it erases only when the
/// size changes. An unchanged grid costs no curses calls and no bytes at all.
public final class CursesScreen {
    public let colorSupport: ColorSupport
    public let glyphs: Glyphs
    public private(set) var theme: Theme
    private var resolver: StyleResolver
    private let owner: pthread_t
    private let screen: OpaquePointer
    private let window: UnsafeMutablePointer<WINDOW>
    private var previous: CellGrid?
    private var pairs: [PairKey: Int32] = [:]
    private var defaultColorsWork = false
    private var restored = false
    /// The FILEs curses writes and reads when the device is not standard input/output.
    private var files: (output: UnsafeMutablePointer<FILE>, input: UnsafeMutablePointer<FILE>)?
    /// Reused for every run written, so a frame allocates no per-run buffers.
    private var wideBuffer: [wchar_t] = []

    private struct PairKey: Hashable {
        var fg: Int
        var bg: Int
    }

    /// Takes over a terminal: standard input/output by default, or another device (a
    /// pseudo-terminal for `prism bench render`).
    ///
    /// - Throws: ``TerminalError`` when `TERM` is unset or unknown, or the device is not a
    ///   terminal. Nothing is changed on the terminal in that case.
    public init(theme: Theme, environment: [String: String] = ProcessInfo.processInfo.environment,
                device: TerminalDevice = .standard) throws {
        owner = pthread_self()
        let term = try CursesScreen.checkTerminal(environment: environment, device: device)
        let utf8 = TerminalLocale.activate()
        glyphs = utf8 ? .unicode : .ascii
        let scr: OpaquePointer?
        if device == .standard {
            scr = prism_newterm_stdio()
        } else {
            // Own FILEs over duplicates, so closing them leaves the caller's descriptors open.
            guard let output = fdopen(dup(device.output), "w"), let input = fdopen(dup(device.input), "r") else {
                throw TerminalError(.notATerminal, "cannot open the terminal device: \(String(cString: strerror(errno)))")
            }
            files = (output, input)
            scr = term.withCString { newterm($0, output, input) }
        }
        guard let scr else {
            throw TerminalError(.unknownTerminalType, "unknown terminal type '\(term)' (TERM); try TERM=xterm-256color")
        }
        screen = scr
        _ = set_term(scr)
        window = prism_stdscr()
        cursesActive.store(true, ordering: .sequentiallyConsistent)
        if !atexitInstalled.exchange(true, ordering: .sequentiallyConsistent) {
            atexit {
                // Last resort for exits that bypass restore(): endwin() is safe to call here
                // because the process is ending and no other curses call can follow.
                if cursesActive.exchange(false, ordering: .sequentiallyConsistent) { _ = endwin() }
            }
        }
        _ = cbreak()
        _ = noecho()
        _ = nonl()
        _ = keypad(window, true)
        // Esc must answer at once; the default one-second wait for an escape sequence feels broken.
        _ = set_escdelay(25)
        _ = curs_set(0)
        var defaultColors = false
        colorSupport = CursesScreen.startColor(environment: environment, defaultColorsWork: &defaultColors)
        defaultColorsWork = defaultColors
        self.theme = theme
        resolver = StyleResolver(theme: theme, support: colorSupport)
    }

    /// Starts colour and says how much of it the terminal has. ncurses sets `COLORS` and
    /// `COLOR_PAIRS` only inside `start_color()`: read before it, they are 0 and every terminal
    /// looks monochrome. `use_default_colors()` makes -1 mean the terminal's own colours, so a
    /// theme's `default` background lets the terminal's background (and transparency) show.
    private static func startColor(environment: [String: String], defaultColorsWork: inout Bool) -> ColorSupport {
        // NO_COLOR or a terminal without colour: leave colour off entirely, no pairs at all.
        guard ColorSupport.detect(hasColors: has_colors(), colors: 256, environment: environment) != .monochrome,
              start_color() == OK else { return .monochrome }
        defaultColorsWork = use_default_colors() == OK
        return ColorSupport.detect(hasColors: true, colors: Int(prism_colors()), environment: environment)
    }

    /// Checks, without touching the terminal, that curses can run on `device`: `TERM` is set,
    /// the terminfo database knows it, it can address the cursor, and the device is a terminal.
    /// Returns the `TERM` value.
    /// Call it before starting anything else, so a bad `TERM` is a clear one-line error.
    @discardableResult
    public static func checkTerminal(environment: [String: String], device: TerminalDevice = .standard) throws -> String {
        guard let term = environment["TERM"], !term.isEmpty else {
            throw TerminalError(.noTerminalType, "TERM is not set; run Prism in a terminal (for example TERM=xterm-256color)")
        }
        switch prism_terminfo_known(term, device.output) {
        case 1: break
        case -1: throw TerminalError(.unknownTerminalType, "unknown terminal type '\(term)' (TERM): no terminfo database found; try TERM=xterm-256color")
        default: throw TerminalError(.unknownTerminalType, "unknown terminal type '\(term)' (TERM); try TERM=xterm-256color")
        }
        guard hasCursorAddressing(term, fd: device.output) else {
            throw TerminalError(
                .noCursorAddressing,
                "terminal type '\(term)' (TERM) cannot move the cursor, which the dashboard needs; try TERM=xterm-256color, or prism views for plain text")
        }
        guard isatty(device.input) != 0, isatty(device.output) != 0 else {
            throw TerminalError(.notATerminal, "standard input and output must be a terminal for the dashboard")
        }
        return term
    }

    /// Whether the terminfo entry for `term` has `cup` (move the cursor to row, column), without
    /// which curses can only draw line by line. The entry is loaded as a probe and freed; the
    /// current terminal description (`cur_term`) is put back, so nothing else changes.
    static func hasCursorAddressing(_ term: String, fd: Int32) -> Bool {
        var err: Int32 = 0
        let saved = set_curterm(nil)
        defer {
            let probe = set_curterm(saved)
            if let probe, probe != saved { _ = del_curterm(probe) }
        }
        guard setupterm(term, fd, &err) == OK, let cup = tigetstr("cup") else { return false }
        // (char *)-1 means "not a string capability"; 0, absent or cancelled.
        return Int(bitPattern: cup) != -1
    }

    deinit {
        // Deinit runs wherever the last reference dies; only restore from the owning thread.
        if pthread_equal(owner, pthread_self()) != 0 { restore() }
    }

    private func checkThread(_ function: StaticString = #function) {
        precondition(pthread_equal(owner, pthread_self()) != 0,
                     "CursesScreen.\(function) called from a thread other than the one that created it; curses is single-threaded")
    }

    /// The terminal's size in cells, as curses last saw it (updated on ``Key/resize``).
    public var size: (width: Int, height: Int) {
        checkThread()
        return (Int(prism_getmaxx(window)), Int(prism_getmaxy(window)))
    }

    /// Switches theme; the next draw repaints everything in the new colours.
    public func setTheme(_ theme: Theme) {
        checkThread()
        self.theme = theme
        resolver = StyleResolver(theme: theme, support: colorSupport)
        invalidate()
    }

    /// Forgets what is on screen so the next draw repaints it all (Ctrl-L, theme changes).
    public func invalidate() {
        checkThread()
        previous = nil
        _ = clearok(prism_curscr(), true)
    }

    /// Draws `grid`, writing only cells that changed since the last draw.
    /// - Returns: the number of cells written; 0 means nothing was sent to the terminal.
    @discardableResult
    public func draw(_ grid: CellGrid) -> Int {
        checkThread()
        guard !restored else { return 0 }
        var base = previous
        if let p = base, p.width != grid.width || p.height != grid.height {
            base = nil
        }
        if base == nil {
            // New size or invalidated: start from a blank screen so no stale cell survives.
            _ = werase(window)
        }
        let runs = grid.changes(since: base)
        guard !runs.isEmpty else { return 0 }
        var written = 0
        for run in runs {
            let style = resolver.resolve(run.style)
            let attrs = cursesAttributes(style.attributes)
            let pair = colorPair(fg: style.foreground, bg: style.background)
            wideBuffer.removeAll(keepingCapacity: true)
            for scalar in run.text.unicodeScalars { wideBuffer.append(wchar_t(bitPattern: scalar.value)) }
            wideBuffer.withUnsafeBufferPointer { buf in
                _ = prism_put_wide(window, Int32(run.y), Int32(run.x), buf.baseAddress, Int32(buf.count), attrs, pair)
            }
            written += CellGrid.displayWidth(run.text)
        }
        _ = wnoutrefresh(window)
        _ = doupdate()
        previous = grid
        return written
    }

    private func cursesAttributes(_ a: TextAttributes) -> attr_t {
        var bits = prism_a_normal()
        if a.contains(.bold) { bits |= prism_a_bold() }
        if a.contains(.reverse) { bits |= prism_a_reverse() }
        if a.contains(.dim) { bits |= prism_a_dim() }
        if a.contains(.underline) { bits |= prism_a_underline() }
        return bits
    }

    /// The colour pair for (fg, bg), allocated on first use. Pair 0 (the terminal's defaults)
    /// serves monochrome and the case where the terminal runs out of pairs.
    private func colorPair(fg: Int, bg: Int) -> Int32 {
        guard colorSupport != .monochrome, fg != -1 || bg != -1 else { return 0 }
        let key = PairKey(fg: fg, bg: bg)
        if let pair = pairs[key] { return pair }
        let next = Int32(pairs.count + 1)
        guard next < min(prism_color_pairs(), 32767) else { return 0 }
        // Without use_default_colors, -1 is not a valid colour: fall back to white on black.
        let f = fg == -1 && !defaultColorsWork ? 7 : fg
        let b = bg == -1 && !defaultColorsWork ? 0 : bg
        guard init_pair(Int16(next), Int16(f), Int16(b)) == OK else { return 0 }
        pairs[key] = next
        return next
    }

    /// Waits up to `timeoutMs` for a key; nil on timeout. A negative timeout waits forever.
    public func readKey(timeoutMs: Int) -> Key? {
        checkThread()
        guard !restored else { return nil }
        wtimeout(window, Int32(clamping: timeoutMs))
        let event = prism_get_wch(window)
        guard event.ok != 0 else { return nil }
        if event.isKeyCode != 0 && Int32(bitPattern: event.code) == prism_key_mouse() {
            var x: Int32 = 0, y: Int32 = 0
            switch prism_get_mouse(&x, &y) {
            case 1: return .mouse(MouseEvent(.click, x: Int(x), y: Int(y)))
            case 4: return .mouse(MouseEvent(.wheelUp, x: Int(x), y: Int(y)))
            case 5: return .mouse(MouseEvent(.wheelDown, x: Int(x), y: Int(y)))
            default: return .unknown(UInt32(bitPattern: prism_key_mouse()))
            }
        }
        return event.isKeyCode != 0 ? CursesScreen.decodeKeyCode(Int32(bitPattern: event.code)) : CursesScreen.decodeCharacter(event.code)
    }

    /// Turns mouse reporting on (clicks and the wheel) or off. On, the terminal's own text
    /// selection needs Shift held, as in htop; `--no-mouse` leaves the terminal's mouse alone.
    public func setMouse(_ on: Bool) {
        checkThread()
        guard !restored else { return }
        _ = prism_enable_mouse(on ? 1 : 0)
    }

    static func decodeKeyCode(_ code: Int32) -> Key {
        switch code {
        case prism_key_resize(): return .resize
        case prism_key_left(): return .left
        case prism_key_right(): return .right
        case prism_key_up(): return .up
        case prism_key_down(): return .down
        case prism_key_ppage(): return .pageUp
        case prism_key_npage(): return .pageDown
        case prism_key_home(): return .home
        case prism_key_end(): return .end
        case prism_key_enter(): return .enter
        case prism_key_backspace(): return .backspace
        case prism_key_dc(): return .delete
        case prism_key_btab(): return .backTab
        default:
            let f0 = prism_key_f(0)
            if code > f0 && code <= f0 + 24 { return .function(Int(code - f0)) }
            return .unknown(UInt32(bitPattern: code))
        }
    }

    /// Plain characters; the control range is decoded here because curses passes it through.
    public static func decodeCharacter(_ code: UInt32) -> Key {
        switch code {
        case 9: return .tab
        case 10, 13: return .enter
        case 27: return .escape
        case 8, 127: return .backspace
        case 1...26: return .control(Character(Unicode.Scalar(UInt8(code) + 96)))
        default:
            guard let scalar = Unicode.Scalar(code) else { return .unknown(code) }
            return .char(Character(scalar))
        }
    }

    /// Gives the terminal back (`endwin`). Idempotent, so every exit path can call it.
    public func restore() {
        checkThread()
        guard !restored else { return }
        restored = true
        if cursesActive.exchange(false, ordering: .sequentiallyConsistent) {
            // endwin leaves the cursor on the last line. Terminals without an alternate screen
            // (vt100, the Linux console) keep the dashboard on screen, and the shell's prompt
            // would land on top of the key hints; clear that line first, as htop does.
            let lastRow = prism_getmaxy(window) - 1
            if lastRow >= 0 {
                _ = wmove(window, lastRow, 0)
                _ = wclrtoeol(window)
                _ = wnoutrefresh(window)
                _ = doupdate()
            }
            _ = curs_set(1)
            _ = endwin()
        }
        delscreen(screen)
        if let files {
            fclose(files.output)
            fclose(files.input)
        }
    }
}
