import CNCursesw

/// The characters widgets draw with. Two sets: Unicode for UTF-8 terminals and plain ASCII for
/// everything else, because falling back beats refusing to start (btop's refusal to run outside
/// UTF-8 is its most reported issue).
public struct Glyphs: Sendable, Equatable {
    public var horizontal: String
    public var vertical: String
    public var topLeft: String
    public var topRight: String
    public var bottomLeft: String
    public var bottomRight: String
    /// The border of the focused or highlighted box: heavier lines, so focus reads at a glance
    /// in every theme, mono and `NO_COLOR` included, not only through a colour.
    public var heavy: BoxLines
    /// Sparkline levels, lowest first.
    public var sparks: [String]
    /// Progress and horizontal bars: filled and empty.
    public var barFull: String
    public var barEmpty: String
    /// Marks text cut short.
    public var ellipsis: String
    /// Marks the focused item in a list.
    public var pointer: String
    /// Separates tabs and status fields.
    public var separator: String
    public var isASCII: Bool

    /// The six characters of a box border.
    public struct BoxLines: Sendable, Equatable {
        public var horizontal: String
        public var vertical: String
        public var topLeft: String
        public var topRight: String
        public var bottomLeft: String
        public var bottomRight: String
    }

    /// The light border set, as ``BoxLines``.
    public var light: BoxLines {
        BoxLines(horizontal: horizontal, vertical: vertical, topLeft: topLeft, topRight: topRight,
                 bottomLeft: bottomLeft, bottomRight: bottomRight)
    }

    public static let unicode = Glyphs(
        horizontal: "─", vertical: "│", topLeft: "┌", topRight: "┐", bottomLeft: "└", bottomRight: "┘",
        heavy: BoxLines(horizontal: "━", vertical: "┃", topLeft: "┏", topRight: "┓", bottomLeft: "┗", bottomRight: "┛"),
        sparks: ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"], barFull: "█", barEmpty: "░",
        ellipsis: "…", pointer: "▶", separator: "│", isASCII: false)

    public static let ascii = Glyphs(
        horizontal: "-", vertical: "|", topLeft: "+", topRight: "+", bottomLeft: "+", bottomRight: "+",
        heavy: BoxLines(horizontal: "=", vertical: "#", topLeft: "#", topRight: "#", bottomLeft: "#", bottomRight: "#"),
        sparks: ["_", ".", "-", "=", "^", "#"], barFull: "#", barEmpty: ".",
        ellipsis: "~", pointer: ">", separator: "|", isASCII: true)

    /// Picks the set for the process's locale: Unicode when `nl_langinfo(CODESET)` says UTF-8.
    /// Calls ``TerminalLocale/activate()`` first, since the C library starts in the "C" locale
    /// whatever `LANG` says.
    public static func forCurrentLocale() -> Glyphs {
        TerminalLocale.activate() ? .unicode : .ascii
    }
}

/// The process locale, which curses and `wcwidth` both depend on.
public enum TerminalLocale {
    /// Adopts the user's locale (`setlocale(LC_ALL, "")`) and reports whether its character set
    /// is UTF-8. Idempotent; cheap enough to call more than once.
    @discardableResult
    public static func activate() -> Bool {
        _ = setlocale(LC_ALL, "")
        return prism_codeset_is_utf8() != 0
    }
}
