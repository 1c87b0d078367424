import Foundation
import Testing
@testable import EventLog

@Suite struct RecoveryTests {
    /// Writes `batches` batches of two events and returns the path of the only segment.
    func makeLog(_ dir: String, batches: Int = 10) throws -> String {
        let log = try EventLog.open(directory: dir)
        for i in 0..<batches { _ = try log.append([event("s\(i)", payload: Array(repeating: 7, count: 20)), event("s\(i)")]) }
        log.close()
        return dir + "/" + segmentFiles(dir)[0]
    }

    @Test func aTornTailIsCutAndReported() throws {
        try withTemporaryDirectory { dir in
            let path = try makeLog(dir)
            let good = fileSize(path)
            // Half of a record, as a crash in the middle of a write leaves it.
            try appendBytes(path, [80, 0, 0, 0, 9, 9, 9, 9, 21, 0, 0])
            let log = try EventLog.open(directory: dir)
            #expect(log.head == 20)
            let cut = try #require(log.report.truncation)
            #expect(cut.bytes == 11)
            #expect(cut.offset == Int64(good))
            #expect(cut.position == 21)
            #expect(fileSize(path) == good)
            _ = try log.append([event("after")])
            log.close()
            #expect(try LogVerifier.verify(directory: dir).problems.isEmpty)
        }
    }

    @Test func zerosAfterTheLastRecordAreATornTail() throws {
        try withTemporaryDirectory { dir in
            let path = try makeLog(dir)
            try appendBytes(path, [UInt8](repeating: 0, count: 4096))
            let log = try EventLog.open(directory: dir)
            defer { log.close() }
            #expect(log.head == 20)
            #expect(log.report.truncation?.bytes == 4096)
        }
    }

    @Test func aCommitMissingItsEndIsCutWhole() throws {
        try withTemporaryDirectory { dir in
            let path = try makeLog(dir, batches: 3)
            // A whole commit of two records for positions 7 and 8, of which the end never
            // reached the disk: the first record is intact and valid on its own.
            let encoder = EncodeBuffer()
            var records = [event("x", payload: Array(repeating: 1, count: 100)), event("x")]
            encoder.append(position: 7, streamVersion: 1, timestamp: 0, endsBatch: false, event: &records[0])
            encoder.append(position: 8, streamVersion: 2, timestamp: 0, endsBatch: true, event: &records[1])
            encoder.finish(offset: Int64(fileSize(path)))
            let bytes = [UInt8](encoder.bytes).dropLast(20)
            try appendBytes(path, Array(bytes))
            // A reader never sees any of it, even before the writer repairs the file.
            let reader = try EventLog.openReadOnly(directory: dir)
            #expect(reader.head == 6)
            reader.close()
            let log = try EventLog.open(directory: dir)
            defer { log.close() }
            #expect(log.head == 6)
            #expect(log.report.truncation?.bytes == Int64(bytes.count))
            #expect(log.report.truncation?.position == 7)
            #expect(log.report.truncation?.reason.hasPrefix("torn write: ") == true)
            _ = try log.append([event("y")])
            #expect(try log.events(from: 7).map(\.stream) == ["y"])
        }
    }

    @Test func aBitFlippedMidLogIsCorruptionWithItsPosition() throws {
        try withTemporaryDirectory { dir in
            let path = try makeLog(dir)
            // Flip a byte in the payload of record 3 (the first of the second batch).
            let offset = recordOffsets(path)[2]
            try flipBit(path, at: offset + 45)
            do {
                _ = try EventLog.open(directory: dir)
                Issue.record("a corrupt log opened")
            } catch let error as LogError {
                #expect(error.code == .corruption)
                #expect(error.position == 3)
                #expect(error.offset == Int64(offset))
                #expect(error.file == path)
            }
            let summary = try LogVerifier.verify(directory: dir)
            #expect(summary.problems.count == 1)
            #expect(summary.problems.first?.position == 3)
            #expect(summary.problems.first?.offset == Int64(offset))
            #expect(summary.problems.first?.kind == .damage)
            // Nothing was cut: the damage is still there for a person to look at.
            #expect(fileSize(path) > offset + 200)
        }
    }

