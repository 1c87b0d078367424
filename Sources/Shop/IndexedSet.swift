/// A set that can also be indexed, with O(1) insert, remove and random pick.
///
/// Why not `Set`: the load generator picks "a random order awaiting payment" on every command,
/// and it must do so deterministically (a `Set`'s order changes from one process to the next with
/// the hash seed) and without scanning every order ever placed. Removal swaps the last element
/// into the hole, so the order of elements depends only on the sequence of inserts and removes.
public struct IndexedSet<Element: Hashable & Sendable>: Sendable {
    public private(set) var elements: [Element] = []
    private var indexOf: [Element: Int] = [:]

    public init() {}

    public var count: Int { elements.count }
    public var isEmpty: Bool { elements.isEmpty }

    public subscript(index: Int) -> Element { elements[index] }

    public func contains(_ element: Element) -> Bool { indexOf[element] != nil }

    /// Adds `element` at the end; no effect when it is already there.
    public mutating func insert(_ element: Element) {
        guard indexOf[element] == nil else { return }
        indexOf[element] = elements.count
        elements.append(element)
    }

    /// Removes `element` by moving the last element into its slot; no effect when absent.
    public mutating func remove(_ element: Element) {
        guard let index = indexOf.removeValue(forKey: element) else { return }
        let last = elements.removeLast()
        if index < elements.count {
            elements[index] = last
            indexOf[last] = index
        }
    }
}

extension IndexedSet: Equatable {
    /// Equal when they hold the same elements in the same order (the index is derived from it).
    public static func == (lhs: IndexedSet, rhs: IndexedSet) -> Bool { lhs.elements == rhs.elements }
}
