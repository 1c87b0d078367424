import Foundation
import Testing

/// `--store file:DIR|memory`: the command line is where the backend is chosen.
@Suite struct StoreSelectionTests {
    /// A memory store: the dashboard runs the whole system, says on the status line that
    /// nothing is on disk, and leaves no file behind, in the state folder or anywhere.
    @Test func aMemoryDashboardRunsAndLeavesNothingOnDisk() async throws {
        try await withTemporaryDirectory { dir in
            let state = dir + "/state"
            let tmux = try TmuxSession(
                command: "\(prismBinary) --store memory --rate 200",
                extraEnvironment: ["XDG_STATE_HOME": state, "HOME": dir])
            let screen = try await tmux.waitForScreen { s in
                s.contains("nothing on disk") && (checkpoint(of: "Finance", in: s) ?? 0) > 5
            }
            #expect(screen.contains("memory"))
            try tmux.keys("q")
            #expect(try await tmux.waitForExit() == 0)
            let left = (try? FileManager.default.subpathsOfDirectory(atPath: dir)) ?? []
            #expect(left.isEmpty, "a memory store left files: \(left)")
        }
    }

    @Test func storeAndDataNameTheSameFileLog() async throws {
        try await withTemporaryDirectory { dir in
            let sent = try await prism("send", "--store", "file:\(dir)/a", "--create", "register", "MUG", "1299", "Blue", "mug")
            #expect(sent.code == 0, "\(sent.stderr)")
            #expect(sent.stdout.contains("accepted position=1"))
            let views = try await prism("views", "--json", "--data", "\(dir)/a")
            #expect(views.code == 0)
            #expect(views.stdout.contains("\"MUG\""))
            let env = try await run(prismBinary, ["export"], environment: ["PRISM_STORE": "file:\(dir)/a", "PATH": "/usr/bin:/bin"])
            #expect(env.code == 0)
            #expect(env.stdout.contains("\"position\":1"))
        }
    }

    @Test func aStoreThatCannotServeTheCommandIsAUsageError() async throws {
        let views = try await prism("views", "--store", "memory")
        #expect(views.code == 2)
        #expect(views.stderr.contains("memory store"))
        let bad = try await prism("views", "--store", "redis://x")
        #expect(bad.code == 2)
        #expect(bad.stderr.contains("unknown store"))
        let both = try await prism("views", "--store", "memory", "--data", "/tmp/x")
        #expect(both.code == 2)
    }
}
