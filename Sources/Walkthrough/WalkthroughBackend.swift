import CQRS
import EventStore
import Foundation
import Shop
import Synchronization

/// The shop a walkthrough drives: where its commands and load controls go, and what it shows.
///
/// Two kinds: ``EmbeddedBackend`` writes in this process; ``ChildWriterBackend`` runs the writer
/// as a child `prism serve` (so that it can be killed for real) and follows its log read-only.
protocol WalkthroughBackend: AnyObject, Sendable {
    /// The system whose views and projectors the dashboard shows and the runner controls.
    var system: ShopSystem { get }
    /// `embedded`, `running` or `down`.
    var writerState: String { get }
    /// The load as the writer runs it: (paused, rate).
    var load: (paused: Bool, rate: Double) { get }
    func submit(_ text: String, commandId: String) async -> CommandReply
    /// Queues every command before any is decided, in order; the replies in the same order.
    func submitTogether(_ commands: [(text: String, commandId: String)]) async throws -> [CommandReply]
    func pauseLoad() async throws
    func resumeLoad() async throws
    func setRate(_ rate: Double) async throws
    /// `count` commands from the seeded generator, submitted in order; returns when all are decided.
    func generate(_ count: Int) async throws
    func crashWriter() async throws
    /// Starts the writer again; returns what its recovery did to the log's end, in its words.
    func restartWriter() async throws -> String
    func close() async
}

// Every blocking step of a backend (a socket exchange with the child, spawning and reaping it,
// opening a store and folding it) runs through `onOwnThread`, never on the cooperative pool that
// the runner (an actor) and the projectors share.

struct BackendError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// The writer, the projectors and the load in this process, as `prism` runs them.
final class EmbeddedBackend: WalkthroughBackend {
    let system: ShopSystem
    private let generator: Mutex<LoadGenerator>

    init(directory: String, seed: UInt64, opener: StoreOpener) throws {
        let store = try opener.open(directory, .write(.full))
        do {
            system = try ShopSystem(store: store, directory: directory, seed: seed, rate: 200)
        } catch {
            store.close()
            throw error
        }
        // A generator of its own for `generate`, seeded differently from the load's so that the
        // two never repeat each other's choices.
        generator = Mutex(LoadGenerator(seed: seed &+ 1))
    }

    var writerState: String { "embedded" }
    var load: (paused: Bool, rate: Double) { (system.load?.isPaused ?? true, system.load?.rate ?? 0) }

    func submit(_ text: String, commandId: String) async -> CommandReply {
        await system.submit(text: text, commandId: commandId)
    }

    func submitTogether(_ commands: [(text: String, commandId: String)]) async throws -> [CommandReply] {
        guard let writer = system.writer else { throw BackendError("no writer") }
        let parsed = try commands.map { c in
            do { return (try CommandParser.parse(c.text), c.commandId) } catch { throw BackendError("bad command \(c.text): \(error)") }
        }
        let replies = Mutex<[CommandReply?]>(Array(repeating: nil, count: parsed.count))
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let remaining = Atomic<Int>(parsed.count)
            // The callback form queues at once, so the writer sees them in this order, together.
            for (i, (command, id)) in parsed.enumerated() {
                writer.submit(command, commandId: id) { result in
                    let reply: CommandReply
                    switch result {
                    case .success(.accepted(_, let last)): reply = .accepted(position: last)
                    case .success(.rejected(let reason)): reply = .rejected(reason)
                    case .failure(let e): reply = .failed("\(e)")
                    }
                    replies.withLock { $0[i] = reply }
                    if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { done.resume() }
                }
            }
        }
        return replies.withLock { $0.map { $0 ?? .failed("no answer") } }
    }

    func pauseLoad() async throws { system.load?.pause() }
    func resumeLoad() async throws { system.load?.resume() }
    func setRate(_ rate: Double) async throws { system.load?.setRate(rate) }

    func generate(_ count: Int) async throws {
        guard let writer = system.writer else { throw BackendError("no writer") }
        // In groups of ten, awaited in turn: the log gets many small commits, as under a real
        // load, which is what lets a rebuild show its progress batch by batch.
        var left = count
        while left > 0 {
            let n = min(10, left)
            left -= n
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                let remaining = Atomic<Int>(n)
                for _ in 0..<n {
                    writer.submitGenerated({ [self] state in self.generator.withLock { $0.next(state: state) } }, completion: { _ in
                        if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { done.resume() }
                    })
                }
            }
        }
    }

    func crashWriter() async throws { throw BackendError("this walkthrough runs the writer in-process; crashing needs a child writer") }
    func restartWriter() async throws -> String { throw BackendError("this walkthrough runs the writer in-process") }

    func close() async { await system.close() }
}

/// The writer as a child `prism serve --rate 0` on the data folder; this process follows the
/// log read-only, sends commands and load controls to the child's endpoint, and can SIGKILL it.
final class ChildWriterBackend: WalkthroughBackend {
    let system: ShopSystem
    let directory: String
    private let binary: String
    private let seed: UInt64
    struct State {
        var pid: Int32?
        var paused = true
        var rate: Double = 200
        var starts = 0
    }
    private let state = Mutex(State())

    init(directory: String, seed: UInt64, prismBinary: String, opener: StoreOpener) throws {
        self.directory = directory
        self.binary = prismBinary
        self.seed = seed
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Self.spawn(binary: prismBinary, directory: directory, seed: seed, state: state)
        do {
            system = try ShopSystem(store: try opener.open(directory, .readOnly), directory: directory)
        } catch {
            Self.kill(state: state, signal: SIGTERM)
            throw error
        }
    }

