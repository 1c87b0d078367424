import ArgumentParser
import CQRS
import EventLog
import Foundation
import Histogram
import PostgresStore
import Shop
import Synchronization

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks that print figures (SPEC section 6).",
        subcommands: [BenchAppend.self, BenchReplay.self, BenchExport.self, BenchOpen.self, BenchCommands.self, BenchFold.self, BenchStartup.self, BenchRender.self, BenchSend.self])
}

/// SPEC section 6's standard workload: stream `order-<i/4>`, type `OrderPlaced`, batches each
/// made durable before the next, with the same expected-version guard SQLite's UNIQUE gives.
struct BenchAppend: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "append", abstract: "Durable append throughput.")

    @Option(help: "A fresh folder for the log.") var dir: String?
    @Option(help: ArgumentHelp("Instead of a folder: an empty PostgreSQL database.", valueName: "postgres://USER@HOST:PORT/DB")) var store: String?
    @Option(help: "Events to append.") var events: Int = 1_000_000
    @Option(help: "Payload bytes per event.") var payload: Int = 64
    @Option(help: "Events per batch; each batch is durable before the next.") var batch: Int = 1000
    @Flag(help: "Relaxed durability (no fdatasync).") var relaxed = false

    func run() throws {
        guard events > 0, batch > 0, payload >= 0 else { throw CLIFailure.usage("--events and --batch must be positive") }
        let log = try benchStore(dir: dir, store: store, durability: relaxed ? .relaxed : .full)
        defer { log.close() }
        let start = log.head
        let body = [UInt8](repeating: 0x70, count: payload)
        // One batch array, refilled in place: only the stream and expected version change. The
        // stream names are made before the clock starts: building `order-<n>` in the loop cost
        // more instructions per event than the log's own encoding (callgrind), and this
        // benchmark measures the log.
        var pending = [NewEvent](repeating: NewEvent(stream: "-", type: "OrderPlaced", payload: body), count: batch)
        let streams = (0..<(events + 3) / 4).map { "order-" + String($0) }
        let t0 = Clock.monotonicNanos()
        var i = 0
        while i < events {
            let n = min(batch, events - i)
            if n < pending.count { pending.removeLast(pending.count - n) }
            streams.withUnsafeBufferPointer { streams in
                pending.withUnsafeMutableBufferPointer { pending in
                    for k in 0..<n {
                        let j = i + k
                        let version = UInt64(j & 3)
                        pending[k].stream = streams[j >> 2]
                        pending[k].expectedVersion = version == 0 ? .noStream : .exact(version)
                    }
                }
            }
            do { _ = try log.append(pending) } catch { throw CLIFailure.unavailable("append failed: \(error)") }
            i += n
        }
        let seconds = Double(Clock.monotonicNanos() - t0) / 1e9
        precondition(log.head - start == UInt64(events))
        let bytes: Int64
        if let file = log as? EventLog {
            bytes = file.segmentFirstPositions.reduce(Int64(0)) { sum, first in
                sum + Int64((try? FileManager.default.attributesOfItem(atPath: file.directory + "/" + RecordFormat.segmentName(first))[.size] as? NSNumber)??.int64Value ?? 0)
            }
        } else if let pg = log as? PostgresStore {
            bytes = (try? PostgresAdmin.tableBytes("prism_events", of: pg.url)) ?? 0
        } else {
            bytes = 0
        }
        print(String(format: "append store=%@ events=%d seconds=%.4f events_per_s=%.0f bytes_per_event=%.1f",
                     log is EventLog ? "file" : "postgres", events, seconds, Double(events) / seconds, Double(bytes) / Double(log.head)))
    }
}

struct BenchReplay: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay", abstract: "Read back every event of a log, checksums verified.")

    @Option(help: "The folder of a log made by `bench append`.") var dir: String?
    @Option(help: ArgumentHelp("Instead of a folder: a PostgreSQL database filled by `bench append --store`.", valueName: "postgres://USER@HOST:PORT/DB")) var store: String?

    func run() throws {
        let t0 = Clock.monotonicNanos()
        let log = try benchStore(dir: dir, store: store, durability: nil)
        defer { log.close() }
        var n: UInt64 = 0
        var fold: UInt64 = 0
        do {
            // Touch every field, as the SQLite peer does with every column.
            try log.read(from: 1) { record in
                n += 1
                fold &+= record.streamVersion &+ UInt64(record.streamBytes.count) &+ UInt64(record.typeBytes.count)
                    &+ UInt64(record.payload.count) &+ UInt64(record.payload.first ?? 0)
                return true
            }
        } catch {
            throw CLIFailure.unavailable("replay failed: \(error)")
        }
        let seconds = Double(Clock.monotonicNanos() - t0) / 1e9
        print(String(format: "replay store=%@ events=%llu seconds=%.4f events_per_s=%.0f fold=%llu", log is EventLog ? "file" : "postgres", n, seconds, Double(n) / seconds, fold))
    }
}

