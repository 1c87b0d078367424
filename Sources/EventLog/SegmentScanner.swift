/// Sequential, checksum-verifying reads of one segment file. Used by recovery on open, by
/// read-only followers to find newly committed batches, and by `verify`.
struct SegmentScanner {
    let io: FileIO
    let fd: Int32
    let path: String
    let fileSize: Int64

    private var buffer: [UInt8] = []
    private var bufferStart: Int64 = 0
    private var bufferCount = 0
    static let readSize = 4 << 20

    init(io: FileIO, fd: Int32, path: String) throws {
        self.io = io
        self.fd = fd
        self.path = path
        self.fileSize = try io.fileSize(fd, path: path)
    }

    enum End: Equatable {
        /// Every byte up to the end of the file was a whole, valid record.
        case endOfFile
        /// `body` asked to stop.
        case stopped
        /// The bytes at `offset` are not a valid record (torn, zeroed or damaged).
        case bad(offset: Int64, reason: String)
    }

    /// Reads and checks the segment header; returns its first position.
    static func readHeader(io: FileIO, fd: Int32, path: String, expectedFirst: UInt64?) throws -> UInt64 {
        var header = [UInt8](repeating: 0, count: RecordFormat.headerSize)
        let n = try header.withUnsafeMutableBytes { (raw) throws in try io.pread(fd, raw, offset: 0, path: path) }
        let parsed = header.withUnsafeBytes { RecordFormat.parseHeader(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        switch parsed {
        case .failure(let problem):
            throw LogError(.corruption, problem.reason, file: path, offset: 0, position: expectedFirst)
        case .success(let first):
            if let expectedFirst, first != expectedFirst {
                throw LogError(
                    .corruption, "header says first position \(first) but the file name says \(expectedFirst)",
                    file: path, offset: 16, position: expectedFirst)
            }
            return first
        }
    }

    /// Calls `body(record, offset, size)` for each valid record from `offset` on, until the end
    /// of the file, a bad record, or `body` returning false. Positions are checked to run on
    /// from `expectedPosition`; a jump is reported as a bad record.
    mutating func scan(
        from start: Int64, expectedPosition: UInt64,
        _ body: (RecordView, Int64, Int) throws -> Bool
    ) throws -> End {
        var offset = start
        var expected = expectedPosition
        while offset < fileSize {
            if offset < bufferStart || offset + Int64(RecordFormat.frameSize) > bufferStart + Int64(bufferCount) {
                try fill(at: offset, atLeast: RecordFormat.frameSize)
            }
            var result: Parsed
            repeat {
                let local = Int(offset - bufferStart)
                result = buffer.withUnsafeBytes { raw in
                    Self.classify(RecordFormat.parse(UnsafeRawBufferPointer(rebasing: raw[local..<bufferCount])))
                }
                if case .needs(let needed) = result {
                    if offset + Int64(needed) > fileSize {
                        return .bad(offset: offset, reason: "record of \(needed) bytes runs past the end of the file")
                    }
                    try fill(at: offset, atLeast: needed)
                } else { break }
            } while true
            switch result {
            case .invalid(let reason):
                return .bad(offset: offset, reason: reason)
            case .needs:
                preconditionFailure()
            case .ok(let size):
                let local = Int(offset - bufferStart)
                var stop = false
                var positionError: String?
                try buffer.withUnsafeBytes { (raw) throws in
                    guard case .record(let view, _) = RecordFormat.parse(UnsafeRawBufferPointer(rebasing: raw[local..<(local + size)]))
                    else { return }
                    if view.position != expected {
                        positionError = "position \(view.position) where \(expected) was expected"
                        return
                    }
                    stop = try !body(view, offset, size)
                }
                if let positionError { return .bad(offset: offset, reason: positionError) }
                offset += Int64(size)
                expected += 1
                if stop { return .stopped }
            }
        }
        return .endOfFile
    }

    private enum Parsed { case ok(Int), needs(Int), invalid(String) }

    private static func classify(_ p: RecordFormat.Parsed) -> Parsed {
        switch p {
        case .record(_, let size): .ok(size)
        case .incomplete(let needed): .needs(needed)
        case .invalid(let reason): .invalid(reason)
        }
    }

    private mutating func fill(at offset: Int64, atLeast: Int) throws {
        let want = max(min(Self.readSize, Int(fileSize - offset)), atLeast)
        if buffer.count < want { buffer = [UInt8](repeating: 0, count: want) }
        let n = try buffer.withUnsafeMutableBytes { (raw) throws in
            try io.pread(fd, UnsafeMutableRawBufferPointer(rebasing: raw[0..<want]), offset: offset, path: path)
        }
        bufferStart = offset
        bufferCount = n
    }

    /// Looks for any whole, valid record after a bad one at `offset`. Finding one means the bad
    /// bytes are damage in the middle of the log, not a torn tail; a torn write can only cut the
    /// end. Candidates are filtered by a plausible length and position before their checksum is
    /// computed, so this stays fast even on megabytes of garbage.
    func findValidRecord(after offset: Int64, minPosition: UInt64) throws -> (offset: Int64, position: UInt64)? {
        let start = offset + 1
        guard start < fileSize else { return nil }
        var rest = [UInt8](repeating: 0, count: Int(fileSize - start))
        let n = try rest.withUnsafeMutableBytes { (raw) throws in try io.pread(fd, raw, offset: start, path: path) }
        return rest.withUnsafeBytes { raw -> (Int64, UInt64)? in
            var i = 0
            while i + RecordFormat.recordOverhead <= n {
                let body = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt32.self)))
                if body >= RecordFormat.fixedBodySize, i + RecordFormat.frameSize + body <= n {
                    let position = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self))
                    if position >= minPosition, position < minPosition &+ (1 << 40),
                       case .record = RecordFormat.parse(UnsafeRawBufferPointer(rebasing: raw[i..<(i + RecordFormat.frameSize + body)]))
                    {
                        return (start + Int64(i), position)
                    }
                }
                i += 1
            }
            return nil
        }
    }
}
