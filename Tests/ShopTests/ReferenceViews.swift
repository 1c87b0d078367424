import CQRS

@testable import Shop

/// A deliberately naive second implementation of SPEC section 3: it keeps every order ever
/// placed and recomputes each view from scratch by scanning and sorting. It shares no code with
/// the projections (only the published view types), so when the two agree, both read the spec
/// the same way.
enum ReferenceViews {
    struct Order {
        var id: String
        var customer: String
        var lines: [OrderLine]
        var total: Int64
        var status: OrderStatus = .placed
        var placedAt: UInt64
        var paidAt: UInt64?
        var paid: Int64 = 0
        var refund: Int64 = 0
    }

    static func compute(_ events: ArraySlice<(event: ShopEvent, meta: EventMeta)>) -> ShopViews {
        var names: [String: String] = [:]
        var prices: [String: Int64] = [:]
        var restocked: [String: Int64] = [:]
        var orders: [Order] = []
        var index: [String: Int] = [:]
        var payments: [Int64] = []
        var reasons: [String] = []
        var position: UInt64 = 0

        for (event, meta) in events {
            position = meta.position
            switch event {
            case .productRegistered(let sku, let name, let price):
                names[sku] = name
                prices[sku] = price
            case .productRestocked(let sku, let quantity):
                restocked[sku, default: 0] += quantity
            case .priceChanged(let sku, let price):
                prices[sku] = price
            case .orderPlaced(let id, let customer, let lines, let total):
                index[id] = orders.count
                orders.append(Order(id: id, customer: customer, lines: lines, total: total, placedAt: meta.position))
            case .paymentReceived(let id, let amount):
                payments.append(amount)
                orders[index[id]!].status = .paid
                orders[index[id]!].paidAt = meta.position
                orders[index[id]!].paid = amount
            case .orderShipped(let id):
                orders[index[id]!].status = .shipped
            case .orderCancelled(let id, let reason, let refund):
                orders[index[id]!].status = .cancelled
                orders[index[id]!].refund = refund
                reasons.append(reason)
            }
        }

        func quantity(of sku: String, where include: (Order) -> Bool) -> Int64 {
            orders.filter(include).flatMap(\.lines).filter { $0.sku == sku }.map(\.quantity).reduce(0, +)
        }
        let skus = names.keys.sorted()
        var onHand: [String: Int64] = [:]
        var reserved: [String: Int64] = [:]
        for sku in skus {
            onHand[sku] = restocked[sku, default: 0] - quantity(of: sku) { $0.status == .shipped }
            reserved[sku] = quantity(of: sku) { $0.status == .placed || $0.status == .paid }
        }
        func available(_ sku: String) -> Int64 { max(0, onHand[sku]! - reserved[sku]!) }

        let shoppers = ShoppersView(
            position: position,
            catalog: skus.map { CatalogItem(sku: $0, name: names[$0]!, priceCents: prices[$0]!, available: available($0)) },
            customers: Set(orders.map(\.customer)).sorted().map { customer in
                let mine = orders.filter { $0.customer == customer }
                return CustomerSummary(
                    customer: customer, orders: mine.count,
                    open: mine.filter { $0.status == .placed || $0.status == .paid }.count,
                    spentCents: mine.map { $0.paid - $0.refund }.reduce(0, +))
            })

        let warehouse = WarehouseView(
            position: position,
            stock: skus.map { StockLine(sku: $0, onHand: onHand[$0]!, reserved: reserved[$0]!, available: available($0)) },
            pickQueue: orders.filter { $0.status == .paid }.sorted { $0.paidAt! < $1.paidAt! }.map(\.id),
            lowStock: skus.filter { available($0) < 5 })

        var skuRevenue: [String: Int64] = [:]
        for order in orders where order.paidAt != nil && order.status != .cancelled {
            for line in order.lines { skuRevenue[line.sku, default: 0] += line.quantity * line.unitPriceCents }
        }
        let revenue = payments.reduce(0, +)
        let refunds = orders.map(\.refund).reduce(0, +)
        let finance = FinanceView(
            position: position, revenueCents: revenue, refundsCents: refunds, netCents: revenue - refunds,
            outstandingCents: orders.filter { $0.status == .placed }.map(\.total).reduce(0, +),
            paidOrders: payments.count,
            averageOrderCents: payments.isEmpty ? 0 : revenue / Int64(payments.count),
            topSkus: skuRevenue.filter { $0.value != 0 }
                .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .prefix(5).map { SkuRevenue(sku: $0.key, revenueCents: $0.value) })

        let support = SupportView(
            position: position,
            statusCounts: StatusCounts(
                placed: orders.filter { $0.status == .placed }.count,
                paid: orders.filter { $0.status == .paid }.count,
                shipped: orders.filter { $0.status == .shipped }.count,
                cancelled: orders.filter { $0.status == .cancelled }.count),
            oldestUnpaid: orders.filter { $0.status == .placed }.sorted { $0.placedAt < $1.placedAt }.prefix(5)
                .map { UnpaidOrder(orderId: $0.id, customer: $0.customer, placedAt: $0.placedAt) },
            cancellationReasons: reasons.reduce(into: [:]) { $0[$1, default: 0] += 1 })

        return ShopViews(position: position, shoppers: shoppers, warehouse: warehouse, finance: finance, support: support)
    }
}
