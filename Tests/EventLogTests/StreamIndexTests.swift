import Foundation
import Testing
@testable import EventLog

/// `streams.idx`: what a clean close leaves so that the next writer does not reread the log to
/// learn stream versions, and why it can never make a version check wrong.
@Suite struct StreamIndexTests {
    func fill(_ log: EventLog, from: Int, count: Int) throws {
        for i in from..<(from + count) { _ = try log.append([event("s\(i % 7)"), event("t\(i % 3)")]) }
    }

    @Test func aCleanCloseLetsTheNextWriterReadOnlyNewerEvents() throws {
        try withTemporaryDirectory { dir in
            var log: EventLog? = try EventLog.open(directory: dir)
            try fill(log!, from: 0, count: 50)  // 100 events; s0 ... s6 and t0 ... t2
            log!.close()
            #expect(FileManager.default.fileExists(atPath: dir + "/streams.idx"))

            log = try EventLog.open(directory: dir)
            // s0 got events at i = 0, 7, ..., 49: 8 of them.
            _ = try log!.append([event("s0", expect: .exact(8))])
            #expect(log!.streamIndexRecordsReadOnLastLoad == 0)
            try fill(log!, from: 50, count: 10)
            // No clean close this time: the index file stays at position 100.
            log = nil

            let again = try EventLog.open(directory: dir)
            defer { again.close() }
            #expect(throws: LogError.self) { try again.append([event("s0", expect: .exact(9))]) }
            #expect(again.streamIndexRecordsReadOnLastLoad == again.head - 100)
            let s0 = try again.events(from: 1).filter { $0.stream == "s0" }.count
            _ = try again.append([event("s0", expect: .exact(UInt64(s0)))])
        }
    }

    @Test func aDamagedIndexFileIsIgnored() throws {
        try withTemporaryDirectory { dir in
            let log = try EventLog.open(directory: dir)
            try fill(log, from: 0, count: 20)
            log.close()
            try flipBit(dir + "/streams.idx", at: 60)
            let again = try EventLog.open(directory: dir)
            defer { again.close() }
            _ = try again.append([event("t0", expect: .exact(7))])  // i = 0, 3, ..., 18
            #expect(again.streamIndexRecordsReadOnLastLoad == 40)
        }
    }

    @Test func anIndexFileFromAnotherLogIsIgnored() throws {
        try withTemporaryDirectory { a in
            try withTemporaryDirectory { b in
                let first = try EventLog.open(directory: a)
                try fill(first, from: 0, count: 20)
                first.close()
                // Same length, other streams: only the record checksum tells them apart.
                let second = try EventLog.open(directory: b)
                for i in 0..<20 { _ = try second.append([event("x\(i)"), event("y\(i)")]) }
                second.close()
                try FileManager.default.removeItem(atPath: b + "/streams.idx")
                try FileManager.default.copyItem(atPath: a + "/streams.idx", toPath: b + "/streams.idx")
                let reopened = try EventLog.open(directory: b)
                defer { reopened.close() }
                _ = try reopened.append([event("x3", expect: .exact(1))])
                #expect(reopened.streamIndexRecordsReadOnLastLoad == 40)
            }
        }
    }
}
