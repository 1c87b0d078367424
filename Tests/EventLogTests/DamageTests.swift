import Foundation
import Testing
@testable import EventLog

/// What was acknowledged is damage when it is bad, never a torn write; only the unacknowledged
/// end may be cut. These tests damage files by hand, found by content rather than by layout.
@Suite struct DamageTests {
    /// Issue 10's reproduction: a bit flipped in the last record of a cleanly closed log was
    /// dropped by readers and cut by the next writer, which then reused its position.
    @Test func aBitFlippedInTheLastRecordOfACleanlyClosedLogIsDamageNotATornWrite() throws {
        try withTemporaryDirectory { dir in
            let log = try EventLog.open(directory: dir)
            _ = try log.append([event("first-stream", id: "a")])
            _ = try log.append([event("second-stream-name", id: "b")])
            log.close()
            let path = dir + "/" + segmentFiles(dir).last!
            let size = fileSize(path)
            let name = try #require(offset(of: "second-stream-name", in: path))
            let recordStart = name - RecordFormat.recordOverhead
            try flipBit(path, at: name + 3)

            let summary = try LogVerifier.verify(directory: dir)
            #expect(summary.problems.count == 1, "\(summary.problems)")
            let problem = try #require(summary.problems.first)
            #expect(problem.position == 2)
            #expect(problem.offset == Int64(recordStart))
            #expect(problem.file == path)
            #expect(!problem.message.contains("torn"), "called a torn tail: \(problem.message)")

            for readOnly in [false, true] {
                do {
                    let l = readOnly ? try EventLog.openReadOnly(directory: dir) : try EventLog.open(directory: dir)
                    let head = l.head
                    let seen = try? l.events(from: 1)
                    l.close()
                    Issue.record("opened \(readOnly ? "read-only" : "for writing") with head \(head), events \(seen?.count ?? -1)")
                } catch let error as LogError {
                    #expect(error.code == .corruption)
                    #expect(error.file == path)
                    #expect(error.offset == Int64(recordStart))
                    #expect(error.position == 2, "\(error)")
                }
            }
            // Nothing was cut, and position 2 was not handed out again.
            #expect(fileSize(path) == size)
        }
    }

    /// A power cut may persist any subset of an unacknowledged commit's pages: a zeroed page
    /// followed by a surviving record of the same commit is a torn write, cut on open.
    @Test func aZeroedPageInsideAnUnacknowledgedCommitIsCutNotRefused() throws {
        try withTemporaryDirectory { dir in
            let faults = FaultInjector()
            var options = LogOptions()
            options.io = FileIO(faults: faults)
            let log = try EventLog.open(directory: dir, options: options)
            _ = try log.append([event("acked", payload: [1, 2, 3])])
            let path = dir + "/" + segmentFiles(dir).last!
            let durable = fileSize(path)
            // The sync fails, and so does the cut-back: the commit's bytes stay, unacknowledged.
            faults.fail(.sync, errno: EIO)
            faults.fail(.truncate, errno: EIO)
            let big = [UInt8](repeating: 0x5A, count: 9000)
            #expect(throws: LogError.self) {
                try log.append([event("torn-1", payload: big), event("torn-2", payload: big), event("torn-3", payload: big)])
            }
            log.close()
            faults.clear()
            let written = fileSize(path)
            #expect(written > durable + 27000)
            // The page holding the middle of the commit never reached the disk; the last survived.
            let page = ((durable + 9100) / 4096 + 1) * 4096
            #expect(page + 4096 < written - 9100)
            try zeroBytes(path, page..<(page + 4096))

            let again = try EventLog.open(directory: dir)
            defer { again.close() }
            #expect(again.head == 1)
            let cut = try #require(again.report.truncation)
            #expect(cut.position == 2)
            #expect(fileSize(path) <= durable + 64)
            _ = try again.append([event("after")])
            #expect(try again.events(from: 1).map(\.stream) == ["acked", "after"])
        }
    }
}

