import Foundation
import Testing
@testable import Terminal

/// The repository's `themes/` folder, found from this file's path.
let themesDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("themes").path

@Suite struct ThemeTests {
    @Test(arguments: BuiltinThemes.names)
    func shippedThemeParsesAndCoversEveryRole(name: String) throws {
        let path = themesDirectory + "/\(name).theme"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let theme = try ThemeParser.parse(text, file: path)
        #expect(theme.name == name)
        #expect(Set(theme.colors.keys) == Set(ColorRole.allCases))
    }

    @Test(arguments: BuiltinThemes.names)
    func embeddedCopyMatchesFile(name: String) throws {
        let text = try String(contentsOfFile: themesDirectory + "/\(name).theme", encoding: .utf8)
        #expect(BuiltinThemes.source(named: name) == text, "run themes/embed.sh after editing themes/\(name).theme")
    }

    @Test func badColourNamesFileLineAndKey() {
        let text = "# a theme\nname = \"bad\"\n\ntext = \"white\"\n\n\naccent = \"purpul\"\n"
        #expect(throws: ThemeError(file: "themes/bad.theme", line: 7, key: "accent",
                                   message: "unknown colour 'purpul' (use default, a name like red or bright-red, or #rrggbb)")) {
            try ThemeParser.parse(text, file: "themes/bad.theme")
        }
        do {
            _ = try ThemeParser.parse(text, file: "themes/bad.theme")
        } catch {
            #expect("\(error)".hasPrefix("themes/bad.theme:7: key 'accent': unknown colour 'purpul'"))
        }
    }

    @Test func otherMistakesAreLocated() {
        func message(_ text: String) -> String {
            do { _ = try ThemeParser.parse(text, file: "t.theme"); return "parsed" } catch { return "\(error)" }
        }
        #expect(message("colour = \"red\"").hasPrefix("t.theme:1: key 'colour': unknown key"))
        #expect(message("\ntext = red").hasPrefix("t.theme:2: key 'text': value must be in double quotes"))
        #expect(message("text = \"red\"\ntext = \"blue\"") == "t.theme:2: key 'text': set twice")
        #expect(message("just words").hasPrefix("t.theme:1: expected key"))
        #expect(message("text = \"red\" trailing").hasPrefix("t.theme:1: key 'text': unexpected text"))
        #expect(message("text = \"#12345\"").hasPrefix("t.theme:1: key 'text': unknown colour '#12345'"))
        #expect(message("text = \"red\"  # fine") == "parsed")
    }

    @Test func locatorPrefersDirectoriesThenBuiltins() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prism-themes-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "name = \"mine\"\ntext = \"red\"\n".write(toFile: dir + "/mine.theme", atomically: true, encoding: .utf8)
        try "name = \"default\"\ntext = \"green\"\n".write(toFile: dir + "/default.theme", atomically: true, encoding: .utf8)
        let locator = ThemeLocator(environment: ["PRISM_THEMES": dir], currentDirectory: "/nonexistent", executablePath: nil)
        #expect(locator.searchDirectories.first == dir)
        #expect(try locator.load("mine")[.text] == .basic(1))
        #expect(try locator.load("default")[.text] == .basic(2))
        #expect(try locator.load("mono").name == "mono")
        #expect(try locator.load(dir + "/mine.theme").name == "mine")
        #expect(locator.availableNames() == BuiltinThemes.names + ["mine"])
        #expect(throws: ThemeError.self) { try locator.load("nope") }
    }

    @Test func locatorWalksUpFromExecutable() {
        let fakeExe = themesDirectory + "/../.build-nonexistent/debug/prism"
        let locator = ThemeLocator(environment: [:], currentDirectory: "/nonexistent", executablePath: fakeExe)
        #expect(locator.searchDirectories.contains { URL(fileURLWithPath: $0).standardized.path == URL(fileURLWithPath: themesDirectory).standardized.path })
    }
}

@Suite struct ColorTests {
    @Test func colourNames() {
        #expect(TerminalColor(parsing: "default") == .default)
        #expect(TerminalColor(parsing: "red") == .basic(1))
        #expect(TerminalColor(parsing: "bright-red") == .basic(9))
        #expect(TerminalColor(parsing: "BrightWhite") == .basic(15))
        #expect(TerminalColor(parsing: "gray") == .basic(8))
        #expect(TerminalColor(parsing: "#5fafff") == .rgb(0x5f, 0xaf, 0xff))
        #expect(TerminalColor(parsing: "purpul") == nil)
    }

