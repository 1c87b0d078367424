/// # The on-disk format (version 2)
///
/// A log is a folder of segment files named `seg-<first position, 20 digits>.log`, so that a
/// directory listing alone says which file holds a position and in which order files go. Only
/// that exact spelling is a segment; any other file whose name looks like one (a sign, spaces,
/// fewer digits, another case: `seg-+0000000000000540001.log`) is refused by open and reported
/// by `verify`, since it could alias a real segment's positions.
///
/// Besides segments the folder holds `LOCK` (the writer lock), `streams.idx` (a cache, see
/// `StreamIndexFile`) and `head` (the live writer's durable head, for followers; see `HeadFile`).
///
/// ## What the format must tell apart
/// *Acknowledged* bytes were made durable by an `fdatasync` before any caller was told "done".
/// They must never be cut: if they are bad, that is **damage**, and the log refuses to open (or
/// to read them) with the file, byte offset and the bad record's own position. Only the
/// *unacknowledged end* (the one group commit whose write or sync was in flight) may be bad
/// after a crash or power cut, and only it may be cut. Three things make the difference certain:
///
/// 1. **Commit frames.** Each group commit (one `pwrite`, one `fdatasync`) is framed by a
///    header giving its length, its own file offset, its first and last position and two
///    checksums. A commit is whole or it is not: its records are accepted all together.
/// 2. **Order.** A writer starts commit N+1 only after commit N is durable. So any valid commit
///    *after* a bad one proves the bad one was acknowledged: that is damage, never a tear.
/// 3. **Head marks.** A commit with no records that only says "the durable head is P". The
///    writer appends one (and syncs it) on a clean close and when it opens a log whose last
///    commit is not yet followed by anything, so the last acknowledged commit is followed by a
///    valid commit too; and a *seal* (see Segments) on every roll. A bad last commit with no
///    valid commit after it is the unacknowledged end: cut on open and reported.
///
/// The one case this cannot prove: a writer killed (or the machine cut) right after commit N's
/// sync, *and* commit N later damaged before any writer opens the log again. With nothing
/// written after N, the bad N is taken for a tear. Every other acknowledged byte is covered.
///
/// ## Segment header (32 bytes at offset 0, little-endian)
/// | offset | size | field | why |
/// |---|---|---|---|
/// | 0 | 8 | magic `PRISMLOG` | a file that is not ours is refused, not misread |
/// | 8 | 4 | format version (2) | version 1 (no commit frames) is refused by name, see below |
/// | 12 | 4 | header size (32) | lets a later version grow the header |
/// | 16 | 8 | first position | must match the name; catches a renamed or misplaced file |
/// | 24 | 4 | CRC-32C of bytes 0..<24 | a damaged header is found, not trusted |
/// | 28 | 4 | reserved, 0 | |
///
/// New segments are written to a `.tmp` name, fsync'd, renamed and the folder fsync'd, so a
/// segment file that exists always has a whole header; a short header is damage.
///
/// ## Commit header (48 bytes, then the commit's records)
/// | offset | size | field | why |
/// |---|---|---|---|
/// | 0 | 4 | magic `PCMT` | lets a scan past damage find the next commit quickly |
/// | 4 | 1 | kind: 0 events, 1 head mark, 2 seal | marks and seals hold no record |
/// | 5 | 3 | reserved, 0 | |
/// | 8 | 8 | length of the commit, this header included | framing: where the next commit starts |
/// | 16 | 8 | file offset of this commit | a copy of a commit inside a payload, or stale bytes, is not taken for one |
/// | 24 | 8 | first position | positions run on from the previous commit |
/// | 32 | 8 | last position (first - 1 for a mark or seal) | the durable head once this commit is |
/// | 40 | 4 | commit checksum | see below |
/// | 44 | 4 | CRC-32C of bytes 0..<44 | the length can be trusted before the body is read |
///
/// The commit checksum is the CRC-32C of every record's stored checksum, in order, followed by
/// bytes 0..<40 of the header. Each record's checksum covers all of that record's bytes, so the
/// commit checksum covers every byte of the commit (a missing, extra, reordered or damaged
/// record changes it), at the cost of 4 checksummed bytes per record rather than a second pass
/// over the payloads.
///
/// ## Record (8-byte frame + body, little-endian)
/// | offset | size | field | why |
/// |---|---|---|---|
/// | 0 | 4 | CRC-32C of bytes 4..<end (the length and the body) | a torn or flipped record is never handed out; one pass |
/// | 4 | 4 | body length | framing: where the next record starts |
/// | 8 | 8 | position | self-describing: contiguity is checked without an index |
/// | 16 | 8 | stream version | optimistic concurrency and per-stream reads |
/// | 24 | 8 | timestamp, ns since epoch | lag in time, and an audit trail |
/// | 32 | 1 | flags (bit 0: last record of its batch) | batch boundaries for readers |
/// | 33 | 1 | type length | |
/// | 34 | 2 | stream length | |
/// | 36 | 1 | command id length (0 = none) | idempotency survives restarts |
/// | 37 | 1 | reserved, 0 | |
/// | 38 | ... | stream, type, command id (UTF-8), then the payload | payload length is what is left |
///
/// A batch never spans two commits and a commit's last record ends a batch, so commit
/// atomicity gives batch atomicity.
///
/// ## Segments, seals and holes
/// A segment is rolled when the next batch would not fit: the new segment is created (durably,
/// as above) *first*, then a *seal* (kind 2, last position = the old segment's last) is appended
/// to the old segment and synced. So a sealed segment says "my successor exists", and a segment
/// that has a successor is wholly acknowledged (its last commit was synced before the successor
/// was created). Open reads each segment's header and each sealed segment's last 48 bytes (its
/// seal), so it does not grow with the log's length, and checks that the first segment starts
/// at position 1 and that each seal's last position + 1 is the next segment's first. A missing
/// first, middle or last segment is named and refused; no writer ever appends after a hole. A
/// crash between creating a segment and sealing its predecessor leaves an unsealed segment
/// followed by an empty one: the writer finishes the roll, readers accept it.
///
/// ## What each failure does
/// - **Crash (SIGKILL):** the commit in flight may be torn or missing: it was never
///   acknowledged, and the writer cuts it on open (reported in `OpenReport.truncation`).
/// - **Power cut:** any subset of the pages written since the last `fdatasync` may be lost or
///   read back as zeros, in any order; pages synced before are intact (the disk's own sector
///   writes are assumed atomic). Only the commit in flight can be affected; it is cut as above,
///   however its pages came back (a zeroed page before a surviving record included).
/// - **A bad byte** in anything acknowledged: damage. Open and reads refuse with file, offset
///   and position; `verify` reports it and, past it, every further problem. Nothing is cut.
/// - **Full disk or EIO:** the append fails, the file is cut back to its last durable size and
///   the cut is fsync'd; the writer refuses appends until reopened. Readers never saw the bytes.
///
/// Version 1 logs (records without commit frames) are refused with the file and the version
/// found; this Prism does not read them.
struct HeaderProblem: Error { var reason: String; var unsupportedVersion: UInt32? = nil }

