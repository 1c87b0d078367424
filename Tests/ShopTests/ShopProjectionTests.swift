import CQRS
import EventLog
import Testing

@testable import Shop

/// The four views on small, hand-made histories where the expected answer is obvious.
@Suite struct ShopProjectionTests {
    @Test func namesAreStable() {
        #expect(ShoppersProjection().name == "shoppers")
        #expect(WarehouseProjection().name == "warehouse")
        #expect(FinanceProjection().name == "finance")
        #expect(SupportProjection().name == "support")
    }

    @Test func shoppersCatalogAndCustomers() {
        var sim = ShopSimulator.stocked()
        sim.accept("register CUP 500 Paper cup")
        sim.accept("place bob MUG:3")
        sim.accept("place alice PEN:2")
        sim.accept("place bob PEN:1")
        sim.accept("pay o-1 3897")
        sim.accept("pay o-3 199")
        sim.accept("cancel o-3 oops")
        sim.accept("ship o-1")
        let view = sim.views.shoppers
        #expect(view.catalog == [
            CatalogItem(sku: "CUP", name: "Paper cup", priceCents: 500, available: 0),
            CatalogItem(sku: "MUG", name: "Blue mug", priceCents: 1299, available: 7),
            CatalogItem(sku: "PEN", name: "Gel pen", priceCents: 199, available: 98),
        ])
        #expect(view.customers == [
            CustomerSummary(customer: "alice", orders: 1, open: 1, spentCents: 0),
            CustomerSummary(customer: "bob", orders: 2, open: 0, spentCents: 3897),
        ])
        #expect(view.position == UInt64(sim.events.count))
    }

    @Test func warehouseStockPickQueueAndLowStock() {
        var sim = ShopSimulator.stocked()
        sim.accept("place alice MUG:2")  // o-1
        sim.accept("place bob MUG:2")  // o-2
        sim.accept("place carol MUG:1")  // o-3
        sim.accept("pay o-2 2598")
        sim.accept("pay o-3 1299")
        sim.accept("pay o-1 2598")
        var view = sim.views.warehouse
        // Oldest payment first, not oldest order.
        #expect(view.pickQueue == ["o-2", "o-3", "o-1"])
        #expect(view.stock.first == StockLine(sku: "MUG", onHand: 10, reserved: 5, available: 5))
        #expect(view.lowStock == [])
        sim.accept("ship o-3")
        sim.accept("place dave MUG:1")
        view = sim.views.warehouse
        #expect(view.pickQueue == ["o-2", "o-1"])
        #expect(view.stock == [
            StockLine(sku: "MUG", onHand: 9, reserved: 5, available: 4),
            StockLine(sku: "PEN", onHand: 100, reserved: 0, available: 100),
        ])
        #expect(view.lowStock == ["MUG"])
        sim.accept("cancel o-2 sorry")
        #expect(sim.views.warehouse.pickQueue == ["o-1"])
        #expect(sim.views.warehouse.lowStock == [])
    }

    @Test func financeMoneyAndAverage() {
        var sim = ShopSimulator.stocked()
        sim.accept("place alice MUG:1")  // 1299
        sim.accept("place bob PEN:1")  // 199
        sim.accept("place carol PEN:2")  // 398
        sim.accept("pay o-1 1299")
        sim.accept("pay o-2 199")
        var view = sim.views.finance
        #expect(view.revenueCents == 1498 && view.paidOrders == 2 && view.averageOrderCents == 749)
        #expect(view.outstandingCents == 398)
        sim.accept("cancel o-1 refund me")
        sim.accept("cancel o-3 never mind")
        view = sim.views.finance
        #expect(view.revenueCents == 1498)
        #expect(view.refundsCents == 1299)
        #expect(view.netCents == 199)
        #expect(view.outstandingCents == 0)
        #expect(view.paidOrders == 2)
        #expect(view.topSkus == [SkuRevenue(sku: "PEN", revenueCents: 199)])
        #expect(ShopFold().views.finance.averageOrderCents == 0)
    }

    @Test func topSkusTiesZerosAndLimit() {
        var sim = ShopSimulator()
        for sku in ["A", "B", "C", "D", "E", "F", "G"] {
            sim.accept("register \(sku) 100 Thing \(sku)")
            sim.accept("restock \(sku) 100")
        }
        sim.accept("place alice G:3 F:1")  // o-1: G 300, F 100
        sim.accept("place alice E:1 D:1")  // o-2: E 100, D 100
        sim.accept("place alice C:2 B:1 A:1")  // o-3: C 200, B 100, A 100
        sim.accept("pay o-1 400")
        sim.accept("pay o-2 200")
        sim.accept("pay o-3 400")
        sim.accept("ship o-1")
        #expect(sim.views.finance.topSkus == [
            SkuRevenue(sku: "G", revenueCents: 300), SkuRevenue(sku: "C", revenueCents: 200),
            SkuRevenue(sku: "A", revenueCents: 100), SkuRevenue(sku: "B", revenueCents: 100),
            SkuRevenue(sku: "D", revenueCents: 100),
        ])
        // Revenue of a cancelled paid order is taken back; SKUs left at zero drop out.
        sim.accept("cancel o-3 wrong colour")
        #expect(sim.views.finance.topSkus == [
            SkuRevenue(sku: "G", revenueCents: 300), SkuRevenue(sku: "D", revenueCents: 100),
            SkuRevenue(sku: "E", revenueCents: 100), SkuRevenue(sku: "F", revenueCents: 100),
        ])
        // A price change after placement does not change the revenue of placed lines.
        sim.accept("price D 999")
        sim.accept("place bob D:1")
        sim.accept("pay o-4 999")
        #expect(sim.views.finance.topSkus.first == SkuRevenue(sku: "D", revenueCents: 1099))
    }

    @Test func supportCountsOldestUnpaidAndReasons() {
        var sim = ShopSimulator.stocked()
        for customer in ["a", "b", "c", "d", "e", "f", "g"] { sim.accept("place \(customer) PEN:1") }
        // o-1 ... o-7 at positions 5 ... 11.
        sim.accept("pay o-2 199")
        sim.accept("cancel o-4 too slow")
        sim.accept("cancel o-2 too slow")
        sim.accept("pay o-5 199")
        sim.accept("ship o-5")
        sim.accept("cancel o-6 wrong item")
        let view = sim.views.support
        #expect(view.statusCounts == StatusCounts(placed: 3, paid: 0, shipped: 1, cancelled: 3))
        #expect(view.oldestUnpaid == [
            UnpaidOrder(orderId: "o-1", customer: "a", placedAt: 5),
            UnpaidOrder(orderId: "o-3", customer: "c", placedAt: 7),
            UnpaidOrder(orderId: "o-7", customer: "g", placedAt: 11),
        ])
        #expect(view.cancellationReasons == ["too slow": 2, "wrong item": 1])
        for customer in ["h", "i", "j"] { sim.accept("place \(customer) PEN:1") }
        #expect(sim.views.support.oldestUnpaid.map(\.orderId) == ["o-1", "o-3", "o-7", "o-8", "o-9"])
    }

    @Test func arrivalQueueKeepsOrderThroughCompaction() {
        var queue = ArrivalQueue<Int, Int>()
        var reference: [Int] = []
        var rng = SplitMix64(seed: 7)
        for key in 0..<5_000 {
            queue.append(key, key * 2)
            reference.append(key)
            // Remove two random keys now and then, and often the oldest, to force compaction.
            if rng.chance(60), let index = reference.indices.randomElement(using: &rng) {
                queue.remove(reference.remove(at: index))
            }
            if rng.chance(40), !reference.isEmpty { queue.remove(reference.removeFirst()) }
        }
        queue.append(3, 99)  // already removed long ago: comes back at the end
        reference.append(3)
        #expect(queue.count == reference.count)
        #expect(queue.all.map(\.key) == reference)
        #expect(queue.all.allSatisfy { $0.key == 3 ? $0.value == 99 : $0.value == $0.key * 2 })
        #expect(queue.prefix(5).map(\.key) == Array(reference.prefix(5)))
    }

    @Test func indexedSetRemovesBySwapping() {
        var set = IndexedSet<String>()
        for id in ["a", "b", "c", "d"] { set.insert(id) }
        set.insert("b")
        set.remove("b")
        set.remove("zz")
        #expect(set.elements == ["a", "d", "c"])
        #expect(set.contains("d") && !set.contains("b"))
        set.remove("c")
        set.remove("a")
        #expect(set.elements == ["d"] && set[0] == "d")
    }

    @Test func foldAppliesRecordsFromTheLog() throws {
        var sim = ShopSimulator.stocked()
        sim.accept("place alice MUG:1")
        var fold = ShopFold()
        for (event, meta) in sim.events {
            let payload = event.payloadBytes
            try payload.withUnsafeBytes { payload in
                try Array(event.typeName.utf8).withUnsafeBytes { type in
                    try Array(event.stream.utf8).withUnsafeBytes { stream in
                        try fold.apply(
                            RecordView(
                                position: meta.position, streamVersion: meta.streamVersion,
                                timestampNanos: meta.timestampNanos, streamBytes: stream, typeBytes: type,
                                payload: payload, commandIdBytes: UnsafeRawBufferPointer(start: nil, count: 0),
                                endsBatch: true))
                    }
                }
            }
        }
        #expect(fold.position == 5)
        #expect(fold.views == sim.views)
    }
}
