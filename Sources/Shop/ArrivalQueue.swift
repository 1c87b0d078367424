/// Keys in the order they arrived, with O(1) amortized removal from anywhere.
///
/// The warehouse's pick queue (paid orders, oldest payment first) and support's oldest unpaid
/// orders are both "open things in the order they opened". Events arrive in position order, so
/// arrival order *is* the sort order, and no sort is ever needed. Removal leaves a tombstone that
/// is skipped when reading and swept away once tombstones outnumber live entries, so a view costs
/// time proportional to the open entries, never to the history of the log.
struct ArrivalQueue<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private var slots: [(key: Key, value: Value)?] = []
    /// Index of the first slot that may be live; slots before it are all tombstones.
    private var head = 0
    private var slotOf: [Key: Int] = [:]

    var count: Int { slotOf.count }

    /// Adds `key` at the back; a key already queued keeps its place and its value.
    mutating func append(_ key: Key, _ value: Value) {
        guard slotOf[key] == nil else { return }
        slotOf[key] = slots.count
        slots.append((key, value))
    }

    mutating func remove(_ key: Key) {
        guard let slot = slotOf.removeValue(forKey: key) else { return }
        slots[slot] = nil
        while head < slots.count, slots[head] == nil { head += 1 }
        let tombstones = slots.count - slotOf.count
        if tombstones > 32 && tombstones > slotOf.count { compact() }
    }

    /// The first `limit` live entries, oldest first.
    func prefix(_ limit: Int) -> [(key: Key, value: Value)] {
        var result: [(key: Key, value: Value)] = []
        result.reserveCapacity(min(limit, count))
        var index = head
        while result.count < limit, index < slots.count {
            if let entry = slots[index] { result.append(entry) }
            index += 1
        }
        return result
    }

    /// All live entries, oldest first.
    var all: [(key: Key, value: Value)] { prefix(count) }

    private mutating func compact() {
        var live: [(key: Key, value: Value)?] = []
        live.reserveCapacity(slotOf.count * 2)
        for case let entry? in slots[head...] {
            slotOf[entry.key] = live.count
            live.append(entry)
        }
        slots = live
        head = 0
    }
}
