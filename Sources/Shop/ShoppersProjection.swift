import CQRS

/// The shoppers' read model: the catalog with what is available, and each customer's orders.
///
/// Availability depends on which orders are open, so this projection keeps the lines of open
/// orders (and forgets them once shipped or cancelled); everything else is a counter.
public struct ShoppersProjection: Projection {
    public let name = "shoppers"

    public init() {}

    public struct State: Sendable {
        struct Product: Sendable {
            var name: String
            var priceCents: Int64
            var onHand: Int64 = 0
            var reserved: Int64 = 0
        }
        struct OpenOrder: Sendable {
            var customer: String
            var lines: [OrderLine]
        }
        struct Customer: Sendable {
            var orders = 0
            var open = 0
            var spentCents: Int64 = 0
        }
        var products: [String: Product] = [:]
        var skus = SortedKeys()
        var openOrders: [String: OpenOrder] = [:]
        var customers: [String: Customer] = [:]
        var customerNames = SortedKeys()
    }

    public func initialState() -> State { State() }

    public func apply(_ event: ShopEvent, meta: EventMeta, to state: inout State) {
        switch event {
        case .productRegistered(let sku, let name, let price):
            if state.products[sku] == nil { state.skus.insert(sku) }
            state.products[sku] = State.Product(name: name, priceCents: price)
        case .productRestocked(let sku, let quantity):
            state.products[sku]?.onHand += quantity
        case .priceChanged(let sku, let price):
            state.products[sku]?.priceCents = price
        case .orderPlaced(let orderId, let customer, let lines, _):
            for line in lines { state.products[line.sku]?.reserved += line.quantity }
            state.openOrders[orderId] = State.OpenOrder(customer: customer, lines: lines)
            if state.customers[customer] == nil { state.customerNames.insert(customer) }
            state.customers[customer, default: State.Customer()].orders += 1
            state.customers[customer, default: State.Customer()].open += 1
        case .paymentReceived(let orderId, let amount):
            guard let customer = state.openOrders[orderId]?.customer else { return }
            // Wrapping: a projector must not trap on a sum, however absurd the prices.
            state.customers[customer]?.spentCents &+= amount
        case .orderShipped(let orderId):
            guard let order = state.openOrders.removeValue(forKey: orderId) else { return }
            for line in order.lines {
                state.products[line.sku]?.onHand -= line.quantity
                state.products[line.sku]?.reserved -= line.quantity
            }
            state.customers[order.customer]?.open -= 1
        case .orderCancelled(let orderId, _, let refund):
            guard let order = state.openOrders.removeValue(forKey: orderId) else { return }
            for line in order.lines { state.products[line.sku]?.reserved -= line.quantity }
            state.customers[order.customer]?.open -= 1
            state.customers[order.customer]?.spentCents &-= refund
        }
    }

    public func view(of state: State, position: UInt64) -> ShoppersView {
        var catalog: [CatalogItem] = []
        catalog.reserveCapacity(state.skus.keys.count)
        for sku in state.skus.keys {
            guard let product = state.products[sku] else { continue }
            catalog.append(
                CatalogItem(
                    sku: sku, name: product.name, priceCents: product.priceCents,
                    available: max(0, product.onHand - product.reserved)))
        }
        var customers: [CustomerSummary] = []
        customers.reserveCapacity(state.customerNames.keys.count)
        for name in state.customerNames.keys {
            guard let customer = state.customers[name] else { continue }
            customers.append(
                CustomerSummary(
                    customer: name, orders: customer.orders, open: customer.open,
                    spentCents: customer.spentCents))
        }
        return ShoppersView(position: position, catalog: catalog, customers: customers)
    }
}
