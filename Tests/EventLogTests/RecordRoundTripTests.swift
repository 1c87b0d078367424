import Foundation
import Testing
@testable import EventLog

@Suite struct RecordRoundTripTests {
    @Test func everyFieldSurvivesAReopen() throws {
        try withTemporaryDirectory { dir in
            var options = LogOptions()
            options.clock = { 1_764_496_800_123_000_000 }
            let log = try EventLog.open(directory: dir, options: options)
            let r1 = try log.append([
                event("product-MUG", "ProductRegistered", payload: Array("mug".utf8), id: "cmd-1"),
                event("product-MUG", "ProductRestocked", payload: []),
            ])
            let r2 = try log.append([event("order-ö-ß-🙂", "OrderPlaced", payload: [0, 255, 7])])
            #expect(r1 == AppendResult(firstPosition: 1, lastPosition: 2))
            #expect(r2 == AppendResult(firstPosition: 3, lastPosition: 3))
            log.close()

            let again = try EventLog.open(directory: dir, options: options)
            defer { again.close() }
            #expect(again.head == 3)
            #expect(again.report.truncation == nil)
            let events = try again.events(from: 1)
            #expect(events == [
                RecordedEvent(position: 1, stream: "product-MUG", streamVersion: 1, type: "ProductRegistered",
                              timestampNanos: 1_764_496_800_123_000_000, payload: Array("mug".utf8), commandId: "cmd-1"),
                RecordedEvent(position: 2, stream: "product-MUG", streamVersion: 2, type: "ProductRestocked",
                              timestampNanos: 1_764_496_800_123_000_000, payload: [], commandId: nil),
                RecordedEvent(position: 3, stream: "order-ö-ß-🙂", streamVersion: 1, type: "OrderPlaced",
                              timestampNanos: 1_764_496_800_123_000_000, payload: [0, 255, 7], commandId: nil),
            ])
            // Stream versions go on from where they were after a reopen.
            _ = try again.append([event("product-MUG", expect: .exact(2))])
            #expect(try again.events(from: 4).first?.streamVersion == 3)
        }
    }

    @Test func oneMebibytePayloadRoundTrips() throws {
        try withTemporaryDirectory { dir in
            let big = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            do {
                let log = try EventLog.open(directory: dir)
                _ = try log.append([event("s", payload: big), event("s", payload: [])])
                log.close()
            }
            let log = try EventLog.open(directory: dir)
            defer { log.close() }
            let events = try log.events(from: 1)
            #expect(events.count == 2)
            #expect(events[0].payload == big)
            #expect(events[1].payload.isEmpty)
        }
    }

    @Test func segmentsRollOverAtTheCapAndReadAcrossThem() throws {
        try withTemporaryDirectory { dir in
            var options = LogOptions()
            options.segmentBytes = 4096
            options.tailBudgetBytes = 1024  // force reads from disk
            let log = try EventLog.open(directory: dir, options: options)
            for i in 0..<200 {
                _ = try log.append([event("order-\(i % 7)", payload: Array(repeating: UInt8(i % 256), count: 40)),
                                    event("order-\(i % 7)", payload: [UInt8(i % 256)])])
            }
            #expect(log.head == 400)
            #expect(segmentFiles(dir).count > 5)
            #expect(log.tailMemoryBytes <= 1024)
            for file in segmentFiles(dir) { #expect(fileSize(dir + "/" + file) <= 4096 + 200) }
            var positions: [UInt64] = []
            try log.read(from: 1) { positions.append($0.position); return true }
            #expect(positions == Array(1...400))
            // A read from the middle of a later segment.
            let middle = try log.events(from: 301, through: 303)
            #expect(middle.map(\.position) == [301, 302, 303])
            #expect(middle[0].payload == Array(repeating: UInt8(150), count: 40))
            log.close()
            let again = try EventLog.open(directory: dir, options: options)
            defer { again.close() }
            #expect(again.head == 400)
            #expect(try LogVerifier.verify(directory: dir).problems.isEmpty)
        }
    }

    @Test func expectedVersionConflictAppendsNothing() throws {
        try withTemporaryDirectory { dir in
            let log = try EventLog.open(directory: dir)
            defer { log.close() }
            _ = try log.append([event("a", expect: .noStream), event("a", expect: .exact(1))])
            #expect(throws: LogError.self) {
                try log.append([event("b", expect: .noStream), event("a", expect: .exact(1))])
            }
            do {
                _ = try log.append([event("a", expect: .noStream)])
                Issue.record("a conflict was accepted")
            } catch let error as LogError {
                #expect(error.code == .versionConflict)
                #expect(error.message.contains("stream 'a'"))
            }
            #expect(log.head == 2)
            _ = try log.append([event("b", expect: .noStream)])
            #expect(try log.events(from: 3).map(\.streamVersion) == [1])
        }
    }

    @Test func concurrentAppendersAreGroupCommittedWithContiguousPositions() async throws {
        try await withTemporaryDirectory { dir in
            let log = try EventLog.open(directory: dir)
            defer { log.close() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        for i in 0..<50 {
                            _ = try await log.appendAsync([event("w\(worker)", payload: [UInt8(i)]), event("w\(worker)")])
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(log.head == 800)
            var perStream: [String: [UInt64]] = [:]
            try log.read(from: 1) { perStream[$0.stream, default: []].append($0.streamVersion); return true }
            for (_, versions) in perStream { #expect(versions == Array(1...100)) }
        }
    }

    @Test func aSecondWriterIsRefusedWithTheHoldersPid() throws {
        try withTemporaryDirectory { dir in
            let log = try EventLog.open(directory: dir)
            defer { log.close() }
            do {
                _ = try EventLog.open(directory: dir)
                Issue.record("a second writer opened")
            } catch let error as LogError {
                #expect(error.code == .locked)
                #expect(error.message.contains("pid \(getpid())"))
            }
        }
    }
}

@Suite struct ChecksumTests {
    /// The standard CRC-32C check value, and agreement between the hardware and table paths
    /// at every length and alignment that the 8-byte loop could get wrong.
    @Test func crc32cMatchesTheStandardCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        let bytes = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        func reference(_ data: ArraySlice<UInt8>) -> UInt32 {
            var c: UInt32 = 0xFFFF_FFFF
            for b in data {
                c ^= UInt32(b)
                for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            }
            return ~c
        }
        for start in 0..<9 {
            for end in stride(from: start, through: bytes.count, by: 13) {
                let slice = bytes[start..<end]
                let fast = slice.withUnsafeBytes { CRC32C.checksum($0) }
                #expect(fast == reference(slice))
            }
        }
        // Chaining equals one pass.
        let whole = CRC32C.checksum(bytes)
        let chained = bytes.withUnsafeBytes { raw in
            CRC32C.update(CRC32C.update(0, UnsafeRawBufferPointer(rebasing: raw[0..<100])), UnsafeRawBufferPointer(rebasing: raw[100...]))
        }
        #expect(whole == chained)
    }

    /// The table path runs on every CPU without the instruction (and is the only one on some
    /// ARM machines): check it here too, against known vectors (RFC 3720's iSCSI test values)
    /// and against the path this CPU uses, at every length and alignment, from many threads at
    /// once on first use.
    @Test func theTablePathMatchesKnownVectorsAndTheHardwarePath() async {
        func portable(_ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBytes { CRC32C.portableUpdate(0, $0) } }
        #expect(portable(Array("123456789".utf8)) == 0xE306_9283)
        #expect(portable([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(portable([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(portable((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(portable((0..<32).map { UInt8(31 - $0) }) == 0x113F_DB5C)
        #expect(portable([]) == 0)
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 17) }
        await withTaskGroup(of: Bool.self) { group in
            for t in 0..<8 {
                group.addTask {
                    var ok = true
                    for start in stride(from: t, to: 24, by: 8) {
                        for end in stride(from: start, through: bytes.count, by: 7) {
                            let slice = bytes[start..<end]
                            let table = slice.withUnsafeBytes { CRC32C.portableUpdate(0, $0) }
                            let fast = slice.withUnsafeBytes { CRC32C.checksum($0) }
                            if table != fast { ok = false }
                        }
                    }
                    return ok
                }
            }
            for await ok in group { #expect(ok) }
        }
        // Chained through the table path equals one pass.
        let chained = bytes.withUnsafeBytes { raw in
            CRC32C.portableUpdate(CRC32C.portableUpdate(0, UnsafeRawBufferPointer(rebasing: raw[0..<333])), UnsafeRawBufferPointer(rebasing: raw[333...]))
        }
        #expect(chained == CRC32C.checksum(bytes))
        #if arch(x86_64)
        #expect(CRC32C.usesHardware, "this x86-64 CPU has SSE4.2: the fast path should be in use")
        #endif
    }
}
