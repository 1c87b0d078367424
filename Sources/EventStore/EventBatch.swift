/// What a backend keeps a batch of events in: the file log's chunk of checksummed records, the
/// memory store's array. Immutable once made, so it can be handed across threads.
///
/// Why a protocol and not one neutral byte layout: converting every record into a second layout
/// would copy every event once more on the replay path. The existential is called once per
/// batch; inside, the backend hands out ``EventView``s straight from its own bytes.
public protocol EventBatchStorage: Sendable {
    /// Calls `body` for each event with a position in `from...through`, in order, until it
    /// returns false. Returns false when `body` stopped early.
    func forEach(from: UInt64, through: UInt64, _ body: (EventView) throws -> Bool) rethrows -> Bool
}

/// A run of events with contiguous positions `first...last`: what a subscription hands out.
public struct EventBatch: Sendable {
    public let storage: any EventBatchStorage
    public let first: UInt64
    public let last: UInt64

    public init(storage: any EventBatchStorage, first: UInt64, last: UInt64) {
        precondition(first <= last, "a batch holds at least one event")
        self.storage = storage
        self.first = first
        self.last = last
    }

    public var count: Int { Int(last - first + 1) }

    /// Calls `body` for every event of the batch, in position order.
    public func forEach(_ body: (EventView) throws -> Void) rethrows {
        _ = try storage.forEach(from: first, through: last) { try body($0); return true }
    }

    /// Owned copies of the events.
    public func events() -> [RecordedEvent] {
        var out: [RecordedEvent] = []
        out.reserveCapacity(count)
        forEach { out.append($0.materialize()) }
        return out
    }
}
