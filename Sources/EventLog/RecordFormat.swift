/// # The on-disk format
///
/// A log is a folder of segment files named `seg-<first position, 20 digits>.log`, so that a
/// directory listing alone says which file holds a position and in which order files go.
///
/// ## Segment header (32 bytes, little-endian)
/// | offset | size | field | why |
/// |---|---|---|---|
/// | 0 | 8 | magic `PRISMLOG` | a file that is not ours is refused, not misread |
/// | 8 | 4 | format version (1) | a future format can be told apart and migrated |
/// | 12 | 4 | header size (32) | lets a later version grow the header |
/// | 16 | 8 | first position | must match the name; catches a renamed or misplaced file |
/// | 24 | 4 | CRC-32C of bytes 0..<24 | a damaged header is found, not trusted |
/// | 28 | 4 | reserved, 0 | |
///
/// New segments are written to a `.tmp` name, fsync'd and renamed, so a segment file that
/// exists always has a whole header; a short header is damage and is reported as such.
///
/// ## Record (8-byte frame + body, little-endian)
/// | offset | size | field | why |
/// |---|---|---|---|
/// | 0 | 4 | body length | framing: where the next record starts |
/// | 4 | 4 | CRC-32C of the length and the body | a torn or flipped record is never handed out |
/// | 8 | 8 | position | self-describing: a reader can check contiguity without an index |
/// | 16 | 8 | stream version | optimistic concurrency and per-stream reads |
/// | 24 | 8 | timestamp, ns since epoch | lag in time, and an audit trail |
/// | 32 | 1 | flags (bit 0: last record of its batch) | batch atomicity, see below |
/// | 33 | 1 | type length | |
/// | 34 | 2 | stream length | |
/// | 36 | 1 | command id length (0 = none) | idempotency survives restarts |
/// | 37 | 1 | reserved, 0 | |
/// | 38 | ... | stream, type, command id (UTF-8), then the payload | payload length is what is left |
///
/// ## Torn writes and batch atomicity
/// A batch's records are written in one `write` with the last one flagged. After a crash the file
/// may end in a torn record (length past the end, bad checksum, zeros from a size update that
/// beat the data) or in whole records of a batch whose last record never arrived. Opening the log
/// for writing cuts the file back to the end of the last whole batch and reports how many bytes it
/// cut at which position. Readers, including other processes following a live log, never go past
/// the last flagged record, so no part of an unfinished batch can ever be read.
///
/// A bad record *followed by a good one* cannot be a torn tail: it is corruption, and opening or
/// reading fails with the file, byte offset and position instead of dropping anything.
struct HeaderProblem: Error { var reason: String }

public enum RecordFormat {
    public static let magic: [UInt8] = Array("PRISMLOG".utf8)
    public static let version: UInt32 = 1
    public static let headerSize = 32
    public static let frameSize = 8
    /// Fixed part of a body, before the variable-length strings and payload.
    public static let fixedBodySize = 30
    public static let recordOverhead = frameSize + fixedBodySize
    /// Largest body accepted: bigger records are refused on append and treated as damage on read.
    public static let maxBodySize = 64 << 20

    static let flagEndsBatch: UInt8 = 1

