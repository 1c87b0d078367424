import CQRS

/// Customer service's read model: how orders stand, who has waited longest to pay, and why
/// orders get cancelled.
///
/// `oldestUnpaid` reads the front of an ``ArrivalQueue`` of placed orders: orders arrive in
/// position order, so the oldest are at the front and a view costs at most a few entries.
/// `cancellationReasons` is handed to the view as the same dictionary (a reference copy); the
/// next cancellation then copies it once, which is cheap because reasons repeat.
public struct SupportProjection: Projection {
    public let name = "support"

    /// How many orders `oldestUnpaid` lists.
    public static let oldestCount = 5

    public init() {}

    public struct State: Sendable {
        struct Unpaid: Sendable {
            var customer: String
            var placedAt: UInt64
        }
        var counts = StatusCounts()
        /// Status of orders now `placed` or `paid`; closed orders are only counted.
        var openStatus: [String: OrderStatus] = [:]
        var unpaid = ArrivalQueue<String, Unpaid>()
        var cancellationReasons: [String: Int] = [:]
    }

    public func initialState() -> State { State() }

    public func apply(_ event: ShopEvent, meta: EventMeta, to state: inout State) {
        switch event {
        case .productRegistered, .productRestocked, .priceChanged:
            break
        case .orderPlaced(let orderId, let customer, _, _):
            state.counts.placed += 1
            state.openStatus[orderId] = .placed
            state.unpaid.append(orderId, State.Unpaid(customer: customer, placedAt: meta.position))
        case .paymentReceived(let orderId, _):
            guard state.openStatus[orderId] == .placed else { return }
            state.openStatus[orderId] = .paid
            state.counts.placed -= 1
            state.counts.paid += 1
            state.unpaid.remove(orderId)
        case .orderShipped(let orderId):
            guard state.openStatus.removeValue(forKey: orderId) == .paid else { return }
            state.counts.paid -= 1
            state.counts.shipped += 1
        case .orderCancelled(let orderId, let reason, _):
            switch state.openStatus.removeValue(forKey: orderId) {
            case .placed:
                state.counts.placed -= 1
                state.unpaid.remove(orderId)
            case .paid:
                state.counts.paid -= 1
            default:
                return
            }
            state.counts.cancelled += 1
            state.cancellationReasons[reason, default: 0] += 1
        }
    }

    public func view(of state: State, position: UInt64) -> SupportView {
        SupportView(
            position: position, statusCounts: state.counts,
            oldestUnpaid: state.unpaid.prefix(Self.oldestCount).map {
                UnpaidOrder(orderId: $0.key, customer: $0.value.customer, placedAt: $0.value.placedAt)
            },
            cancellationReasons: state.cancellationReasons)
    }
}
