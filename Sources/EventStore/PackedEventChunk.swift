/// Events packed in one byte buffer: stream, type, command id and payload of each event back to
/// back, with their lengths and metadata beside them, so an ``EventView`` points straight into
/// it. What the memory store keeps per append call and what the PostgreSQL store hands out per
/// page of rows: one layout, one reader, for every store that is not the file log.
public final class PackedEventChunk: EventBatchStorage {
    public struct Entry: Sendable {
        public var streamVersion: UInt64
        public var timestamp: Int64
        public var offset: Int
        public var streamCount: Int
        public var typeCount: Int
        public var idCount: Int
        public var payloadCount: Int
        public var endsBatch: Bool

        public init(streamVersion: UInt64, timestamp: Int64, offset: Int, streamCount: Int,
                    typeCount: Int, idCount: Int, payloadCount: Int, endsBatch: Bool) {
            self.streamVersion = streamVersion
            self.timestamp = timestamp
            self.offset = offset
            self.streamCount = streamCount
            self.typeCount = typeCount
            self.idCount = idCount
            self.payloadCount = payloadCount
            self.endsBatch = endsBatch
        }
    }

    public let firstPosition: UInt64
    public let bytes: [UInt8]
    public let entries: [Entry]
    public var lastPosition: UInt64 { firstPosition + UInt64(entries.count) - 1 }

    /// `entries[i]` is the event at `firstPosition + i`; its fields lie at `offset` in `bytes`,
    /// in the order stream, type, command id, payload.
    public init(firstPosition: UInt64, bytes: [UInt8], entries: [Entry]) {
        self.firstPosition = firstPosition
        self.bytes = bytes
        self.entries = entries
    }

    public func forEach(from: UInt64, through: UInt64, _ body: (EventView) throws -> Bool) rethrows -> Bool {
        let lo = from > firstPosition ? Int(from - firstPosition) : 0
        let hi = through >= lastPosition ? entries.count - 1 : Int(through) - Int(firstPosition)
        guard lo <= hi else { return true }
        return try bytes.withUnsafeBytes { raw in
            for i in lo...hi {
                let e = entries[i]
                var at = e.offset
                func take(_ n: Int) -> UnsafeRawBufferPointer {
                    defer { at += n }
                    return UnsafeRawBufferPointer(rebasing: raw[at..<(at + n)])
                }
                let stream = take(e.streamCount), type = take(e.typeCount)
                let id = take(e.idCount), payload = take(e.payloadCount)
                let view = EventView(
                    position: firstPosition + UInt64(i), streamVersion: e.streamVersion,
                    timestampNanos: e.timestamp, streamBytes: stream, typeBytes: type,
                    payload: payload, commandIdBytes: id, endsBatch: e.endsBatch)
                if try !body(view) { return false }
            }
            return true
        }
    }
}
