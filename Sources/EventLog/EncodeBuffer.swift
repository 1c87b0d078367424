/// The committer's write buffer: records are encoded straight into raw memory, one group
/// commit after another, without per-record allocation or bounds-checked appends; a commit's
/// memory then becomes the in-memory tail's chunk as it is (`takeChunk`), never copied.
///
/// Owned by the committer thread alone (see `WriterState`). The stored properties are
/// `@exclusivity(unchecked)`: only the commit leader ever touches them, one call at a time, and
/// the dynamic exclusivity checks on a class's properties were about 250 instructions per
/// appended event (callgrind), a quarter of the append path.
final class EncodeBuffer {
    // Layout: one commit, as it goes to disk: the 48-byte commit header (filled by `finish`),
    // then the records. The header slot is always there, so the write is one `pwrite`.
    @exclusivity(unchecked) private var storage: ChunkStorage
    @exclusivity(unchecked) private(set) var count = RecordFormat.commitHeaderSize
    /// Start offset of each record, from the end of the commit header (as in the chunk).
    @exclusivity(unchecked) private(set) var offsets: [Int32] = []
    /// Each record's stored checksum, in order: what the commit checksum covers.
    @exclusivity(unchecked) private var checksums: [UInt32] = []

    init(capacity: Int = 64 << 10) {
        storage = ChunkStorage(capacity: capacity)
    }

    var base: UnsafeMutableRawPointer { storage.base }
    /// True when the commit holds no record.
    var isEmpty: Bool { offsets.isEmpty }
    /// The whole commit, header included.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage.base, count: count) }

    func removeAll() {
        count = RecordFormat.commitHeaderSize
        offsets.removeAll(keepingCapacity: true)
        checksums.removeAll(keepingCapacity: true)
    }