/// `prism export`'s own path (decode each event, write its JSON line into one buffer, write
/// the buffer out a megabyte at a time) to /dev/null, over a shop log: `--dir` when given,
/// otherwise a fresh one of `--events` shop events made here.
struct BenchExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Events/s of `prism export` (JSON Lines) to /dev/null; replay speed of the same log beside it.")

    @Option(help: "The folder of an existing shop log (default: a temporary one, made first).") var dir: String?
    @Option(help: "Shop events to make when no --dir is given.") var events: Int = 1_000_000

    func run() throws {
        guard events > 0 else { throw CLIFailure.usage("--events must be positive") }
        let made = dir == nil
        let directory = dir.map(DataOptions.absolute) ?? (NSTemporaryDirectory() + "prism-bench-export-\(getpid())")
        if made {
            guard !FileManager.default.fileExists(atPath: directory) else {
                throw CLIFailure.unavailable("\(directory) exists already; remove it first")
            }
            try Self.makeShopLog(directory, events: events)
        }
        defer { if made { try? FileManager.default.removeItem(atPath: directory) } }
        let log: EventLog
        do { log = try EventLog.openReadOnly(directory: directory) } catch { throw CLIFailure.opening(error, directory) }
        defer { log.close() }

        // Replay first (it also warms the page cache for both), touching every field.
        var t0 = Clock.monotonicNanos()
        var n: UInt64 = 0
        var fold: UInt64 = 0
        do {
            try log.read(from: 1) { record in
                n += 1
                fold &+= record.streamVersion &+ UInt64(record.payload.count)
                return true
            }
        } catch { throw CLIFailure.unavailable("replay failed: \(error)") }
        let replaySeconds = Double(Clock.monotonicNanos() - t0) / 1e9

        let null = open("/dev/null", O_WRONLY)
        guard null >= 0 else { throw CLIFailure.unavailable("cannot open /dev/null") }
        defer { close(null) }
        t0 = Clock.monotonicNanos()
        var bytes = 0
        do {
            bytes = try ExportCommand.export(log, from: 1, through: log.head) { chunk in
                var done = 0
                while done < chunk.count {
                    let w = write(null, chunk.baseAddress! + done, chunk.count - done)
                    if w <= 0 { break }
                    done += w
                }
            }
        } catch { throw CLIFailure.unavailable("export failed: \(error)") }
        let exportSeconds = Double(Clock.monotonicNanos() - t0) / 1e9
        print(String(format: "export events=%llu seconds=%.4f events_per_s=%.0f bytes_per_event=%.1f replay_events_per_s=%.0f export_vs_replay=%.3f",
                     n, exportSeconds, Double(n) / exportSeconds, Double(bytes) / Double(max(n, 1)),
                     Double(n) / replaySeconds, replaySeconds / exportSeconds))
    }

    /// A shop log of `events` events in batches of 1,000: products, then orders that are
    /// placed, paid and shipped (or cancelled), so every kind of event and field is exported.
    static func makeShopLog(_ directory: String, events: Int) throws {
        var options = LogOptions()
        options.durability = .relaxed
        let log: EventLog
        do { log = try EventLog.open(directory: directory, options: options) } catch { throw CLIFailure.opening(error, directory) }
        defer { log.close() }
        let skus = (0..<20).map { "SKU-\($0)" }
        var made = 0
        var order = 0
        var batch: [NewEvent] = []
        func add(_ e: ShopEvent) {
            batch.append(NewEvent(stream: e.stream, type: e.typeName, payload: e.payloadBytes))
            made += 1
        }
        for (i, sku) in skus.enumerated() where made < events {
            add(.productRegistered(sku: sku, name: "Product \"\(i)\" of the shop", priceCents: 1000 + Int64(i)))
        }
        while made < events {
            order += 1
            let id = "o-\(order)"
            let sku = skus[order % skus.count]
            add(.orderPlaced(orderId: id, customer: "c-\(order % 977)",
                             lines: [OrderLine(sku: sku, quantity: 2, unitPriceCents: 1000)], totalCents: 2000))
            if made < events { add(.paymentReceived(orderId: id, amountCents: 2000)) }
            if made < events {
                add(order % 10 == 0 ? .orderCancelled(orderId: id, reason: "changed their mind", refundCents: 2000) : .orderShipped(orderId: id))
            }
            if batch.count >= 1000 || made >= events {
                do { _ = try log.append(batch) } catch { throw CLIFailure.unavailable("making the log failed: \(error)") }
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty {
            do { _ = try log.append(batch) } catch { throw CLIFailure.unavailable("making the log failed: \(error)") }
        }
    }
}

/// How long opening a (large) log takes, and what it costs in memory.
///
/// A benchmark never writes into a log it did not create: opening for writing writes a head
/// mark, closing saves the stream index, and the first append adds an event (a `Probe`, which
/// no shop reader can decode). So only the read-only open runs on `--dir` itself; the writer's
/// open and first append run on a copy beside it (same file system), removed afterwards.
struct BenchOpen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open", abstract: "Open time and resident memory of an existing log, for reading and for writing (the writing on a copy).")

    @Option(help: "The folder of an existing log; it is only read.") var dir: String

    func run() throws {
        let directory = DataOptions.absolute(dir)
        var t0 = Clock.monotonicNanos()
        let reader: EventLog
        do { reader = try EventLog.openReadOnly(directory: directory) } catch { throw CLIFailure.opening(error, directory) }
        let readOnlyMs = Double(Clock.monotonicNanos() - t0) / 1e6
        let head = reader.head
        reader.close()

        let copy = directory + ".bench-open-\(getpid())"
        t0 = Clock.monotonicNanos()
        try Self.copyLog(from: directory, to: copy)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        let copyMs = Double(Clock.monotonicNanos() - t0) / 1e6

        t0 = Clock.monotonicNanos()
        let log: EventLog
        do { log = try EventLog.open(directory: copy) } catch { throw CLIFailure.opening(error, copy) }
        let writeMs = Double(Clock.monotonicNanos() - t0) / 1e6
        let rssOpen = residentKilobytes()
        // The first append builds the stream-version index (one pass over the log); report it apart.
        t0 = Clock.monotonicNanos()
        do { _ = try log.append([NewEvent(stream: "bench-open", type: "Probe", payload: [])]) } catch {
            throw CLIFailure.unavailable("append failed: \(error)")
        }
        let firstAppendMs = Double(Clock.monotonicNanos() - t0) / 1e6
        let rssAppend = residentKilobytes()
        log.close()
        print(String(format: "open events=%llu segments=%d read_only_ms=%.2f copy_ms=%.1f write_ms=%.2f rss_kb_after_open=%d first_append_ms=%.1f rss_kb_after_first_append=%d",
                     head, log.segmentFirstPositions.count, readOnlyMs, copyMs, writeMs, rssOpen, firstAppendMs, rssAppend))
    }

    /// Copies the segments and the stream index (not the lock or a live writer's head file)
    /// into a new folder `to`, which must not exist yet.
    static func copyLog(from: String, to: String) throws {
        let files = FileManager.default
        guard !files.fileExists(atPath: to) else { throw CLIFailure.unavailable("\(to) exists already; remove it first") }
        do {
            try files.createDirectory(atPath: to, withIntermediateDirectories: false)
            for name in try files.contentsOfDirectory(atPath: from)
            where RecordFormat.segmentFirstPosition(name) != nil || name == "streams.idx" {
                try files.copyItem(atPath: from + "/" + name, toPath: to + "/" + name)
            }
        } catch {
            try? files.removeItem(atPath: to)
            throw CLIFailure.unavailable("cannot copy the log to \(to) for the writer's part: \(error)")
        }
    }

    private func residentKilobytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return -1 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
    }
}

