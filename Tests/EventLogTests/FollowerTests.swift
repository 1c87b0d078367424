import Foundation
import Synchronization
import Testing
@testable import EventLog

/// Read-only followers see only durable bytes: never a commit whose write or sync is still in
/// flight, so never one that a failed write is about to cut back.
@Suite struct FollowerTests {
    @Test(.timeLimit(.minutes(1))) func aFollowerNeverSeesACommitWhoseSyncFails() async throws {
        try await withTemporaryDirectory { dir in
            let faults = FaultInjector()
            var options = LogOptions()
            options.io = FileIO(faults: faults)
            let writer = try EventLog.open(directory: dir, options: options)
            defer { writer.close() }
            _ = try writer.append([event("durable")])
            var readerOptions = LogOptions()
            readerOptions.followIntervalMilliseconds = 1
            let follower = try EventLog.openReadOnly(directory: dir, options: readerOptions)
            defer { follower.close() }
            #expect(follower.head == 1)

            let seen = Mutex<[String]>([])
            let watching = Task.detached {
                for try await batch in follower.subscribe(from: 1) {
                    batch.forEach { record in seen.withLock { $0.append(record.stream) } }
                }
            }
            // The sync hangs for 300 ms, then fails: the bytes are in the page cache meanwhile.
            faults.fail(.sync, errno: EIO, delayMilliseconds: 300)
            #expect(throws: LogError.self) { try writer.append([event("phantom")]) }
            try await Task.sleep(for: .milliseconds(100))
            #expect(follower.head == 1)
            writer.close()
            // The next writer takes position 2 for something else; the follower must agree.
            let next = try EventLog.open(directory: dir)
            defer { next.close() }
            _ = try next.append([event("real")])
            var waited = 0
            while follower.head < 2 && waited < 200 {
                try await Task.sleep(for: .milliseconds(10))
                waited += 1
            }
            #expect(follower.head == 2)
            #expect(try follower.events(from: 1).map(\.stream) == ["durable", "real"])
            try await Task.sleep(for: .milliseconds(50))
            watching.cancel()
            #expect(seen.withLock { $0 } == ["durable", "real"])
        }
    }
}