    @Test func mappingToCapability() {
        let c = TerminalColor.rgb(0x5f, 0xaf, 0xff)
        #expect(c.index(for: .twoFiftySix) == 75)
        #expect(TerminalColor.rgb(0x8a, 0x8a, 0x8a).index(for: .twoFiftySix) == 245)
        #expect(TerminalColor.rgb(255, 0, 0).index(for: .sixteen) == 9)
        #expect(TerminalColor.rgb(200, 0, 0).index(for: .eight) == 1)
        #expect(TerminalColor.basic(9).index(for: .eight) == 1)
        #expect(c.index(for: .monochrome) == -1)
        #expect(TerminalColor.default.index(for: .twoFiftySix) == -1)
    }

    @Test func greyNeverBecomesDarkGreyOnSixteenColours() {
        // #8a8a8a (the default theme's dim) is nearest to colour 8, dark grey, which vanishes on
        // black: it must become white instead; a dark grey on a light theme becomes black.
        #expect(TerminalColor.nearestBasic(r: 0x8a, g: 0x8a, b: 0x8a, count: 16) == 8)
        #expect(TerminalColor.rgb(0x8a, 0x8a, 0x8a).index(for: .sixteen) == 7)
        #expect(TerminalColor.rgb(0x58, 0x58, 0x58).index(for: .sixteen) == 0)
        // A theme that names gray itself gets it.
        #expect(TerminalColor.basic(8).index(for: .sixteen) == 8)
        for name in BuiltinThemes.names {
            let theme = (try? ThemeParser.parse(BuiltinThemes.source(named: name) ?? "", file: name)) ?? Theme(name: "broken")
            #expect(theme.name == name)
            for role in ColorRole.allCases {
                #expect(theme[role].index(for: .sixteen) != 8, "\(name) \(role) is dark grey on 16 colours")
            }
        }
    }

    @Test func colourSupportDetection() {
        #expect(ColorSupport.detect(hasColors: true, colors: 256, environment: [:]) == .twoFiftySix)
        #expect(ColorSupport.detect(hasColors: true, colors: 8, environment: [:]) == .eight)
        #expect(ColorSupport.detect(hasColors: true, colors: 256, environment: ["NO_COLOR": "1"]) == .monochrome)
        #expect(ColorSupport.detect(hasColors: true, colors: 256, environment: ["NO_COLOR": ""]) == .twoFiftySix)
        #expect(ColorSupport.detect(hasColors: false, colors: 0, environment: [:]) == .monochrome)
    }

    @Test func monochromeKeepsMeaningThroughAttributes() {
        let resolver = StyleResolver(theme: Theme.fallback, support: .monochrome)
        let bad = resolver.resolve(CellStyle(.bad))
        #expect(bad.foreground == -1 && bad.background == -1 && bad.attributes.contains(.bold))
        #expect(resolver.resolve(CellStyle(.dim)).attributes.contains(.dim))
        // Plain borders recede, the focused one stands out.
        #expect(resolver.resolve(CellStyle(.border)).attributes.contains(.dim))
        #expect(!resolver.resolve(CellStyle(.focus, attributes: .bold)).attributes.contains(.dim))
        let colour = StyleResolver(theme: Theme.fallback, support: .twoFiftySix).resolve(CellStyle(.accent))
        #expect(colour.foreground == 75 && colour.background == -1)
    }
}

@Suite struct KeyDecodingTests {
    @Test func controlRangeAndCharacters() {
        #expect(CursesScreen.decodeCharacter(9) == .tab)
        #expect(CursesScreen.decodeCharacter(10) == .enter)
        #expect(CursesScreen.decodeCharacter(27) == .escape)
        #expect(CursesScreen.decodeCharacter(127) == .backspace)
        #expect(CursesScreen.decodeCharacter(12) == .control("l"))
        #expect(CursesScreen.decodeCharacter(0x71) == .char("q"))
        #expect(CursesScreen.decodeCharacter(0xE9) == .char("é"))
    }
}
