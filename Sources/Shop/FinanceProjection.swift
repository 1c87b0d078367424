import CQRS

/// The accountants' read model: money in, money out, money owed, and the SKUs that earn most.
///
/// Money sums use wrapping arithmetic: the domain guarantees each order's total fits in an
/// `Int64`, and a projector must never trap on a sum of them, however absurd the prices.
public struct FinanceProjection: Projection {
    public let name = "finance"

    /// How many SKUs `topSkus` lists.
    public static let topCount = 5

    public init() {}

    public struct State: Sendable {
        struct OpenOrder: Sendable {
            var paid: Bool
            var totalCents: Int64
            var lines: [OrderLine]
        }
        var revenueCents: Int64 = 0
        var refundsCents: Int64 = 0
        var outstandingCents: Int64 = 0
        var paidOrders = 0
        var openOrders: [String: OpenOrder] = [:]
        /// Revenue per SKU over lines of paid orders, net of cancellations.
        var skuRevenue: [String: Int64] = [:]
    }

    public func initialState() -> State { State() }

    public func apply(_ event: ShopEvent, meta: EventMeta, to state: inout State) {
        switch event {
        case .productRegistered, .productRestocked, .priceChanged:
            break
        case .orderPlaced(let orderId, _, let lines, let total):
            state.openOrders[orderId] = State.OpenOrder(paid: false, totalCents: total, lines: lines)
            state.outstandingCents &+= total
        case .paymentReceived(let orderId, let amount):
            state.revenueCents &+= amount
            state.paidOrders += 1
            guard let order = state.openOrders[orderId], !order.paid else { return }
            state.openOrders[orderId]!.paid = true
            state.outstandingCents &-= order.totalCents
            for line in order.lines { state.skuRevenue[line.sku, default: 0] &+= line.amountCents }
        case .orderShipped(let orderId):
            // Shipped orders keep their revenue; only their bookkeeping entry goes.
            state.openOrders.removeValue(forKey: orderId)
        case .orderCancelled(let orderId, _, let refund):
            state.refundsCents &+= refund
            guard let order = state.openOrders.removeValue(forKey: orderId) else { return }
            if order.paid {
                for line in order.lines { state.skuRevenue[line.sku, default: 0] &-= line.amountCents }
            } else {
                state.outstandingCents &-= order.totalCents
            }
        }
    }

    public func view(of state: State, position: UInt64) -> FinanceView {
        FinanceView(
            position: position, revenueCents: state.revenueCents, refundsCents: state.refundsCents,
            netCents: state.revenueCents &- state.refundsCents,
            outstandingCents: state.outstandingCents, paidOrders: state.paidOrders,
            averageOrderCents: state.paidOrders == 0 ? 0 : state.revenueCents / Int64(state.paidOrders),
            topSkus: Self.top(state.skuRevenue))
    }

    /// The largest positive revenues, ties by SKU; one pass with a tiny sorted buffer, since the
    /// number of SKUs may be large and only five are wanted.
    static func top(_ revenue: [String: Int64]) -> [SkuRevenue] {
        var best: [SkuRevenue] = []
        best.reserveCapacity(topCount + 1)
        func ranksBefore(_ a: SkuRevenue, _ b: SkuRevenue) -> Bool {
            a.revenueCents != b.revenueCents ? a.revenueCents > b.revenueCents : a.sku < b.sku
        }
        for (sku, cents) in revenue where cents > 0 {
            let candidate = SkuRevenue(sku: sku, revenueCents: cents)
            if best.count == topCount, let last = best.last, !ranksBefore(candidate, last) { continue }
            let index = best.firstIndex { ranksBefore(candidate, $0) } ?? best.count
            best.insert(candidate, at: index)
            if best.count > topCount { best.removeLast() }
        }
        return best
    }
}
