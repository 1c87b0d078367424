#if canImport(Glibc)
import Glibc
#endif

/// Raw memory holding whole records, freed with the last chunk that refers to it.
///
/// Why raw memory and not `[UInt8]`: the committer encodes a group commit straight into one
/// of these and then hands the very same memory to the in-memory tail (see
/// `EncodeBuffer.takeChunk`), so a commit's records are never copied a second time.
final class ChunkStorage: @unchecked Sendable {
    // @unchecked: written only by its one owner (the encoder or the disk reader that fills it)
    // before it is wrapped in a `LogChunk`; read-only from then on.
    @exclusivity(unchecked) private(set) var base: UnsafeMutableRawPointer
    @exclusivity(unchecked) private(set) var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        base = malloc(self.capacity)!
    }

    deinit { free(base) }

    /// Grows to at least `needed` bytes, keeping the first `used`.
    func reserve(_ needed: Int, used: Int) {
        guard needed > capacity else { return }
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        base = realloc(base, newCapacity)!
        capacity = newCapacity
    }

    /// Gives back the memory past `used` (in place: no copy), before the storage is kept long.
    func shrink(to used: Int) {
        guard used < capacity, used > 0 else { return }
        base = realloc(base, used)!
        capacity = used
    }
}

/// An immutable run of whole, checksum-verified records with contiguous positions, as they lie
/// on disk.
///
/// The in-memory tail is a list of chunks (one per group commit), and reads from disk produce
/// chunks too, so readers and subscribers handle one shape whatever the source. Chunks are
/// shared by reference and never mutated, which is what makes handing them across threads safe.
public final class LogChunk: EventBatchStorage {
    /// Position of the first record in the chunk.
    public let firstPosition: UInt64
    private let storage: ChunkStorage
    /// Where the records start in `storage`, and how many bytes they take.
    private let start: Int
    public let byteCount: Int
    /// Start offset of each record, from `start`.
    let offsets: [Int32]

    init(firstPosition: UInt64, storage: ChunkStorage, start: Int, count: Int, offsets: [Int32]) {
        precondition(!offsets.isEmpty, "a chunk holds at least one record")
        precondition(start + count <= storage.capacity)
        self.firstPosition = firstPosition
        self.storage = storage
        self.start = start
        self.byteCount = count
        self.offsets = offsets
    }

    public var count: Int { offsets.count }
    public var lastPosition: UInt64 { firstPosition + UInt64(offsets.count) - 1 }
    /// Record bytes, exactly as in the segment file.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage.base + start, count: byteCount) }

    /// Calls `body` for each record with a position in `from...through`, in order, until it
    /// returns false. Returns false when `body` stopped early.
    @discardableResult
    public func forEach(
        from: UInt64 = 0, through: UInt64 = .max, _ body: (RecordView) throws -> Bool
    ) rethrows -> Bool {
        let lo = from > firstPosition ? Int(from - firstPosition) : 0
        let hi = through >= lastPosition ? offsets.count - 1 : Int(through) - Int(firstPosition)
        guard lo <= hi else { return true }
        // The storage lives as long as this chunk, which the caller holds for the call.
        let raw = bytes
        return try withExtendedLifetime(storage) {
            for i in lo...hi {
                let start = Int(offsets[i])
                let end = i + 1 < offsets.count ? Int(offsets[i + 1]) : raw.count
                // Verified when the chunk was made (encoded by us, or read and checked from disk).
                guard case .record(let view, _) = RecordFormat.parse(UnsafeRawBufferPointer(rebasing: raw[start..<end]), verify: false)
                else { preconditionFailure("a verified chunk no longer parses") }
                if try !body(view) { return false }
            }
            return true
        }
    }
}