    /// The second record of a batch is named by its own position, not the batch's first.
    @Test func damageNamesTheBadRecordsOwnPosition() throws {
        try withTemporaryDirectory { dir in
            let path = try makeLog(dir)
            let offset = recordOffsets(path)[5]  // position 6: the second record of batch 3
            try flipBit(path, at: offset + 39)
            let error = #expect(throws: LogError.self) { try EventLog.openReadOnly(directory: dir).events(from: 1) }
            #expect(error?.code == .corruption)
            #expect(error?.file == path)
            #expect(error?.offset == Int64(offset))
            #expect(error?.position == 6)
            let problems = try LogVerifier.verify(directory: dir).problems
            #expect(problems.map(\.position) == [6])
        }
    }

    @Test func aDamagedSealedSegmentIsFoundByVerifyAndByReads() throws {
        try withTemporaryDirectory { dir in
            var options = LogOptions()
            options.segmentBytes = 2048
            options.tailBudgetBytes = 0
            let log = try EventLog.open(directory: dir, options: options)
            for i in 0..<100 { _ = try log.append([event("s\(i % 3)", payload: Array(repeating: 1, count: 30))]) }
            log.close()
            let first = dir + "/" + segmentFiles(dir)[0]
            try flipBit(first, at: RecordFormat.headerSize + 100)
            let summary = try LogVerifier.verify(directory: dir)
            #expect(summary.problems.count == 1)
            #expect(summary.problems[0].file == first)
            let reader = try EventLog.openReadOnly(directory: dir, options: options)
            defer { reader.close() }
            #expect(throws: LogError.self) { try reader.read(from: 1) { _ in true } }
        }
    }

    @Test func aTruncatedSegmentHeaderIsDetected() throws {
        try withTemporaryDirectory { dir in
            var options = LogOptions()
            options.segmentBytes = 2048
            let log = try EventLog.open(directory: dir, options: options)
            for i in 0..<100 { _ = try log.append([event("s\(i % 3)", payload: Array(repeating: 1, count: 30))]) }
            log.close()
            let files = segmentFiles(dir)
            #expect(files.count > 2)
            let second = dir + "/" + files[1]
            truncateFile(second, to: 20)
            do {
                _ = try EventLog.open(directory: dir, options: options)
                Issue.record("a log with a truncated header opened")
            } catch let error as LogError {
                #expect(error.code == .corruption)
                #expect(error.file == second)
                #expect(error.message.contains("truncated"))
            }
            let problems = try LogVerifier.verify(directory: dir).problems
            #expect(problems.contains { $0.file == second && $0.message.contains("truncated") })
        }
    }

    @Test func enospcMidBatchLeavesAConsistentLogAndRefusesFurtherAppends() throws {
        try withTemporaryDirectory { dir in
            let faults = FaultInjector()
            var options = LogOptions()
            options.io = FileIO(faults: faults)
            let log = try EventLog.open(directory: dir, options: options)
            for i in 0..<5 { _ = try log.append([event("s", payload: [UInt8(i)])]) }
            let before = fileSize(dir + "/" + segmentFiles(dir)[0])
            faults.fail(.write, errno: ENOSPC, partialFraction: 0.5)
            do {
                _ = try log.append([event("s", payload: Array(repeating: 9, count: 500)), event("t")])
                Issue.record("the append succeeded on a full disk")
            } catch let error as LogError {
                #expect(error.code == .io)
                #expect(error.errno == ENOSPC)
                #expect(error.description.contains("No space left on device"))
            }
            // Readable and consistent, and the half-written bytes are gone.
            #expect(log.head == 5)
            #expect(try log.events(from: 1).count == 5)
            #expect(fileSize(dir + "/" + segmentFiles(dir)[0]) == before)
            // Refuses further appends until reopened.
            do {
                _ = try log.append([event("s")])
                Issue.record("appends went on after a failed write")
            } catch let error as LogError {
                #expect(error.code == .writerFailed)
            }
            log.close()
            faults.clear()
            let again = try EventLog.open(directory: dir, options: options)
            defer { again.close() }
            #expect(again.report.truncation == nil)
            #expect(again.head == 5)
            _ = try again.append([event("s")])
            #expect(try again.events(from: 6).first?.streamVersion == 6)
            #expect(try LogVerifier.verify(directory: dir).problems.isEmpty)
        }
    }

