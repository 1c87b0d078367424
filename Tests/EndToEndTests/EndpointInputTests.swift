import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Bad input stops only its own command, and the endpoint recovers by itself: the real
/// `prism serve` and `prism send`, as a user (or an adversary) meets them.
@Suite(.serialized) struct EndpointInputTests {
    /// A running `prism serve --rate 0` on a fresh log holding `register MUG` and its stock.
    final class Server {
        let data: String
        let child: Child

        init(_ data: String, limitFiles: Int? = nil) async throws {
            self.data = data
            // (Without `--create` for a `prism` from before it, so that this suite can show what
            // such a binary does: PRISM_BINARY=old swift test --filter EndpointInputTests.)
            if try await prism("send", "--data", data, "--create", "register", "MUG", "1299", "Blue", "mug").code == 2 {
                _ = try await prism("send", "--data", data, "register", "MUG", "1299", "Blue", "mug")
            }
            _ = try await prism("send", "--data", data, "restock", "MUG", "100")
            if let limitFiles {
                child = try Child(["/bin/sh", "-c", "ulimit -n \(limitFiles) && exec \(prismBinary) serve --data \(data) --rate 0"])
            } else {
                child = try Child([prismBinary, "serve", "--data", data, "--rate", "0"])
            }
            let deadline = Date().addingTimeInterval(20)
            while !child.stderr.contains("serving") {
                guard Date() < deadline, child.isRunning else { throw E2EError("serve did not start: \(child.stderr)") }
                try await Task.sleep(for: .milliseconds(20))
            }
            // Until the writer answers, a command is "starting".
            while try await prism("send", "--data", data, "price", "MUG", "1299").stdout.hasPrefix("accepted") == false {
                guard Date() < deadline else { throw E2EError("serve does not answer") }
                try await Task.sleep(for: .milliseconds(20))
            }
        }

        var head: String { get async throws { try await prism("views", "--data", data, "--json").stdout.prefix(30).description } }

        func stop() async throws -> Int32 {
            child.signal(SIGTERM)
            return try await child.wait(timeout: 20)
        }
    }

    static let esc = "\u{1B}"

