import Foundation

/// Finds a theme by name or path. Names are looked up as `NAME.theme` in, in order:
/// `$PRISM_THEMES`, `./themes`, and the first `themes/` folder found walking up from the
/// executable (so a binary under `.build/debug` finds the repository's themes); then among the
/// built-ins embedded in the binary, so Prism works from anywhere.
public struct ThemeLocator: Sendable {
    public var searchDirectories: [String]

    public init(searchDirectories: [String]) {
        self.searchDirectories = searchDirectories
    }

    /// The standard search path for this process.
    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        currentDirectory: String = FileManager.default.currentDirectoryPath,
        executablePath: String? = Bundle.main.executablePath
    ) {
        var dirs: [String] = []
        if let env = environment["PRISM_THEMES"], !env.isEmpty { dirs.append(env) }
        dirs.append((currentDirectory as NSString).appendingPathComponent("themes"))
        if let exe = executablePath {
            var dir = ((exe as NSString).resolvingSymlinksInPath as NSString).deletingLastPathComponent
            while !dir.isEmpty {
                let candidate = (dir as NSString).appendingPathComponent("themes")
                if ThemeLocator.isDirectory(candidate) {
                    dirs.append(candidate)
                    break
                }
                let parent = (dir as NSString).deletingLastPathComponent
                if parent == dir { break }
                dir = parent
            }
        }
        var unique: [String] = []
        for d in dirs where !unique.contains(d) { unique.append(d) }
        self.searchDirectories = unique
    }

    /// Loads `nameOrPath`: a path when it contains `/` or ends in `.theme`, else a name.
    public func load(_ nameOrPath: String) throws -> Theme {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".theme") {
            guard let text = try? String(contentsOfFile: nameOrPath, encoding: .utf8) else {
                throw ThemeError(file: nameOrPath, message: "cannot read theme file")
            }
            return try ThemeParser.parse(text, file: nameOrPath)
        }
        for dir in searchDirectories {
            let path = (dir as NSString).appendingPathComponent(nameOrPath + ".theme")
            if let text = try? String(contentsOfFile: path, encoding: .utf8) {
                return try ThemeParser.parse(text, file: path)
            }
        }
        if let text = BuiltinThemes.source(named: nameOrPath) {
            return try ThemeParser.parse(text, file: "(built-in) \(nameOrPath).theme")
        }
        throw ThemeError(
            file: nameOrPath + ".theme",
            message: "no such theme (looked in \(searchDirectories.joined(separator: ", ")) and the built-ins: \(availableNames().joined(separator: ", ")))")
    }

    /// Every theme name that ``load(_:)`` would find: built-ins first, in their fixed order,
    /// then any others found in the search directories, sorted. The theme-cycle key walks this.
    public func availableNames() -> [String] {
        var names = BuiltinThemes.names
        var extra: Set<String> = []
        for dir in searchDirectories {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            for f in files where f.hasSuffix(".theme") {
                let name = String(f.dropLast(6))
                if !names.contains(name) { extra.insert(name) }
            }
        }
        names += extra.sorted()
        return names
    }

    static func isDirectory(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }
}