public enum RecordFormat {
    public static let magic: [UInt8] = Array("PRISMLOG".utf8)
    public static let version: UInt32 = 2
    public static let headerSize = 32
    public static let frameSize = 8
    /// Fixed part of a body, before the variable-length strings and payload.
    public static let fixedBodySize = 30
    public static let recordOverhead = frameSize + fixedBodySize
    /// Largest body accepted: bigger records are refused on append and treated as damage on read.
    public static let maxBodySize = 64 << 20

    public static let commitHeaderSize = 48
    /// `PCMT` read as a little-endian UInt32.
    static let commitMagic: UInt32 = 0x544D_4350

    static let flagEndsBatch: UInt8 = 1

    /// What a commit holds.
    public enum CommitKind: UInt8, Sendable {
        /// A group commit of one or more whole batches.
        case events = 0
        /// No records: the durable head is `last`; written on clean close and on open.
        case mark = 1
        /// No records: the segment ends here and its successor, starting at `last + 1`, exists.
        case seal = 2
    }

    /// A parsed, checksum-verified commit header.
    struct CommitHeader: Equatable {
        var kind: CommitKind
        var length: Int64
        var offset: Int64
        var first: UInt64
        var last: UInt64
        var checksum: UInt32
        var end: Int64 { offset + length }
        var count: UInt64 { last &- first &+ 1 }
    }