    /// Encodes one record (see `RecordFormat` for the layout) and checksums it, in one pass.
    @inline(__always)
    func append(position: UInt64, streamVersion: UInt64, timestamp: Int64, endsBatch: Bool, event pointer: UnsafePointer<NewEvent>) {
        // Fields are read in place through the pointer: copying the struct would retain and
        // release its four references per record.
        let streamCount = pointer.pointee.stream.utf8.count, typeCount = pointer.pointee.type.utf8.count
        let idCount = pointer.pointee.commandId?.utf8.count ?? 0
        let payloadCount = pointer.pointee.payload.count
        let body = RecordFormat.fixedBodySize + streamCount + typeCount + idCount + payloadCount
        let size = RecordFormat.frameSize + body
        let at0 = count
        storage.reserve(at0 + size, used: at0)
        offsets.append(Int32(at0 - RecordFormat.commitHeaderSize))
        let p = storage.base + at0
        p.storeBytes(of: UInt32(body).littleEndian, toByteOffset: 4, as: UInt32.self)
        p.storeBytes(of: position.littleEndian, toByteOffset: 8, as: UInt64.self)
        p.storeBytes(of: streamVersion.littleEndian, toByteOffset: 16, as: UInt64.self)
        p.storeBytes(of: timestamp.littleEndian, toByteOffset: 24, as: Int64.self)
        // Bytes 32..<38: flags, type length, stream length, id length, reserved; one store.
        let small = UInt64(endsBatch ? RecordFormat.flagEndsBatch : 0) | UInt64(typeCount) << 8
            | UInt64(streamCount) << 16 | UInt64(idCount) << 32
        p.storeBytes(of: UInt32(truncatingIfNeeded: small).littleEndian, toByteOffset: 32, as: UInt32.self)
        p.storeBytes(of: UInt16(truncatingIfNeeded: small >> 32).littleEndian, toByteOffset: 36, as: UInt16.self)
        var at = RecordFormat.recordOverhead
        Self.copyUTF8(pointer.pointee.stream, to: p + at)
        at += streamCount
        Self.copyUTF8(pointer.pointee.type, to: p + at)
        at += typeCount
        if idCount > 0, let id = pointer.pointee.commandId {
            Self.copyUTF8(id, to: p + at)
            at += idCount
        }
        if payloadCount > 0 {
            pointer.pointee.payload.withUnsafeBytes { (p + at).copyMemory(from: $0.baseAddress!, byteCount: payloadCount) }
        }
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(start: p + 4, count: size - 4))
        p.storeBytes(of: crc.littleEndian, toByteOffset: 0, as: UInt32.self)
        checksums.append(crc.littleEndian)
        count = at0 + size
    }

    /// Fills the commit header for a commit written at file offset `offset`; returns the
    /// commit's first and last position.
    @discardableResult
    func finish(offset: Int64) -> (first: UInt64, last: UInt64) {
        precondition(!offsets.isEmpty, "a commit of events holds at least one record")
        let header = RecordFormat.commitHeaderSize
        let first = UInt64(littleEndian: (storage.base + header + Int(offsets[0]) + 8).loadUnaligned(as: UInt64.self))
        let last = first + UInt64(offsets.count) - 1
        let recordChecksums = checksums.withUnsafeBytes { CRC32C.checksum($0) }
        RecordFormat.storeCommitHeader(
            storage.base, kind: .events, length: Int64(count), offset: offset, first: first, last: last,
            recordChecksums: recordChecksums)
        return (first, last)
    }

    /// Copies a string's UTF-8 bytes, straight from its storage when it is contiguous (native
    /// and small strings are).
    @inline(__always)
    private static func copyUTF8(_ string: String, to destination: UnsafeMutableRawPointer) {
        let done: Void? = string.utf8.withContiguousStorageIfAvailable { destination.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        if done == nil {
            var offset = 0
            for byte in string.utf8 {
                destination.storeBytes(of: byte, toByteOffset: offset, as: UInt8.self)
                offset += 1
            }
        }
    }

    /// Removes the records from byte `mark` (record `markOffsets`) on and returns them, for a
    /// batch that must move to the next segment.
    func split(at mark: Int, offsetsFrom markOffsets: Int) -> (bytes: [UInt8], offsets: [Int32], checksums: [UInt32]) {
        let moved = [UInt8](UnsafeRawBufferPointer(start: storage.base + mark, count: count - mark))
        let shift = Int32(mark - RecordFormat.commitHeaderSize)
        let movedOffsets = offsets[markOffsets...].map { $0 - shift }
        let movedChecksums = Array(checksums[markOffsets...])
        offsets.removeSubrange(markOffsets...)
        checksums.removeSubrange(markOffsets...)
        count = mark
        return (moved, movedOffsets, movedChecksums)
    }

    /// Puts back records taken with `split`, into an empty commit.
    func restore(_ moved: (bytes: [UInt8], offsets: [Int32], checksums: [UInt32])) {
        precondition(offsets.isEmpty)
        let start = count
        storage.reserve(start + moved.bytes.count, used: start)
        moved.bytes.withUnsafeBytes { (storage.base + start).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        count += moved.bytes.count
        offsets = moved.offsets
        checksums = moved.checksums
    }

    /// The records (not the commit header) as a chunk for the in-memory tail, in this very
    /// memory, which the chunk then owns; the buffer starts over in fresh memory, sized for a
    /// commit like this one. Leaves the buffer empty.
    func takeChunk(firstPosition: UInt64) -> LogChunk {
        let header = RecordFormat.commitHeaderSize
        let used = count
        let taken = storage
        taken.shrink(to: used)
        let chunk = LogChunk(firstPosition: firstPosition, storage: taken, start: header, count: used - header, offsets: offsets)
        // Room for a commit twice this size before growing, but no less than 64 KiB: small
        // commits then come from the heap, without a system call or a page fault each.
        storage = ChunkStorage(capacity: max(64 << 10, 2 * used))
        let records = offsets.count
        offsets = []
        offsets.reserveCapacity(records)
        checksums.removeAll(keepingCapacity: true)
        count = header
        return chunk
    }
}
