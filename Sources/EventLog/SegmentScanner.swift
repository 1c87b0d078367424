#if canImport(Glibc)
import Glibc
#endif

/// Sequential, checksum-verifying reads of one segment file, a commit at a time. Used by
/// recovery on open, by read-only followers to find newly committed batches, by reads from
/// disk, and by `verify`.
struct SegmentScanner {
    let io: FileIO
    let fd: Int32
    let path: String
    /// The file's size when the scanner was made: nothing past it is looked at.
    let fileSize: Int64

    private let storage: ScanBuffer
    static let readSize = 4 << 20

    init(io: FileIO, fd: Int32, path: String, readSize: Int = SegmentScanner.readSize) throws {
        self.io = io
        self.fd = fd
        self.path = path
        self.fileSize = try io.fileSize(fd, path: path)
        self.storage = ScanBuffer(capacity: readSize)
    }

    /// Bytes at a place that are not what they should be.
    struct Damage: Equatable, Error {
        /// Where the bad bytes start: the bad record, or the commit when its header is bad.
        var offset: Int64
        /// The position the bad record has in the log (its own, not its batch's first).
        var position: UInt64
        var reason: String
        /// The commit the bad bytes belong to, and where it ends when its header could be read.
        var commitOffset: Int64
        var commitEnd: Int64?
    }

    /// What lies at an offset where a commit should start.
    enum Step: Equatable {
        /// A whole, valid commit (every record's and the commit's checksum verified).
        case commit(RecordFormat.CommitHeader)
        /// `body` asked to stop inside this commit; what it saw was verified record by record.
        case stopped(RecordFormat.CommitHeader)
        /// The offset is the end of the file.
        case endOfFile
        /// A commit header of zeros: space never written, or a page that never reached the disk.
        case zeros
        case bad(Damage)
    }

