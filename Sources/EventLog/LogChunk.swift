/// An immutable run of whole, checksum-verified records with contiguous positions, as they lie
/// on disk.
///
/// The in-memory tail is a list of chunks (one per group commit), and reads from disk produce
/// chunks too, so readers and subscribers handle one shape whatever the source. Chunks are
/// shared by reference and never mutated, which is what makes handing them across threads safe.
public final class LogChunk: EventBatchStorage {
    /// Position of the first record in the chunk.
    public let firstPosition: UInt64
    /// Record bytes, exactly as in the segment file.
    let bytes: [UInt8]
    /// Start offset of each record in `bytes`.
    let offsets: [Int32]

    init(firstPosition: UInt64, bytes: [UInt8], offsets: [Int32]) {
        precondition(!offsets.isEmpty, "a chunk holds at least one record")
        self.firstPosition = firstPosition
        self.bytes = bytes
        self.offsets = offsets
    }

    public var count: Int { offsets.count }
    public var lastPosition: UInt64 { firstPosition + UInt64(offsets.count) - 1 }
    public var byteCount: Int { bytes.count }

    /// Calls `body` for each record with a position in `from...through`, in order, until it
    /// returns false. Returns false when `body` stopped early.
    @discardableResult
    public func forEach(
        from: UInt64 = 0, through: UInt64 = .max, _ body: (RecordView) throws -> Bool
    ) rethrows -> Bool {
        let lo = from > firstPosition ? Int(from - firstPosition) : 0
        let hi = through >= lastPosition ? offsets.count - 1 : Int(through) - Int(firstPosition)
        guard lo <= hi else { return true }
        return try bytes.withUnsafeBytes { raw in
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
