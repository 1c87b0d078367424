import EventLog
import Foundation
import Shop
import Testing

@testable import CQRS

/// A disk that fills up under the writer: the command fails with the real error, nothing of it
/// is readable, every later command is refused, and the failure is there for a screen to show.
@Suite struct WriterFailureTests {
    @Test func aFullDiskStopsTheWriterVisiblyAndLosesNothingAcknowledged() async throws {
        let dir = NSTemporaryDirectory() + "prism-writer-failure-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let faults = FaultInjector()
        var options = LogOptions()
        options.io = FileIO(faults: faults)
        let system = try ShopSystem(directory: dir, mode: .write(.full), rate: 0, options: options)
        #expect(await system.submit(text: "register MUG 1299 Blue mug") == .accepted(position: 1))
        faults.fail(.write, errno: ENOSPC, partialFraction: 0.5)
        guard case .failed(let message) = await system.submit(text: "restock MUG 5") else {
            Issue.record("a write on a full disk was not reported as a failure")
            return
        }
        #expect(message.contains("No space left on device"))
        #expect(system.writer?.statistics.failure?.contains("No space left on device") == true)
        #expect(system.writer?.statistics.accepted == 1)
        // Refused from now on, even once the disk has room again, until the log is reopened.
        faults.clear()
        guard case .failed = await system.submit(text: "restock MUG 5") else {
            Issue.record("the writer went on after a failed write")
            return
        }
        #expect(system.log.head == 1)
        await system.close()

        let reopened = try ShopSystem(directory: dir, mode: .write(.full), rate: 0)
        #expect(reopened.log.head == 1)
        #expect(await reopened.submit(text: "restock MUG 5") == .accepted(position: 2))
        await reopened.close()
    }
}
