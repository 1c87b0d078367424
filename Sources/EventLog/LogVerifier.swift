#if canImport(Glibc)
import Glibc
#endif

/// `prism verify`: checks every commit and record of every segment and reports every problem
/// it finds, not just the first: stray files, missing segments, headers, framing, checksums,
/// contiguous positions, seals and stream versions. Each problem says whether it is damage
/// (acknowledged bytes that are bad) or the unacknowledged end a writer cuts on open.
public enum LogVerifier {
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public enum Kind: String, Sendable, Equatable {
            /// Acknowledged bytes are bad or missing: nobody cuts them; a person must look.
            case damage
            /// The unacknowledged end of the last segment (a commit torn by a crash or power
            /// cut): opening the log for writing cuts it.
            case tornTail = "torn tail"
            /// A roll stopped between creating the new segment and sealing the old one:
            /// opening the log for writing seals it.
            case unfinishedRoll = "unfinished roll"
        }
        public var file: String
        public var offset: Int64
        public var position: UInt64?
        public var message: String
        public var kind: Kind = .damage
        public var description: String {
            "\(file): offset \(offset)\(position.map { ", position \($0)" } ?? ""): \(kind.rawValue): \(message)"
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
        let (segments, lookalikes) = try Recovery.listing(directory: directory, io: io)
        var problems: [Problem] = lookalikes.map {
            Problem(file: directory + "/" + $0, offset: 0, position: nil, message: Recovery.strayMessage($0))
        }
        if segments.isEmpty {
            if lookalikes.isEmpty { throw LogError(.io, "no event log here (no segment files)", file: directory) }
            return Summary(segments: 0, records: 0, streams: 0, bytes: 0, problems: problems)
        }
        func path(_ first: UInt64) -> String { directory + "/" + RecordFormat.segmentName(first) }
        var versions: [String: UInt64] = [:]
        var expected: UInt64 = 1
        var records: UInt64 = 0
        var bytes: Int64 = 0
        var skipped = false
        for (i, first) in segments.enumerated() {
            let isLast = i == segments.count - 1
            if first > expected {
                problems.append(Problem(
                    file: path(expected), offset: 0, position: expected,
                    message: "segment file is missing: positions \(expected)...\(first - 1) are in no segment (the next one found is \(RecordFormat.segmentName(first)))"))
                skipped = true
            } else if first < expected {
                problems.append(Problem(
                    file: path(first), offset: 0, position: first,
                    message: "segment starts at position \(first), but the one before it holds positions up to \(expected - 1)"))
            }
            expected = first
            let fd: Int32
            do { fd = try io.open(path(first), O_RDONLY) } catch {
                problems.append(Problem(file: path(first), offset: 0, position: first, message: "\(error)"))
                continue
            }
            defer { io.close(fd) }
            do {
                _ = try SegmentScanner.readHeader(io: io, fd: fd, path: path(first), expectedFirst: first)
            } catch let error as LogError {
                problems.append(Problem(file: path(first), offset: error.offset ?? 0, position: first, message: error.message))
                skipped = true
                continue
            }
            var scanner = try SegmentScanner(io: io, fd: fd, path: path(first))
            bytes += scanner.fileSize
            var at = Int64(RecordFormat.headerSize)
            var seal: RecordFormat.CommitHeader?
            var clean = true
            scan: while true {
                let step = try scanner.readCommit(at: at, expected: expected) { record in
                    let stream = record.stream
                    let want = versions[stream, default: 0] + 1
                    // After skipped bytes, a later version is expected (the skipped records are
                    // already reported); only a version that goes backwards is a new problem.
                    if record.streamVersion != want && !(skipped && record.streamVersion > want) {
                        problems.append(Problem(
                            file: path(first), offset: at, position: record.position,
                            message: "stream '\(stream)' has version \(record.streamVersion) where \(want) was expected"))
                    }
                    versions[stream] = record.streamVersion
                    records += 1
                    return true
                }
                switch step {
                case .commit(let h):
                    at = h.end
                    expected = h.last + 1
                    if h.kind == .seal {
                        seal = h
                        if h.end != scanner.fileSize {
                            problems.append(Problem(
                                file: path(first), offset: h.end, position: expected,
                                message: "\(scanner.fileSize - h.end) bytes after the seal that ends the segment"))
                            clean = false
                        }
                        break scan
                    }
                case .stopped:
                    preconditionFailure("the body never stops")
                case .endOfFile:
                    break scan
                case .zeros, .bad:
                    let d: SegmentScanner.Damage
                    if case .bad(let bad) = step { d = bad } else {
                        d = .init(offset: at, position: expected, reason: "zeros where a commit header should be", commitOffset: at)
                    }
                    clean = false
                    if let found = try scanner.findValidCommit(after: d.commitOffset, minPosition: expected) {
                        problems.append(Problem(
                            file: path(first), offset: d.offset, position: d.position,
                            message: "\(d.reason); a valid commit follows at offset \(found.offset), so these bytes were acknowledged; \(found.offset - d.commitOffset) bytes skipped up to position \(found.header.first)"))
                        at = found.offset
                        expected = found.header.first
                        skipped = true
                        continue scan
                    }
                    let rest = scanner.fileSize - d.commitOffset
                    if i == segments.count - 2, rest <= Int64(RecordFormat.commitHeaderSize), expected == segments[i + 1],
                       try lastIsEmpty(directory: directory, io: io, first: segments[i + 1])
                    {
                        problems.append(Problem(
                            file: path(first), offset: d.commitOffset, position: expected - 1,
                            message: "not sealed: a roll stopped while the seal was written, after \(RecordFormat.segmentName(segments[i + 1])) was created; \(rest) bytes of a torn seal (opening the log for writing will seal it)",
                            kind: .unfinishedRoll))
                    } else if isLast {
                        problems.append(Problem(
                            file: path(first), offset: d.commitOffset, position: expected,
                            message: "\(d.reason); the last \(rest) bytes are an unacknowledged commit torn by a crash or power cut (opening the log for writing will cut them)",
                            kind: .tornTail))
                    } else {
                        problems.append(Problem(
                            file: path(first), offset: d.offset, position: d.position,
                            message: "\(d.reason), in a segment that has a successor (every byte of it was acknowledged); \(rest) bytes to the end of the file are unreadable"))
                        skipped = true
                    }
                    break scan
                }
            }
            if isLast, let seal {
                problems.append(Problem(
                    file: path(seal.last + 1), offset: 0, position: seal.last + 1,
                    message: "segment file is missing: \(RecordFormat.segmentName(first)) was sealed at position \(seal.last) after \(RecordFormat.segmentName(seal.last + 1)) had been created, and that file is gone"))
            } else if !isLast, seal == nil, clean {
                let next = segments[i + 1]
                if i == segments.count - 2, next == expected, try lastIsEmpty(directory: directory, io: io, first: next) {
                    problems.append(Problem(
                        file: path(first), offset: at, position: expected - 1,
                        message: "not sealed: a roll stopped after \(RecordFormat.segmentName(next)) was created (opening the log for writing will seal it)",
                        kind: .unfinishedRoll))
                } else {
                    problems.append(Problem(
                        file: path(first), offset: at, position: expected,
                        message: "the segment has a successor but no seal at its end: its end is missing or damaged"))
                }
            }
        }
        return Summary(segments: segments.count, records: records, streams: versions.count, bytes: bytes, problems: problems)
    }

    private static func lastIsEmpty(directory: String, io: FileIO, first: UInt64) throws -> Bool {
        let path = directory + "/" + RecordFormat.segmentName(first)
        let fd = try io.open(path, O_RDONLY)
        defer { io.close(fd) }
        var scanner = try SegmentScanner(io: io, fd: fd, path: path, readSize: 1 << 16)
        switch try scanner.readCommit(at: Int64(RecordFormat.headerSize), expected: first) {
        case .endOfFile, .zeros: return true
        default: return false
        }
    }
}
