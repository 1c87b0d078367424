import EventStore
import PostgresNIO

/// Reading `prism_events` rows into a ``PackedEventChunk``: what a read or a subscription step
/// hands out, so an ``EventView`` points straight into the page's one byte buffer.
enum PostgresChunk {
    /// The columns a read selects, in the order ``Builder/add(_:)`` takes them.
    static let columns = "position, stream_version, recorded_ns, ends_batch, stream, type, command_id, payload"

    /// Collects rows as they arrive on the event loop; read by the caller only after the query's
    /// future completed (which orders the two).
    final class Builder: @unchecked Sendable {
        var first: UInt64 = 0
        var expected: UInt64
        var bytes: [UInt8] = []
        var entries: [PackedEventChunk.Entry] = []
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
            entries.append(PackedEventChunk.Entry(
                streamVersion: version, timestamp: timestamp, offset: offset, streamCount: s,
                typeCount: t, idCount: i, payloadCount: p, endsBatch: ends))
        }

        func build() -> PackedEventChunk? {
            entries.isEmpty ? nil : PackedEventChunk(firstPosition: first, bytes: bytes, entries: entries)
        }
    }
}
