import Foundation
import Testing

/// The config file and the mouse, as a user meets them: the real binary in tmux.
@Suite(.serialized) struct ConfigAndMouseEndToEnd {
    /// `$XDG_CONFIG_HOME/prism/config` sets the theme and the load rate; a flag still wins.
    @Test func theConfigFileSetsTheDefaultsAndFlagsWin() async throws {
        try await withTemporaryDirectory { dir in
            try FileManager.default.createDirectory(atPath: dir + "/cfg/prism", withIntermediateDirectories: true)
            try "# mine\ntheme = \"light\"\nrate = \"50\"\n".write(toFile: dir + "/cfg/prism/config", atomically: true, encoding: .utf8)
            let tmux = try TmuxSession(command: "\(prismBinary) dashboard --store memory", extraEnvironment: ["XDG_CONFIG_HOME": dir + "/cfg"])
            let screen = try await tmux.waitForScreen(timeout: 20) { $0.contains("theme light") }
            #expect(screen.contains("load 50/s"))
            try tmux.keys("q")
            #expect(try await tmux.waitForExit() == 0)
            let flagged = try TmuxSession(command: "\(prismBinary) dashboard --store memory --theme mono", extraEnvironment: ["XDG_CONFIG_HOME": dir + "/cfg"])
            _ = try await flagged.waitForScreen(timeout: 20) { $0.contains("theme mono") }
            try flagged.keys("q")
            #expect(try await flagged.waitForExit() == 0)
        }
    }

    /// A bad line is refused before the terminal is touched: exit 2, `file:line: key`.
    @Test func aBadConfigLineIsAUsageErrorWithFileAndLine() async throws {
        try await withTemporaryDirectory { dir in
            try FileManager.default.createDirectory(atPath: dir + "/prism", withIntermediateDirectories: true)
            let file = dir + "/prism/config"
            try "theme = \"light\"\nfps = \"fast\"\n".write(toFile: file, atomically: true, encoding: .utf8)
            var env = ProcessInfo.processInfo.environment
            env["XDG_CONFIG_HOME"] = dir
            let r = try await run(prismBinary, ["dashboard", "--store", "memory"], environment: env)
            #expect(r.code == 2)
            #expect(r.stderr.contains("\(file):2: key 'fps'"), "\(r.stderr)")
        }
    }

    /// A click (an xterm mouse report, as the terminal sends it) focuses the pane under it.
    @Test func aClickFocusesAPane() async throws {
        let tmux = try TmuxSession(command: "\(prismBinary) dashboard --store memory --paused")
        _ = try await tmux.waitForScreen(timeout: 20) { $0.contains("Warehouse") }
        // Button 1 press at column 90, row 5 (1-based in the report: +33 each), then release.
        try tmux.keys("-H", "1b", "5b", "4d", "20", String(33 + 90, radix: 16), String(33 + 5, radix: 16))
        try tmux.keys("-H", "1b", "5b", "4d", "23", String(33 + 90, radix: 16), String(33 + 5, radix: 16))
        let screen = try await tmux.waitForScreen { $0.contains("▶ warehouse") }
        #expect(screen.contains("▶ warehouse"))
        try tmux.keys("q")
        #expect(try await tmux.waitForExit() == 0)
    }
}
