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

    /// A commit in the page cache that the live writer has not published as durable (here: one
    /// put there by hand, as a write whose sync is still running) is not read.
    @Test func aFollowerOfALiveWriterStopsAtItsPublishedDurableHead() throws {
        try withTemporaryDirectory { dir in
            let writer = try EventLog.open(directory: dir)
            _ = try writer.append([event("a")])
            _ = try writer.append([event("b")])
            let path = dir + "/" + segmentFiles(dir).last!
            let encoder = EncodeBuffer()
            var record = event("in-flight")
            encoder.append(position: 3, streamVersion: 1, timestamp: 0, endsBatch: true, event: &record)
            encoder.finish(offset: Int64(fileSize(path)))
            try appendBytes(path, [UInt8](encoder.bytes))
            let follower = try EventLog.openReadOnly(directory: dir)
            defer { follower.close() }
            #expect(follower.head == 2)
            follower.refresh()
            #expect(follower.head == 2)
            _ = try writer.append([event("c")])
            follower.refresh()
            #expect(follower.head == 3)
            #expect(try follower.events(from: 3).map(\.stream) == ["c"])
            writer.close()
        }
    }

    /// With no writer alive (none, or one that died) followers read every valid commit.
    @Test func aFollowerOfADeadWriterReadsEveryValidCommit() throws {
        try withTemporaryDirectory { dir in
            var writer: EventLog? = try EventLog.open(directory: dir)
            for i in 0..<3 { _ = try writer!.append([event("s\(i)")]) }
            writer = nil  // gone without a close, as a killed process: its lock goes with it
            let follower = try EventLog.openReadOnly(directory: dir)
            defer { follower.close() }
            #expect(follower.head == 3)
        }
    }
}
