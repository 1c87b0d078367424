import EventStore
import PostgresNIO

/// A page of `prism_events` rows in one byte buffer: what a read or a subscription step hands
/// out. Stream, type, command id and payload of each row lie back to back in `bytes`, with their
/// lengths beside them, so an ``EventView`` points straight into it.
final class PostgresChunk: EventBatchStorage {
    struct Entry {
        var streamVersion: UInt64
        var timestamp: Int64
        var offset: Int
        var streamCount: Int
        var typeCount: Int
        var idCount: Int
        var payloadCount: Int
        var endsBatch: Bool
    }

    let firstPosition: UInt64
    let bytes: [UInt8]
    let entries: [Entry]
    var lastPosition: UInt64 { firstPosition + UInt64(entries.count) - 1 }

    init(firstPosition: UInt64, bytes: [UInt8], entries: [Entry]) {
        self.firstPosition = firstPosition
        self.bytes = bytes
        self.entries = entries
    }

    /// The columns a read selects, in the order ``Builder/add(_:)`` takes them.
    static let columns = "position, stream_version, recorded_ns, ends_batch, stream, type, command_id, payload"

    /// Collects rows as they arrive on the event loop; read by the caller only after the query's
    /// future completed (which orders the two).
    final class Builder: @unchecked Sendable {
        var first: UInt64 = 0
        var expected: UInt64
        var bytes: [UInt8] = []
        var entries: [Entry] = []
        /// The first position missing from the rows, if any: damage, since positions are dense.
        var gap: UInt64?

        init(from: UInt64) {
            expected = from
            first = from
        }

        func add(_ row: PostgresRow) throws {
            var cells = row.makeIterator()
            func next() throws -> PostgresCell {
                guard let c = cells.next() else { throw StoreError(.corruption, "a prism_events row has too few columns") }
                return c
            }
            let position = UInt64(try next().decode(Int64.self))
            if position != expected {
                if gap == nil { gap = expected }
                return
            }
            expected += 1
            let version = UInt64(try next().decode(Int64.self))
            let timestamp = try next().decode(Int64.self)
            let ends = try next().decode(Bool.self)
            let offset = bytes.count
            func take(_ cell: PostgresCell) -> Int {
                guard let b = cell.bytes else { return 0 }
                bytes.append(contentsOf: b.readableBytesView)
                return b.readableBytes
            }
            let s = take(try next()), t = take(try next()), i = take(try next()), p = take(try next())
            entries.append(Entry(
                streamVersion: version, timestamp: timestamp, offset: offset, streamCount: s,
                typeCount: t, idCount: i, payloadCount: p, endsBatch: ends))
        }

        func build() -> PostgresChunk? {
            entries.isEmpty ? nil : PostgresChunk(firstPosition: first, bytes: bytes, entries: entries)
        }
    }

    func forEach(from: UInt64, through: UInt64, _ body: (EventView) throws -> Bool) rethrows -> Bool {
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
