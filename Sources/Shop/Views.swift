/// The four read models of SPEC.md section 3, as published snapshots: small, immutable values a
/// dashboard thread can hold without stalling a projector. Lists are already sorted as the spec
/// states; money is whole cents.

/// One product as a shopper browses it.
public struct CatalogItem: Sendable, Equatable {
    public var sku: String
    public var name: String
    public var priceCents: Int64
    public var available: Int64
    public init(sku: String, name: String, priceCents: Int64, available: Int64) {
        self.sku = sku; self.name = name; self.priceCents = priceCents; self.available = available
    }
}

/// One customer's orders as they follow them.
public struct CustomerSummary: Sendable, Equatable {
    public var customer: String
    /// Orders ever placed.
    public var orders: Int
    /// Orders now `placed` or `paid`.
    public var open: Int
    /// Payments minus refunds.
    public var spentCents: Int64
    public init(customer: String, orders: Int, open: Int, spentCents: Int64) {
        self.customer = customer; self.orders = orders; self.open = open; self.spentCents = spentCents
    }
}

/// Shoppers: the catalog by SKU and the customers by name.
public struct ShoppersView: Sendable, Equatable {
    public var position: UInt64
    public var catalog: [CatalogItem]
    public var customers: [CustomerSummary]
    public init(position: UInt64 = 0, catalog: [CatalogItem] = [], customers: [CustomerSummary] = []) {
        self.position = position; self.catalog = catalog; self.customers = customers
    }
}

/// One SKU's stock as fulfilment staff see it.
public struct StockLine: Sendable, Equatable {
    public var sku: String
    public var onHand: Int64
    public var reserved: Int64
    public var available: Int64
    public init(sku: String, onHand: Int64, reserved: Int64, available: Int64) {
        self.sku = sku; self.onHand = onHand; self.reserved = reserved; self.available = available
    }
}

/// Warehouse: stock by SKU, the paid orders to ship (oldest payment first), SKUs running low.
public struct WarehouseView: Sendable, Equatable {
    public var position: UInt64
    public var stock: [StockLine]
    public var pickQueue: [String]
    public var lowStock: [String]
    public init(position: UInt64 = 0, stock: [StockLine] = [], pickQueue: [String] = [], lowStock: [String] = []) {
        self.position = position; self.stock = stock; self.pickQueue = pickQueue; self.lowStock = lowStock
    }
}

/// A SKU's revenue over lines of paid orders.
public struct SkuRevenue: Sendable, Equatable {
    public var sku: String
    public var revenueCents: Int64
    public init(sku: String, revenueCents: Int64) { self.sku = sku; self.revenueCents = revenueCents }
}

/// Finance: money in, money out, money owed.
public struct FinanceView: Sendable, Equatable {
    public var position: UInt64
    public var revenueCents: Int64
    public var refundsCents: Int64
    public var netCents: Int64
    public var outstandingCents: Int64
    public var paidOrders: Int
    public var averageOrderCents: Int64
    /// Up to 5, largest first, ties by SKU, zeros left out.
    public var topSkus: [SkuRevenue]
    public init(
        position: UInt64 = 0, revenueCents: Int64 = 0, refundsCents: Int64 = 0, netCents: Int64 = 0,
        outstandingCents: Int64 = 0, paidOrders: Int = 0, averageOrderCents: Int64 = 0,
        topSkus: [SkuRevenue] = []
    ) {
        self.position = position; self.revenueCents = revenueCents; self.refundsCents = refundsCents
        self.netCents = netCents; self.outstandingCents = outstandingCents; self.paidOrders = paidOrders
        self.averageOrderCents = averageOrderCents; self.topSkus = topSkus
    }
}

/// Orders by current status.
public struct StatusCounts: Sendable, Equatable {
    public var placed: Int
    public var paid: Int
    public var shipped: Int
    public var cancelled: Int
    public init(placed: Int = 0, paid: Int = 0, shipped: Int = 0, cancelled: Int = 0) {
        self.placed = placed; self.paid = paid; self.shipped = shipped; self.cancelled = cancelled
    }
}

/// An order still waiting for its payment.
public struct UnpaidOrder: Sendable, Equatable {
    public var orderId: String
    public var customer: String
    /// Position of the order's `OrderPlaced`.
    public var placedAt: UInt64
    public init(orderId: String, customer: String, placedAt: UInt64) {
        self.orderId = orderId; self.customer = customer; self.placedAt = placedAt
    }
}

/// Support: how orders stand, who has waited longest to pay, why orders were cancelled.
public struct SupportView: Sendable, Equatable {
    public var position: UInt64
    public var statusCounts: StatusCounts
    /// Up to 5 orders now `placed`, smallest `placedAt` first.
    public var oldestUnpaid: [UnpaidOrder]
    public var cancellationReasons: [String: Int]
    public init(
        position: UInt64 = 0, statusCounts: StatusCounts = .init(), oldestUnpaid: [UnpaidOrder] = [],
        cancellationReasons: [String: Int] = [:]
    ) {
        self.position = position; self.statusCounts = statusCounts; self.oldestUnpaid = oldestUnpaid
        self.cancellationReasons = cancellationReasons
    }
}
