#if canImport(Glibc)
import Glibc
#endif

/// `prism verify`: checks every record of every segment and reports every problem it finds,
/// not just the first: headers, framing, checksums, contiguous positions, stream versions, and
/// batches left unfinished.
public enum LogVerifier {
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public var file: String
        public var offset: Int64
        public var position: UInt64?
        public var message: String
        public var description: String {
            "\(file): offset \(offset)\(position.map { ", position \($0)" } ?? ""): \(message)"
        }
    }

    public struct Summary: Sendable {
        public var segments: Int
        public var records: UInt64
        public var streams: Int
        public var bytes: Int64
        public var problems: [Problem]
    }

    /// Reads the log without taking the writer lock and without changing anything.
    public static func verify(directory: String, io: FileIO = FileIO()) throws -> Summary {
        let segments = try Recovery.segmentList(directory: directory, io: io)
        var problems: [Problem] = []
        var versions: [String: UInt64] = [:]
        var expected: UInt64 = 1
        var records: UInt64 = 0
        var bytes: Int64 = 0
        if segments.isEmpty {
            throw LogError(.io, "no event log here (no segment files)", file: directory)
        }
        for (i, first) in segments.enumerated() {
            let path = directory + "/" + RecordFormat.segmentName(first)
            let isLast = i == segments.count - 1
            let fd: Int32
            do { fd = try io.open(path, O_RDONLY) } catch {
                problems.append(Problem(file: path, offset: 0, position: first, message: "\(error)"))
                continue
            }
            defer { io.close(fd) }
            do {
                _ = try SegmentScanner.readHeader(io: io, fd: fd, path: path, expectedFirst: first)
            } catch let error as LogError {
                problems.append(Problem(file: path, offset: error.offset ?? 0, position: first, message: error.message))
                expected = first
                continue
            }
            if first != expected {
                problems.append(Problem(
                    file: path, offset: 0, position: first,
                    message: "segment starts at position \(first) but the previous one ended at \(expected - 1)"))
                expected = first
            }
            var scanner = try SegmentScanner(io: io, fd: fd, path: path)
            bytes += scanner.fileSize
            var offset = Int64(RecordFormat.headerSize)
            var lastEndsBatch = true
            var lastRecordEnd = offset
            var skipped = problems.contains { $0.message.contains("bytes skipped") }
            while true {
                let end = try scanner.scan(from: offset, expectedPosition: expected) { (record, at, size) throws in
                    let stream = record.stream
                    let want = versions[stream, default: 0] + 1
                    // After skipped bytes, a later version is expected (the skipped records are
                    // already reported); only a version that goes backwards is a new problem.
                    if record.streamVersion != want && !(skipped && record.streamVersion > want) {
                        problems.append(Problem(
                            file: path, offset: at, position: record.position,
                            message: "stream '\(stream)' has version \(record.streamVersion) where \(want) was expected"))
                    }
                    versions[stream] = record.streamVersion
                    records += 1
                    expected = record.position + 1
                    lastEndsBatch = record.endsBatch
                    lastRecordEnd = at + Int64(size)
                    return true
                }
                guard case .bad(let at, let reason) = end else { break }
                // Report, then look for the next valid record and go on from there.
                if let found = try scanner.findValidRecord(after: at, minPosition: expected) {
                    problems.append(Problem(
                        file: path, offset: at, position: expected,
                        message: "\(reason); \(found.offset - at) bytes skipped up to position \(found.position)"))
                    offset = found.offset
                    expected = found.position
                    skipped = true
                } else {
                    let tail = isLast ? " (a torn tail: opening the log for writing will cut it)" : ""
                    problems.append(Problem(
                        file: path, offset: at, position: expected,
                        message: "\(reason); \(scanner.fileSize - at) bytes to the end of the file are unreadable\(tail)"))
                    lastEndsBatch = true
                    break
                }
            }
            if !lastEndsBatch {
                problems.append(Problem(
                    file: path, offset: lastRecordEnd, position: expected - 1,
                    message: "the last batch has no final record: it was never committed\(isLast ? " (opening the log for writing will cut it)" : "")"))
            }
        }
        return Summary(segments: segments.count, records: records, streams: versions.count, bytes: bytes, problems: problems)
    }
}