/// Shop commands through the real writer, durably, and the time until each is visible in all
/// four views.
struct BenchCommands: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "commands",
        abstract: "Accepted commands/s through the writer, and command-to-all-four-views latency.")

    @Option(help: "A fresh folder for the log (default: a temporary one).") var dir: String?
    @Option(help: ArgumentHelp("Instead of a folder: an empty PostgreSQL database.", valueName: "postgres://USER@HOST:PORT/DB")) var store: String?
    @Option(help: "Commands for the throughput run.") var commands: Int = 200_000
    @Option(help: "Commands in flight during the throughput run.") var inflight: Int = 4096
    @Option(help: "Rate of the latency run, commands/s.") var rate: Int = 10_000
    @Option(help: "Seconds of the latency run.") var seconds: Double = 5
    @Flag(help: "Relaxed durability (no fdatasync).") var relaxed = false

    func run() throws {
        let directory = dir.map(DataOptions.absolute) ?? (NSTemporaryDirectory() + "prism-bench-\(getpid())")
        let cleanup = dir == nil
        defer { if cleanup { try? FileManager.default.removeItem(atPath: directory) } }
        let system: ShopSystem
        do {
            let log = try benchStore(dir: store == nil ? directory : nil, store: store, durability: relaxed ? .relaxed : .full)
            do {
                let folder = log is EventLog ? directory : nil
                system = try ShopSystem(store: log, directory: folder, seed: 7, rate: 0, generatedPerTurn: max(inflight, 2_000), snapshots: DataOptions.snapshots(folder: folder, echo: true))
            } catch {
                log.close()
                throw error
            }
        } catch { throw CLIFailure.opening(error, directory) }
        defer { _ = try? runBlocking { await system.close() } }
        guard let writer = system.writer else { return }

        // Throughput: keep `inflight` generated commands queued until `commands` are done.
        let generator = GeneratorBox(LoadGenerator(seed: 11))
        let done = Atomic<Int>(0)
        let finished = DispatchSemaphore(value: 0)
        let total = commands
        let window = DispatchSemaphore(value: inflight)
        let t0 = Clock.monotonicNanos()
        for _ in 0..<total {
            window.wait()
            writer.submitGenerated({ generator.next($0) }) { _ in
                window.signal()
                if done.add(1, ordering: .relaxed).newValue == total { finished.signal() }
            }
        }
        finished.wait()
        let elapsed = Double(Clock.monotonicNanos() - t0) / 1e9
        let stats = writer.statistics
        let kind = system.store is EventLog ? "file" : "postgres"
        print(String(format: "commands throughput store=%@ commands=%d seconds=%.3f commands_per_s=%.0f accepted=%llu rejected=%llu events=%llu",
                     kind, total, elapsed, Double(total) / elapsed, stats.accepted, stats.rejected, stats.events))

        // Latency: submit at `rate`; a command is visible when all four projectors have
        // published a checkpoint at or past its last position.
        let tracker = VisibilityTracker()
        let notify: @Sendable (UInt64) -> Void = { _ in tracker.check(visible: system.minimumCheckpoint) }
        system.shoppers.onPublish(notify)
        system.warehouse.onPublish(notify)
        system.finance.onPublish(notify)
        system.support.onPublish(notify)
        let count = Int(Double(rate) * seconds)
        let interval = 1e9 / Double(rate)
        let start = Clock.monotonicNanos()
        // Paced in ticks of about a millisecond, sleeping between them: every command that has
        // come due is submitted, none early. No spinning, so the benchmark's own pacing does not
        // take a core from the writer and the projectors.
        var k = 0
        while k < count {
            let now = Clock.monotonicNanos()
            while k < count, start + UInt64(Double(k) * interval) <= now {
                let submitted = Clock.monotonicNanos()
                writer.submitGenerated({ generator.next($0) }) { result in
                    if case .success(.accepted(_, let last)) = result {
                        tracker.add(position: last, submitted: submitted)
                        tracker.check(visible: system.minimumCheckpoint)
                    } else {
                        tracker.skip()
                    }
                }
                k += 1
            }
            usleep(1000)
        }
        tracker.waitAll(count)
        let h = tracker.histogram
        func ms(_ p: Double) -> Double { Double(h.valueAtPercentile(p)) / 1000 }
        print(String(format: "commands latency store=%@ rate=%d commands=%llu p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f",
                     kind, rate, h.totalCount, ms(50), ms(99), ms(99.9), Double(h.max) / 1000))
    }
}

