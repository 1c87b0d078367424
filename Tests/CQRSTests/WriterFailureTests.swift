import EventLog
import Foundation
import Shop
import Synchronization
import Testing

@testable import CQRS

/// A disk that fills up under the writer: the command fails with the real error, nothing of it
/// is readable, later commands are refused while the disk is full, the failure is there for a
/// screen to show and is said through the notice handler; once there is room again the same
/// writer takes commands again by itself, without a restart, and nothing is lost.
@Suite struct WriterFailureTests {
    @Test func aFullDiskStopsTheWriterVisiblyThenItRecoversByItselfAndLosesNothing() async throws {
        let dir = NSTemporaryDirectory() + "prism-writer-failure-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let faults = FaultInjector()
        var options = LogOptions()
        options.io = FileIO(faults: faults)
        let system = try ShopSystem(directory: dir, mode: .write(.full), rate: 0, options: options)
        let notices = Mutex<[String]>([])
        system.writer?.onNotice { line in notices.withLock { $0.append(line) } }
        #expect(await system.submit(text: "register MUG 1299 Blue mug") == .accepted(position: 1))
        faults.fail(.write, errno: ENOSPC, partialFraction: 0.5)
        faults.fail(.write, errno: ENOSPC, times: 1_000_000)
        guard case .failed(let message) = await system.submit(text: "restock MUG 5") else {
            Issue.record("a write on a full disk was not reported as a failure")
            return
        }
        #expect(message.contains("No space left on device"))
        #expect(system.writer?.statistics.failure?.contains("No space left on device") == true)
        #expect(system.writer?.statistics.accepted == 1)
        // Still full: refused, saying that the writer retries.
        guard case .failed(let refused) = await system.submit(text: "restock MUG 6") else {
            Issue.record("the writer went on while the disk was full")
            return
        }
        #expect(refused.contains("retrying"), "\(refused)")
        #expect(notices.withLock { $0 }.contains { $0.contains("store write failed") && $0.contains("No space left on device") })
        // Room again: within a few retries the same writer takes the command.
        faults.clear()
        var outcome = await system.submit(text: "restock MUG 5")
        let deadline = ContinuousClock.now + .seconds(10)
        while case .failed = outcome, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            outcome = await system.submit(text: "restock MUG 5")
        }
        #expect(outcome == .accepted(position: 2))
        #expect(system.writer?.statistics.failure == nil)
        #expect(notices.withLock { $0 }.contains { $0.contains("store recovered") })
        #expect(system.log.head == 2)
        await system.close()

        let reopened = try ShopSystem(directory: dir, mode: .write(.full), rate: 0)
        #expect(reopened.log.head == 2)
        #expect(await reopened.submit(text: "restock MUG 5") == .accepted(position: 3))
        await reopened.close()
    }
}
