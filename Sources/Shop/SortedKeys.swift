/// Strings kept sorted as they are inserted, so that a view listing products "by SKU" or
/// customers "by customer" never sorts: keys are only ever added (a SKU or a customer, once seen,
/// stays), which costs one binary search and one array insert the first time a key appears.
struct SortedKeys: Sendable {
    private(set) var keys: [String] = []

    init() {}

    /// Keys already in order (a snapshot's); out-of-order or repeated keys are refused.
    init?(sorted keys: [String]) {
        for i in keys.indices.dropFirst() where !(keys[i - 1] < keys[i]) { return nil }
        self.keys = keys
    }

    /// Inserts `key` in order; no effect when it is already there.
    mutating func insert(_ key: String) {
        var low = 0
        var high = keys.count
        while low < high {
            let mid = (low + high) / 2
            if keys[mid] < key { low = mid + 1 } else { high = mid }
        }
        if low < keys.count && keys[low] == key { return }
        keys.insert(key, at: low)
    }
}