    /// After ENOSPC the log refuses appends until its tail is checked again; while the disk is
    /// still full that check fails too, and once there is room the same open log takes appends
    /// again, at the next position, with nothing lost and nothing of the failed batch visible.
    @Test func afterEnospcTheLogRecoversWithoutReopeningOnceThereIsRoom() throws {
        try withTemporaryDirectory { dir in
            let faults = FaultInjector()
            var options = LogOptions()
            options.io = FileIO(faults: faults)
            let log = try EventLog.open(directory: dir, options: options)
            defer { log.close() }
            for i in 0..<3 { _ = try log.append([event("s", payload: [UInt8(i)])]) }
            #expect(log.recoverFromFailure() == nil, "nothing to recover from")
            faults.fail(.write, errno: ENOSPC, partialFraction: 0.5)
            #expect(throws: LogError.self) { try log.append([event("s", payload: Array(repeating: 9, count: 500))]) }
            // Still full: the check (a synced head mark) fails, and appends are still refused.
            faults.fail(.write, errno: ENOSPC, times: 1000)
            let still = try #require(log.recoverFromFailure())
            #expect(still.description.contains("No space left on device"), "\(still)")
            #expect(throws: LogError.self) { try log.append([event("s")]) }
            faults.clear()
            #expect(log.recoverFromFailure() == nil)
            #expect(log.head == 3)
            let r = try log.append([event("s", payload: [7])])
            #expect(r.firstPosition == 4)
            #expect(try log.events(from: 1).map(\.streamVersion) == [1, 2, 3, 4])
            #expect(try log.events(from: 4).first?.payload == [7])
            log.close()
            let again = try EventLog.open(directory: dir)
            defer { again.close() }
            #expect(again.report.truncation == nil)
            #expect(again.head == 4)
            #expect(try LogVerifier.verify(directory: dir).problems.isEmpty)
        }
    }

    @Test func eioOnFdatasyncFailsTheAppend() throws {
        try withTemporaryDirectory { dir in
            let faults = FaultInjector()
            var options = LogOptions()
            options.io = FileIO(faults: faults)
            let log = try EventLog.open(directory: dir, options: options)
            defer { log.close() }
            _ = try log.append([event("s")])
            faults.fail(.sync, errno: EIO)
            #expect(throws: LogError.self) { try log.append([event("s")]) }
            #expect(log.head == 1)
            #expect(try log.events(from: 1).count == 1)
        }
    }

    /// A new data folder is fsync'd into its parent (else a power cut can lose the folder, and
    /// every acknowledged event in it); a failed write's cut-back is fsync'd (else the cut
    /// bytes can come back).
    @Test func aNewFolderAndAFailedWritesCutBackAreFsynced() throws {
        try withTemporaryDirectory { root in
            let faults = FaultInjector()
            var options = LogOptions()
            options.io = FileIO(faults: faults)
            faults.startRecording()
            let dir = root + "/a/b"
            let log = try EventLog.open(directory: dir, options: options)
            defer { log.close() }
            let syncs = faults.recorded.filter { $0.operation == .sync }.map(\.path)
            #expect(syncs.contains(root), "\(syncs)")
            #expect(syncs.contains(root + "/a"), "\(syncs)")
            _ = try log.append([event("s")])

            faults.startRecording()
            faults.fail(.write, errno: ENOSPC, partialFraction: 0.5)
            #expect(throws: LogError.self) { try log.append([event("s", payload: Array(repeating: 1, count: 5000))]) }
            let calls = faults.recorded
            let segment = dir + "/" + segmentFiles(dir).last!
            let cut = try #require(calls.firstIndex { $0.operation == .truncate && $0.path == segment })
            #expect(calls[(cut + 1)...].contains { $0.operation == .sync && $0.path == segment }, "\(calls)")
        }
    }
}
