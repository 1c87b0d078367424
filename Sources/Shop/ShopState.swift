/// Where an order stands: `placed -> paid -> shipped`, and `placed | paid -> cancelled`.
public enum OrderStatus: String, Sendable, Equatable, CaseIterable {
    case placed, paid, shipped, cancelled

    /// `placed` or `paid`: the order still holds stock and may still change.
    public var isOpen: Bool { self == .placed || self == .paid }
}

/// The shop's write model: exactly what ``ShopDomain/decide(_:state:)`` needs to accept or reject
/// a command, and nothing a screen needs (no names, no customers' histories, no money totals).
///
/// It grows with the number of products and orders ever placed, because "ORDER exists" must be
/// answered for every order id ever used; lines are dropped once an order is closed, since only
/// open orders still hold stock.
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
    public internal(set) var orders: [String: Order] = [:]
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
