import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The built `prism` executable: `PRISM_BINARY`, else next to this test bundle (the same build,
/// whatever `--scratch-path`), else the default debug build.
let prismBinary: String = {
    if let explicit = ProcessInfo.processInfo.environment["PRISM_BINARY"] { return explicit }
    if let me = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
        var dir = URL(fileURLWithPath: me).deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("prism").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
    }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return root.appendingPathComponent(".build/debug/prism").path
}()

/// A fresh temporary folder, removed when `body` returns.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async rethrows -> T {
    let dir = NSTemporaryDirectory() + "prism-e2e-" + UUID().uuidString.prefix(8)
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try await body(dir)
}

/// A child process started with `posix_spawn`, its output going to temporary files.
///
/// Not Foundation's `Process`: its exit monitoring was seen to miss exits on this kind of
/// machine (a runner that blocks SIGCHLD), and pipes inherited by a daemonising child (the tmux
/// server) never reach end of file. `waitpid` and plain files have neither problem.
final class Child: @unchecked Sendable {
    // @unchecked: used by one test at a time; `pid` and the paths never change.
    let pid: pid_t
    let outPath: String
    let errPath: String
    private var status: Int32?

    init(_ argv: [String], environment: [String: String]? = nil) throws {
        let base = NSTemporaryDirectory() + "prism-e2e-" + UUID().uuidString.prefix(8)
        outPath = base + ".out"
        errPath = base + ".err"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { for a in cArgs { free(a) } }
        var env: [UnsafeMutablePointer<CChar>?]? = environment.map { e in e.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { env?.forEach { free($0) } }
        // The child starts with no signal blocked, whatever this test runner's threads block,
        // as a program started from a shell would.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        var pid: pid_t = 0
        let rc = env == nil
            ? posix_spawn(&pid, argv[0], &actions, &attributes, &cArgs, environ)
            : posix_spawn(&pid, argv[0], &actions, &attributes, &cArgs, &env!)
        guard rc == 0 else { throw E2EError("cannot run \(argv[0]): \(String(cString: strerror(rc)))") }
        self.pid = pid
    }

    /// Waits for the exit (killing the child after `timeout`); returns the exit code, or
    /// 128 + signal for a child ended by a signal. Polls with `Task.sleep`, so no thread of the
    /// cooperative pool is held while a child runs (other tests, and Prism's projectors in
    /// them, need those few threads).
    @discardableResult
    func wait(timeout: Double = 120) async throws -> Int32 {
        if let status { return status }
        var raw: Int32 = 0
        let deadline = Date().addingTimeInterval(timeout)
        while waitpid(pid, &raw, WNOHANG) == 0 {
            if Date() > deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &raw, 0)
                throw E2EError("pid \(pid) did not finish within \(timeout) s")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        let code = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
        status = code
        return code
    }

    /// Waits for a child known to finish at once (tmux's own commands): blocking is cheaper.
    func waitBriefly() throws -> Int32 {
        var raw: Int32 = 0
        let deadline = Date().addingTimeInterval(30)
        while waitpid(pid, &raw, WNOHANG) == 0 {
            if Date() > deadline { kill(pid, SIGKILL); _ = waitpid(pid, &raw, 0); throw E2EError("pid \(pid) hung") }
            usleep(1_000)
        }
        let code = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
        status = code
        return code
    }

    var isRunning: Bool { status == nil && waitpid(pid, nil, WNOHANG) == 0 }
    func signal(_ sig: Int32) { kill(pid, sig) }
    var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

    deinit {
        if status == nil { kill(pid, SIGKILL); _ = waitpid(pid, nil, 0) }
        unlink(outPath)
        unlink(errPath)
    }
}

/// Runs a command to completion and returns its exit code and output.
@discardableResult
func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, timeout: Double = 120) async throws -> (code: Int32, stdout: String, stderr: String) {
    let child = try Child([executable] + arguments, environment: environment)
    let code = try await child.wait(timeout: timeout)
    return (code, child.stdout, child.stderr)
}

