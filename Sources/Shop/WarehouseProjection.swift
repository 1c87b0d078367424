import CQRS

/// The warehouse's read model: stock by SKU, paid orders waiting to be picked, SKUs running low.
///
/// The pick queue is an ``ArrivalQueue``: payments arrive in position order, so "oldest payment
/// first" is simply arrival order, and publishing it costs the number of paid orders, not the
/// number of orders ever placed.
public struct WarehouseProjection: Projection {
    public let name = "warehouse"

    public init() {}

    public struct State: Sendable {
        struct Stock: Sendable {
            var onHand: Int64 = 0
            var reserved: Int64 = 0
        }
        var stock: [String: Stock] = [:]
        var skus = SortedKeys()
        /// Lines of orders now `placed` or `paid`: the stock they hold.
        var openLines: [String: [OrderLine]] = [:]
        /// Paid orders by payment position.
        var pickQueue = ArrivalQueue<String, UInt64>()
    }

    public func initialState() -> State { State() }

    public func apply(_ event: ShopEvent, meta: EventMeta, to state: inout State) {
        switch event {
        case .productRegistered(let sku, _, _):
            if state.stock[sku] == nil {
                state.skus.insert(sku)
                state.stock[sku] = State.Stock()
            }
        case .productRestocked(let sku, let quantity):
            state.stock[sku]?.onHand += quantity
        case .priceChanged:
            break
        case .orderPlaced(let orderId, _, let lines, _):
            for line in lines { state.stock[line.sku]?.reserved += line.quantity }
            state.openLines[orderId] = lines
        case .paymentReceived(let orderId, _):
            state.pickQueue.append(orderId, meta.position)
        case .orderShipped(let orderId):
            guard let lines = state.openLines.removeValue(forKey: orderId) else { return }
            for line in lines {
                state.stock[line.sku]?.onHand -= line.quantity
                state.stock[line.sku]?.reserved -= line.quantity
            }
            state.pickQueue.remove(orderId)
        case .orderCancelled(let orderId, _, _):
            guard let lines = state.openLines.removeValue(forKey: orderId) else { return }
            for line in lines { state.stock[line.sku]?.reserved -= line.quantity }
            state.pickQueue.remove(orderId)
        }
    }

    public func view(of state: State, position: UInt64) -> WarehouseView {
        var stock: [StockLine] = []
        stock.reserveCapacity(state.skus.keys.count)
        var lowStock: [String] = []
        for sku in state.skus.keys {
            guard let item = state.stock[sku] else { continue }
            let available = max(0, item.onHand - item.reserved)
            stock.append(StockLine(sku: sku, onHand: item.onHand, reserved: item.reserved, available: available))
            if available < ShopRules.lowStockThreshold { lowStock.append(sku) }
        }
        return WarehouseView(
            position: position, stock: stock, pickQueue: state.pickQueue.all.map(\.key),
            lowStock: lowStock)
    }
}
