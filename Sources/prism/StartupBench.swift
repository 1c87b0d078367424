import ArgumentParser
import CQRS
import EventLog
import Foundation
import Shop

/// `prism bench startup`: how long the three start-ups a person waits for take on a log of N
/// events, each in a fresh process: `views --json` to its exit, `serve` to its first accepted
/// command, and the dashboard's system (writer and four projectors, as `prism` builds it) to all
/// four projectors live at the head. Each is run twice: as the log is found, and again from the
/// snapshots the first run left.
struct BenchStartup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "startup", abstract: "Start-up times and memory of views, serve and the dashboard on a log of N events.")

    @Option(help: "The folder of the log; made with --events commands when it holds none.") var dir: String
    @Option(help: "Commands to generate when the folder holds no log (about one event each).") var events: Int = 1_000_000

    func run() throws {
        let directory = DataOptions.absolute(dir)
        if !DataOptions.hasLog(directory) && events > 0 {
            let made = try spawnAndWait([selfPath, "bench", "commands", "--dir", directory, "--commands", "\(events)", "--relaxed", "--seconds", "0.1"])
            guard made == 0 else { throw CLIFailure.unavailable("making the log failed (exit \(made))") }
        }
        for pass in ["as found", "from snapshots"] {
            var t0 = Clock.monotonicNanos()
            let views = try spawnAndWait([selfPath, "views", "--json", "--data", directory], quiet: true)
            let viewsSeconds = Double(Clock.monotonicNanos() - t0) / 1e9

            t0 = Clock.monotonicNanos()
            let serve = try Spawned([selfPath, "serve", "--data", directory, "--rate", "0"])
            var accepted = false
            while !accepted && serve.isRunning {
                if case .accepted? = try? CommandEndpoint.send("register STARTUP\(UInt32.random(in: 0...UInt32.max)) 100 probe", commandId: nil, dataDirectory: directory) {
                    accepted = true
                } else {
                    usleep(5_000)
                }
            }
            let serveSeconds = Double(Clock.monotonicNanos() - t0) / 1e9
            let serveRSS = residentKilobytes(of: serve.pid)
            serve.terminate()

            t0 = Clock.monotonicNanos()
            let probe = try Spawned([selfPath, "debug", "startup-probe", "--data", directory])
            let probeExit = probe.wait()
            let dashboardSeconds = Double(Clock.monotonicNanos() - t0) / 1e9
            let probeRSS = Int(probe.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
            print(String(format: "startup %@ events=%llu views_json_s=%.3f views_exit=%d serve_first_accept_s=%.3f serve_rss_kb=%d dashboard_all_live_s=%.3f dashboard_rss_kb=%d probe_exit=%d",
                         pass, headOf(directory), viewsSeconds, views, serveSeconds, serveRSS, dashboardSeconds, probeRSS, probeExit))
        }
    }

    private var selfPath: String { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0] }

    private func headOf(_ directory: String) -> UInt64 {
        guard let log = try? EventLog.openReadOnly(directory: directory) else { return 0 }
        defer { log.close() }
        return log.head
    }

    private func spawnAndWait(_ argv: [String], quiet: Bool = false) throws -> Int32 {
        let child = try Spawned(argv, quiet: quiet)
        return child.wait()
    }

    private func residentKilobytes(of pid: pid_t) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return -1 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
    }
}

/// A child process of the benchmark, its stdout in a temporary file (or /dev/null).
final class Spawned {
    let pid: pid_t
    private let outPath: String
    private var status: Int32?

    init(_ argv: [String], quiet: Bool = false) throws {
        outPath = quiet ? "/dev/null" : NSTemporaryDirectory() + "prism-startup-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).out"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { for a in cArgs { free(a) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, nil, &cArgs, environ)
        guard rc == 0 else { throw CLIFailure.unavailable("cannot run \(argv[0]): \(String(cString: strerror(rc)))") }
        self.pid = pid
    }

    var isRunning: Bool { status == nil && waitpid(pid, nil, WNOHANG) == 0 }

    var output: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }

    @discardableResult
    func wait() -> Int32 {
        if let status { return status }
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        let code = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
        status = code
        return code
    }

    func terminate() {
        kill(pid, SIGTERM)
        wait()
    }

    deinit {
        if status == nil { kill(pid, SIGKILL); wait() }
        if outPath != "/dev/null" { unlink(outPath) }
    }
}

/// The dashboard's system without its screen: opens the log for writing and builds the writer
/// and the four projectors with snapshots exactly as `prism` does, waits until all four are live
/// at the head, prints its resident kilobytes and exits (closing in good order, which saves the
/// snapshots). For `bench startup`.
struct StartupProbe: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "startup-probe", shouldDisplay: false)

    @OptionGroup var data: DataOptions

    func run() throws {
        let (store, directory) = try data.openForWriting(.full)
        let system: ShopSystem
        do {
            system = try ShopSystem(store: store, directory: directory, rate: 0, snapshots: DataOptions.snapshots(folder: directory, echo: true))
        } catch {
            store.close()
            throw CLIFailure.opening(error, store.description)
        }
        while !system.statuses.allSatisfy({ $0.state == .live && $0.checkpoint >= store.head }) { usleep(2_000) }
        let rss = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
            .flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? -1
        print(rss)
        _ = try? runBlocking { await system.close() }
    }
}