    // MARK: Segment header

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
        guard bytes.count >= 12 else {
            return .failure(HeaderProblem(reason: "segment header is truncated: \(bytes.count) of \(headerSize) bytes"))
        }
        guard Array(bytes[0..<8]) == magic else { return .failure(HeaderProblem(reason: "not a Prism segment: bad magic number")) }
        // The version comes before anything else: an older format is named, not called damage.
        let version = load(bytes, 8) as UInt32
        guard version == RecordFormat.version else {
            return .failure(HeaderProblem(
                reason: "segment format version \(version) is not supported: this Prism reads only format version \(RecordFormat.version)"
                    + (version < RecordFormat.version
                        ? " (version \(version) has no commit frames, so acknowledged data could not be told from a torn write); read it with the Prism that wrote it, e.g. `prism export`, or start a new data folder"
                        : ""),
                unsupportedVersion: version))
        }
        guard bytes.count >= headerSize else {
            return .failure(HeaderProblem(reason: "segment header is truncated: \(bytes.count) of \(headerSize) bytes"))
        }
        let crc = load(bytes, 24) as UInt32
        guard crc == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<24])) else {
            return .failure(HeaderProblem(reason: "segment header checksum mismatch"))
        }
        return .success(load(bytes, 16) as UInt64)
    }

    // MARK: Commit header

    /// Fills the 48-byte commit header at `p`. `recordChecksums` is the CRC-32C of the stored
    /// checksums of the commit's records, in order (0 for none).
    static func storeCommitHeader(
        _ p: UnsafeMutableRawPointer, kind: CommitKind, length: Int64, offset: Int64,
        first: UInt64, last: UInt64, recordChecksums: UInt32
    ) {
        p.storeBytes(of: commitMagic.littleEndian, toByteOffset: 0, as: UInt32.self)
        p.storeBytes(of: UInt32(kind.rawValue).littleEndian, toByteOffset: 4, as: UInt32.self)
        p.storeBytes(of: UInt64(length).littleEndian, toByteOffset: 8, as: UInt64.self)
        p.storeBytes(of: UInt64(offset).littleEndian, toByteOffset: 16, as: UInt64.self)
        p.storeBytes(of: first.littleEndian, toByteOffset: 24, as: UInt64.self)
        p.storeBytes(of: last.littleEndian, toByteOffset: 32, as: UInt64.self)
        let checksum = CRC32C.update(recordChecksums, UnsafeRawBufferPointer(start: p, count: 40))
        p.storeBytes(of: checksum.littleEndian, toByteOffset: 40, as: UInt32.self)
        let headerChecksum = CRC32C.checksum(UnsafeRawBufferPointer(start: p, count: 44))
        p.storeBytes(of: headerChecksum.littleEndian, toByteOffset: 44, as: UInt32.self)
    }

    /// A whole head mark or seal: a commit with no records.
    static func markCommit(_ kind: CommitKind, offset: Int64, head: UInt64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: commitHeaderSize)
        bytes.withUnsafeMutableBytes {
            storeCommitHeader($0.baseAddress!, kind: kind, length: Int64(commitHeaderSize), offset: offset,
                              first: head + 1, last: head, recordChecksums: 0)
        }
        return bytes
    }

    enum ParsedCommitHeader {
        case header(CommitHeader)
        /// All 48 bytes are zero: space never written (or a page that never reached the disk).
        case zeros
        case invalid(String)
    }

    /// Checks the commit header at the start of `bytes` (at least 48 bytes), found at file
    /// offset `offset`. The commit checksum is checked later, against the records.
    static func parseCommitHeader(_ bytes: UnsafeRawBufferPointer, at offset: Int64) -> ParsedCommitHeader {
        let words = UnsafeRawBufferPointer(rebasing: bytes[0..<commitHeaderSize])
        if words.allSatisfy({ $0 == 0 }) { return .zeros }
        guard load(words, 44) as UInt32 == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: words[0..<44])) else {
            return .invalid("commit header checksum mismatch")
        }
        guard load(words, 0) as UInt32 == commitMagic else { return .invalid("bad commit magic number") }
        guard let kind = CommitKind(rawValue: words[4]), words[5] == 0, words[6] == 0, words[7] == 0 else {
            return .invalid("unknown commit kind \(words[4])")
        }
        let length = load(words, 8) as UInt64
        let at = load(words, 16) as UInt64
        let first = load(words, 24) as UInt64
        let last = load(words, 32) as UInt64
        guard at == UInt64(offset) else {
            return .invalid("commit header says offset \(at) but lies at \(offset): a stray copy, not a commit here")
        }
        switch kind {
        case .events:
            guard last >= first, last - first < UInt64(Int32.max),
                  length >= UInt64(commitHeaderSize) + (last - first + 1) * UInt64(recordOverhead),
                  length < 1 << 48
            else { return .invalid("commit header has impossible length \(length) for positions \(first)...\(last)") }
        case .mark, .seal:
            guard length == UInt64(commitHeaderSize), first == last &+ 1 else {
                return .invalid("a head mark or seal with length \(length) and positions \(first)...\(last)")
            }
        }
        return .header(CommitHeader(
            kind: kind, length: Int64(length), offset: offset, first: first, last: last, checksum: load(words, 40)))
    }

    // MARK: Records

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
        let body = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        guard body >= fixedBodySize, body <= maxBodySize else {
            return .invalid("bad record length \(body)")
        }
        let size = frameSize + body
        guard bytes.count >= size else { return .incomplete(needed: size) }
        if verify {
            let stored = UInt32(littleEndian: bytes.loadUnaligned(as: UInt32.self))
            guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[4..<size])) == stored else {
                return .invalid("record checksum mismatch")
            }
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

    /// The stored checksum of the record at the start of `bytes`.
    @inline(__always)
    static func storedChecksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        UInt32(littleEndian: bytes.loadUnaligned(as: UInt32.self))
    }

    static func store<T: FixedWidthInteger>(_ bytes: inout [UInt8], _ offset: Int, _ value: T) {
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self) }
    }

    static func load<T: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> T {
        T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    // MARK: Segment names

    /// The file name of the segment whose first position is `position`.
    public static func segmentName(_ position: UInt64) -> String {
        let digits = String(position)
        return "seg-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".log"
    }

    /// The first position a segment file name tells, or nil for anything but the one canonical
    /// spelling `seg-` + 20 ASCII digits + `.log` (so `+`, spaces or fewer digits never parse).
    public static func segmentFirstPosition(_ name: String) -> UInt64? {
        let utf8 = Array(name.utf8)
        guard utf8.count == 28, name.hasPrefix("seg-"), name.hasSuffix(".log"),
              utf8[4..<24].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
        else { return nil }
        return UInt64(String(decoding: utf8[4..<24], as: UTF8.self))
    }

    /// True for a file that is not a canonical segment name but looks like one: after trimming
    /// whitespace, `seg-....log` in any case. Such a file is refused rather than ignored, since
    /// someone meant it as a segment or it aliases one.
    public static func looksLikeSegment(_ name: String) -> Bool {
        guard segmentFirstPosition(name) == nil else { return false }
        let trimmed = name.trimmingWhitespace.lowercased()
        return trimmed.hasPrefix("seg-") && trimmed.hasSuffix(".log")
    }
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s = s.dropFirst() }
        while let c = s.last, c.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