    @Test(.timeLimit(.minutes(1)))
    func aBadCommandIdIsAUsageErrorOfThatCommandAlone() async throws {
        try await withTemporaryDirectory { dir in
            let server = try await Server(dir + "/log")
            let long = String(repeating: "a", count: 300)
            for id in [long, "", "a\(Self.esc)]0;owned\u{07}b", "line\nbreak"] {
                let r = try await prism("send", "--data", server.data, "--id", id, "restock", "MUG", "1")
                #expect(r.code == 2, "id \(id.prefix(20).debugDescription): \(r)")
                #expect(!r.stderr.contains(Self.esc) && !r.stderr.contains("\n]0;"), "raw control characters echoed: \(r.stderr.debugDescription)")
            }
            // The writer goes on taking commands.
            let ok = try await prism("send", "--data", server.data, "--id", "fine", "restock", "MUG", "1")
            #expect(ok.code == 0, "\(ok)")
            #expect(try await server.stop() == 0)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func everyIdTravelsAsItIs() async throws {
        try await withTemporaryDirectory { dir in
            let server = try await Server(dir + "/log")
            // `-` was "no id" on the old wire: each retry appended again.
            let first = try await prism("send", "--data", server.data, "--id", "-", "restock", "MUG", "5")
            let again = try await prism("send", "--data", server.data, "--id", "-", "restock", "MUG", "5")
            #expect(first.code == 0)
            #expect(again.stdout == first.stdout, "a retry of id '-' was decided again: \(first.stdout) then \(again.stdout)")
            // Tabs and spaces inside an id and a reason travel as they are.
            let spaced = try await prism("send", "--data", server.data, "--id", "a b", "restock", "MUG", "5")
            let spacedAgain = try await prism("send", "--data", server.data, "--id", "a b", "restock", "MUG", "5")
            #expect(spaced.code == 0 && spacedAgain.stdout == spaced.stdout)
            #expect(try await server.stop() == 0)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func anOverlongNameIsRefusedNeverTrappedOrCut() async throws {
        try await withTemporaryDirectory { dir in
            let data = dir + "/log"
            // One character, 80,001 bytes: a letter and 40,000 combining accents.
            let name = "a" + String(repeating: "\u{0301}", count: 40_000)
            _ = try await prism("send", "--data", data, "--create", "register", "MUG", "1299", "Blue", "mug")
            // No writer running: `send` opens the log itself; the domain refuses (no SIGILL).
            let direct = try await prism("send", "--data", data, "register", "BIG", "100", name)
            #expect(direct.code == 1, "\(direct.code) \(direct.stderr.prefix(200))")
            #expect(direct.stdout.contains("at most 256 bytes"))
            let server = try await Server(dir + "/log2")
            let before = try await server.head
            // Through the endpoint: refused as a whole, with a reason; `send` is not killed by
            // SIGPIPE (exit 141) and the writer runs nothing cut from it.
            let viaEndpoint = try await prism("send", "--data", server.data, "register", "BIG", "100", name)
            #expect(viaEndpoint.code == 2, "\(viaEndpoint.code) \(viaEndpoint.stderr.prefix(300))")
            #expect(viaEndpoint.stderr.contains("at most 65536 bytes"))
            #expect(try await server.head == before)
            // A megabyte, far more than the socket buffers hold: the writer stops reading at the
            // header, and `send` reports its refusal instead of dying of SIGPIPE (exit 141).
            let words = Array(repeating: String(repeating: "x", count: 100_000), count: 10)
            let huge = try await run(prismBinary, ["send", "--data", server.data, "register", "BIG", "100"] + words)
            #expect(huge.code == 2, "\(huge.code) \(huge.stderr.prefix(300))")
            #expect(huge.stderr.contains("1000026 bytes") && huge.stderr.contains("at most 65536 bytes"))
            // Under the endpoint's limit, the byte rule of the domain answers.
            let shorter = "a" + String(repeating: "\u{0301}", count: 200)
            let rejected = try await prism("send", "--data", server.data, "register", "BIG", "100", shorter)
            #expect(rejected.code == 1 && rejected.stdout.contains("at most 256 bytes"), "\(rejected)")
            #expect(server.child.isRunning)
            #expect(try await server.stop() == 0)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func messagesThatQuoteInputEscapeControlCharacters() async throws {
        try await withTemporaryDirectory { dir in
            let server = try await Server(dir + "/log")
            let attacks = [
                ["\(Self.esc)[2J\(Self.esc)[31mred"],  // unknown verb: a syntax error
                ["restock", "M\(Self.esc)[2JUG\rfake", "5"],  // unknown SKU: a rejection
                ["place", "alice", "MUG:1", "as", "o\u{9B}31m"],  // C1 CSI in an order id
                ["restock", "X\u{202E}Y", "5"],  // a bidi override in a SKU
            ]
            for words in attacks {
                let r = try await run(prismBinary, ["send", "--data", server.data] + words)
                #expect(r.code != 0)
                for raw in [Self.esc, "\r", "\u{9B}", "\u{202E}"] {
                    #expect(!r.stdout.contains(raw) && !r.stderr.contains(raw), "raw \(raw.debugDescription) echoed: \((r.stdout + r.stderr).debugDescription)")
                }
                #expect((r.stdout + r.stderr).contains("\\u{"), "\((r.stdout + r.stderr).debugDescription)")
            }
            // The same without a writer running (the direct path), and ArgumentParser's errors.
            #expect(try await server.stop() == 0)
            let direct = try await run(prismBinary, ["send", "--data", server.data, "restock", "M\(Self.esc)[2J", "5"])
            #expect(!direct.stdout.contains(Self.esc) && direct.stdout.contains("\\u{1B}"), "\(direct)")
            let option = try await run(prismBinary, ["views", "--data", server.data, "--\(Self.esc)[2J"])
            #expect(option.code == 2 && !option.stderr.contains(Self.esc), "\(option.stderr.debugDescription)")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aRepeatedIdSaysItIsARepeatAndThatTheCommandDiffered() async throws {
        try await withTemporaryDirectory { dir in
            let server = try await Server(dir + "/log")
            let first = try await prism("send", "--data", server.data, "--id", "r-1", "restock", "MUG", "5")
            let same = try await prism("send", "--data", server.data, "--id", "r-1", "restock", "MUG", "5")
            let other = try await prism("send", "--data", server.data, "--id", "r-1", "restock", "MUG", "7")
            #expect(same.stdout == first.stdout && other.stdout == first.stdout)
            #expect(same.stderr.contains("used before") && !same.stderr.contains("differs"), "\(same.stderr)")
            #expect(other.stderr.contains("used before") && other.stderr.contains("differs"), "\(other.stderr)")
            #expect(try await server.stop() == 0)
            // A new process that only has the log to go by (no writer running) tells them apart too.
            let direct = try await prism("send", "--data", server.data, "--id", "r-1", "restock", "MUG", "9")
            #expect(direct.stdout == first.stdout)
            #expect(direct.stderr.contains("differs"), "\(direct.stderr)")
            let directSame = try await prism("send", "--data", server.data, "--id", "r-1", "restock", "MUG", "5")
            #expect(directSame.stderr.contains("used before") && !directSame.stderr.contains("differs"), "\(directSame.stderr)")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func theCommandLineHasManners() async throws {
        try await withTemporaryDirectory { dir in
            for flag in ["--help", "-h"] {
                let help = try await prism("send", flag)
                #expect(help.code == 0 && help.stdout.contains("USAGE") && help.stdout.contains("--id"), "\(help)")
            }
            let version = try await prism("--version")
            #expect(version.code == 0 && version.stdout.hasPrefix("prism "), "\(version)")
            let data = dir + "/log"
            // A folder with no log is refused unless asked for, and nothing is created there.
            let typo = try await prism("send", "--data", data, "register", "MUG", "1299", "Blue", "mug")
            #expect(typo.code == 3 && typo.stderr.contains("--create"), "\(typo)")
            #expect(!FileManager.default.fileExists(atPath: data))
            #expect(try await prism("send", "--data", data, "--create", "register", "MUG", "1299", "Blue", "mug").code == 0)
            let at = try await prism("views", "--data", data, "--at", "-1")
            #expect(at.code == 2 && at.stderr.contains("--at -1") && at.stderr.contains("negative"), "\(at)")
            let range = try await prism("export", "--data", data, "--from", "10", "--to", "5")
            #expect(range.code == 2 && range.stderr.contains("--from 10 is after --to 5"), "\(range)")
        }
    }

    /// Connects `count` clients that send nothing, from this process.
    static func idleClients(_ count: Int, to socketPath: String) -> [Int32] {
        (0..<count).compactMap { _ in
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                let bytes = Array(socketPath.utf8)
                raw.copyBytes(from: bytes)
                raw[bytes.count] = 0
            }
            let flags = fcntl(fd, F_GETFL)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            if rc != 0 { close(fd); return nil }
            return fd
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func theEndpointSurvivesRunningOutOfFileDescriptors() async throws {
        try await withTemporaryDirectory { dir in
            // A writer with room for about 16 connections.
            let server = try await Server(dir + "/log", limitFiles: 40)
            let idle = Self.idleClients(40, to: server.data + "/prism.sock")
            try await Task.sleep(for: .milliseconds(300))
            let refused = try await prism("send", "--data", server.data, "restock", "MUG", "1")
            #expect(refused.code == 3, "\(refused)")
            #expect(refused.stderr.contains("out of file descriptors") || refused.stderr.contains("connections already"), "\(refused.stderr)")
            for fd in idle { close(fd) }
            try await Task.sleep(for: .milliseconds(300))
            // The accept loop is still there: once its back-off (up to 500 ms) has passed, a
            // command goes through again.
            var after = try await prism("send", "--data", server.data, "restock", "MUG", "1")
            let deadline = Date().addingTimeInterval(10)
            while after.code != 0 && Date() < deadline {
                try await Task.sleep(for: .milliseconds(200))
                after = try await prism("send", "--data", server.data, "restock", "MUG", "1")
            }
            #expect(after.code == 0, "\(after)")
            #expect(server.child.stderr.contains("Too many open files"), "\(server.child.stderr)")
            #expect(try await server.stop() == 0)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func connectionsAreCapped() async throws {
        try await withTemporaryDirectory { dir in
            let server = try await Server(dir + "/log")
            let idle = Self.idleClients(70, to: server.data + "/prism.sock")
            try await Task.sleep(for: .milliseconds(300))
            let refused = try await prism("send", "--data", server.data, "restock", "MUG", "1")
            #expect(refused.code == 3 && refused.stderr.contains("64 connections"), "\(refused)")
            for fd in idle { close(fd) }
            try await Task.sleep(for: .milliseconds(300))
            let after = try await prism("send", "--data", server.data, "restock", "MUG", "1")
            #expect(after.code == 0, "\(after)")
            #expect(try await server.stop() == 0)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aWriterThatAcceptsNothingTimesOutTheConnect() async throws {
        try await withTemporaryDirectory { dir in
            // A listener that never accepts, its backlog full: `connect` would block forever.
            let path = dir + "/prism.sock"
            let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                let bytes = Array(path.utf8)
                raw.copyBytes(from: bytes)
                raw[bytes.count] = 0
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            #expect(bound == 0 && listen(listener, 0) == 0)
            defer { close(listener) }
            let filling = Self.idleClients(4, to: path)
            defer { for fd in filling { close(fd) } }
            let started = Date()
            let r = try await run(prismBinary, ["send", "--data", dir, "--connect-timeout", "1", "restock", "MUG", "1"], timeout: 20)
            #expect(r.code == 3, "\(r)")
            #expect(r.stderr.contains("accepted no connection within 1 s"), "\(r.stderr)")
            #expect(Date().timeIntervalSince(started) < 10)
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func aStartingWriterSaysItIsStarting() async throws {
        try await withTemporaryDirectory { dir in
            let data = dir + "/log"
            // A log big enough that reading it takes the new writer a moment.
            let load = try Child([prismBinary, "serve", "--data", data, "--rate", "1000000", "--relaxed"])
            // (Two seconds: long enough for a start that takes a moment, short enough not to
            // load the rest of a parallel suite for long.)
            try await Task.sleep(for: .seconds(2))
            load.signal(SIGTERM)
            #expect(try await load.wait() == 0)
            // Without its snapshots the next writer folds the whole log: a start that takes a
            // moment, which is what this test needs to see.
            try? FileManager.default.removeItem(atPath: data + "/snapshots")
            let serve = try Child([prismBinary, "serve", "--data", data, "--rate", "0"])
            // From the moment the new writer holds the lock (its pid in LOCK).
            let lockDeadline = Date().addingTimeInterval(30)
            while (try? String(contentsOfFile: data + "/LOCK", encoding: .utf8))?.hasPrefix("\(serve.pid)") != true {
                guard Date() < lockDeadline, serve.isRunning else {
                    Issue.record("the new writer never took the lock: running \(serve.isRunning), LOCK \(String(describing: try? String(contentsOfFile: data + "/LOCK", encoding: .utf8))), stderr \(serve.stderr)")
                    serve.signal(SIGKILL)
                    return
                }
                try await Task.sleep(for: .milliseconds(2))
            }
            var answers: [String] = []
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                let r = try await prism("send", "--data", data, "price", "NOPE", "100")
                answers.append(r.stderr + r.stdout)
                if r.stdout.hasPrefix("rejected") { break }
            }
            serve.signal(SIGTERM)
            #expect(try await serve.wait() == 0)
            #expect(answers.last?.hasPrefix("rejected") == true, "\(answers.suffix(3))")
            #expect(!answers.contains { $0.contains("locked by another writer") }, "\(answers.prefix(5))")
            #expect(answers.contains { $0.contains("is starting") }, "\(answers.prefix(5))")
        }
    }
}