/// The store a benchmark runs on: the file log in `dir`, or the PostgreSQL database `store`
/// names; `durability` nil opens it to read.
func benchStore(dir: String?, store: String?, durability: Durability?) throws -> any EventStore {
    let access: StoreAccess = durability.map { .write($0) } ?? .readOnly
    switch (dir, store) {
    case (nil, let url?):
        let parsed: PostgresURL
        do { parsed = try PostgresURL.parse(url) } catch { throw CLIFailure.usage("--store: \(error)") }
        return try DataOptions.openPostgres(parsed, access: access, service: false)
    case (let dir?, nil):
        let directory = DataOptions.absolute(dir)
        do {
            guard let durability else { return try EventLog.openReadOnly(directory: directory) }
            var options = LogOptions()
            options.durability = durability
            return try EventLog.open(directory: directory, options: options)
        } catch {
            throw CLIFailure.opening(error, directory)
        }
    default:
        throw CLIFailure.usage("give --dir DIR (the file log) or --store postgres://... (PostgreSQL), one of them")
    }
}

/// Rebuilding the four views from position 1: what `r` and a start without snapshots cost.
struct BenchFold: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fold", abstract: "Rebuild all four views from position 1 of a shop log: events/s and peak memory.")

    @Option(help: "The folder of a shop log (made by `bench commands`).") var dir: String

    func run() throws {
        let directory = DataOptions.absolute(dir)
        let log: EventLog
        do { log = try EventLog.openReadOnly(directory: directory) } catch { throw CLIFailure.opening(error, directory) }
        defer { log.close() }
        let head = log.head
        // Decode alone first (what every projector pays per event), then the four folds.
        var t0 = Clock.monotonicNanos()
        var decoded: UInt64 = 0
        do {
            try log.read(from: 1) { record in
                if case .orderPlaced = try ShopEvent.decode(record) { decoded &+= 1 }
                return true
            }
        } catch { throw CLIFailure.unavailable("decode failed: \(error)") }
        let decodeSeconds = Double(Clock.monotonicNanos() - t0) / 1e9
        t0 = Clock.monotonicNanos()
        let views: ShopViews
        do { views = try ShopSystem.views(of: log, asOf: head) } catch { throw CLIFailure.unavailable("fold failed: \(error)") }
        let seconds = Double(Clock.monotonicNanos() - t0) / 1e9
        print(String(format: "fold events=%llu decode_events_per_s=%.0f rebuild_seconds=%.3f rebuild_events_per_s=%.0f peak_rss_kb=%d position=%llu",
                     head, Double(head) / decodeSeconds, seconds, Double(head) / seconds, peakResidentKilobytes(), views.position))
    }
}

