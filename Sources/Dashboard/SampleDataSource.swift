import CQRS
import Shop
import Synchronization

/// A fixed, self-contained data source: a small shop frozen at one moment. It lets the dashboard
/// be tried and tested without a log (for example from a scratch `main.swift` calling
/// `DashboardApp.run(dataSource: SampleDataSource())`), and documents by example what the app
/// layer fills in. Actions are recorded and acknowledged, not executed.
public final class SampleDataSource: DashboardDataSource {
    /// Actions received, oldest first; a `Mutex` because the protocol is `Sendable`.
    private let state: Mutex<(snapshot: DashboardSnapshot, performed: [DashboardAction])>

    public init(snapshot: DashboardSnapshot = .sample) {
        state = Mutex((snapshot, []))
    }

    public var performed: [DashboardAction] { state.withLock { $0.performed } }

    public func snapshot() -> DashboardSnapshot { state.withLock { $0.snapshot } }

    /// Replaces the snapshot, as a live source would between frames.
    public func update(_ change: (inout DashboardSnapshot) -> Void) {
        state.withLock { change(&$0.snapshot) }
    }

    public func perform(_ action: DashboardAction) -> String? {
        state.withLock { s in
            s.performed.append(action)
            switch action {
            case .togglePause:
                s.snapshot.load = s.snapshot.load == .paused ? .live : .paused
                return s.snapshot.load == .paused ? "load paused" : "load resumed"
            case .changeRate(let step):
                s.snapshot.loadRate = max(0, s.snapshot.loadRate + Double(step) * 100)
                return "load rate \(Int(s.snapshot.loadRate))/s"
            case .toggleProjector(let name):
                guard let i = s.snapshot.projectors.firstIndex(where: { $0.name == name }) else { return "no projector \(name)" }
                s.snapshot.projectors[i].state = s.snapshot.projectors[i].state == .stopped ? .live : .stopped
                return "\(name) \(s.snapshot.projectors[i].state.rawValue)"
            case .rebuildProjector(let name):
                return "rebuilding \(name)"
            case .submitCommand(let text):
                return text.hasPrefix("place") ? "accepted position=\(s.snapshot.head + 1)" : "rejected: sample data source accepts only place"
            default:
                return nil
            }
        }
    }

    public func events(from position: UInt64, count: Int) -> [EventLine] {
        let head = snapshot().head
        guard position <= head, count > 0 else { return [] }
        let last = min(head, position + UInt64(count) - 1)
        return (position...last).map(SampleDataSource.event(at:))
    }

    public func viewsAsOf(_ position: UInt64) -> DashboardViews? {
        let s = snapshot()
        guard let shoppers = s.shoppers, let warehouse = s.warehouse, var finance = s.finance, let support = s.support else { return nil }
        // Scale revenue so each position looks different, which is all a sample needs.
        let fraction = Double(position) / Double(max(1, s.head))
        finance.revenueCents = Int64(Double(finance.revenueCents) * fraction)
        finance.position = position
        return DashboardViews(shoppers: shoppers, warehouse: warehouse, finance: finance, support: support)
    }

    /// A deterministic event for any position, cycling through the event types.
    static func event(at p: UInt64) -> EventLine {
        let order = "o-\(p / 4 + 1)"
        switch p % 4 {
        case 1: return EventLine(position: p, type: "OrderPlaced", stream: "order-\(order)", summary: "alice MUG:2 $25.98",
                                 details: ["orderId: \(order)", "customer: alice", "lines: MUG x2 @ $12.99", "totalCents: 2598"])
        case 2: return EventLine(position: p, type: "PaymentReceived", stream: "order-\(order)", summary: "$25.98",
                                 details: ["orderId: \(order)", "amountCents: 2598"])
        case 3: return EventLine(position: p, type: "OrderShipped", stream: "order-\(order)", summary: "", details: ["orderId: \(order)"])
        default: return EventLine(position: p, type: "ProductRestocked", stream: "product-MUG", summary: "MUG +10",
                                  details: ["sku: MUG", "quantity: 10"])
        }
    }
}

extension DashboardSnapshot {
    /// A plausible mid-demo moment: every pane populated, one projector catching up, one
    /// rebuilding. Used by ``SampleDataSource`` and the tests.
    public static var sample: DashboardSnapshot {
        let head: UInt64 = 12_345
        return DashboardSnapshot(
            dataFolder: "/home/demo/.local/state/prism", head: head,
            commandsAcceptedPerSecond: 1_000, commandsRejectedPerSecond: 12, eventsPerSecond: 1_450,
            appendP99Milliseconds: 0.84, durability: "durable", themeName: "default", load: .live, loadRate: 1_000,
            shoppers: ShoppersView(
                position: head,
                catalog: [
                    CatalogItem(sku: "MUG", name: "Blue mug", priceCents: 1_299, available: 42),
                    CatalogItem(sku: "TEE-L", name: "T-shirt, large", priceCents: 2_500, available: 3),
                    CatalogItem(sku: "CAP", name: "Baseball cap", priceCents: 1_800, available: 0),
                ],
                customers: [
                    CustomerSummary(customer: "alice", orders: 12, open: 2, spentCents: 25_980),
                    CustomerSummary(customer: "bob", orders: 3, open: 0, spentCents: 5_000),
                ]),
            warehouse: WarehouseView(
                position: head,
                stock: [
                    StockLine(sku: "CAP", onHand: 4, reserved: 4, available: 0),
                    StockLine(sku: "MUG", onHand: 50, reserved: 8, available: 42),
                    StockLine(sku: "TEE-L", onHand: 5, reserved: 2, available: 3),
                ],
                pickQueue: ["o-7", "o-9", "o-12"], lowStock: ["CAP", "TEE-L"]),
            finance: FinanceView(
                position: head - 3, revenueCents: 1_234_567, refundsCents: 4_500, netCents: 1_230_067,
                outstandingCents: 7_794, paidOrders: 321, averageOrderCents: 3_846,
                topSkus: [SkuRevenue(sku: "MUG", revenueCents: 800_000), SkuRevenue(sku: "TEE-L", revenueCents: 300_000)]),
            support: SupportView(
                position: head,
                statusCounts: StatusCounts(placed: 3, paid: 3, shipped: 310, cancelled: 8),
                oldestUnpaid: [UnpaidOrder(orderId: "o-40", customer: "carol", placedAt: 11_002)],
                cancellationReasons: ["out of stock": 5, "changed mind": 3]),
            projectors: [
                ProjectorStatus(name: "shoppers", state: .live, checkpoint: head, head: head, eventsPerSecond: 1_450, lagMilliseconds: 0),
                ProjectorStatus(name: "warehouse", state: .live, checkpoint: head, head: head, eventsPerSecond: 1_450),
                ProjectorStatus(name: "finance", state: .catchingUp, checkpoint: head - 3, head: head, eventsPerSecond: 1_200, lagMilliseconds: 4.2),
                ProjectorStatus(name: "support", state: .rebuilding, checkpoint: 6_000, head: head, eventsPerSecond: 90_000,
                                lagMilliseconds: 0, rebuildProgress: 0.48, rebuildETASeconds: 3),
            ],
            recentEvents: (head - 9...head).map(SampleDataSource.event(at:)),
            history: RateHistory(
                commandsAccepted: [900, 950, 1_000, 1_020, 980, 1_000], commandsRejected: [10, 14, 12, 9, 12, 12],
                events: [1_300, 1_400, 1_450, 1_500, 1_420, 1_450], appendP99Milliseconds: [0.7, 0.9, 0.8, 0.84, 1.1, 0.84]))
    }
}
