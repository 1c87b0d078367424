import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One running service as it announces itself in the registry: a small JSON file in the data
/// folder's `services/` directory, rewritten by the service about once a second (its heartbeat).
public struct ServiceRecord: Codable, Sendable, Equatable {
    /// `command` (`prism serve --http`) or `query` (`prism query`).
    public var kind: String
    /// `http://HOST:PORT`.
    public var address: String
    public var pid: Int32
    /// The views a query service keeps; empty for the command service.
    public var views: [String]
    /// The command service: the head. A query service: its lowest view checkpoint.
    public var checkpoint: UInt64
    /// Events the service is behind the head (0 for the command service).
    public var lagEvents: UInt64
    /// Age of the oldest event not yet in the service's views, in milliseconds.
    public var lagMilliseconds: Double
    /// The command service: commands accepted per second (all sources). A query service: events
    /// applied per second.
    public var ratePerSecond: Double
    /// The command service: p99 of recent group-commit latencies, in milliseconds.
    public var p99Milliseconds: Double
    /// Wall-clock time of this heartbeat, milliseconds since 1970.
    public var heartbeatMillis: Int64
    public var startedMillis: Int64

    public init(
        kind: String, address: String, pid: Int32, views: [String] = [], checkpoint: UInt64 = 0,
        lagEvents: UInt64 = 0, lagMilliseconds: Double = 0, ratePerSecond: Double = 0,
        p99Milliseconds: Double = 0, heartbeatMillis: Int64 = ServiceRegistry.nowMillis(),
        startedMillis: Int64 = ServiceRegistry.nowMillis()
    ) {
        self.kind = kind
        self.address = address
        self.pid = pid
        self.views = views
        self.checkpoint = checkpoint
        self.lagEvents = lagEvents
        self.lagMilliseconds = lagMilliseconds
        self.ratePerSecond = ratePerSecond
        self.p99Milliseconds = p99Milliseconds
        self.heartbeatMillis = heartbeatMillis
        self.startedMillis = startedMillis
    }

    /// Down: the heartbeat is older than ``ServiceRegistry/staleAfterMillis`` (a killed or hung
    /// service), or the process is gone.
    public func isDown(nowMillis: Int64 = ServiceRegistry.nowMillis()) -> Bool {
        nowMillis - heartbeatMillis > ServiceRegistry.staleAfterMillis || kill(pid, 0) != 0 && errno == ESRCH
    }

    /// The file name in `services/`: one per process and kind.
    public var fileName: String { "\(kind)-\(pid).json" }
}

/// The registry of running services where the log lives (the file store's data folder). The
/// registry is files, not a server, so that a service that is killed needs no one to tell: its
/// heartbeat simply stops and readers show it as down.
public enum ServiceRegistry {
    /// A heartbeat older than this marks its service down (heartbeats come every second).
    public static let staleAfterMillis: Int64 = 5_000
    /// Files of services down for longer than this are removed by the next reader.
    public static let forgetAfterMillis: Int64 = 10 * 60_000

    public static func folder(dataDirectory: String) -> String { dataDirectory + "/services" }

    public static func nowMillis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Writes `record` (temporary file, then rename: a reader never sees half a file).
    public static func publish(_ record: ServiceRecord, dataDirectory: String) throws {
        let folder = folder(dataDirectory: dataDirectory)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(record)
        let path = folder + "/" + record.fileName
        let temporary = path + ".tmp"
        try data.write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
    }

    /// Removes the record of a service that stops cleanly.
    public static func withdraw(_ record: ServiceRecord, dataDirectory: String) {
        unlink(folder(dataDirectory: dataDirectory) + "/" + record.fileName)
    }

    /// Every record in the folder, command services first, then by address. Unreadable files
    /// are skipped; records down for longer than ``forgetAfterMillis`` are removed.
    public static func list(dataDirectory: String, nowMillis: Int64 = nowMillis()) -> [ServiceRecord] {
        let folder = folder(dataDirectory: dataDirectory)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        let decoder = JSONDecoder()
        var records: [ServiceRecord] = []
        for name in names where name.hasSuffix(".json") {
            let path = folder + "/" + name
            guard let data = FileManager.default.contents(atPath: path),
                  let record = try? decoder.decode(ServiceRecord.self, from: data) else { continue }
            if nowMillis - record.heartbeatMillis > forgetAfterMillis {
                unlink(path)
                continue
            }
            records.append(record)
        }
        return records.sorted { ($0.kind == "command" ? 0 : 1, $0.address) < ($1.kind == "command" ? 0 : 1, $1.address) }
    }
}

/// Rewrites a service's record every `interval` on a thread of its own (file writes are
/// blocking I/O, kept off the cooperative pool), until `stop()`, which withdraws the record.
public final class ServiceHeartbeat: Sendable {
    private let stopping = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let dataDirectory: String
    private let record: @Sendable () -> ServiceRecord

    public init(dataDirectory: String, interval: Duration = .seconds(1), record: @escaping @Sendable () -> ServiceRecord) {
        self.dataDirectory = dataDirectory
        self.record = record
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        let thread = Thread { [stopping, finished] in
            repeat {
                try? ServiceRegistry.publish(record(), dataDirectory: dataDirectory)
            } while stopping.wait(timeout: .now() + seconds) == .timedOut
            ServiceRegistry.withdraw(record(), dataDirectory: dataDirectory)
            finished.signal()
        }
        thread.name = "prism-heartbeat"
        thread.start()
    }

    public func stop() {
        stopping.signal()
        finished.wait()
    }
}

/// Reads the registry once a second on a thread of its own, so that a screen (the dashboard's
/// Services pane, drawn on the curses thread) only copies the last list and never waits on the
/// file system.
public final class ServiceRegistryWatcher: Sendable {
    private let latest = Mutex<(records: [ServiceRecord], readMillis: Int64)>(([], 0))
    private let stopping = DispatchSemaphore(value: 0)

    public init(dataDirectory: String, interval: Double = 1) {
        let thread = Thread { [weak self, stopping] in
            repeat {
                guard let watcher = self else { return }
                let records = ServiceRegistry.list(dataDirectory: dataDirectory)
                // With nothing registered the read time stays put, so an idle screen that
                // shows no services has nothing new to draw.
                watcher.latest.withLock { $0 = (records, records.isEmpty && $0.records.isEmpty ? $0.readMillis : ServiceRegistry.nowMillis()) }
            } while stopping.wait(timeout: .now() + interval) == .timedOut
        }
        thread.name = "prism-registry"
        thread.start()
    }

    deinit { stopping.signal() }

    /// The services as last read, and when (milliseconds since 1970; unchanged while none are).
    public var records: (records: [ServiceRecord], readMillis: Int64) { latest.withLock { $0 } }
}
