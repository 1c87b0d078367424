/// The committer's reusable write buffer: records are encoded straight into raw memory, one
/// group commit after another, without per-record allocation or bounds-checked appends.
///
/// Owned by the committer thread alone (see `WriterState`).
final class EncodeBuffer {
    // Layout: one commit, as it goes to disk: the 48-byte commit header (filled by `finish`),
    // then the records. The header slot is always there, so the write is one `pwrite`.
    private(set) var base: UnsafeMutableRawPointer
    private(set) var count = RecordFormat.commitHeaderSize
    private var capacity: Int
    /// Start offset of each record in the buffer.
    var offsets: [Int32] = []
    /// Each record's stored checksum, in order: what the commit checksum covers.
    private var checksums: [UInt32] = []

    init(capacity: Int = 1 << 20) {
        self.capacity = capacity
        base = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    /// True when the commit holds no record.
    var isEmpty: Bool { offsets.isEmpty }
    /// The whole commit, header included.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    func removeAll() {
        count = RecordFormat.commitHeaderSize
        offsets.removeAll(keepingCapacity: true)
        checksums.removeAll(keepingCapacity: true)
    }

    private func reserve(_ extra: Int) {
        guard count + extra > capacity else { return }
        var newCapacity = capacity * 2
        while newCapacity < count + extra { newCapacity *= 2 }
        let grown = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        grown.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = grown
        capacity = newCapacity
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
        reserve(size)
        offsets.append(Int32(count))
        let p = base + count
        p.storeBytes(of: UInt32(body).littleEndian, toByteOffset: 4, as: UInt32.self)
        p.storeBytes(of: position.littleEndian, toByteOffset: 8, as: UInt64.self)
        p.storeBytes(of: streamVersion.littleEndian, toByteOffset: 16, as: UInt64.self)
        p.storeBytes(of: timestamp.littleEndian, toByteOffset: 24, as: Int64.self)
        p.storeBytes(of: endsBatch ? RecordFormat.flagEndsBatch : 0, toByteOffset: 32, as: UInt8.self)
        p.storeBytes(of: UInt8(typeCount), toByteOffset: 33, as: UInt8.self)
        p.storeBytes(of: UInt16(streamCount).littleEndian, toByteOffset: 34, as: UInt16.self)
        p.storeBytes(of: UInt8(idCount), toByteOffset: 36, as: UInt8.self)
        p.storeBytes(of: UInt8(0), toByteOffset: 37, as: UInt8.self)
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
        count += size
    }

    /// Fills the commit header for a commit written at file offset `offset`; returns the
    /// commit's first and last position.
    @discardableResult
    func finish(offset: Int64) -> (first: UInt64, last: UInt64) {
        precondition(!offsets.isEmpty, "a commit of events holds at least one record")
        let first = UInt64(littleEndian: (base + Int(offsets[0]) + 8).loadUnaligned(as: UInt64.self))
        let last = first + UInt64(offsets.count) - 1
        let recordChecksums = checksums.withUnsafeBytes { CRC32C.checksum($0) }
        RecordFormat.storeCommitHeader(
            base, kind: .events, length: Int64(count), offset: offset, first: first, last: last,
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
        let moved = [UInt8](UnsafeRawBufferPointer(start: base + mark, count: count - mark))
        let movedOffsets = offsets[markOffsets...].map { $0 - Int32(mark) }
        let movedChecksums = Array(checksums[markOffsets...])
        offsets.removeSubrange(markOffsets...)
        checksums.removeSubrange(markOffsets...)
        count = mark
        return (moved, movedOffsets, movedChecksums)
    }

    /// Puts back records taken with `split`, into an empty commit.
    func restore(_ moved: (bytes: [UInt8], offsets: [Int32], checksums: [UInt32])) {
        precondition(offsets.isEmpty)
        reserve(moved.bytes.count)
        let start = count
        moved.bytes.withUnsafeBytes { (base + start).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        count += moved.bytes.count
        offsets = moved.offsets.map { $0 + Int32(start) }
        checksums = moved.checksums
    }

    /// An immutable copy of the records (not the commit header) for the in-memory tail.
    func chunk(firstPosition: UInt64) -> LogChunk {
        let header = RecordFormat.commitHeaderSize
        return LogChunk(
            firstPosition: firstPosition,
            bytes: [UInt8](UnsafeRawBufferPointer(start: base + header, count: count - header)),
            offsets: offsets.map { $0 - Int32(header) })
    }
}
