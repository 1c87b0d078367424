import Foundation
import Testing
@testable import EventLog

/// The set of segment files is part of the log: a missing segment, first, middle or last, or a
/// stray file named like one, is found and named by open and by `verify`, and no writer ever
/// appends after a hole.
@Suite struct SegmentSetTests {
    func makeLog(_ dir: String) throws -> [String] {
        var options = LogOptions()
        options.segmentBytes = 2048
        let log = try EventLog.open(directory: dir, options: options)
        for i in 0..<100 { _ = try log.append([event("s\(i % 3)", payload: Array(repeating: 1, count: 30))]) }
        log.close()
        let files = segmentFiles(dir)
        #expect(files.count > 3)
        return files
    }

    func expectRefused(_ dir: String, naming name: String, _ comment: Comment? = nil) {
        for readOnly in [false, true] {
            do {
                let log = readOnly ? try EventLog.openReadOnly(directory: dir) : try EventLog.open(directory: dir)
                let head = log.head
                let appended = readOnly ? nil : try? log.append([event("after-the-hole")])
                log.close()
                Issue.record("opened \(readOnly ? "read-only" : "for writing") (head \(head), appended at \(appended?.firstPosition ?? 0))")
            } catch let error as LogError {
                #expect(error.code == .corruption)
                #expect(error.description.contains(name), "\(error)")
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
        let problems = (try? LogVerifier.verify(directory: dir).problems) ?? []
        #expect(problems.contains { $0.description.contains(name) }, "verify: \(problems)")
    }

    @Test func aDeletedLastSegmentIsFound() throws {
        try withTemporaryDirectory { dir in
            let files = try makeLog(dir)
            try FileManager.default.removeItem(atPath: dir + "/" + files.last!)
            expectRefused(dir, naming: files.last!)
        }
    }

    @Test func aDeletedMiddleSegmentIsFound() throws {
        try withTemporaryDirectory { dir in
            let files = try makeLog(dir)
            try FileManager.default.removeItem(atPath: dir + "/" + files[1])
            expectRefused(dir, naming: files[1])
        }
    }

    @Test func aDeletedFirstSegmentIsFound() throws {
        try withTemporaryDirectory { dir in
            let files = try makeLog(dir)
            try FileManager.default.removeItem(atPath: dir + "/" + files[0])
            expectRefused(dir, naming: files[0])
        }
    }

    @Test(arguments: ["seg-+%019lld.log", "seg- %019lld.log", " seg-%020lld.log", "seg-%020lld.log ", "seg-%lld.log", "seg-%020lld.LOG"])
    func aFileNamedLikeASegmentIsFound(_ pattern: String) throws {
        try withTemporaryDirectory { dir in
            let files = try makeLog(dir)
            let first = try #require(RecordFormat.segmentFirstPosition(files[2]))
            let alias = String(format: pattern, first)
            try FileManager.default.copyItem(atPath: dir + "/" + files[2], toPath: dir + "/" + alias)
            expectRefused(dir, naming: alias)
        }
    }

    @Test func aLogWhoseEverySegmentIsGoneIsNotStartedAfresh() throws {
        try withTemporaryDirectory { dir in
            let files = try makeLog(dir)
            for file in files { try FileManager.default.removeItem(atPath: dir + "/" + file) }
            let error = #expect(throws: LogError.self) { try EventLog.open(directory: dir) }
            #expect(error?.code == .corruption)
            #expect(error?.description.contains(RecordFormat.segmentName(1)) == true)
            #expect(segmentFiles(dir).isEmpty, "no new segment was made")
        }
    }
}
