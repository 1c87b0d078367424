#if canImport(Glibc)
import Glibc
#endif

/// Opening a log: find the segments, check their headers, and find the end of the last whole
/// batch of the last segment, cutting off a torn tail when opening for writing.
///
/// Only the last segment is scanned record by record (at most one segment's size), and the
/// others cost one 32-byte header read each, so opening does not grow with the log's length.
enum Recovery {
    struct Opened {
        var report: OpenReport
        var segments: [UInt64]
        var tailEnd: TailEnd
        var fd: Int32
    }

    static func segmentList(directory: String, io: FileIO) throws -> [UInt64] {
        try io.listDirectory(directory).compactMap(RecordFormat.segmentFirstPosition).sorted()
    }

    /// Creates a segment atomically: header into a temporary file, fsync, rename, fsync the folder.
    static func createSegment(directory: String, first: UInt64, io: FileIO) throws {
        let path = directory + "/" + RecordFormat.segmentName(first)
        try io.writeAtomically(RecordFormat.header(firstPosition: first), to: path, directory: directory)
    }

    static func openTail(directory: String, io: FileIO, repair: Bool) throws -> Opened {
        if repair {
            for name in try io.listDirectory(directory) where name.hasPrefix("seg-") && name.hasSuffix(".tmp") {
                io.unlink(directory + "/" + name)
            }
        }
        var segments = try segmentList(directory: directory, io: io)
        if segments.isEmpty {
            guard repair else { throw LogError(.io, "no event log here (no segment files)", file: directory) }
            try createSegment(directory: directory, first: 1, io: io)
            segments = [1]
        }
        // Every segment's header: small per-segment metadata, read once.
        for first in segments.dropLast() {
            let path = directory + "/" + RecordFormat.segmentName(first)
            let fd = try io.open(path, O_RDONLY)
            defer { io.close(fd) }
            _ = try SegmentScanner.readHeader(io: io, fd: fd, path: path, expectedFirst: first)
        }
        let last = segments.last!
        let path = directory + "/" + RecordFormat.segmentName(last)
        let fd = try io.open(path, repair ? O_RDWR : O_RDONLY)
        do {
            _ = try SegmentScanner.readHeader(io: io, fd: fd, path: path, expectedFirst: last)
            var scanner = try SegmentScanner(io: io, fd: fd, path: path)
            let (tailEnd, end) = try scanBatches(&scanner, segment: last, from: Int64(RecordFormat.headerSize), lastPosition: last - 1)
            var truncation: OpenReport.Truncation?
            if tailEnd.offset < scanner.fileSize {
                var reason = "unfinished batch"
                if case .bad(let offset, let why) = end {
                    if let found = try scanner.findValidRecord(after: offset, minPosition: tailEnd.lastPosition + 1) {
                        throw LogError(
                            .corruption,
                            "\(why); a valid record (position \(found.position)) follows at offset \(found.offset), so this is damage, not a torn write",
                            file: path, offset: offset, position: tailEnd.lastPosition + 1)
                    }
                    reason = "torn write: \(why)"
                }
                truncation = .init(
                    file: path, offset: tailEnd.offset, bytes: scanner.fileSize - tailEnd.offset,
                    position: tailEnd.lastPosition + 1, reason: reason)
                if repair {
                    try io.ftruncate(fd, tailEnd.offset, path: path)
                    try io.fsync(fd, path: path)
                }
            }
            let report = OpenReport(segments: segments.count, head: tailEnd.lastPosition, truncation: truncation)
            return Opened(report: report, segments: segments, tailEnd: tailEnd, fd: fd)
        } catch {
            io.close(fd)
            throw error
        }
    }

    /// Scans records from `offset`, returning the end of the last whole batch and why the scan
    /// ended.
    static func scanBatches(
        _ scanner: inout SegmentScanner, segment: UInt64, from offset: Int64, lastPosition: UInt64
    ) throws -> (TailEnd, SegmentScanner.End) {
        var tailEnd = TailEnd(segment: segment, offset: offset, lastPosition: lastPosition)
        let end = try scanner.scan(from: offset, expectedPosition: lastPosition + 1) { (record, at, size) throws in
            if record.endsBatch {
                tailEnd.offset = at + Int64(size)
                tailEnd.lastPosition = record.position
            }
            return true
        }
        return (tailEnd, end)
    }
}