/// The process's peak resident memory (VmHWM), in kilobytes; -1 when unknown.
func peakResidentKilobytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return -1 }
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
}

/// Commands waiting to become visible, and the latencies of those that did, in microseconds.
final class VisibilityTracker: Sendable {
    struct State {
        var waiting: [(position: UInt64, submitted: UInt64)] = []
        var head = 0
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
        var settled = 0
    }
    private let state = Mutex<State>(State())
    private let progress = DispatchSemaphore(value: 0)

    func add(position: UInt64, submitted: UInt64) {
        state.withLock { $0.waiting.append((position, submitted)) }
    }

    func skip() {
        state.withLock { $0.settled += 1 }
        progress.signal()
    }

    func check(visible: UInt64) {
        let now = Clock.monotonicNanos()
        let n = state.withLock { s -> Int in
            var n = 0
            while s.head < s.waiting.count, s.waiting[s.head].position <= visible {
                _ = s.histogram.record((now - s.waiting[s.head].submitted) / 1000)
                s.head += 1
                n += 1
            }
            s.settled += n
            return n
        }
        for _ in 0..<n { progress.signal() }
    }

    func waitAll(_ count: Int) {
        for _ in 0..<count { progress.wait() }
    }

    var histogram: Histogram<UInt64> { state.withLock { $0.histogram } }
}

/// Hidden tools for tests.
struct DebugCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug", abstract: "Tools for Prism's own tests.", shouldDisplay: false,
        subcommands: [CrashAppend.self, StartupProbe.self])
}

/// Appends batches forever and prints `ack BATCH FIRST LAST` after each durable one: the child
/// process of the crash test, which kills it with SIGKILL at random moments.
struct CrashAppend: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "crash-append")

    @Option var dir: String
    @Option var seed: UInt64 = 1
    @Option(help: "Start numbering batches here.") var firstBatch: Int = 0

    func run() throws {
        let directory = DataOptions.absolute(dir)
        var options = LogOptions()
        options.segmentBytes = 256 << 10
        let log: EventLog
        do { log = try EventLog.open(directory: directory, options: options) } catch { throw CLIFailure.opening(error, directory) }
        // Unbuffered writes: each line must reach the test before the next append starts.
        func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
        if let cut = log.report.truncation { say("recovered bytes=\(cut.bytes) position=\(cut.position)") }
        var rng = seed | 1
        var batch = firstBatch
        while true {
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
            let size = Int(rng % 40) + 1
            let events = (0..<size).map { k in
                NewEvent(stream: "batch-\(batch)", type: "Crash", payload: Array("\(batch):\(k):\(size)".utf8) + [UInt8](repeating: 1, count: Int(rng % 300)))
            }
            let r = try log.append(events)
            say("ack \(batch) \(r.firstPosition) \(r.lastPosition)")
            batch += 1
        }
    }
}
