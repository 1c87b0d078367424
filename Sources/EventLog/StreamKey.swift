/// A stream name as a key of the writer's stream-version index, hashed once with FNV-1a.
///
/// Why not `String` itself: the index is consulted for every appended event and holds one
/// entry per stream (millions for a long log), so SipHash on every lookup and on every rehash
/// as the table grows showed up as a third of the append path's CPU time. The index lives only
/// in this process's memory, so the collision resistance SipHash buys against crafted keys
/// is not needed here; equality still compares the full names.
struct StreamKey: Hashable {
    let name: String
    let hash: Int

    @inline(__always)
    init(_ name: String) {
        self.name = name
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        let done: Void? = name.utf8.withContiguousStorageIfAvailable { bytes in
            for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        }
        if done == nil {
            for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        }
        hash = Int(bitPattern: UInt(h ^ (h >> 29)))
    }

    static func == (a: StreamKey, b: StreamKey) -> Bool { a.hash == b.hash && a.name == b.name }

    func hash(into hasher: inout Hasher) { hasher.combine(hash) }

    /// The precomputed hash, mixed with the table's seed, without running SipHash.
    func _rawHashValue(seed: Int) -> Int { (hash ^ seed) &* 0x5bd1_e995 }
}
