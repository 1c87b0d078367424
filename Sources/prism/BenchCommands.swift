import ArgumentParser
import CQRS
import EventLog
import Foundation
import Histogram
import Shop
import Synchronization

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks that print figures (SPEC section 6).",
        subcommands: [BenchAppend.self, BenchReplay.self, BenchOpen.self, BenchCommands.self, BenchRender.self, BenchSend.self])
}

/// SPEC section 6's standard workload: stream `order-<i/4>`, type `OrderPlaced`, batches each
/// made durable before the next, with the same expected-version guard SQLite's UNIQUE gives.
struct BenchAppend: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "append", abstract: "Durable append throughput.")

    @Option(help: "A fresh folder for the log.") var dir: String
    @Option(help: "Events to append.") var events: Int = 1_000_000
    @Option(help: "Payload bytes per event.") var payload: Int = 64
    @Option(help: "Events per batch; each batch is durable before the next.") var batch: Int = 1000
    @Flag(help: "Relaxed durability (no fdatasync).") var relaxed = false

    func run() throws {
        guard events > 0, batch > 0, payload >= 0 else { throw CLIFailure.usage("--events and --batch must be positive") }
        let directory = DataOptions.absolute(dir)
        var options = LogOptions()
        options.durability = relaxed ? .relaxed : .full
        let log: EventLog
        do { log = try EventLog.open(directory: directory, options: options) } catch { throw CLIFailure.opening(error, directory) }
        defer { log.close() }
        let start = log.head
        let body = [UInt8](repeating: 0x70, count: payload)
        // One batch array, refilled in place: only the stream and expected version change.
        var pending = [NewEvent](repeating: NewEvent(stream: "-", type: "OrderPlaced", payload: body), count: batch)
        let t0 = Clock.monotonicNanos()
        var i = 0
        while i < events {
            let n = min(batch, events - i)
            if n < pending.count { pending.removeLast(pending.count - n) }
            var stream = ""
            for k in 0..<n {
                let j = i + k
                let version = UInt64(j % 4)
                if version == 0 || stream.isEmpty { stream = "order-" + String(j / 4) }
                pending[k].stream = stream
                pending[k].expectedVersion = version == 0 ? .noStream : .exact(version)
            }
            do { _ = try log.append(pending) } catch { throw CLIFailure.unavailable("append failed: \(error)") }
            i += n
        }
        let seconds = Double(Clock.monotonicNanos() - t0) / 1e9
        precondition(log.head - start == UInt64(events))
        let bytes = log.segmentFirstPositions.reduce(Int64(0)) { sum, first in
            sum + Int64((try? FileManager.default.attributesOfItem(atPath: directory + "/" + RecordFormat.segmentName(first))[.size] as? NSNumber)??.int64Value ?? 0)
        }
        print(String(format: "append events=%d seconds=%.4f events_per_s=%.0f bytes_per_event=%.1f",
                     events, seconds, Double(events) / seconds, Double(bytes) / Double(events)))
    }
}

struct BenchReplay: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay", abstract: "Read back every event of a log, checksums verified.")

    @Option(help: "The folder of a log made by `bench append`.") var dir: String

    func run() throws {
        let directory = DataOptions.absolute(dir)
        let t0 = Clock.monotonicNanos()
        let log: EventLog
        do { log = try EventLog.openReadOnly(directory: directory) } catch { throw CLIFailure.opening(error, directory) }
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
        print(String(format: "replay events=%llu seconds=%.4f events_per_s=%.0f fold=%llu", n, seconds, Double(n) / seconds, fold))
    }
}

/// How long opening a (large) log takes, and what it costs in memory.
struct BenchOpen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open", abstract: "Open time and resident memory of an existing log, for reading and for writing.")

    @Option(help: "The folder of an existing log.") var dir: String

    func run() throws {
        let directory = DataOptions.absolute(dir)
        var t0 = Clock.monotonicNanos()
        let reader: EventLog
        do { reader = try EventLog.openReadOnly(directory: directory) } catch { throw CLIFailure.opening(error, directory) }
        let readOnlyMs = Double(Clock.monotonicNanos() - t0) / 1e6
        let head = reader.head
        reader.close()
        t0 = Clock.monotonicNanos()
        let log: EventLog
        do { log = try EventLog.open(directory: directory) } catch { throw CLIFailure.opening(error, directory) }
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
        print(String(format: "open events=%llu segments=%d read_only_ms=%.2f write_ms=%.2f rss_kb_after_open=%d first_append_ms=%.1f rss_kb_after_first_append=%d",
                     head, log.segmentFirstPositions.count, readOnlyMs, writeMs, rssOpen, firstAppendMs, rssAppend))
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
            var options = LogOptions()
            options.durability = relaxed ? .relaxed : .full
            let log = try EventLog.open(directory: directory, options: options)
            do {
                system = try ShopSystem(store: log, directory: directory, seed: 7, rate: 0, generatedPerTurn: max(inflight, 2_000), snapshots: DataOptions.snapshots(folder: directory, echo: true))
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
        print(String(format: "commands throughput commands=%d seconds=%.3f commands_per_s=%.0f accepted=%llu rejected=%llu events=%llu",
                     total, elapsed, Double(total) / elapsed, stats.accepted, stats.rejected, stats.events))

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
        print(String(format: "commands latency rate=%d commands=%llu p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f",
                     rate, h.totalCount, ms(50), ms(99), ms(99.9), Double(h.max) / 1000))
    }
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
        subcommands: [CrashAppend.self])
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
