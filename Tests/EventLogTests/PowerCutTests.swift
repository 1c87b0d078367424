import Foundation
import Synchronization
import Testing
@testable import EventLog

/// Power cuts, simulated behind the `FileIO` door (see `PowerCutSimulator`): after each one the
/// log opens, every acknowledged batch is there exactly once, no batch is there in part, and no
/// acknowledged position is handed out again.
@Suite(.serialized) struct PowerCutTests {
    /// A folder in memory when the machine has one: a thousand cuts stay fast, and the page
    /// model, not the disk, decides what survives.
    static func fastDirectory() -> String {
        var st = stat()
        if stat("/dev/shm", &st) == 0, access("/dev/shm", W_OK) == 0 { return "/dev/shm/" }
        return NSTemporaryDirectory()
    }

    static func withFastDirectory<T>(_ body: (String) throws -> T) rethrows -> T {
        let dir = Self.fastDirectory() + "prism-powercut-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        return try body(dir)
    }

    /// Each event's payload starts with its batch's id, its index in the batch and the batch's
    /// size, so a reader can tell whole batches from partial ones.
    static func batch(id: Int, size: Int, payloadBytes: Int, stream: String) -> [NewEvent] {
        (0..<size).map { k in
            var payload = [UInt8](repeating: UInt8(truncatingIfNeeded: id), count: 8 + payloadBytes)
            withUnsafeBytes(of: UInt32(id).littleEndian) { payload.replaceSubrange(0..<4, with: $0) }
            withUnsafeBytes(of: UInt16(k).littleEndian) { payload.replaceSubrange(4..<6, with: $0) }
            withUnsafeBytes(of: UInt16(size).littleEndian) { payload.replaceSubrange(6..<8, with: $0) }
            return NewEvent(stream: stream, type: "Powered", payload: payload)
        }
    }

    struct Acked: Equatable { var first: UInt64; var last: UInt64 }

    /// What survives in a log: batch id -> its positions, in order; checks every record's tag.
    static func survivors(_ log: EventLog, _ failures: Failures) throws -> [Int: [UInt64]] {
        var seen: [Int: [UInt64]] = [:]
        var sizes: [Int: Int] = [:]
        var expected: UInt64 = 1
        try log.read(from: 1) { record in
            failures.check(record.position == expected)
            expected += 1
            let p = record.payload
            let id = Int(UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24)
            let index = Int(UInt16(p[4]) | UInt16(p[5]) << 8)
            let size = Int(UInt16(p[6]) | UInt16(p[7]) << 8)
            failures.check(index == seen[id, default: []].count, "batch \(id): record \(index) out of order")
            seen[id, default: []].append(record.position)
            sizes[id] = size
            return true
        }
        failures.check(expected == log.head + 1)
        for (id, positions) in seen {
            failures.check(positions.count == sizes[id], "batch \(id) is partial: \(positions.count) of \(sizes[id] ?? -1) records")
        }
        return seen
    }

    /// The thousand cuts run on a thread of their own (they take many seconds of blocking work,
    /// which on the cooperative pool would stall every other test); their checks come back as a
    /// list and are expected here.
    @Test(.timeLimit(.minutes(3)))
    func aThousandPowerCutsUnderConcurrentGroupCommitsLoseNothingAcknowledged() async throws {
        let failures = Failures()
        try await offPool { try Self.thousandPowerCuts(failures) }
        let found = failures.all
        #expect(found.isEmpty, "\(found.count) failed checks, the first: \(found.prefix(5))")
    }

