/// Where an order stands: `placed -> paid -> shipped`, and `placed | paid -> cancelled`.
public enum OrderStatus: String, Sendable, Equatable, CaseIterable {
    case placed, paid, shipped, cancelled

    /// `placed` or `paid`: the order still holds stock and may still change.
    public var isOpen: Bool { self == .placed || self == .paid }
}

/// The shop's write model: exactly what ``ShopDomain/decide(_:state:)`` needs to accept or reject
/// a command, and nothing a screen needs (no names, no customers' histories, no money totals).
///
/// It grows with what is open (products, placed and paid orders with their lines), not with
/// history: "ORDER exists" must still be answered for every order id ever used, so a closed
/// order keeps only its status, in one byte (see ``OrderBook``).
public struct ShopState: Sendable, Equatable {
    /// A product as decisions see it.
    public struct Product: Sendable, Equatable {
        public var priceCents: Int64
        /// All restocked minus all shipped quantities.
        public var onHand: Int64 = 0
        /// Quantities on lines of orders now `placed` or `paid`.
        public var reserved: Int64 = 0

        public init(priceCents: Int64, onHand: Int64 = 0, reserved: Int64 = 0) {
            self.priceCents = priceCents
            self.onHand = onHand
            self.reserved = reserved
        }

        /// What a new order may still take; never below zero.
        public var available: Int64 { max(0, onHand - reserved) }
    }

    /// An order as decisions see it.
    public struct Order: Sendable, Equatable {
        public var status: OrderStatus
        /// The lines while the order is open (needed to release or ship its stock); empty after.
        public var lines: [OrderLine]
        public var totalCents: Int64
        /// The payment received; 0 until paid. A cancellation refunds exactly this.
        public var paidCents: Int64 = 0

        public init(status: OrderStatus, lines: [OrderLine], totalCents: Int64, paidCents: Int64 = 0) {
            self.status = status
            self.lines = lines
            self.totalCents = totalCents
            self.paidCents = paidCents
        }
    }

    public internal(set) var products: [String: Product] = [:]
    public internal(set) var orders = OrderBook()
    /// The `n` of the next automatic order id `o-<n>`; always names a free id.
    public internal(set) var nextOrderNumber = 1
    /// Orders now `placed` and now `paid`, indexable so that the load generator (and tools) can
    /// pick one at random in O(1) and deterministically. Kept here because keeping them costs one
    /// hash insert and remove per event, while finding them otherwise costs a scan of all orders.
    public internal(set) var placedOrders = IndexedSet<String>()
    public internal(set) var paidOrders = IndexedSet<String>()

    public init() {}

    /// The id that a `place` without `as ORDER` gets now.
    public var nextOrderId: String { "o-\(nextOrderNumber)" }
}

/// The orders as decisions see them: open ones in full, closed ones as a status alone.
///
/// Why not one dictionary of orders: a shop that has run for a week has closed millions of
/// orders, and a `String` key plus an `Order` per closed order cost the writer about 300 bytes
/// each for nothing a decision needs beyond "it exists, and is shipped or cancelled". Closed
/// orders with the automatic ids `o-<n>` cost one byte each in a dense array indexed by `n`;
/// any other id (`place ... as ORDER`) goes to a small dictionary.
public struct OrderBook: Sendable, Equatable {
    /// Orders now `placed` or `paid`.
    public internal(set) var open: [String: ShopState.Order] = [:]
    /// Status code (see ``code(_:)``) of closed order `o-<n>` at index `n`; 0: not closed here.
    var closedNumbered: [UInt8] = []
    var closedNamed: [String: OrderStatus] = [:]

    public init() {}

    /// The order called `id`; a closed one has its status and nothing else (no lines, 0 cents).
    public subscript(id: String) -> ShopState.Order? {
        if let order = open[id] { return order }
        guard let status = closedStatus(id) else { return nil }
        return ShopState.Order(status: status, lines: [], totalCents: 0)
    }

    /// Closed orders, for tests and tools.
    public var closedCount: Int { closedNumbered.reduce(0) { $0 + ($1 == 0 ? 0 : 1) } + closedNamed.count }

    func closedStatus(_ id: String) -> OrderStatus? {
        if let n = Self.number(id), n < closedNumbered.count, let s = Self.status(closedNumbered[n]) { return s }
        return closedNamed[id]
    }

    mutating func close(_ id: String, as status: OrderStatus) {
        open.removeValue(forKey: id)
        // Dense only near the ids in use, so that `as o-999999999` cannot make the array huge.
        if let n = Self.number(id), n < closedNumbered.count + 65_536 {
            if n >= closedNumbered.count {
                closedNumbered.append(contentsOf: repeatElement(0, count: max(n + 1 - closedNumbered.count, closedNumbered.count / 2)))
            }
            closedNumbered[n] = Self.code(status)
        } else {
            closedNamed[id] = status
        }
    }

    static func code(_ s: OrderStatus) -> UInt8 {
        switch s {
        case .placed: 3
        case .paid: 4
        case .shipped: 1
        case .cancelled: 2
        }
    }

    static func status(_ code: UInt8) -> OrderStatus? {
        switch code {
        case 1: .shipped
        case 2: .cancelled
        case 3: .placed
        case 4: .paid
        default: nil
        }
    }

    /// `n` of an automatic id `o-<n>` (no sign, no leading zero, at most 9 digits), else nil.
    static func number(_ id: String) -> Int? {
        var id = id
        return id.withUTF8 { u -> Int? in
            guard u.count >= 3, u.count <= 11, u[0] == UInt8(ascii: "o"), u[1] == UInt8(ascii: "-"), u[2] != UInt8(ascii: "0") else { return nil }
            var n = 0
            for b in u[2...] {
                guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return nil }
                n = n * 10 + Int(b - UInt8(ascii: "0"))
            }
            return n
        }
    }

    public static func == (a: OrderBook, b: OrderBook) -> Bool {
        // Trailing zeros are room, not content.
        func trimmed(_ x: [UInt8]) -> ArraySlice<UInt8> { x[..<((x.lastIndex { $0 != 0 } ?? -1) + 1)] }
        return a.open == b.open && a.closedNamed == b.closedNamed && trimmed(a.closedNumbered) == trimmed(b.closedNumbered)
    }
}