    var writerState: String { state.withLock { $0.pid == nil ? "down" : "running" } }
    var load: (paused: Bool, rate: Double) { state.withLock { ($0.paused, $0.rate) } }

    func submit(_ text: String, commandId: String) async -> CommandReply {
        let directory = self.directory
        do {
            return try await onOwnThread("prism-walkthrough-send") {
                guard let reply = try CommandEndpoint.send(text, commandId: commandId, dataDirectory: directory) else {
                    return .failed("no writer is running on \(directory)")
                }
                return reply
            }
        } catch {
            return .failed("\(error)")
        }
    }

    private func control(_ request: String) async throws {
        try await onOwnThread("prism-walkthrough-control") { try self.controlNow(request) }
    }

    private func controlNow(_ request: String) throws {
        guard writerState == "running" else { throw BackendError("the writer is down: `restart writer` first") }
        guard let answer = try CommandEndpoint.control(request, dataDirectory: directory) else {
            throw BackendError("the writer does not answer on \(CommandEndpoint.socketPath(dataDirectory: directory))")
        }
        guard answer.hasPrefix("ok") else { throw BackendError("the writer refused !\(request): \(answer)") }
    }

    func pauseLoad() async throws {
        try await control("pause")
        state.withLock { $0.paused = true }
    }

    func resumeLoad() async throws {
        try await control("resume")
        state.withLock { $0.paused = false }
    }

    func setRate(_ rate: Double) async throws {
        try await control("rate \(rate)")
        state.withLock { $0.rate = rate }
    }

    func submitTogether(_ commands: [(text: String, commandId: String)]) async throws -> [CommandReply] {
        throw BackendError("`together` needs the writer in-process")
    }

    func generate(_ count: Int) async throws {
        throw BackendError("`generate` needs the writer in-process; use `resume` and `sleep` with a child writer")
    }

    /// SIGKILL: no shutdown code runs in the writer, exactly as in a power cut of the process.
    func crashWriter() async throws {
        guard writerState == "running" else { throw BackendError("the writer is already down") }
        try await onOwnThread("prism-walkthrough-kill") { Self.kill(state: self.state, signal: SIGKILL) }
    }

    /// Starts the writer again: it recovers the log (cutting a torn tail, if any), rebuilds its
    /// write model from the events, and takes the load up where it was.
    func restartWriter() async throws -> String {
        guard writerState == "down" else { throw BackendError("the writer is running") }
        return try await onOwnThread("prism-walkthrough-spawn") {
            let logPath = self.directory + "/serve.log"
            let before = (try? FileManager.default.attributesOfItem(atPath: logPath)[.size] as? Int) ?? 0
            try Self.spawn(binary: self.binary, directory: self.directory, seed: self.seed, state: self.state)
            let (paused, rate) = self.load
            try self.controlNow("rate \(rate)")
            if !paused { try self.controlNow("resume") }
            // What this start wrote: `recovered: cut N bytes at position P (...)` when it cut
            // a torn tail, else only its `serving ...` line.
            let data = FileManager.default.contents(atPath: logPath) ?? Data()
            let text = String(decoding: data.dropFirst(before), as: UTF8.self)
            if let line = text.split(separator: "\n").first(where: { $0.contains("recovered: ") }),
               let at = line.range(of: "recovered: ") {
                return String(line[at.lowerBound...])
            }
            return "the log's end was whole: nothing to cut"
        }
    }

    func close() async {
        _ = try? await onOwnThread("prism-walkthrough-kill") { Self.kill(state: self.state, signal: SIGTERM) }
        await system.close()
    }

    /// Starts `prism serve` and waits until its endpoint answers.
    private static func spawn(binary: String, directory: String, seed: UInt64, state: borrowing Mutex<State>) throws {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw BackendError("cannot run the writer: no prism executable at \(binary)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--data", directory, "--rate", "0", "--seed", "\(seed)"]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        let logPath = directory + "/serve.log"
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = FileHandle(forWritingAtPath: logPath)
        log?.seekToEndOfFile()
        process.standardError = log ?? FileHandle.nullDevice
        try process.run()
        try? log?.close()
        let pid = process.processIdentifier
        state.withLock { $0.pid = pid; $0.starts += 1 }
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if !process.isRunning {
                state.withLock { $0.pid = nil }
                let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
                throw BackendError("the writer (prism serve) exited with status \(process.terminationStatus): \(text.split(separator: "\n").last ?? "")")
            }
            if let answer = try? CommandEndpoint.control("status", dataDirectory: directory), answer.hasPrefix("ok") { return }
            usleep(20_000)
        }
        kill(state: state, signal: SIGKILL)
        throw BackendError("the writer (prism serve) did not answer within 20 s")
    }

    private static func kill(state: borrowing Mutex<State>, signal: Int32) {
        guard let pid = state.withLock({ s -> Int32? in defer { s.pid = nil }; return s.pid }) else { return }
        _ = Foundation.kill(pid, signal)
        var status: Int32 = 0
        // Reap it, so that it is gone (and its lock released) before we go on.
        for _ in 0..<500 {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid || r < 0 { return }
            usleep(10_000)
        }
        _ = Foundation.kill(pid, SIGKILL)
        _ = waitpid(pid, &status, 0)
    }
}