@Suite struct DurableHeadTests {
    /// A writer that dies without closing leaves its last commit with nothing after it; the next
    /// writer's open records the durable head, so later damage to that commit is still damage.
    @Test func openingForWritingRecordsTheDurableHead() throws {
        try withTemporaryDirectory { dir in
            var log: EventLog? = try EventLog.open(directory: dir)
            _ = try log!.append([event("one")])
            _ = try log!.append([event("last-before-the-crash")])
            log = nil  // no close: no head mark
            let path = dir + "/" + segmentFiles(dir).last!
            let before = fileSize(path)
            let reopened = try EventLog.open(directory: dir)
            #expect(reopened.report.truncation == nil)
            #expect(fileSize(path) == before + RecordFormat.commitHeaderSize)
            reopened.close()
            #expect(fileSize(path) == before + RecordFormat.commitHeaderSize, "a clean close after no append adds nothing")
            try flipBit(path, at: try #require(offset(of: "last-before-the-crash", in: path)))
            let error = #expect(throws: LogError.self) { try EventLog.open(directory: dir) }
            #expect(error?.code == .corruption)
            #expect(error?.position == 2)
        }
    }

    /// Damage in a sealed segment's last commit: the seal after it proves it acknowledged.
    @Test func damageJustBeforeASealIsDamage() throws {
        try withTemporaryDirectory { dir in
            var options = LogOptions()
            options.segmentBytes = 1024
            let log = try EventLog.open(directory: dir, options: options)
            for i in 0..<30 { _ = try log.append([event("s\(i)", payload: Array(repeating: 2, count: 60))]) }
            log.close()
            let first = dir + "/" + segmentFiles(dir)[0]
            let offsets = recordOffsets(first)
            try flipBit(first, at: offsets.last! + 40)
            let problems = try LogVerifier.verify(directory: dir).problems
            #expect(problems.count == 1)
            #expect(problems.first?.kind == .damage)
            #expect(problems.first?.position == UInt64(offsets.count))
            let reader = try EventLog.openReadOnly(directory: dir, options: options)
            defer { reader.close() }
            #expect(throws: LogError.self) { try reader.events(from: 1) }
        }
    }

    /// A crash between creating a new segment and sealing the old one: the writer seals it.
    @Test(arguments: [0, 20, 48])
    func anInterruptedRollIsFinished(tornSealBytes: Int) throws {
        try withTemporaryDirectory { dir in
            var options = LogOptions()
            options.segmentBytes = 1024
            let log = try EventLog.open(directory: dir, options: options)
            for i in 0..<30 { _ = try log.append([event("s\(i)", payload: Array(repeating: 2, count: 60))]) }
            log.close()
            let files = segmentFiles(dir)
            // Leave the last segment as created (header only), its predecessor unsealed, and
            // (for the seal being written when the power went) some bytes of a torn seal.
            for file in files.dropFirst(files.count - 1) { truncateFile(dir + "/" + file, to: RecordFormat.headerSize) }
            let old = dir + "/" + files[files.count - 2]
            truncateFile(old, to: fileSize(old) - RecordFormat.commitHeaderSize)
            if tornSealBytes > 0 { try appendBytes(old, Array(repeating: 0xA5, count: tornSealBytes)) }
            let head = RecordFormat.segmentFirstPosition(files.last!)! - 1
            let problems = try LogVerifier.verify(directory: dir).problems
            #expect(problems.map(\.kind) == [.unfinishedRoll], "\(problems)")
            let reader = try EventLog.openReadOnly(directory: dir, options: options)
            #expect(reader.head == head)
            reader.close()
            let writer = try EventLog.open(directory: dir, options: options)
            #expect(writer.head == head)
            _ = try writer.append([event("after")])
            writer.close()
            #expect(try LogVerifier.verify(directory: dir).problems.isEmpty)
        }
    }

    /// A log written by format 1 is refused by name and version, not misread or called damage.
    @Test func aVersion1LogIsRefusedWithTheVersionFound() throws {
        try withTemporaryDirectory { dir in
            var header = [UInt8](repeating: 0, count: 32)
            header.replaceSubrange(0..<8, with: Array("PRISMLOG".utf8))
            header[8] = 1
            header[12] = 32
            header[16] = 1
            header.withUnsafeMutableBytes { raw in
                raw.storeBytes(of: CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<24])).littleEndian, toByteOffset: 24, as: UInt32.self)
            }
            let path = dir + "/" + RecordFormat.segmentName(1)
            _ = FileManager.default.createFile(atPath: path, contents: Data(header + Array(repeating: 7, count: 100)))
            for readOnly in [false, true] {
                let error = #expect(throws: LogError.self) {
                    readOnly ? try EventLog.openReadOnly(directory: dir) : try EventLog.open(directory: dir)
                }
                #expect(error?.file == path)
                #expect(error?.message.contains("format version 1 is not supported") == true, "\(String(describing: error))")
                #expect(error?.code == .invalidArgument)
            }
            let problems = try LogVerifier.verify(directory: dir).problems
            #expect(problems.count == 1)
            #expect(problems.first?.message.contains("format version 1") == true)
            #expect(fileSize(path) == 132, "nothing was changed")
        }
    }
}
