import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `prism walkthrough`, end to end: the real binary, in a real terminal (tmux) for the dashboard.
@Suite(.serialized) struct WalkthroughEndToEnd {
    @Test func stepsForwardBackAndQuitsWithExitZero() async throws {
        try await withTemporaryDirectory { dir in
            let tmux = try TmuxSession(command: "\(prismBinary) walkthrough commands-vs-queries --data \(dir)")
            var screen = try await tmux.waitForScreen(timeout: 30) { $0.contains("step 1 of 6") }
            #expect(screen.contains("A small shop, standing still"))
            #expect(screen.contains("head #4"))

            try tmux.keys("n")
            screen = try await tmux.waitForScreen { $0.contains("step 2 of 6") && $0.contains("head #5") }
            #expect(screen.contains("A command: place an order"))

            try tmux.keys("Right")
            screen = try await tmux.waitForScreen { $0.contains("step 3 of 6") && $0.contains("head #6") }
            #expect(screen.contains("Pay: one event, four reactions"))

            // Back: a fresh log, steps 1-2 replayed: the head is 5 again.
            try tmux.keys("b")
            screen = try await tmux.waitForScreen { $0.contains("step 2 of 6") && $0.contains("head #5") }
            #expect(screen.contains("A command: place an order"))

            try tmux.keys("q")
            #expect(try await tmux.waitForExit() == 0)
            // The throwaway logs are gone.
            let left = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            #expect(left.isEmpty, "\(left)")
        }
    }

    /// Keys pressed while going back replays the earlier steps are queued and run, not dropped.
    @Test func keysPressedWhileGoingBackAreNotDropped() async throws {
        try await withTemporaryDirectory { dir in
            let tmux = try TmuxSession(command: "\(prismBinary) walkthrough commands-vs-queries --data \(dir)")
            _ = try await tmux.waitForScreen(timeout: 30) { $0.contains("step 1 of 6") && !$0.contains("running") }
            try tmux.keys("n")
            _ = try await tmux.waitForScreen { $0.contains("step 2 of 6") && $0.contains("head #5") }
            try tmux.keys("n")
            _ = try await tmux.waitForScreen { $0.contains("step 3 of 6") && $0.contains("head #6") }
            // Back (a replay on a fresh log), then at once next twice: both must be taken.
            try tmux.keys("b")
            try tmux.keys("n")
            try tmux.keys("n")
            let screen = try await tmux.waitForScreen(timeout: 30) { $0.contains("step 4 of 6") && !$0.contains("running") }
            #expect(screen.contains("A rejected command appends nothing"))
            try tmux.keys("q")
            #expect(try await tmux.waitForExit() == 0)
        }
    }

    /// At 80x24 the narration is longer than its box: the box says so, and Down pages it.
    @Test func narrationPagesWithAMoreMarkerAt80x24() async throws {
        try await withTemporaryDirectory { dir in
            let tmux = try TmuxSession(command: "\(prismBinary) walkthrough commands-vs-queries --data \(dir)", width: 80, height: 24)
            var screen = try await tmux.waitForScreen(timeout: 30) { $0.contains("step 1 of 6") && $0.contains("more: Down/PgDn") }
            // The step is about the event tail, so the small screen shows it.
            #expect(screen.contains("ProductRestocked"))
            #expect(screen.contains("lines 1-4 of"))
            try tmux.keys("NPage")
            screen = try await tmux.waitForScreen { !$0.contains("lines 1-") && $0.contains("Up/PgUp") }
            // The narration's last sentence ends "... more of this text, q to quit.": it may
            // wrap anywhere, so look for it in the words of the screen, borders left out.
            let words = screen.replacingOccurrences(of: "│", with: " ").replacingOccurrences(of: "|", with: " ")
                .split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
            // Known defect, intermittent: at 80x24 the narration is sometimes cut with an
            // ellipsis at the box's edge instead of wrapped (as if wrapped for a wider screen),
            // so its last words are not on screen. Kept visible here until it is fixed.
            withKnownIssue("80x24 narration sometimes cut instead of wrapped", isIntermittent: true) {
                #expect(screen.contains("more: Down/PgDn") || words.contains("of this text"), "\(screen)")
            }
            try tmux.keys("q")
            #expect(try await tmux.waitForExit() == 0)
        }
    }

    @Test func listsBuiltinsAndRejectsABadFileWithItsLine() async throws {
        let list = try await run(prismBinary, ["walkthrough"])
        #expect(list.code == 0)
        let names = list.stdout.split(separator: "\n").map { $0.split(separator: " ").first.map(String.init) ?? "" }
        #expect(names == ["commands-vs-queries", "eventual-consistency", "rebuilding", "crash-recovery", "time-travel", "streams-and-versions"])

        try await withTemporaryDirectory { dir in
            let file = dir + "/bad.md"
            try "# Mine\nA summary.\n## One\nText.\n> frobnicate finance\n".write(toFile: file, atomically: true, encoding: .utf8)
            let bad = try await run(prismBinary, ["walkthrough", file])
            #expect(bad.code == 2)
            #expect(bad.stderr.contains("\(file):5:"), "\(bad.stderr)")
            let unknown = try await run(prismBinary, ["walkthrough", "no-such-lesson"])
            #expect(unknown.code == 2)
        }
    }

    @Test func checkRunsTheCrashWalkthroughHeadless() async throws {
        let r = try await run(prismBinary, ["walkthrough", "crash-recovery", "--check"])
        #expect(r.code == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("every expectation held"))
    }
}
