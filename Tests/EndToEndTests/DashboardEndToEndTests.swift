import Foundation
import Testing

/// The dashboard's keys, terminals and exits, driven through the real binary in tmux (a server of
/// its own per test, pinned size, TERM and LANG). Serialized: each test starts a writer with
/// its load generator, and the two-core machine should run one at a time.
@Suite(.serialized) struct DashboardEndToEndTests {
    static let panes = ["Shoppers", "Warehouse", "Finance", "Support"]

    /// Waits until every pane shows a projector checkpoint past zero.
    static func waitForLiveViews(_ tmux: TmuxSession) async throws -> String {
        try await tmux.waitForScreen(timeout: 30) { s in panes.allSatisfy { (checkpoint(of: $0, in: s) ?? 0) > 0 } }
    }

    /// SGR parameters in `text` that set a colour (30-38, 40-48, 90-107); 39 and 49 only reset
    /// to the terminal's own colours, which tmux emits for any styled capture.
    static func colourParameters(_ text: String) -> [Int] {
        var found: [Int] = []
        for chunk in text.components(separatedBy: "\u{1b}[").dropFirst() {
            guard let end = chunk.firstIndex(of: "m") else { continue }
            let params = chunk[..<end].split(separator: ";").compactMap { Int($0) }
            found += params.filter { (30...38).contains($0) || (40...48).contains($0) || (90...107).contains($0) }
        }
        return found
    }

    /// Whether the screen is the dashboard's (as opposed to the shell's, after it left).
    static func showsDashboard(_ screen: String) -> Bool { screen.contains("PRISM") && screen.contains("head #") }

    @Test func keysStopRebuildCommandTimeTravelHelpAndQuit() async throws {
        try await withTemporaryDirectory { dir in
            let tmux = try TmuxSession(command: "\(prismBinary) --data \(dir)/data --rate 400 --relaxed")
            var screen = try await Self.waitForLiveViews(tmux)
            // At 120 columns every hint fits, rebuild included.
            #expect(screen.contains("r rebuild") && screen.contains("q quit") && screen.contains("? help"))

            // s on Finance: its checkpoint freezes while the others (and the head) move on.
            try tmux.keys("3")
            try tmux.keys("s")
            screen = try await tmux.waitForScreen { $0.contains("Finance  STOPPED") }
            let frozen = try #require(checkpoint(of: "Finance", in: screen))
            screen = try await tmux.waitForScreen { s in (checkpoint(of: "Shoppers", in: s) ?? 0) > frozen + 100 }
            #expect(checkpoint(of: "Finance", in: screen) == frozen)
            #expect(screen.contains("finance   stopped"))

            // r rebuilds Finance from position 1; it ends live, caught up with the others.
            let others = try #require(checkpoint(of: "Shoppers", in: screen))
            try tmux.keys("r")
            screen = try await tmux.waitForScreen { s in
                !s.contains("Finance  STOPPED") && !s.contains("Finance  REBUILDING")
                    && (checkpoint(of: "Finance", in: s) ?? 0) >= others
            }
            #expect(screen.contains("finance   live") || screen.contains("finance   catching up"))

            // The palette: an accepted command says its position; bad input says why.
            try tmux.type(":")
            try tmux.type("place alice MUG:1")
            try tmux.keys("Enter")
            screen = try await tmux.waitForScreen { $0.contains("accepted position=") }
            try tmux.type(":")
            try tmux.type("place alice MUG:x")
            try tmux.keys("Enter")
            screen = try await tmux.waitForScreen { $0.contains("expected SKU:QTY") }
            try tmux.type(":")
            try tmux.type("ship o-999999")
            try tmux.keys("Enter")
            screen = try await tmux.waitForScreen { $0.contains("rejected: ") }

            // Time travel: AS OF a position, one step back with Left, live again with Esc.
            try tmux.keys("t")
            screen = try await tmux.waitForScreen { $0.contains("AS OF #") && $0.contains("Finance  as of #") }
            let at = try #require(checkpoint(of: "AS OF", in: screen))
            try tmux.keys("Left")
            screen = try await tmux.waitForScreen { checkpoint(of: "AS OF", in: $0) == at - 1 }
            try tmux.keys("Escape")
            screen = try await tmux.waitForScreen { !$0.contains("AS OF") }

            // Help lists the keys; any key closes it.
            try tmux.keys("?")
            screen = try await tmux.waitForScreen { $0.contains("stop or start the focused") }
            #expect(screen.contains("rebuild the focused"))
            try tmux.keys("x")
            screen = try await tmux.waitForScreen { !$0.contains("stop or start the focused") }

            // q: exit 0, and the terminal is the shell's again (the alternate screen is left).
            try tmux.keys("q")
            #expect(try await tmux.waitForExit() == 0)
            #expect(!Self.showsDashboard(try tmux.screen()))
        }
    }

