import CQRS

/// The write side of the shop: every rule and rejection of SPEC section 2.
///
/// `decide` is pure and never mutates; `evolve` trusts its events (they were decided against the
/// same state, or they come from the log) and never fails, so replay cannot get stuck on a rule
/// that changed after the event was written.
public struct ShopDomain: Domain {
    public typealias Command = ShopCommand
    public typealias Event = ShopEvent
    public typealias State = ShopState

    public init() {}

    public func initialState() -> ShopState { ShopState() }

    public func decide(_ command: ShopCommand, state: ShopState) -> Result<[ShopEvent], Rejection> {
        do {
            return .success([try event(for: command, state: state)])
        } catch let rejection {
            return .failure(rejection)
        }
    }

    /// Every command yields exactly one event; checks run in the order a person would fix them
    /// (form of the values first, then what exists, then what the stock allows).
    private func event(for command: ShopCommand, state: ShopState) throws(Rejection) -> ShopEvent {
        switch command {
        case .register(let sku, let price, let name):
            try check(ShopRules.skuProblem(sku))
            if state.products[sku] != nil { throw Rejection("product \(sku) already exists") }
            try checkPrice(price)
            try check(ShopRules.textProblem(name, what: "name"))
            return .productRegistered(sku: sku, name: name, priceCents: price)

        case .restock(let sku, let quantity):
            _ = try product(sku, in: state)
            guard ShopRules.restockQuantity.contains(quantity) else {
                throw Rejection("restock quantity must be in 1...1000000, got \(quantity)")
            }
            return .productRestocked(sku: sku, quantity: quantity)

        case .price(let sku, let price):
            _ = try product(sku, in: state)
            try checkPrice(price)
            return .priceChanged(sku: sku, priceCents: price)

        case .place(let customer, let requests, let requestedId):
            try check(ShopRules.customerProblem(customer))
            let orderId: String
            if let requestedId {
                try check(ShopRules.orderIdProblem(requestedId))
                if state.orders[requestedId] != nil {
                    throw Rejection("order \(requestedId) already exists")
                }
                orderId = requestedId
            } else {
                orderId = state.nextOrderId
            }
            guard (1...ShopRules.maxLines).contains(requests.count) else {
                throw Rejection("an order needs 1 to \(ShopRules.maxLines) lines, got \(requests.count)")
            }
            var lines: [OrderLine] = []
            lines.reserveCapacity(requests.count)
            var total: Int64 = 0
            for (index, request) in requests.enumerated() {
                if requests[..<index].contains(where: { $0.sku == request.sku }) {
                    throw Rejection("SKU \(request.sku) appears twice in the order")
                }
                let product = try product(request.sku, in: state)
                guard ShopRules.lineQuantity.contains(request.quantity) else {
                    throw Rejection("quantity of \(request.sku) must be in 1...1000, got \(request.quantity)")
                }
                guard request.quantity <= product.available else {
                    throw Rejection(
                        "insufficient stock for \(request.sku): \(product.available) available, \(request.quantity) asked")
                }
                let (amount, o1) = request.quantity.multipliedReportingOverflow(by: product.priceCents)
                let (sum, o2) = total.addingReportingOverflow(amount)
                if o1 || o2 { throw Rejection("order total is too large to count in cents") }
                total = sum
                lines.append(OrderLine(sku: request.sku, quantity: request.quantity, unitPriceCents: product.priceCents))
            }
            return .orderPlaced(orderId: orderId, customer: customer, lines: lines, totalCents: total)

        case .pay(let orderId, let amount):
            let order = try order(orderId, in: state)
            guard order.status == .placed else {
                throw Rejection("order \(orderId) is \(order.status.rawValue), not placed")
            }
            guard amount == order.totalCents else {
                throw Rejection("payment for \(orderId) must be \(order.totalCents) cents, got \(amount)")
            }
            return .paymentReceived(orderId: orderId, amountCents: amount)

        case .ship(let orderId):
            let order = try order(orderId, in: state)
            guard order.status == .paid else {
                throw Rejection("order \(orderId) is \(order.status.rawValue), not paid")
            }
            return .orderShipped(orderId: orderId)

        case .cancel(let orderId, let reason):
            let order = try order(orderId, in: state)
            guard order.status.isOpen else {
                throw Rejection("order \(orderId) is already \(order.status.rawValue)")
            }
            try check(ShopRules.textProblem(reason, what: "reason"))
            return .orderCancelled(orderId: orderId, reason: reason, refundCents: order.paidCents)
        }
    }

