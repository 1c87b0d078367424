import Foundation
import Testing
@testable import EventLog

@Suite struct SubscriptionTests {
    @Test func aSubscriptionSeesEveryPositionOnceWhile100kAreAppended() async throws {
        try await withTemporaryDirectory { dir in
            var options = LogOptions()
            options.durability = .relaxed  // the subject here is ordering, not the disk
            options.tailBudgetBytes = 256 << 10  // small, so the subscriber also falls back to disk
            options.segmentBytes = 1 << 20
            let log = try EventLog.open(directory: dir, options: options)
            defer { log.close() }
            let total: UInt64 = 100_000
            // Some events exist before the subscription starts: it must catch up from disk first.
            for i in 0..<50 { _ = try log.append((0..<100).map { j in event("s\((i * 100 + j) % 97)") }) }
            let writer = Task.detached {
                var written = log.head
                while written < total {
                    let n = Int(min(500, total - written))
                    written = try log.append((0..<n).map { _ in event("live", payload: [1, 2, 3, 4]) }).lastPosition
                }
            }
            var expected: UInt64 = 1
            var ok = true
            for try await batch in log.subscribe(from: 1) {
                batch.forEach { record in
                    if record.position != expected { ok = false }
                    expected = record.position + 1
                }
                if !ok || expected > total { break }
            }
            try await writer.value
            #expect(ok)
            #expect(expected == total + 1)
            #expect(log.tailMemoryBytes <= 256 << 10)
        }
    }

    @Test func aReadOnlyFollowerSeesNewCommits() async throws {
        try await withTemporaryDirectory { dir in
            var options = LogOptions()
            options.segmentBytes = 4096
            let writer = try EventLog.open(directory: dir, options: options)
            defer { writer.close() }
            _ = try writer.append([event("a")])
            let follower = try EventLog.openReadOnly(directory: dir, options: options)
            defer { follower.close() }
            #expect(follower.head == 1)
            let reading = Task {
                var seen: [UInt64] = []
                for try await batch in follower.subscribe(from: 1) {
                    batch.forEach { seen.append($0.position) }
                    if seen.last == 300 { break }
                }
                return seen
            }
            for _ in 0..<299 { _ = try writer.append([event("b", payload: Array(repeating: 3, count: 30))]) }
            let seen = try await reading.value
            #expect(seen == Array(1...300))
            #expect(follower.segmentFirstPositions.count > 1)
        }
    }

    @Test func appendingReadOnlyIsRefused() throws {
        try withTemporaryDirectory { dir in
            let writer = try EventLog.open(directory: dir)
            defer { writer.close() }
            let reader = try EventLog.openReadOnly(directory: dir)
            defer { reader.close() }
            #expect(throws: LogError.self) { try reader.append([event("x")]) }
        }
    }
}

@Suite struct TailTests {
    @Test func aCaughtUpReaderNeverTouchesTheDisk() async throws {
        try await withTemporaryDirectory { dir in
            let faults = FaultInjector()
            var options = LogOptions()
            options.io = FileIO(faults: faults)
            options.tailBudgetBytes = 64 << 10
            options.durability = .relaxed
            let log = try EventLog.open(directory: dir, options: options)
            defer { log.close() }
            for i in 0..<2000 { _ = try log.append([event("s\(i % 10)", payload: Array(repeating: 1, count: 50))]) }
            // From now on every open and read of a file fails: only memory can serve.
            faults.fail(.open, errno: EIO, times: 1_000_000)
            faults.fail(.read, errno: EIO, times: 1_000_000)
            let recent = try log.events(from: log.head - 100)
            #expect(recent.count == 101)
            var iterator = log.subscribe(from: log.head - 10).makeAsyncIterator()
            let batch = try await iterator.next()
            #expect(batch?.first == log.head - 10)
            // Old positions are beyond the budget and need the disk, which now fails.
            #expect(throws: LogError.self) { try log.events(from: 1, through: 5) }
            #expect(log.tailMemoryBytes <= 64 << 10)
        }
    }

    @Test(.timeLimit(.minutes(1))) func aFollowerOfAnEmptyLogClosesPromptly() async throws {
        try await withTemporaryDirectory { dir in
            let writer = try EventLog.open(directory: dir)
            defer { writer.close() }
            let follower = try EventLog.openReadOnly(directory: dir)
            try await Task.sleep(for: .milliseconds(150))
            #expect(follower.head == 0)
            follower.close()
            _ = try writer.append([event("a")])
            let again = try EventLog.openReadOnly(directory: dir)
            defer { again.close() }
            #expect(again.head == 1)
        }
    }
}

/// Completions of callback appends run off the committing thread, so they may append again
/// (and wait for it) or close the log; before, either deadlocked on commit leadership.
@Suite struct CompletionReentrancyTests {
    @Test func aCompletionMayAppendAndWaitOrCloseTheLog() async throws {
        try await withTemporaryDirectory { dir in
            let log = try EventLog.open(directory: dir)
            let done = DispatchSemaphore(value: 0)
            log.append([event("a")]) { _ in
                _ = try? log.append([event("b")])
                log.close()
                done.signal()
            }
            let ok = await withCheckedContinuation { c in
                Thread { c.resume(returning: done.wait(timeout: .now() + 10) == .success) }.start()
            }
            #expect(ok, "a completion that appends and closes deadlocked")
            #expect(log.head == 2)
        }
    }
}