    /// The header of a segment starting at `firstPosition`.
    public static func header(firstPosition: UInt64) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: headerSize)
        h.replaceSubrange(0..<8, with: magic)
        store(&h, 8, version)
        store(&h, 12, UInt32(headerSize))
        store(&h, 16, firstPosition)
        let crc = h.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<24])) }
        store(&h, 24, crc)
        return h
    }

    /// Checks a header; returns its first position or a reason it is bad.
    static func parseHeader(_ bytes: UnsafeRawBufferPointer) -> Result<UInt64, HeaderProblem> {
        guard bytes.count >= headerSize else {
            return .failure(HeaderProblem(reason: "segment header is truncated: \(bytes.count) of \(headerSize) bytes"))
        }
        guard Array(bytes[0..<8]) == magic else { return .failure(HeaderProblem(reason: "not a Prism segment: bad magic number")) }
        let version = load(bytes, 8) as UInt32
        guard version == RecordFormat.version else {
            return .failure(HeaderProblem(reason: "unsupported segment format version \(version) (this Prism reads \(RecordFormat.version))"))
        }
        let crc = load(bytes, 24) as UInt32
        guard crc == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<24])) else {
            return .failure(HeaderProblem(reason: "segment header checksum mismatch"))
        }
        return .success(load(bytes, 16) as UInt64)
    }

    /// Checks an event before it is appended, so a bad one fails its batch instead of the log.
    static func validate(_ event: UnsafePointer<NewEvent>) -> String? {
        let streamCount = event.pointee.stream.utf8.count
        let typeCount = event.pointee.type.utf8.count
        let idCount = event.pointee.commandId?.utf8.count ?? 0
        if streamCount == 0 { return "stream name is empty" }
        if streamCount > Int(UInt16.max) { return "stream name is longer than 65535 bytes" }
        if typeCount == 0 { return "event type is empty" }
        if typeCount > 255 { return "event type is longer than 255 bytes" }
        if idCount > 255 { return "command id is longer than 255 bytes" }
        let body = fixedBodySize + streamCount + typeCount + idCount + event.pointee.payload.count
        if body > maxBodySize { return "record of \(body) bytes exceeds the limit of \(maxBodySize)" }
        return nil
    }

    /// The outcome of trying to read one record at the start of `bytes`.
    enum Parsed {
        /// A whole, checksummed record of `size` bytes.
        case record(RecordView, size: Int)
        /// Not enough bytes to tell: the record continues past the end of `bytes`.
        case incomplete(needed: Int)
        /// The bytes are not a valid record.
        case invalid(String)
    }

    /// Parses the record at the start of `bytes`, verifying framing and checksum.
    @inline(__always)
    static func parse(_ bytes: UnsafeRawBufferPointer, verify: Bool = true) -> Parsed {
        guard bytes.count >= frameSize else { return .incomplete(needed: frameSize) }
        let body = Int(UInt32(littleEndian: bytes.loadUnaligned(as: UInt32.self)))
        guard body >= fixedBodySize, body <= maxBodySize else {
            return .invalid("bad record length \(body)")
        }
        let size = frameSize + body
        guard bytes.count >= size else { return .incomplete(needed: size) }
        let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        if verify {
            var crc = CRC32C.update(0, UnsafeRawBufferPointer(rebasing: bytes[0..<4]))
            crc = CRC32C.update(crc, UnsafeRawBufferPointer(rebasing: bytes[8..<size]))
            guard crc == stored else { return .invalid("checksum mismatch") }
        }
        let flags = bytes[32]
        let typeCount = Int(bytes[33])
        let streamCount = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 34, as: UInt16.self)))
        let idCount = Int(bytes[36])
        let stringsEnd = recordOverhead + streamCount + typeCount + idCount
        guard stringsEnd <= size else { return .invalid("field lengths overrun the record") }
        let s0 = recordOverhead, t0 = s0 + streamCount, c0 = t0 + typeCount
        let view = RecordView(
            position: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
            streamVersion: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
            timestampNanos: Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 24, as: Int64.self)),
            streamBytes: UnsafeRawBufferPointer(rebasing: bytes[s0..<t0]),
            typeBytes: UnsafeRawBufferPointer(rebasing: bytes[t0..<c0]),
            payload: UnsafeRawBufferPointer(rebasing: bytes[stringsEnd..<size]),
            commandIdBytes: UnsafeRawBufferPointer(rebasing: bytes[c0..<stringsEnd]),
            endsBatch: flags & flagEndsBatch != 0)
        return .record(view, size: size)
    }

    static func store<T: FixedWidthInteger>(_ bytes: inout [UInt8], _ offset: Int, _ value: T) {
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self) }
    }

    static func load<T: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> T {
        T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// The file name of the segment whose first position is `position`.
    public static func segmentName(_ position: UInt64) -> String {
        let digits = String(position)
        return "seg-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".log"
    }

    /// The first position a segment file name tells, or nil for files that are not segments.
    public static func segmentFirstPosition(_ name: String) -> UInt64? {
        guard name.hasPrefix("seg-"), name.hasSuffix(".log"), name.count == 28 else { return nil }
        return UInt64(name.dropFirst(4).dropLast(4))
    }
}