    @Test func resizingToAnySizeAndSIGTERM() async throws {
        try await withTemporaryDirectory { dir in
            let tmux = try TmuxSession(command: "\(prismBinary) --data \(dir)/data --rate 300 --relaxed")
            _ = try await Self.waitForLiveViews(tmux)
            try tmux.resize(width: 70, height: 20)
            var screen = try await tmux.waitForScreen { $0.contains("1 Shoppers") && $0.contains("4 Support") }
            #expect(Self.showsDashboard(screen))
            try tmux.resize(width: 50, height: 10)
            screen = try await tmux.waitForScreen { $0.contains("terminal too small: need 60x16, have 50x10") }
            try tmux.resize(width: 120, height: 40)
            screen = try await tmux.waitForScreen { s in Self.panes.allSatisfy { checkpoint(of: $0, in: s) != nil } }
            #expect(!screen.contains("1 Shoppers"))
            let pid = try #require(try tmux.programPid())

            // SIGTERM: an orderly stop, exit 0, terminal restored.
            #expect(kill(pid, SIGTERM) == 0)
            #expect(try await tmux.waitForExit(timeout: 5) == 0)
            #expect(!Self.showsDashboard(try tmux.screen()))
        }
    }

    @Test func noColorAndLangCDrawInASCIIWithoutColour() async throws {
        try await withTemporaryDirectory { dir in
            let tmux = try TmuxSession(
                command: "\(prismBinary) --data \(dir)/data --rate 200 --relaxed", lang: "C",
                extraEnvironment: ["NO_COLOR": "1"])
            let screen = try await Self.waitForLiveViews(tmux)
            #expect(screen.contains("+ Shoppers") || screen.contains("+-"))
            #expect(screen.unicodeScalars.allSatisfy { $0.isASCII })
            // No colour escapes at all: only attributes (bold, reverse, dim) remain.
            let styled = try tmuxCommand(["-L", tmux.socket, "capture-pane", "-p", "-e"]).stdout
            #expect(styled.contains("\u{1b}["))
            #expect(Self.colourParameters(styled).isEmpty, "colour escapes under NO_COLOR")
            try tmux.keys("q")
            #expect(try await tmux.waitForExit() == 0)
        }
    }

    @Test func unknownTerminalAndBadThemeFailBeforeTouchingAnything() async throws {
        try await withTemporaryDirectory { dir in
            var env = ProcessInfo.processInfo.environment
            env["TERM"] = "nonexistent-term"
            let r = try await run(prismBinary, ["--data", "\(dir)/data"], environment: env)
            #expect(r.code == 3)
            #expect(r.stderr.contains("nonexistent-term"))
            #expect(!FileManager.default.fileExists(atPath: "\(dir)/data"), "no log is created for a terminal that cannot be used")

            let theme = "\(dir)/broken.theme"
            try "name = \"broken\"\ntext = \"default\"\nborder = \"not-a-colour\"\n".write(toFile: theme, atomically: true, encoding: .utf8)
            env["TERM"] = "xterm-256color"
            let t = try await run(prismBinary, ["--data", "\(dir)/data", "--theme", theme], environment: env)
            #expect(t.code == 2)
            #expect(t.stderr.contains("broken.theme:3") && t.stderr.contains("border"), "\(t.stderr)")
            #expect(!FileManager.default.fileExists(atPath: "\(dir)/data"))
        }
    }
}
