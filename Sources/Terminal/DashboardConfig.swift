import Foundation

/// The user's dashboard settings, `$XDG_CONFIG_HOME/prism/config` (else `~/.config/prism/config`),
/// in the themes' format: one `key = "value"` per line, `#` comments. Keys: `theme` (a name or a
/// path), `fps` (1-60), `rate` (the demo load, commands per second), `mouse` (`on` or `off`).
/// Command-line flags win over the file; a missing file is no settings. A bad line is refused
/// as `file:line: key 'K': ...` before the terminal is touched.
public struct DashboardConfig: Sendable, Equatable {
    public var theme: String?
    public var fps: Int?
    public var rate: Double?
    public var mouse: Bool?

    public init(theme: String? = nil, fps: Int? = nil, rate: Double? = nil, mouse: Bool? = nil) {
        self.theme = theme
        self.fps = fps
        self.rate = rate
        self.mouse = mouse
    }

    public static let keys = ["theme", "fps", "rate", "mouse"]

    /// Where the file is looked for in this environment.
    public static func path(environment: [String: String]) -> String? {
        if let xdg = environment["XDG_CONFIG_HOME"], !xdg.isEmpty { return xdg + "/prism/config" }
        if let home = environment["HOME"], !home.isEmpty { return home + "/.config/prism/config" }
        return nil
    }

    /// The settings in this environment's file; none when there is no file.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> DashboardConfig {
        guard let path = path(environment: environment), FileManager.default.fileExists(atPath: path) else { return DashboardConfig() }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ThemeError(file: path, message: "cannot be read as UTF-8 text")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws -> DashboardConfig {
        var config = DashboardConfig()
        var seen: Set<String> = []
        var number = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "=") else {
                throw ThemeError(file: file, line: number, message: "expected key = \"value\", found '\(line)'")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            let value = try ThemeParser.quotedValue(Substring(line[line.index(after: eq)...]), file: file, line: number, key: key)
            guard keys.contains(key) else {
                throw ThemeError(file: file, line: number, key: key, message: "unknown key (known keys: \(keys.joined(separator: ", ")))")
            }
            guard seen.insert(key).inserted else { throw ThemeError(file: file, line: number, key: key, message: "set twice") }
            func bad(_ what: String) -> ThemeError { ThemeError(file: file, line: number, key: key, message: what) }
            switch key {
            case "theme":
                guard !value.isEmpty else { throw bad("empty theme") }
                config.theme = value
            case "fps":
                guard let n = Int(value), (1...60).contains(n) else { throw bad("must be a whole number from 1 to 60, got \"\(value)\"") }
                config.fps = n
            case "rate":
                guard let r = Double(value), r >= 0, r.isFinite else { throw bad("must be a number of commands per second, 0 or more, got \"\(value)\"") }
                config.rate = r
            default:
                switch value.lowercased() {
                case "on", "yes", "true": config.mouse = true
                case "off", "no", "false": config.mouse = false
                default: throw bad("must be \"on\" or \"off\", got \"\(value)\"")
                }
            }
        }
        return config
    }
}