    static func thousandPowerCuts(_ failures: Failures) throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["PRISM_POWERCUT_SEED"] ?? "") ?? 20_261_202
        var rng = seed
        func next() -> UInt64 {
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
            return rng
        }
        let episodes = 100, cutsPerEpisode = 10
        var cuts = 0, cutsDuringOpen = 0, truncations = 0, rolls = 0
        var pages = PowerCutSimulator.CutReport()
        let started = Date()
        try Self.withFastDirectory { root in
            for episode in 0..<episodes {
                let dir = root + "/e\(episode)"
                var acked: [Int: Acked] = [:]
                var nextId = episode * 1_000_000
                for round in 0..<cutsPerEpisode {
                    let context = "seed \(seed), episode \(episode), round \(round)"
                    let sim = PowerCutSimulator(seed: next(), cutAfter: Int(next() % 48) + 1)
                    var options = LogOptions()
                    options.segmentBytes = 16 << 10
                    options.tailBudgetBytes = 32 << 10
                    options.io = FileIO(powerCut: sim)

                    // The cut may come while the log is being opened (recovery writes too).
                    let acks = Mutex<[Int: Acked]>([:])
                    let ids = Mutex(nextId)
                    let unexpected = Mutex<[String]>([])
                    if let log = try? EventLog.open(directory: dir, options: options) {
                        let done = DispatchSemaphore(value: 0)
                        let threads = 3
                        for t in 0..<threads {
                            let threadSeed = next() | 1
                            let thread = Thread {
                                var r = threadSeed
                                func rand(_ n: UInt64) -> Int {
                                    r ^= r << 13; r ^= r >> 7; r ^= r << 17
                                    return Int(r % n)
                                }
                                while !sim.hasCut {
                                    // Batches of 1..50 events, mostly small payloads, sometimes
                                    // big enough for a batch to fill a segment on its own.
                                    let many = t == 0 ? 1 + rand(3) : 1
                                    var batches: [[NewEvent]] = []
                                    var batchIds: [Int] = []
                                    for _ in 0..<many {
                                        let id = ids.withLock { v -> Int in v += 1; return v }
                                        let size = rand(4) == 0 ? 1 + rand(50) : 1 + rand(6)
                                        let bytes = rand(10) == 0 ? 200 + rand(800) : rand(120)
                                        batches.append(Self.batch(id: id, size: size, payloadBytes: bytes, stream: "t\(t)-\(rand(5))"))
                                        batchIds.append(id)
                                    }
                                    let results = many == 1 ? [Result { try log.append(batches[0]) }.mapError { $0 as! LogError }]
                                        : log.appendBatches(batches)
                                    for (id, result) in zip(batchIds, results) {
                                        switch result {
                                        case .success(let a): acks.withLock { $0[id] = Acked(first: a.firstPosition, last: a.lastPosition) }
                                        case .failure(let e):
                                            if !sim.hasCut { unexpected.withLock { $0.append("\(e)") } }
                                        }
                                    }
                                    if results.contains(where: { if case .failure = $0 { true } else { false } }) { break }
                                }
                                done.signal()
                            }
                            thread.start()
                        }
                        for _ in 0..<threads { done.wait() }
                        log.close()
                    } else {
                        cutsDuringOpen += 1
                    }
                    failures.check(unexpected.withLock { $0 }.isEmpty, "\(context): appends failed before the cut: \(unexpected.withLock { $0 })")
                    failures.check(sim.hasCut, "\(context): the power was never cut")
                    if let report = sim.report {
                        pages.kept += report.kept
                        pages.dropped += report.dropped
                        pages.zeroed += report.zeroed
                    }
                    cuts += 1
                    nextId = ids.withLock { $0 }
                    let newAcks = acks.withLock { $0 }
                    acked.merge(newAcks) { a, _ in a }

                    // After the power comes back: the log opens and holds what was acknowledged.
                    let check: EventLog
                    do { check = try EventLog.open(directory: dir, options: LogOptions()) } catch {
                        failures.record("\(context): the log does not open after a power cut: \(error); cut: \(sim.report.map { "\($0)" } ?? "-")")
                        return
                    }
                    if check.report.truncation != nil { truncations += 1 }
                    let seen = try Self.survivors(check, failures)
                    let maxAcked = acked.values.map(\.last).max() ?? 0
                    failures.check(check.head >= maxAcked, "\(context): head \(check.head) is below the acknowledged \(maxAcked)")
                    for (id, a) in acked {
                        failures.check(seen[id] == Array(a.first...a.last), "\(context): acknowledged batch \(id) at \(a.first)...\(a.last) is \(seen[id].map { "at \($0.first!)...\($0.last!)" } ?? "missing")")
                    }
                    // The next append never takes an acknowledged position.
                    nextId += 1
                    let probe = try check.append(Self.batch(id: nextId, size: 2, payloadBytes: 10, stream: "probe"))
                    failures.check(probe.firstPosition > maxAcked, "\(context): position \(probe.firstPosition) reused")
                    failures.check(probe.firstPosition == check.head - 1)
                    // Whatever survived unacknowledged is whole and now part of the log.
                    for (id, positions) in seen where acked[id] == nil { acked[id] = Acked(first: positions.first!, last: positions.last!) }
                    acked[nextId] = Acked(first: probe.firstPosition, last: probe.lastPosition)
                    rolls = max(rolls, check.segmentFirstPositions.count)
                    check.close()
                    let problems = try LogVerifier.verify(directory: dir).problems
                    failures.check(problems.isEmpty, "\(context): \(problems)")
                }
            }
        }
        let seconds = Date().timeIntervalSince(started)
        print("power cuts: \(cuts) (\(cutsDuringOpen) while opening), \(truncations) torn ends cut, pages kept \(pages.kept), dropped \(pages.dropped), zeroed \(pages.zeroed), up to \(rolls) segments per log, \(String(format: "%.1f", seconds)) s")
        failures.check(cuts >= 1000)
        failures.check(truncations > 50, "too few cuts tore a commit to test anything")
        failures.check(pages.zeroed > 100 && pages.dropped > 100 && pages.kept > 100)
    }

    /// Issue 10's case, made exactly: the middle page of an unacknowledged commit never reaches
    /// the disk (zeros, or its old contents) while the page after it, with the commit's last
    /// record, does. Open cuts the commit and loses nothing acknowledged.
    @Test(arguments: [PowerCutSimulator.PageFate.zeroed, .dropped])
    func aLostPageBeforeASurvivingRecordOfTheSameCommitIsATornWrite(_ fate: PowerCutSimulator.PageFate) throws {
        try Self.withFastDirectory { dir in
            let segment = dir + "/" + RecordFormat.segmentName(1)
            let durable = Mutex<Int64>(0)
            let sim = PowerCutSimulator(seed: 7) { path, page in
                // Lose the second page written past the durable end; keep all the others.
                let lost = durable.withLock { $0 } / Int64(PowerCutSimulator.pageSize) + 2
                return path == segment && page == lost ? fate : .kept
            }
            var options = LogOptions()
            options.io = FileIO(powerCut: sim)
            let log = try EventLog.open(directory: dir, options: options)
            _ = try log.append([event("acknowledged")])
            durable.withLock { $0 = Int64(fileSize(segment)) }
            sim.arm(cutAfter: 1)  // the next write: the commit's pwrite, before its fdatasync
            let big = [UInt8](repeating: 0x3C, count: 9000)
            #expect(throws: LogError.self) {
                try log.append([event("lost-1", payload: big), event("lost-2", payload: big), event("lost-3", payload: big)])
            }
            log.close()
            let report = try #require(sim.report)
            #expect(fate == .zeroed ? report.zeroed == 1 : report.dropped == 1)
            // The last record of the commit survived, after the lost page.
            #expect(offset(of: "lost-3", in: segment) != nil)

            let again = try EventLog.open(directory: dir)
            defer { again.close() }
            #expect(again.head == 1)
            #expect(again.report.truncation?.position == 2)
            #expect(try again.events(from: 1).map(\.stream) == ["acknowledged"])
            #expect(try again.append([event("next")]).firstPosition == 2)
        }
    }

    /// The simulator itself: synced bytes survive every cut; unsynced ones come back in each of
    /// the three ways.
    @Test func theSimulatorKeepsSyncedBytesAndLosesUnsyncedPagesInEachWay() throws {
        try Self.withFastDirectory { dir in
            var kinds: Set<String> = []
            for seed in 1...40 {
                let path = dir + "/f\(seed)"
                let sim = PowerCutSimulator(seed: UInt64(seed))
                let io = FileIO(powerCut: sim)
                let fd = try io.open(path, O_RDWR | O_CREAT)
                let synced = [UInt8](repeating: 1, count: 5000)
                try synced.withUnsafeBytes { try io.pwriteAll(fd, $0, offset: 0, path: path) }
                try io.fdatasync(fd, path: path)
                let unsynced = [UInt8](repeating: 2, count: 3 * 4096)
                try unsynced.withUnsafeBytes { try io.pwriteAll(fd, $0, offset: 5000, path: path) }
                io.close(fd)
                sim.cutNow()
                #expect(throws: LogError.self) { try io.open(path, O_RDONLY) }
                let after = fileBytes(path)
                #expect(Array(after.prefix(5000)) == synced)
                #expect(after.count == 5000 || after.count == 5000 + 3 * 4096)
                for page in 1...3 where after.count > page * 4096 {
                    let bytes = after[(page * 4096)..<min(after.count, (page + 1) * 4096)]
                    kinds.insert(bytes.allSatisfy { $0 == 2 } ? "kept" : bytes.allSatisfy { $0 == 0 } ? "lost" : "mixed")
                }
            }
            #expect(kinds.isSuperset(of: ["kept", "lost"]))
        }
    }
}

/// Checks made off the test's task, collected to be expected on it.
final class Failures: Sendable {
    private let list = Mutex<[String]>([])
    func record(_ message: String) { list.withLock { $0.append(message) } }
    func check(_ ok: Bool, _ message: @autoclosure () -> String = "", line: Int = #line) {
        if !ok { record("PowerCutTests.swift:\(line): \(message())") }
    }
    var all: [String] { list.withLock { $0 } }
}

/// Runs blocking work on a thread of its own and awaits it, so no test blocks the pool.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { c in
        Thread { c.resume(with: Result { try body() }) }.start()
    }
}
