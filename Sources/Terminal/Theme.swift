/// A colour for every ``ColorRole``. Themes are data (files under `themes/`), so a user can
/// restyle Prism without rebuilding it, the way btop and bottom do.
public struct Theme: Sendable, Equatable {
    public var name: String
    /// One line for the help overlay and `--theme` listings.
    public var summary: String
    public var colors: [ColorRole: TerminalColor]

    public init(name: String, summary: String = "", colors: [ColorRole: TerminalColor] = [:]) {
        self.name = name
        self.summary = summary
        self.colors = colors
    }

    /// A role's colour; roles a theme leaves out use the terminal's default colour.
    public subscript(role: ColorRole) -> TerminalColor { colors[role] ?? .default }

    /// The theme used when nothing else is asked for; parsed from the embedded copy of
    /// `themes/default.theme`, so it cannot fail at run time (a test guards the text).
    public static var fallback: Theme {
        (try? ThemeParser.parse(BuiltinThemes.source(named: "default") ?? "", file: "default.theme"))
            ?? Theme(name: "default")
    }
}

/// A theme file that could not be used, with the file, line and key so it can be fixed at once:
/// `themes/bad.theme:7: key 'accent': unknown colour 'purpul'`.
public struct ThemeError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var key: String?
    public var message: String

    public init(file: String, line: Int? = nil, key: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String {
        var s = file
        if let line { s += ":\(line)" }
        s += ": "
        if let key { s += "key '\(key)': " }
        return s + message
    }
}

/// Reads the theme format: a TOML subset of `key = "value"` lines, `#` comments (whole-line or
/// after the value) and blank lines. Keys are `name`, `summary` and the ``ColorRole`` names;
/// values are colour names (`default`, `red`, `bright-red`, `gray`, ...) or `#rrggbb`.
/// Strict on purpose: a typo in a theme should say where it is, not silently fall back.
public enum ThemeParser {
    public static func parse(_ text: String, file: String) throws -> Theme {
        var theme = Theme(name: fileStem(file))
        var seen: Set<String> = []
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.trimmingSpaces()
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "=") else {
                throw ThemeError(file: file, line: lineNumber, message: "expected key = \"value\", found '\(line)'")
            }
            let key = String(line[..<eq].trimmingSpaces())
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                throw ThemeError(file: file, line: lineNumber, message: "bad key '\(key)'")
            }
            let value = try quotedValue(line[line.index(after: eq)...], file: file, line: lineNumber, key: key)
            guard seen.insert(key).inserted else {
                throw ThemeError(file: file, line: lineNumber, key: key, message: "set twice")
            }
            switch key {
            case "name":
                guard !value.isEmpty else { throw ThemeError(file: file, line: lineNumber, key: key, message: "empty name") }
                theme.name = value
            case "summary":
                theme.summary = value
            default:
                guard let role = ColorRole(rawValue: key) else {
                    let known = (["name", "summary"] + ColorRole.allCases.map(\.rawValue)).joined(separator: ", ")
                    throw ThemeError(file: file, line: lineNumber, key: key, message: "unknown key (known keys: \(known))")
                }
                guard let color = TerminalColor(parsing: value) else {
                    throw ThemeError(
                        file: file, line: lineNumber, key: key,
                        message: "unknown colour '\(value)' (use default, a name like red or bright-red, or #rrggbb)")
                }
                theme.colors[role] = color
            }
        }
        return theme
    }

    /// The string between double quotes, allowing a trailing `# comment`.
    static func quotedValue(_ rest: Substring, file: String, line: Int, key: String) throws -> String {
        let s = rest.trimmingSpaces()
        guard s.first == "\"" else {
            throw ThemeError(file: file, line: line, key: key, message: "value must be in double quotes")
        }
        let body = s.dropFirst()
        guard let close = body.firstIndex(of: "\"") else {
            throw ThemeError(file: file, line: line, key: key, message: "missing closing quote")
        }
        let after = body[body.index(after: close)...].trimmingSpaces()
        guard after.isEmpty || after.hasPrefix("#") else {
            throw ThemeError(file: file, line: line, key: key, message: "unexpected text after value: '\(after)'")
        }
        return String(body[..<close])
    }

    static func fileStem(_ path: String) -> String {
        let last = path.split(separator: "/").last.map(String.init) ?? path
        return last.hasSuffix(".theme") ? String(last.dropLast(6)) : last
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return s
    }
}
