import Dispatch
import EventLog
import Foundation
import Shop
import Synchronization
import Testing

@testable import CQRS

// Shared helpers of the CQRS engine tests: temp folders, a system that is always closed, the
// load generator driven through the real writer, and a naive reference fold of SPEC section 3.

/// A fresh folder under the system temp dir, removed by `remove()`.
struct TempDir {
    let path: String

    init(_ label: String = #function) {
        let safe = label.filter { $0.isLetter || $0.isNumber }
        path = NSTemporaryDirectory() + "prism-cqrs-\(safe)-\(UUID().uuidString)"
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

extension ShopSystem {
    /// How the tests open a shop on a file log: for writing, or following it read-only.
    enum Mode { case write(Durability), readOnly }

    /// Opens the file log in `directory` as the command line does, and a shop on it.
    convenience init(directory: String, mode: Mode, seed: UInt64 = 42, rate: Double = 200, options: LogOptions = LogOptions()) throws {
        var options = options
        let store: EventLog
        switch mode {
        case .write(let durability):
            options.durability = durability
            store = try EventLog.open(directory: directory, options: options)
        case .readOnly:
            store = try EventLog.openReadOnly(directory: directory, options: options)
        }
        do {
            try self.init(store: store, directory: directory, seed: seed, rate: rate)
        } catch {
            store.close()
            throw error
        }
    }

    /// The shop's store, under the name the tests grew up with.
    var log: any EventStore { store }
}

/// Opens a `ShopSystem` on `directory`, runs `body`, and closes the system whatever happens.
func withShop<T>(
    _ directory: String, _ mode: ShopSystem.Mode = .write(.relaxed),
    _ body: (ShopSystem) async throws -> T
) async throws -> T {
    let system = try ShopSystem(directory: directory, mode: mode)
    do {
        let result = try await body(system)
        await system.close()
        return result
    } catch {
        await system.close()
        throw error
    }
}

/// Submits a command in the text form and expects it accepted; returns its position (0 if not).
@discardableResult
func accept(
    _ system: ShopSystem, _ text: String, id: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
) async -> UInt64 {
    let reply = await system.submit(text: text, commandId: id)
    guard case .accepted(let position) = reply else {
        Issue.record("'\(text)' was not accepted: \(reply)", sourceLocation: sourceLocation)
        return 0
    }
    return position
}

/// Submits a command in the text form and expects it rejected; returns the reason ("" if not).
@discardableResult
func reject(
    _ system: ShopSystem, _ text: String, id: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
) async -> String {
    let reply = await system.submit(text: text, commandId: id)
    guard case .rejected(let reason) = reply else {
        Issue.record("'\(text)' was not rejected: \(reply)", sourceLocation: sourceLocation)
        return ""
    }
    return reason
}

/// A load generator used only from the writer thread (through `submitGenerated`), remembering the
/// commands it made so a test can replay them.
final class RecordingGenerator: @unchecked Sendable {
    // @unchecked: `next` runs only on the writer thread, one command at a time; `commands` is read
    // by the test only after every completion has come back.
    private var generator: LoadGenerator
    private(set) var commands: [ShopCommand] = []
    init(seed: UInt64) { generator = LoadGenerator(seed: seed) }
    func next(_ state: ShopState) -> ShopCommand {
        let command = generator.next(state: state)
        commands.append(command)
        return command
    }
}

/// What became of a run of generated commands.
struct Tally: Sendable, Equatable {
    var accepted = 0
    var rejected = 0
    var failed = 0
    /// The highest position an accepted command reached.
    var lastPosition: UInt64 = 0
    var total: Int { accepted + rejected + failed }
}

/// Queues `count` commands from `box` on the writer (each generated from the write model at
/// decide time, as the load driver does) and waits for all their outcomes.
func drive(_ writer: CommandWriter<ShopDomain>, _ box: RecordingGenerator, count: Int) async -> Tally {
    guard count > 0 else { return Tally() }
    let tally = Mutex<(Tally, remaining: Int)>((Tally(), count))
    return await withCheckedContinuation { (done: CheckedContinuation<Tally, Never>) in
        for _ in 0..<count {
            writer.submitGenerated({ state in box.next(state) }) { result in
                let finished = tally.withLock { t -> Tally? in
                    switch result {
                    case .success(.accepted(_, let last)):
                        t.0.accepted += 1
                        t.0.lastPosition = max(t.0.lastPosition, last)
                    case .success(.rejected): t.0.rejected += 1
                    case .failure: t.0.failed += 1
                    }
                    t.remaining -= 1
                    return t.remaining == 0 ? t.0 : nil
                }
                if let finished { done.resume(returning: finished) }
            }
        }
    }
}

/// The events of `from...through`, decoded, with their metadata.
func decodedEvents(_ log: any EventStore, from: UInt64 = 1, through: UInt64 = .max) throws -> [(event: ShopEvent, meta: EventMeta)] {
    try log.events(from: from, through: through).map { record in
        (try ShopEvent.decode(record),
         EventMeta(position: record.position, streamVersion: record.streamVersion, timestampNanos: record.timestampNanos))
    }
}

/// A fresh `ShopFold` of the first `through` events, read with `log.events` (not `log.read`).
func freshFold(_ log: any EventStore, through: UInt64) throws -> ShopViews {
    ShopFold.views(of: try decodedEvents(log, through: through))
}

/// The writer's private write model, read through reflection once the writer is idle (every
/// outcome has come back, which orders the writer thread's writes before this read).
func writeModel(_ writer: CommandWriter<ShopDomain>) async -> ShopState? {
    await writer.inspect { state, _ in state }
}

/// The writer's private table of command outcomes, read like ``writeModel(_:)``.
func rememberedOutcomes(_ writer: CommandWriter<ShopDomain>) async -> [String: CommandOutcome]? {
    await writer.rememberedOutcomes()
}

/// The write model folded from the log with the domain's own `evolve`.
func foldedWriteModel(_ log: any EventStore) throws -> ShopState {
    let domain = ShopDomain()
    var state = domain.initialState()
    for (event, meta) in try decodedEvents(log) { domain.evolve(&state, event: event, meta: meta) }
    return state
}

/// Holds the writer thread inside a generated command until `open()`, so that everything queued
/// meanwhile is decided in one drain of the queue.
final class WriterGate: Sendable {
    private let gate = DispatchSemaphore(value: 0)

    /// Returns once the writer thread is parked in the gate.
    static func close(_ writer: CommandWriter<ShopDomain>) async -> WriterGate {
        let g = WriterGate()
        await withCheckedContinuation { (entered: CheckedContinuation<Void, Never>) in
            writer.submitGenerated({ _ in
                entered.resume()
                g.gate.wait()
                return nil
            }, completion: { _ in })
        }
        return g
    }

    func open() { gate.signal() }
}

/// A deliberately naive reading of SPEC section 3, written for these tests: it keeps every order
/// and recomputes each view by scanning and sorting. It shares no code with the projections. It
/// also checks, after every event, that no SKU ever has less on hand than reserved (available
/// would go negative) and that nothing reserved or on hand is negative.
struct NaiveShop {
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

    var names: [String: String] = [:]
    var prices: [String: Int64] = [:]
    var onHand: [String: Int64] = [:]
    var reserved: [String: Int64] = [:]
    var orders: [Order] = []
    var index: [String: Int] = [:]
    var payments: [Int64] = []
    var reasons: [String: Int] = [:]
    var position: UInt64 = 0
    /// Broken invariants seen so far, one line each.
    var problems: [String] = []

    init() {}

    init(_ events: some Sequence<(event: ShopEvent, meta: EventMeta)>) {
        for (event, meta) in events { apply(event, position: meta.position) }
    }

    mutating func apply(_ event: ShopEvent, position p: UInt64) {
        position = p
        switch event {
        case .productRegistered(let sku, let name, let price):
            names[sku] = name
            prices[sku] = price
            onHand[sku] = 0
            reserved[sku] = 0
        case .productRestocked(let sku, let quantity):
            onHand[sku, default: 0] += quantity
        case .priceChanged(let sku, let price):
            prices[sku] = price
        case .orderPlaced(let id, let customer, let lines, let total):
            index[id] = orders.count
            orders.append(Order(id: id, customer: customer, lines: lines, total: total, placedAt: p))
            for line in lines { reserved[line.sku, default: 0] += line.quantity }
        case .paymentReceived(let id, let amount):
            payments.append(amount)
            orders[index[id]!].status = .paid
            orders[index[id]!].paidAt = p
            orders[index[id]!].paid = amount
        case .orderShipped(let id):
            orders[index[id]!].status = .shipped
            for line in orders[index[id]!].lines {
                onHand[line.sku, default: 0] -= line.quantity
                reserved[line.sku, default: 0] -= line.quantity
            }
        case .orderCancelled(let id, let reason, let refund):
            orders[index[id]!].status = .cancelled
            orders[index[id]!].refund = refund
            reasons[reason, default: 0] += 1
            for line in orders[index[id]!].lines { reserved[line.sku, default: 0] -= line.quantity }
        }
        for sku in names.keys where reserved[sku]! < 0 || onHand[sku]! < reserved[sku]! {
            problems.append("position \(p): \(sku) onHand \(onHand[sku]!) reserved \(reserved[sku]!)")
        }
    }

    func available(_ sku: String) -> Int64 { max(0, onHand[sku]! - reserved[sku]!) }

    var views: ShopViews {
        let skus = names.keys.sorted()
        let shoppers = ShoppersView(
            position: position,
            catalog: skus.map { CatalogItem(sku: $0, name: names[$0]!, priceCents: prices[$0]!, available: available($0)) },
            customers: Set(orders.map(\.customer)).sorted().map { customer in
                let mine = orders.filter { $0.customer == customer }
                return CustomerSummary(
                    customer: customer, orders: mine.count, open: mine.filter { $0.status.isOpen }.count,
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
            paidOrders: payments.count, averageOrderCents: payments.isEmpty ? 0 : revenue / Int64(payments.count),
            topSkus: skuRevenue.filter { $0.value > 0 }
                .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .prefix(5).map { SkuRevenue(sku: $0.key, revenueCents: $0.value) })
        func count(_ s: OrderStatus) -> Int { orders.filter { $0.status == s }.count }
        let support = SupportView(
            position: position,
            statusCounts: StatusCounts(placed: count(.placed), paid: count(.paid), shipped: count(.shipped), cancelled: count(.cancelled)),
            oldestUnpaid: orders.filter { $0.status == .placed }.sorted { $0.placedAt < $1.placedAt }.prefix(5)
                .map { UnpaidOrder(orderId: $0.id, customer: $0.customer, placedAt: $0.placedAt) },
            cancellationReasons: reasons)
        return ShopViews(position: position, shoppers: shoppers, warehouse: warehouse, finance: finance, support: support)
    }
}

/// The published views of the four projectors as one value (each at its own checkpoint).
func liveViews(_ system: ShopSystem) -> ShopViews {
    let (shoppers, warehouse, finance, support) = system.liveViews
    return ShopViews(position: shoppers.position, shoppers: shoppers, warehouse: warehouse, finance: finance, support: support)
}