    /// Reads and checks the segment header; returns its first position.
    static func readHeader(io: FileIO, fd: Int32, path: String, expectedFirst: UInt64?) throws -> UInt64 {
        var header = [UInt8](repeating: 0, count: RecordFormat.headerSize)
        let n = try header.withUnsafeMutableBytes { (raw) throws in try io.pread(fd, raw, offset: 0, path: path) }
        let parsed = header.withUnsafeBytes { RecordFormat.parseHeader(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        switch parsed {
        case .failure(let problem):
            // An old format is not damage: say which version was found, and refuse.
            throw LogError(
                problem.unsupportedVersion == nil ? .corruption : .invalidArgument, problem.reason,
                file: path, offset: problem.unsupportedVersion == nil ? 0 : 8, position: expectedFirst)
        case .success(let first):
            if let expectedFirst, first != expectedFirst {
                throw LogError(
                    .corruption, "header says first position \(first) but the file name says \(expectedFirst)",
                    file: path, offset: 16, position: expectedFirst)
            }
            return first
        }
    }

    /// The seal that ends a sealed segment: the last 48 bytes of the file. Nil when the file does
    /// not end with a valid seal.
    func readSeal() throws -> RecordFormat.CommitHeader? {
        let at = fileSize - Int64(RecordFormat.commitHeaderSize)
        guard at >= Int64(RecordFormat.headerSize) else { return nil }
        var bytes = [UInt8](repeating: 0, count: RecordFormat.commitHeaderSize)
        let n = try bytes.withUnsafeMutableBytes { (raw) throws in try io.pread(fd, raw, offset: at, path: path) }
        guard n == bytes.count else { return nil }
        let parsed = bytes.withUnsafeBytes { RecordFormat.parseCommitHeader($0, at: at) }
        guard case .header(let h) = parsed, h.kind == .seal,
              h.checksum == bytes.withUnsafeBytes({ CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<40])) })
        else { return nil }
        return h
    }

    /// Reads and verifies the commit at `offset`, whose first position must be `expected`.
    /// Calls `body` for each record at or after position `from`, in order, until it returns
    /// false. Records reach `body` only after their own checksum and position are checked.
    mutating func readCommit(
        at offset: Int64, expected: UInt64, from: UInt64 = 0, _ body: (RecordView) throws -> Bool = { _ in true }
    ) throws -> Step {
        if offset >= fileSize { return .endOfFile }
        func bad(_ at: Int64, _ position: UInt64, _ reason: String, end: Int64? = nil) -> Step {
            .bad(Damage(offset: at, position: position, reason: reason, commitOffset: offset, commitEnd: end))
        }
        let headerSize = Int64(RecordFormat.commitHeaderSize)
        if fileSize - offset < headerSize {
            let rest = Int(fileSize - offset)
            guard try ensure(offset, rest) else { return bad(offset, expected, "the file shrank while it was read") }
            if storage.bytes(offset - storage.start, rest).allSatisfy({ $0 == 0 }) { return .zeros }
            return bad(offset, expected, "commit header cut short by the end of the file (\(rest) of \(headerSize) bytes)")
        }
        guard try ensure(offset, Int(headerSize)) else { return bad(offset, expected, "the file shrank while it was read") }
        let header: RecordFormat.CommitHeader
        switch RecordFormat.parseCommitHeader(storage.bytes(offset - storage.start, Int(headerSize)), at: offset) {
        case .zeros: return .zeros
        case .invalid(let reason): return bad(offset, expected, reason)
        case .header(let h): header = h
        }
        guard header.first == expected else {
            return bad(offset, expected, "commit holds positions \(header.first)...\(header.last) where \(expected) was expected", end: header.end)
        }
        guard header.end <= fileSize else {
            return bad(offset, expected, "commit of \(header.length) bytes runs past the end of the file", end: header.end)
        }
        if header.kind != .events {
            let crc = CRC32C.checksum(storage.bytes(offset - storage.start, 40))
            return crc == header.checksum ? .commit(header) : bad(offset, expected, "commit checksum mismatch", end: header.end)
        }
        guard try ensure(offset, Int(header.length)) else { return bad(offset, expected, "the file shrank while it was read") }
        let base = offset - storage.start
        let end = Int(base + header.length)
        var at = Int(base) + Int(headerSize)
        var position = expected
        var crc: UInt32 = 0
        while at < end {
            let fileOffset = storage.start + Int64(at)
            let raw = storage.bytes(Int64(at), end - at)
            switch RecordFormat.parse(raw) {
            case .incomplete:
                return bad(fileOffset, position, "record runs past the end of its commit", end: header.end)
            case .invalid(let reason):
                return bad(fileOffset, position, reason, end: header.end)
            case .record(let view, let size):
                if view.position != position {
                    return bad(fileOffset, position, "record holds position \(view.position) where \(position) was expected", end: header.end)
                }
                if position > header.last {
                    return bad(fileOffset, position, "the commit holds more records than its header says", end: header.end)
                }
                if at + size == end && !view.endsBatch {
                    return bad(fileOffset, position, "the commit ends inside a batch", end: header.end)
                }
                crc = CRC32C.update(crc, UnsafeRawBufferPointer(rebasing: raw[0..<4]))
                if position >= from, try !body(view) { return .stopped(header) }
                at += size
                position += 1
            }
        }
        if position != header.last + 1 {
            return bad(storage.start + Int64(end), position, "the commit holds fewer records than its header says", end: header.end)
        }
        crc = CRC32C.update(crc, storage.bytes(base, 40))
        guard crc == header.checksum else { return bad(offset, expected, "commit checksum mismatch", end: header.end) }
        return .commit(header)
    }

    /// True when every byte from `offset` to the end of the file is zero.
    mutating func onlyZeros(from offset: Int64) throws -> Bool {
        var at = offset
        while at < fileSize {
            let n = Int(min(Int64(Self.readSize), fileSize - at))
            guard try ensure(at, n) else { return false }
            if !storage.bytes(at - storage.start, n).allSatisfy({ $0 == 0 }) { return false }
            at += Int64(n)
        }
        return true
    }

    /// Looks for a whole, valid commit after the bad bytes at `offset`, holding positions from
    /// `minPosition` on. Finding one proves the bad bytes were acknowledged (no commit is
    /// written before the previous one is durable): damage, not a torn write. Candidates are
    /// found by their magic number and header checksum, so this stays fast on megabytes of
    /// zeros or garbage; a header copied into a payload is refused by its file offset.
    func findValidCommit(after offset: Int64, minPosition: UInt64) throws -> (offset: Int64, header: RecordFormat.CommitHeader)? {
        var probe = try SegmentScanner(io: io, fd: fd, path: path, readSize: 1 << 20)
        let headerSize = RecordFormat.commitHeaderSize
        var chunkStart = offset + 1
        while chunkStart + Int64(headerSize) <= fileSize {
            let n = Int(min(Int64(1 << 20), fileSize - chunkStart))
            guard try probe.ensure(chunkStart, n) else { return nil }
            let chunk = probe.storage.bytes(chunkStart - probe.storage.start, n)
            var i = 0
            var candidates: [Int] = []
            while i + headerSize <= n {
                guard let hit = memchr(chunk.baseAddress! + i, 0x50, n - headerSize + 1 - i) else { break }
                let j = hit - UnsafeMutableRawPointer(mutating: chunk.baseAddress!)
                if RecordFormat.load(chunk, j) as UInt32 == RecordFormat.commitMagic { candidates.append(j) }
                i = j + 1
            }
            for j in candidates {
                let at = chunkStart + Int64(j)
                guard case .header(let h) = RecordFormat.parseCommitHeader(
                    UnsafeRawBufferPointer(rebasing: chunk[j..<(j + headerSize)]), at: at),
                      h.first >= minPosition, h.end <= fileSize
                else { continue }
                var check = try SegmentScanner(io: io, fd: fd, path: path, readSize: 1 << 16)
                if case .commit = try check.readCommit(at: at, expected: h.first) { return (at, h) }
            }
            // Overlap by a header so a candidate across the chunk boundary is not missed.
            chunkStart += Int64(max(1, n - headerSize + 1))
        }
        return nil
    }

    /// Makes `count` bytes at `offset` available in the buffer; false when the file is shorter.
    private mutating func ensure(_ offset: Int64, _ count: Int) throws -> Bool {
        if offset >= storage.start && offset + Int64(count) <= storage.start + Int64(storage.count) { return true }
        let want = max(min(storage.readSize, Int(fileSize - offset)), count)
        storage.reserve(want)
        let n = try io.pread(fd, UnsafeMutableRawBufferPointer(start: storage.base, count: want), offset: offset, path: path)
        storage.start = offset
        storage.count = n
        return n >= count
    }
}

/// The scanner's reusable read buffer: raw memory, so records are parsed in place.
final class ScanBuffer {
    // Not Sendable: one scanner, on one thread, owns it.
    private(set) var base: UnsafeMutableRawPointer
    private(set) var capacity: Int
    let readSize: Int
    var start: Int64 = 0
    var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        self.readSize = capacity
        base = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    func reserve(_ size: Int) {
        guard size > capacity else { return }
        base.deallocate()
        base = .allocate(byteCount: size, alignment: 16)
        capacity = size
        count = 0
    }

    @inline(__always)
    func bytes(_ at: Int64, _ n: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + Int(at), count: n)
    }
}
