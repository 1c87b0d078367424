import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Runs a program to completion with posix_spawn and waitpid, its output in temporary files.
/// (Not Foundation's Process: its exit monitoring was seen to miss exits while several tests
/// block in it at once on a two-core machine, leaving the test hanging.)
private func spawnAndWait(_ argv: [String], timeout: Double = 120) throws -> (code: Int32, stdout: String, stderr: String) {
    let base = NSTemporaryDirectory() + "walk-e2e-" + UUID().uuidString.prefix(8)
    let outPath = base + ".out", errPath = base + ".err"
    defer { unlink(outPath); unlink(errPath) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    var cArgs = argv.map { strdup($0) } + [nil]
    defer { for a in cArgs { free(a) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, argv[0], &actions, nil, &cArgs, environ)
    guard rc == 0 else { throw E2EError("cannot run \(argv[0]): \(String(cString: strerror(rc)))") }
    var status: Int32 = 0
    let deadline = Date().addingTimeInterval(timeout)
    while waitpid(pid, &status, WNOHANG) == 0 {
        if Date() > deadline {
            kill(pid, SIGKILL)
            _ = waitpid(pid, &status, 0)
            throw E2EError("\(argv.joined(separator: " ")) did not finish within \(timeout) s")
        }
        usleep(20_000)
    }
    let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
    return (code, out, err)
}

/// A tmux server of its own running one command, driven with ``spawnAndWait``.
private final class WalkTmux {
    let socket = "prism-walk-e2e-" + UUID().uuidString.prefix(8)
    let exitFile: String

    init(command: String) throws {
        exitFile = NSTemporaryDirectory() + socket + ".exit"
        let shell = "\(command); echo $? > \(exitFile); sleep 30"
        let r = try spawnAndWait(["/usr/bin/tmux", "-L", socket, "-f", "/dev/null", "new-session", "-d", "-x", "120", "-y", "40",
                                  "-e", "TERM=xterm-256color", "-e", "LANG=C.UTF-8", "-e", "LC_ALL=C.UTF-8", shell])
        guard r.code == 0 else { throw E2EError("tmux failed to start: \(r.stderr)") }
    }

    func keys(_ keys: String...) throws { _ = try spawnAndWait(["/usr/bin/tmux", "-L", socket, "send-keys"] + keys) }
    func screen() throws -> String { try spawnAndWait(["/usr/bin/tmux", "-L", socket, "capture-pane", "-p"]).stdout }

    @discardableResult
    func waitForScreen(timeout: Double = 20, _ predicate: (String) -> Bool) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var last = ""
        while Date() < deadline {
            last = try screen()
            if predicate(last) { return last }
            usleep(100_000)
        }
        throw E2EError("timed out waiting for the screen; last screen:\n\(last)")
    }

    func waitForExit(timeout: Double = 15) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: exitFile, encoding: .utf8),
               let code = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) { return code }
            usleep(100_000)
        }
        throw E2EError("the program did not exit within \(timeout) s; screen:\n\((try? screen()) ?? "")")
    }

    deinit {
        _ = try? spawnAndWait(["/usr/bin/tmux", "-L", socket, "kill-server"])
        unlink(exitFile)
    }
}

/// `prism walkthrough`, end to end: the real binary, in a real terminal (tmux) for the dashboard.
@Suite(.serialized) struct WalkthroughEndToEnd {
    @Test func stepsForwardBackAndQuitsWithExitZero() async throws {
        try await withTemporaryDirectory { dir in
            let tmux = try WalkTmux(command: "\(prismBinary) walkthrough commands-vs-queries --data \(dir)")
            var screen = try tmux.waitForScreen(timeout: 30) { $0.contains("step 1 of 6") }
            #expect(screen.contains("A small shop, standing still"))
            #expect(screen.contains("head #4"))

            try tmux.keys("n")
            screen = try tmux.waitForScreen { $0.contains("step 2 of 6") && $0.contains("head #5") }
            #expect(screen.contains("A command: place an order"))

            try tmux.keys("Right")
            screen = try tmux.waitForScreen { $0.contains("step 3 of 6") && $0.contains("head #6") }
            #expect(screen.contains("Pay: one event, four reactions"))

            // Back: a fresh log, steps 1-2 replayed: the head is 5 again.
            try tmux.keys("b")
            screen = try tmux.waitForScreen { $0.contains("step 2 of 6") && $0.contains("head #5") }
            #expect(screen.contains("A command: place an order"))

            try tmux.keys("q")
            #expect(try tmux.waitForExit() == 0)
            // The throwaway logs are gone.
            let left = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            #expect(left.isEmpty, "\(left)")
        }
    }

    @Test func listsBuiltinsAndRejectsABadFileWithItsLine() async throws {
        let list = try spawnAndWait([prismBinary, "walkthrough"])
        #expect(list.code == 0)
        let names = list.stdout.split(separator: "\n").map { $0.split(separator: " ").first.map(String.init) ?? "" }
        #expect(names == ["commands-vs-queries", "eventual-consistency", "rebuilding", "crash-recovery", "time-travel"])

        try await withTemporaryDirectory { dir in
            let file = dir + "/bad.md"
            try "# Mine\nA summary.\n## One\nText.\n> frobnicate finance\n".write(toFile: file, atomically: true, encoding: .utf8)
            let bad = try spawnAndWait([prismBinary, "walkthrough", file])
            #expect(bad.code == 2)
            #expect(bad.stderr.contains("\(file):5:"), "\(bad.stderr)")
            let unknown = try spawnAndWait([prismBinary, "walkthrough", "no-such-lesson"])
            #expect(unknown.code == 2)
        }
    }

    @Test func checkRunsTheCrashWalkthroughHeadless() throws {
        let r = try spawnAndWait([prismBinary, "walkthrough", "crash-recovery", "--check"])
        #expect(r.code == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("every expectation held"))
    }
}
