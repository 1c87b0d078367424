import Foundation
import Testing

/// Terminal types that are not xterm: ones that cannot draw a dashboard at all, and ones without
/// an alternate screen, where what the dashboard leaves behind stays visible after it quits.
/// `TERM` is set in the pane's command itself, since tmux replaces a session's `TERM` with its
/// own `default-terminal`.
@Suite(.serialized) struct TerminalTypeEndToEndTests {
    /// The pane's rows, `height` of them, trailing spaces already trimmed by tmux.
    static func rows(_ screen: String, height: Int) -> [String] {
        let lines = screen.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        return Array((lines + Array(repeating: "", count: height)).prefix(height))
    }

    @Test func dumbTerminalIsRefusedWithExit3BeforeAnythingIsTouched() async throws {
        try await withTemporaryDirectory { dir in
            // Without a terminal attached: the TERM check comes first and names the problem.
            var env = ProcessInfo.processInfo.environment
            env["TERM"] = "dumb"
            let r = try await run(prismBinary, ["--data", "\(dir)/data"], environment: env)
            #expect(r.code == 3)
            #expect(r.stderr.contains("'dumb'") && r.stderr.contains("cannot move the cursor"), "\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: "\(dir)/data"), "no log is created for a terminal that cannot be used")

            // In a real terminal: the same exit, and the screen is left as it was (not cleared,
            // no alternate screen entered), the one-line error below what was there.
            let tmux = try TmuxSession(command: "echo BEFORE-PRISM; /usr/bin/env TERM=dumb \(prismBinary) --data \(dir)/data", width: 120, height: 40)
            #expect(try await tmux.waitForExit() == 3)
            let screen = try tmux.screen()
            #expect(screen.contains("BEFORE-PRISM"), "the screen was cleared:\n\(screen)")
            #expect(screen.contains("prism: terminal type 'dumb' (TERM) cannot move the cursor"), "\(screen)")
            #expect(!FileManager.default.fileExists(atPath: "\(dir)/data"))
        }
    }

    @Test(arguments: ["vt100", "linux"])
    func quittingClearsTheLastLine(term: String) async throws {
        try await withTemporaryDirectory { dir in
            let tmux = try TmuxSession(
                command: "/usr/bin/env TERM=\(term) \(prismBinary) --data \(dir)/data --rate 200 --relaxed",
                width: 120, height: 40)
            let live = try await DashboardEndToEndTests.waitForLiveViews(tmux)
            #expect(Self.rows(live, height: 40)[39].contains("q quit"), "the key hints are on the last line")
            try tmux.keys("q")
            #expect(try await tmux.waitForExit() == 0)
            let after = Self.rows(try tmux.screen(), height: 40)
            // No alternate screen on these terminals: the dashboard stays, which is what makes
            // the last line matter (the shell's prompt lands there).
            #expect(after.contains { $0.contains("head #") }, "\(term) kept no picture of the dashboard")
            #expect(after[39].trimmingCharacters(in: .whitespaces).isEmpty, "last line after quitting on \(term): '\(after[39])'")
        }
    }
}
