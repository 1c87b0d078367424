import CQRS
import Testing

@testable import Shop

/// The load generator drives thousands of commands through the domain; the results must keep the
/// shop's invariants, and every view must equal the naive reference model.
@Suite struct LoadGeneratorTests {
    /// Runs `count` generated commands; checks the write model's stock invariant after each.
    static func run(seed: UInt64, count: Int) -> (ShopSimulator, [ShopCommand]) {
        var sim = ShopSimulator()
        var generator = LoadGenerator(seed: seed)
        var commands: [ShopCommand] = []
        commands.reserveCapacity(count)
        for _ in 0..<count {
            let command = generator.next(state: sim.state)
            commands.append(command)
            sim.run(command)
            for (sku, product) in sim.state.products where product.reserved < 0 || product.onHand < product.reserved {
                Issue.record("stock of \(sku) went wrong after \(command): \(product)")
            }
        }
        return (sim, commands)
    }

    @Test func oneSeedOneSequence() {
        let (a, commandsA) = Self.run(seed: 42, count: 3_000)
        let (b, commandsB) = Self.run(seed: 42, count: 3_000)
        let (_, commandsC) = Self.run(seed: 43, count: 3_000)
        #expect(commandsA == commandsB)
        #expect(a.events.map(\.event) == b.events.map(\.event))
        #expect(commandsA != commandsC)
    }

    @Test func seedsTheCatalogFirst() {
        let (sim, commands) = Self.run(seed: 1, count: 24)
        #expect(commands.filter { if case .register = $0 { true } else { false } }.count == LoadGenerator.catalog.count)
        #expect(sim.state.products.count == LoadGenerator.catalog.count)
        #expect(sim.state.products.values.allSatisfy { $0.onHand >= 150 })
        #expect(sim.rejections.isEmpty)
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func rejectionRatioAndBoundedOpenOrders(seed: UInt64) {
        var sim = ShopSimulator()
        var generator = LoadGenerator(seed: seed)
        var maxOpen = 0
        var kinds: Set<String> = []
        for _ in 0..<20_000 {
            sim.run(generator.next(state: sim.state))
            maxOpen = max(maxOpen, sim.state.placedOrders.count + sim.state.paidOrders.count)
        }
        let ratio = Double(sim.rejections.count) / 20_000
        #expect(ratio >= 0.01 && ratio <= 0.08, "rejection ratio \(ratio)")
        #expect(maxOpen < 300, "open orders peaked at \(maxOpen)")
        for reason in sim.rejections {
            if reason.hasPrefix("insufficient stock") { kinds.insert("stock") }
            if reason.hasPrefix("payment for") { kinds.insert("amount") }
            if reason.hasSuffix("not placed") { kinds.insert("paid twice") }
            if reason.hasSuffix("not paid") { kinds.insert("ship unpaid") }
            if reason.hasSuffix("already shipped") { kinds.insert("cancel shipped") }
            if reason.hasPrefix("unknown SKU") { kinds.insert("unknown SKU") }
        }
        #expect(kinds.count == 6, "mistakes seen: \(kinds.sorted())")
        // Every kind of event happens.
        let types = Set(sim.events.map(\.event.typeName))
        #expect(types == Set(ShopEvent.typeNames))
        // Every command uses customers and SKUs that follow the rules.
        let placed = sim.events.compactMap { if case .orderPlaced(_, let c, _, _) = $0.event { c } else { nil } }
        #expect(placed.allSatisfy { ShopRules.customerProblem($0) == nil })
    }

    @Test func invariantsAndReferenceModelOverARandomRun() {
        let (sim, _) = Self.run(seed: 2026, count: 12_000)
        var fold = ShopFold()
        let checkpoints = Set(stride(from: 1, through: sim.events.count, by: 997)).union([sim.events.count])
        var placedSoFar = 0
        for (offset, entry) in sim.events.enumerated() {
            fold.apply(entry.event, meta: entry.meta)
            if case .orderPlaced = entry.event { placedSoFar += 1 }
            guard checkpoints.contains(offset + 1) else { continue }
            let views = fold.views
            let reference = ReferenceViews.compute(sim.events[...offset])
            #expect(views.shoppers == reference.shoppers, "shoppers differ at \(offset + 1)")
            #expect(views.warehouse == reference.warehouse, "warehouse differs at \(offset + 1)")
            #expect(views.finance == reference.finance, "finance differs at \(offset + 1)")
            #expect(views.support == reference.support, "support differs at \(offset + 1)")

            // Invariants of SPEC sections 2 and 3.
            #expect(views.warehouse.stock.allSatisfy { $0.available >= 0 && $0.reserved >= 0 && $0.onHand >= $0.reserved })
            #expect(views.finance.revenueCents - views.finance.refundsCents == views.finance.netCents)
            #expect(views.shoppers.customers.map(\.spentCents).reduce(0, +) == views.finance.netCents)
            let counts = views.support.statusCounts
            #expect(counts.placed + counts.paid + counts.shipped + counts.cancelled == placedSoFar)
            #expect(views.shoppers.customers.map(\.orders).reduce(0, +) == placedSoFar)
            #expect(views.shoppers.customers.map(\.open).reduce(0, +) == counts.placed + counts.paid)
            #expect(views.warehouse.pickQueue.count == counts.paid)
            #expect(views.finance.topSkus.map(\.revenueCents).reduce(0, +) <= views.finance.netCents)
        }
        // The write model and the views agree on stock.
        for line in fold.views.warehouse.stock {
            #expect(sim.state.products[line.sku]?.onHand == line.onHand)
            #expect(sim.state.products[line.sku]?.reserved == line.reserved)
        }
        #expect(fold.views.support.statusCounts.placed == sim.state.placedOrders.count)
        #expect(fold.views.support.statusCounts.paid == sim.state.paidOrders.count)
    }

    /// Publishing a view between events must not disturb the projection (copy-on-write traps),
    /// and a rebuild from position 1 must give the same views as the live fold.
    @Test func viewsPublishedOftenEqualARebuild() {
        let (sim, _) = Self.run(seed: 99, count: 4_000)
        var live = ShopFold()
        var published: [ShopViews] = []
        for (event, meta) in sim.events {
            live.apply(event, meta: meta)
            if meta.position % 7 == 0 { published.append(live.views) }
        }
        #expect(live.views == ShopFold.views(of: sim.events))
        // An early snapshot is not changed by later events.
        let early = published[10]
        #expect(early == ShopFold.views(of: sim.events.prefix(Int(early.position))))
    }
}
