import Foundation

/// The built-in walkthroughs (Markdown files shipped in the module's `Builtin` folder, listed
/// in the order of their `N-` file-name prefix) and the loading of a user's own file.
public enum WalkthroughLibrary {
    /// The folder holding the built-in files.
    public static var builtinDirectory: URL? {
        Bundle.module.url(forResource: "Builtin", withExtension: nil)
    }

    /// The built-ins, in teaching order. A built-in that does not parse is a bug, so it throws.
    public static func builtins() throws -> [Walkthrough] {
        guard let dir = builtinDirectory else {
            throw WalkthroughError(file: "Builtin", line: 0, message: "the built-in walkthroughs are missing from this installation")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .filter { $0.hasSuffix(".md") && $0 != "README.md" }
            .sorted { order($0) < order($1) }
        return try names.map { file in
            var walkthrough = try load(file: dir.appendingPathComponent(file).path, name: name(ofFile: file))
            walkthrough.file = "built-in " + file
            return walkthrough
        }
    }

    /// `3-rebuilding.md` -> `rebuilding`.
    static func name(ofFile file: String) -> String {
        var base = (file as NSString).lastPathComponent
        if base.hasSuffix(".md") { base.removeLast(3) }
        if let dash = base.firstIndex(of: "-"), base[..<dash].allSatisfy(\.isNumber), !base[..<dash].isEmpty {
            base = String(base[base.index(after: dash)...])
        }
        return base
    }

    private static func order(_ file: String) -> (Int, String) {
        let digits = file.prefix { $0.isNumber }
        return (Int(digits) ?? Int.max, file)
    }

    /// Reads and parses a walkthrough file.
    public static func load(file path: String, name: String? = nil) throws -> Walkthrough {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw WalkthroughError(file: path, line: 0, message: "cannot read the file: \((error as NSError).localizedDescription)")
        }
        return try WalkthroughParser.parse(text, file: path, name: name ?? Self.name(ofFile: path))
    }

    /// A file when the argument looks like one (has a `/` or ends in `.md`), else a built-in by
    /// name, else an existing file of that name. Nil for an unknown name.
    public static func resolve(_ argument: String) throws -> Walkthrough? {
        if argument.contains("/") || argument.hasSuffix(".md") { return try load(file: argument) }
        if let builtin = try builtins().first(where: { $0.name == argument }) { return builtin }
        if !argument.isEmpty, FileManager.default.fileExists(atPath: argument) { return try load(file: argument) }
        return nil
    }
}
