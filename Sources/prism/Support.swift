import CQRS
import EventLog
import EventStore
import ArgumentParser
import Dispatch
import Foundation
import Synchronization

/// Where the events live, as the command line names it.
enum StoreLocation: Equatable, CustomStringConvertible {
    /// The file log in a folder (the embedded default).
    case file(String)
    /// In this process's memory: a demo that leaves nothing on disk.
    case memory

    var description: String {
        switch self {
        case .file(let d): "file:\(d)"
        case .memory: "memory"
        }
    }

    /// Parses `file:DIR`, `memory`, or a bare folder path (as `--data` takes).
    static func parse(_ text: String) throws -> StoreLocation {
        if text == "memory" || text == "memory:" { return .memory }
        if text.hasPrefix("file:") {
            let dir = String(text.dropFirst(5))
            guard !dir.isEmpty else { throw CLIFailure.usage("--store file: needs a folder, e.g. --store file:~/prism-data") }
            return .file(DataOptions.absolute(dir))
        }
        if let colon = text.firstIndex(of: ":"), !text[..<colon].contains("/") {
            let scheme = text[..<colon]
            throw CLIFailure.usage("--store \(text): unknown store '\(scheme)'; use file:DIR or memory")
        }
        return .file(DataOptions.absolute(text))
    }
}

/// `--store file:DIR|memory` and `--data DIR`, shared by every subcommand: the composition root.
/// This is the one place that names a concrete store; every layer below gets an `EventStore`.
///
/// `--data DIR` means `--store file:DIR`. Default: `$PRISM_STORE`, else `$PRISM_DATA`, else
/// `$XDG_STATE_HOME/prism`, else `~/.local/state/prism`.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The data folder holding the log (same as --store file:DIR).", valueName: "DIR"))
    var data: String?

    @Option(name: .long, help: ArgumentHelp(
        "Where events live: file:DIR (the file log, the default) or memory (a demo that leaves nothing on disk).",
        valueName: "STORE"))
    var store: String?

    func validate() throws {
        if store != nil && data != nil {
            throw ValidationError("give either --store or --data, not both (--data DIR means --store file:DIR)")
        }
    }

    /// Where the events live.
    var location: StoreLocation {
        get throws {
            let env = ProcessInfo.processInfo.environment
            if let store, !store.isEmpty { return try StoreLocation.parse(store) }
            if let data, !data.isEmpty { return .file(Self.absolute(data)) }
            if let s = env["PRISM_STORE"], !s.isEmpty { return try StoreLocation.parse(s) }
            if let d = env["PRISM_DATA"], !d.isEmpty { return .file(Self.absolute(d)) }
            if let x = env["XDG_STATE_HOME"], !x.isEmpty { return .file(Self.absolute(x + "/prism")) }
            return .file(Self.absolute((env["HOME"] ?? NSHomeDirectory()) + "/.local/state/prism"))
        }
    }

    /// The data folder of a file store; a usage error for a store without one.
    func folder(for purpose: String) throws -> String {
        switch try location {
        case .file(let d): return d
        case .memory: throw CLIFailure.usage("\(purpose) needs a store that outlives one process; a memory store lives and dies inside `prism` or `prism serve`")
        }
    }

    static func absolute(_ path: String) -> String {
        let expanded = (path as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return expanded }
        return FileManager.default.currentDirectoryPath + "/" + expanded
    }

    /// True when a log already exists in `directory`.
    static func hasLog(_ directory: String) -> Bool {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.contains { $0.hasPrefix("seg-") && $0.hasSuffix(".log") }
    }

    /// Opens the store for writing (creating a file log when the folder has none).
    func openForWriting(_ durability: Durability, options: LogOptions = LogOptions()) throws -> (any EventStore, folder: String?) {
        switch try location {
        case .memory:
            return (InMemoryEventStore(), nil)
        case .file(let directory):
            var options = options
            options.durability = durability
            do {
                return (try EventLog.open(directory: directory, options: options), directory)
            } catch {
                throw CLIFailure.opening(error, directory)
            }
        }
    }

    /// Opens an existing store to read or follow; exit 3 when there is none.
    func openForReading(_ purpose: String) throws -> (any EventStore, folder: String?) {
        let directory = try folder(for: purpose)
        guard Self.hasLog(directory) else {
            throw CLIFailure.unavailable("no event log in \(directory) (run `prism` or `prism serve` first, or pass --data DIR)")
        }
        do {
            return (try EventLog.openReadOnly(directory: directory), directory)
        } catch {
            throw CLIFailure.opening(error, directory)
        }
    }

    /// The snapshots of the writer and the projectors: files in `<folder>/snapshots` beside a
    /// file log; in memory beside a memory store (nothing outlives the process there, but a
    /// time travel starts from the nearest one all the same). `echo` prints each notice (a
    /// snapshot refused, a save that failed) as one line on stderr; a dashboard, which owns the
    /// terminal, shows them on its message line instead.
    static func snapshots(folder: String?, echo: Bool) -> Snapshots {
        let storage: any SnapshotStorage
        if let folder {
            let files = FileSnapshotStorage(folder: folder + "/snapshots")
            files.removeStrayFiles()
            storage = files
        } else {
            storage = MemorySnapshotStorage()
        }
        // `PRISM_SNAPSHOT_EVERY_EVENTS`: snapshots that often (tests and demos want them sooner).
        var policy = SnapshotPolicy()
        if let text = ProcessInfo.processInfo.environment["PRISM_SNAPSHOT_EVERY_EVENTS"], let n = UInt64(text), n > 0 {
            policy.everyEvents = n
        }
        return Snapshots(storage: storage, policy: policy) { line in
            if echo { printError(line) }
        }
    }

    /// How layers that make fresh stores (the walkthroughs) open them: the file log.
    static let fileOpener = StoreOpener.fileLog

    /// How the crash walkthrough's `tear tail` leaves a torn write in a file log it made.
    static let tearTail: @Sendable (String) throws -> Void = { try EventLog.leaveTornTail(directory: $0) }
}

/// Waits for SIGINT or SIGTERM (for `prism serve`).
func waitForTerminationSignal() -> Int32 {
    let done = DispatchSemaphore(value: 0)
    let received = Mutex<Int32?>(nil)
    var sources: [DispatchSourceSignal] = []
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        signal(sig, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        source.setEventHandler {
            received.withLock { if $0 == nil { $0 = sig } }
            done.signal()
        }
        source.resume()
        sources.append(source)
    }
    done.wait()
    for s in sources { s.cancel() }
    return received.withLock { $0 } ?? SIGTERM
}

/// One line to standard error, `prism: ` first; control characters are escaped, since most
/// messages quote input (a command, a path, an id).
func printError(_ line: String) {
    FileHandle.standardError.write(Data(("prism: " + escapeControlCharacters(line) + "\n").utf8))
}
