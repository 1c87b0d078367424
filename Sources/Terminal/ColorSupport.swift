/// How many colours the terminal can show. Themes are written in full colour and mapped down to
/// this, so one theme file serves a 256-colour xterm and an 8-colour console alike.
public enum ColorSupport: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    /// No colour: attributes (bold, reverse, dim) only.
    case monochrome = 0
    case eight = 8
    case sixteen = 16
    case twoFiftySix = 256

    public static func < (a: ColorSupport, b: ColorSupport) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .monochrome: "none"
        case .eight: "8"
        case .sixteen: "16"
        case .twoFiftySix: "256"
        }
    }

    /// Decides from what curses reports and the environment. Pure, so it is testable without a
    /// terminal: `NO_COLOR` set to any non-empty value wins (https://no-color.org).
    public static func detect(hasColors: Bool, colors: Int, environment: [String: String]) -> ColorSupport {
        if let noColor = environment["NO_COLOR"], !noColor.isEmpty { return .monochrome }
        guard hasColors else { return .monochrome }
        if colors >= 256 { return .twoFiftySix }
        if colors >= 16 { return .sixteen }
        if colors >= 8 { return .eight }
        return .monochrome
    }
}

/// A colour as a theme names it.
public enum TerminalColor: Sendable, Hashable, CustomStringConvertible {
    /// The terminal's own foreground or background.
    case `default`
    /// One of the 16 basic colours: 0-7 normal, 8-15 bright.
    case basic(UInt8)
    /// A 24-bit colour, shown as the nearest the terminal can do.
    case rgb(UInt8, UInt8, UInt8)

    /// Basic colour names in palette order; index 8+n is `bright-<name>`.
    public static let basicNames = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]

    /// Parses `default`, a basic name (`red`, `bright-red`, `brightred`, `bright_red`, `grey`
    /// and `gray` for bright black), or `#rrggbb`. Returns nil for anything else.
    public init?(parsing text: String) {
        let name = text.lowercased()
        if name == "default" || name == "none" { self = .default; return }
        if name == "gray" || name == "grey" { self = .basic(8); return }
        if name.hasPrefix("#") {
            let hex = name.dropFirst()
            guard hex.count == 6, let v = UInt32(hex, radix: 16) else { return nil }
            self = .rgb(UInt8(v >> 16), UInt8((v >> 8) & 0xff), UInt8(v & 0xff))
            return
        }
        var base = Substring(name)
        var bright = false
        for prefix in ["bright-", "bright_", "bright"] where base.hasPrefix(prefix) {
            base = base.dropFirst(prefix.count)
            bright = true
            break
        }
        guard let index = TerminalColor.basicNames.firstIndex(of: String(base)) else { return nil }
        self = .basic(UInt8(index + (bright ? 8 : 0)))
    }

    public var description: String {
        switch self {
        case .default: return "default"
        case .basic(let n):
            return n < 8 ? TerminalColor.basicNames[Int(n)] : "bright-" + TerminalColor.basicNames[Int(n) % 8]
        case .rgb(let r, let g, let b):
            let hex = (Int(r) << 16) | (Int(g) << 8) | Int(b)
            let s = String(hex, radix: 16)
            return "#" + String(repeating: "0", count: 6 - s.count) + s
        }
    }

    /// The xterm RGB values of the 16 basic colours, used to find the nearest one.
    static let basicRGB: [(Int, Int, Int)] = [
        (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
        (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
    ]

    /// The curses colour number for this colour on a terminal with `support`; -1 means the
    /// terminal's default (after `use_default_colors`), also used when there is no colour at all.
    public func index(for support: ColorSupport) -> Int {
        switch (self, support) {
        case (_, .monochrome), (.default, _):
            return -1
        case (.basic(let n), .eight):
            // Bright colours fold onto their normal counterparts; bold carries the brightness.
            return Int(n % 8)
        case (.basic(let n), _):
            return Int(n)
        case (.rgb(let r, let g, let b), .twoFiftySix):
            return TerminalColor.xterm256(r: Int(r), g: Int(g), b: Int(b))
        case (.rgb(let r, let g, let b), .sixteen):
            // Colour 8 (bright black) is dark grey: on a black background it vanishes in many
            // terminals and tmux setups, so a grey from a theme becomes white or black instead.
            return TerminalColor.nearestBasic(r: Int(r), g: Int(g), b: Int(b), count: 16, avoiding: 8)
        case (.rgb(let r, let g, let b), .eight):
            return TerminalColor.nearestBasic(r: Int(r), g: Int(g), b: Int(b), count: 8)
        }
    }

    /// The nearest of the first `count` basic colours, by RGB distance. A grey maps to a grey
    /// (black, white, bright white): by distance alone a mid grey is nearer bright blue than white.
    static func nearestBasic(r: Int, g: Int, b: Int, count: Int, avoiding: Int? = nil) -> Int {
        var best = 0
        var bestDistance = Int.max
        let isGrey = max(r, g, b) - min(r, g, b) < 24
        for i in 0..<count where i != avoiding && (!isGrey || [0, 7, 8, 15].contains(i)) {
            let (pr, pg, pb) = basicRGB[i]
            let d = (pr - r) * (pr - r) + (pg - g) * (pg - g) + (pb - b) * (pb - b)
            if d < bestDistance { best = i; bestDistance = d }
        }
        return best
    }

    /// The nearest entry of the xterm 256-colour palette: the 6x6x6 cube (16-231) or the grey
    /// ramp (232-255), whichever is closer.
    static func xterm256(r: Int, g: Int, b: Int) -> Int {
        let levels = [0, 95, 135, 175, 215, 255]
        func cubeIndex(_ v: Int) -> Int {
            var best = 0
            for i in 1..<levels.count where abs(levels[i] - v) < abs(levels[best] - v) { best = i }
            return best
        }
        let ci = (cubeIndex(r), cubeIndex(g), cubeIndex(b))
        let cube = (levels[ci.0], levels[ci.1], levels[ci.2])
        let cubeDistance = (cube.0 - r) * (cube.0 - r) + (cube.1 - g) * (cube.1 - g) + (cube.2 - b) * (cube.2 - b)
        let average = (r + g + b) / 3
        let greyStep = max(0, min(23, (average - 8 + 5) / 10))
        let grey = 8 + greyStep * 10
        let greyDistance = (grey - r) * (grey - r) + (grey - g) * (grey - g) + (grey - b) * (grey - b)
        if greyDistance < cubeDistance { return 232 + greyStep }
        return 16 + 36 * ci.0 + 6 * ci.1 + ci.2
    }
}