/// Runs one of tmux's own commands, which return within milliseconds.
@discardableResult
func tmuxCommand(_ arguments: [String]) throws -> (code: Int32, stdout: String, stderr: String) {
    let child = try Child(["/usr/bin/tmux"] + arguments)
    let code = try child.waitBriefly()
    return (code, child.stdout, child.stderr)
}

func prism(_ arguments: String...) async throws -> (code: Int32, stdout: String, stderr: String) {
    try await run(prismBinary, arguments)
}

/// A tmux server of its own (`tmux -L NAME`), with a pinned size, TERM and LANG, running one
/// command. Killed when the test is done.
final class TmuxSession {
    let socket: String
    let exitFile: String

    init(command: String, width: Int = 120, height: Int = 40, term: String = "xterm-256color",
         lang: String = "C.UTF-8", extraEnvironment: [String: String] = [:]) throws {
        socket = "prism-e2e-" + UUID().uuidString.prefix(8)
        exitFile = NSTemporaryDirectory() + socket + ".exit"
        var env = ["-e", "TERM=\(term)", "-e", "LANG=\(lang)", "-e", "LC_ALL=\(lang)"]
        for (k, v) in extraEnvironment { env += ["-e", "\(k)=\(v)"] }
        let shell = "\(command); echo $? > \(exitFile); sleep 60"
        let r = try tmuxCommand(["-L", socket, "-f", "/dev/null", "new-session", "-d", "-x", "\(width)", "-y", "\(height)"] + env + [shell])
        guard r.code == 0 else { throw E2EError("tmux failed to start: \(r.stderr)") }
    }

    func keys(_ keys: String...) throws {
        try tmuxCommand(["-L", socket, "send-keys"] + keys)
    }

    /// Sends literal text (no key-name lookup).
    func type(_ text: String) throws {
        try tmuxCommand(["-L", socket, "send-keys", "-l", text])
    }

    func screen() throws -> String {
        try tmuxCommand(["-L", socket, "capture-pane", "-p"]).stdout
    }

    func resize(width: Int, height: Int) throws {
        try tmuxCommand(["-L", socket, "resize-window", "-x", "\(width)", "-y", "\(height)"])
    }

    /// Polls the screen until `predicate` holds or `timeout` passes; returns the last screen.
    @discardableResult
    func waitForScreen(timeout: Double = 15, _ predicate: (String) -> Bool) async throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var last = ""
        while Date() < deadline {
            last = try screen()
            if predicate(last) { return last }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw E2EError("timed out waiting for the screen; last screen:\n\(last)")
    }

    /// The exit status of the command, once it has exited.
    func waitForExit(timeout: Double = 10) async throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: exitFile, encoding: .utf8),
               let code = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return code
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw E2EError("the program did not exit within \(timeout) s; screen:\n\((try? screen()) ?? "")")
    }

    /// The pid of the program running in the pane (the shell's child).
    func programPid() throws -> Int32? {
        let shell = try tmuxCommand(["-L", socket, "display-message", "-p", "#{pane_pid}"]).stdout
        guard let shellPid = Int32(shell.trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
        let pgrep = try Child(["/usr/bin/pgrep", "-P", "\(shellPid)", "prism"])
        _ = try pgrep.waitBriefly()
        let children = pgrep.stdout
        return children.split(separator: "\n").first.flatMap { Int32($0) }
    }

    deinit {
        _ = try? tmuxCommand(["-L", socket, "kill-server"])
        try? FileManager.default.removeItem(atPath: exitFile)
    }
}

struct E2EError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Numbers after `#` in text such as `Finance  #1,234  lag 0`.
func checkpoint(of title: String, in screen: String) -> UInt64? {
    guard let line = screen.split(separator: "\n").first(where: { $0.contains(title) }),
          let range = line.range(of: title) else { return nil }
    let rest = line[range.upperBound...]
    guard let hash = rest.firstIndex(of: "#") else { return nil }
    let digits = rest[rest.index(after: hash)...].prefix { $0.isNumber || $0 == "," }
    return UInt64(digits.replacingOccurrences(of: ",", with: ""))
}