    public func evolve(_ state: inout ShopState, event: ShopEvent, meta: EventMeta) {
        switch event {
        case .productRegistered(let sku, _, let price):
            state.products[sku] = ShopState.Product(priceCents: price)
        case .productRestocked(let sku, let quantity):
            state.products[sku]?.onHand += quantity
        case .priceChanged(let sku, let price):
            state.products[sku]?.priceCents = price
        case .orderPlaced(let orderId, _, let lines, let total):
            for line in lines { state.products[line.sku]?.reserved += line.quantity }
            state.orders.open[orderId] = ShopState.Order(status: .placed, lines: lines, totalCents: total)
            state.placedOrders.insert(orderId)
            // Keep `nextOrderNumber` naming a free id, also past ids taken with `as ORDER`.
            while state.orders[state.nextOrderId] != nil { state.nextOrderNumber += 1 }
        case .paymentReceived(let orderId, let amount):
            guard state.orders.open[orderId] != nil else { return }
            state.orders.open[orderId]!.status = .paid
            state.orders.open[orderId]!.paidCents = amount
            state.placedOrders.remove(orderId)
            state.paidOrders.insert(orderId)
        case .orderShipped(let orderId):
            guard let order = state.orders.open[orderId] else { return }
            for line in order.lines {
                state.products[line.sku]?.onHand -= line.quantity
                state.products[line.sku]?.reserved -= line.quantity
            }
            state.orders.close(orderId, as: .shipped)
            state.paidOrders.remove(orderId)
        case .orderCancelled(let orderId, _, _):
            guard let order = state.orders.open[orderId] else { return }
            for line in order.lines { state.products[line.sku]?.reserved -= line.quantity }
            state.orders.close(orderId, as: .cancelled)
            state.placedOrders.remove(orderId)
            state.paidOrders.remove(orderId)
        }
    }

    /// A command matches the event it made when every value the command gave is in the event
    /// (an order placed without `as ORDER` matches whatever id the writer picked).
    public func command(_ command: ShopCommand, matches events: [ShopEvent]) -> Bool? {
        guard events.count == 1, let event = events.first else { return false }
        switch (command, event) {
        case let (.register(sku, price, name), .productRegistered(s, n, p)): return sku == s && name == n && price == p
        case let (.restock(sku, quantity), .productRestocked(s, q)): return sku == s && quantity == q
        case let (.price(sku, price), .priceChanged(s, p)): return sku == s && price == p
        case let (.place(customer, lines, orderId), .orderPlaced(o, c, l, _)):
            return customer == c && (orderId == nil || orderId == o)
                && lines == l.map { LineRequest(sku: $0.sku, quantity: $0.quantity) }
        case let (.pay(orderId, amount), .paymentReceived(o, a)): return orderId == o && amount == a
        case let (.ship(orderId), .orderShipped(o)): return orderId == o
        case let (.cancel(orderId, reason), .orderCancelled(o, r, _)): return orderId == o && reason == r
        default: return false
        }
    }

    private func check(_ problem: String?) throws(Rejection) {
        if let problem { throw Rejection(problem) }
    }

    private func checkPrice(_ price: Int64) throws(Rejection) {
        guard price > 0 else { throw Rejection("price must be positive, got \(price) cents") }
    }

    private func product(_ sku: String, in state: ShopState) throws(Rejection) -> ShopState.Product {
        guard let product = state.products[sku] else { throw Rejection("unknown SKU: \(sku)") }
        return product
    }

    private func order(_ orderId: String, in state: ShopState) throws(Rejection) -> ShopState.Order {
        guard let order = state.orders[orderId] else { throw Rejection("unknown order: \(orderId)") }
        return order
    }
}
