import CQRS
import Testing

@testable import Shop

/// Every row of SPEC section 2's table: the accepted path and each rejection, with its reason.
@Suite struct ShopDomainTests {
    // MARK: register

    @Test func registerAddsAProduct() {
        var sim = ShopSimulator()
        let event = sim.accept("register MUG 1299 Blue mug")
        #expect(event == .productRegistered(sku: "MUG", name: "Blue mug", priceCents: 1299))
        #expect(event?.stream == "product-MUG")
        #expect(sim.state.products["MUG"] == ShopState.Product(priceCents: 1299))
    }

    @Test func registerRejections() {
        var sim = ShopSimulator.stocked()
        #expect(sim.reject("register MUG 500 Another mug") == "product MUG already exists")
        #expect(sim.reject("register mug 500 Lower case").hasPrefix("invalid SKU 'mug'"))
        #expect(sim.reject("register -MUG 500 Dash first").hasPrefix("invalid SKU '-MUG'"))
        #expect(sim.reject("register ABCDEFGHIJKLMNOPQ 500 Seventeen").hasPrefix("invalid SKU"))
        #expect(sim.reject("register CUP 0 Free cup") == "price must be positive, got 0 cents")
        #expect(sim.reject("register CUP -5 Negative") == "price must be positive, got -5 cents")
        #expect(sim.reject("register CUP 100 \(String(repeating: "x", count: 65))")
            == "invalid name: use 1-64 printable characters, got 65")
        #expect(sim.run(.register(sku: "CUP", priceCents: 100, name: "")) == .failure(Rejection("invalid name: use 1-64 printable characters, got 0")))
        #expect(sim.run(.register(sku: "CUP", priceCents: 100, name: "tab\there"))
            == .failure(Rejection("invalid name: character U+9 is not printable")))
        // Limits that are allowed.
        sim.accept("register ABCDEFGHIJKLMNOP 1 \(String(repeating: "é", count: 64))")
        sim.accept("register 9-LIVES 1 Cat food")
    }

    // MARK: restock and price

    @Test func restockAndPrice() {
        var sim = ShopSimulator.stocked()
        #expect(sim.accept("restock MUG 1000000") == .productRestocked(sku: "MUG", quantity: 1_000_000))
        #expect(sim.state.products["MUG"]?.onHand == 1_000_010)
        #expect(sim.accept("price MUG 1499") == .priceChanged(sku: "MUG", priceCents: 1499))
        #expect(sim.state.products["MUG"]?.priceCents == 1499)
    }

    @Test func restockRejections() {
        var sim = ShopSimulator.stocked()
        #expect(sim.reject("restock XYZ 5") == "unknown SKU: XYZ")
        #expect(sim.reject("restock MUG 0") == "restock quantity must be in 1...1000000, got 0")
        #expect(sim.reject("restock MUG 1000001") == "restock quantity must be in 1...1000000, got 1000001")
        #expect(sim.reject("restock MUG -3") == "restock quantity must be in 1...1000000, got -3")
    }

    @Test func priceRejections() {
        var sim = ShopSimulator.stocked()
        #expect(sim.reject("price XYZ 100") == "unknown SKU: XYZ")
        #expect(sim.reject("price MUG 0") == "price must be positive, got 0 cents")
    }

    // MARK: place

    @Test func placeFixesPricesAndTotal() {
        var sim = ShopSimulator.stocked()
        let event = sim.accept("place alice MUG:2 PEN:3")
        #expect(
            event
                == .orderPlaced(
                    orderId: "o-1", customer: "alice",
                    lines: [
                        OrderLine(sku: "MUG", quantity: 2, unitPriceCents: 1299),
                        OrderLine(sku: "PEN", quantity: 3, unitPriceCents: 199),
                    ], totalCents: 2 * 1299 + 3 * 199))
        #expect(event?.stream == "order-o-1")
        #expect(sim.state.products["MUG"]?.reserved == 2)
        #expect(sim.state.products["MUG"]?.available == 8)
        // A later price change does not touch the placed order.
        sim.accept("price MUG 5000")
        #expect(sim.state.orders["o-1"]?.totalCents == 3195)
        #expect(sim.reject("pay o-1 10000") == "payment for o-1 must be 3195 cents, got 10000")
        sim.accept("pay o-1 3195")
    }

    @Test func automaticOrderIdsSkipExplicitOnes() {
        var sim = ShopSimulator.stocked()
        sim.accept("place alice PEN:1 as o-2")
        #expect(sim.accept("place bob PEN:1") == .orderPlaced(orderId: "o-1", customer: "bob", lines: [OrderLine(sku: "PEN", quantity: 1, unitPriceCents: 199)], totalCents: 199))
        // o-2 is taken, so the next automatic id is o-3.
        guard case .orderPlaced(let id, _, _, _) = sim.accept("place carol PEN:1") else {
            Issue.record("no order placed")
            return
        }
        #expect(id == "o-3")
        sim.accept("place dave PEN:1 as special-7")
        #expect(sim.state.nextOrderId == "o-4")
        #expect(sim.reject("place erin PEN:1 as o-3") == "order o-3 already exists")
        #expect(sim.reject("place erin PEN:1 as special-7") == "order special-7 already exists")
    }

    @Test func placeRejections() {
        var sim = ShopSimulator.stocked()
        #expect(sim.reject("place alice") == "an order needs 1 to 10 lines, got 0")
        sim.accept("register A1 1 a"); sim.accept("register A2 1 a"); sim.accept("register A3 1 a")
        sim.accept("register A4 1 a"); sim.accept("register A5 1 a"); sim.accept("register A6 1 a")
        sim.accept("register A7 1 a"); sim.accept("register A8 1 a"); sim.accept("register A9 1 a")
        for sku in ["A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9"] { sim.accept("restock \(sku) 5") }
        #expect(sim.reject("place alice MUG:1 PEN:1 A1:1 A2:1 A3:1 A4:1 A5:1 A6:1 A7:1 A8:1 A9:1")
            == "an order needs 1 to 10 lines, got 11")
        sim.accept("place alice MUG:1 PEN:1 A1:1 A2:1 A3:1 A4:1 A5:1 A6:1 A7:1 A8:1")
        #expect(sim.reject("place alice MUG:1 PEN:1 MUG:2") == "SKU MUG appears twice in the order")
        #expect(sim.reject("place alice XYZ:1") == "unknown SKU: XYZ")
        #expect(sim.reject("place alice PEN:0") == "quantity of PEN must be in 1...1000, got 0")
        #expect(sim.reject("place alice PEN:1001") == "quantity of PEN must be in 1...1000, got 1001")
        #expect(sim.reject("place alice MUG:10") == "insufficient stock for MUG: 9 available, 10 asked")
        #expect(sim.reject("place Alice MUG:1").hasPrefix("invalid customer 'Alice'"))
        #expect(sim.reject("place _al MUG:1").hasPrefix("invalid customer '_al'"))
        #expect(sim.reject("place alice MUG:1 as O-1").hasPrefix("invalid order id 'O-1'"))
        #expect(sim.reject("place alice MUG:1 as o-1") == "order o-1 already exists")
        sim.accept("place al_ice-9 MUG:9")
        #expect(sim.reject("place bob MUG:1") == "insufficient stock for MUG: 0 available, 1 asked")
    }

    @Test func placeRejectsATotalThatOverflows() {
        var sim = ShopSimulator()
        sim.accept("register GOLD 9223372036854775807 Gold bar")
        sim.accept("restock GOLD 10")
        #expect(sim.reject("place alice GOLD:2") == "order total is too large to count in cents")
        sim.accept("place alice GOLD:1")
    }

    // MARK: pay, ship, cancel

    @Test func orderLifecycle() {
        var sim = ShopSimulator.stocked()
        sim.accept("place alice MUG:3")
        #expect(sim.accept("pay o-1 3897") == .paymentReceived(orderId: "o-1", amountCents: 3897))
        #expect(sim.state.orders["o-1"]?.status == .paid)
        #expect(sim.state.paidOrders.elements == ["o-1"])
        #expect(sim.accept("ship o-1") == .orderShipped(orderId: "o-1"))
        #expect(sim.state.orders["o-1"]?.status == .shipped)
        #expect(sim.state.products["MUG"] == ShopState.Product(priceCents: 1299, onHand: 7, reserved: 0))
        #expect(sim.state.placedOrders.isEmpty && sim.state.paidOrders.isEmpty)
    }

    @Test func payRejections() {
        var sim = ShopSimulator.stocked()
        #expect(sim.reject("pay o-9 100") == "unknown order: o-9")
        sim.accept("place alice MUG:1")
        #expect(sim.reject("pay o-1 1298") == "payment for o-1 must be 1299 cents, got 1298")
        sim.accept("pay o-1 1299")
        #expect(sim.reject("pay o-1 1299") == "order o-1 is paid, not placed")
        sim.accept("ship o-1")
        #expect(sim.reject("pay o-1 1299") == "order o-1 is shipped, not placed")
        sim.accept("place bob MUG:1")
        sim.accept("cancel o-2 changed my mind")
        #expect(sim.reject("pay o-2 1299") == "order o-2 is cancelled, not placed")
    }

    @Test func shipRejections() {
        var sim = ShopSimulator.stocked()
        #expect(sim.reject("ship o-9") == "unknown order: o-9")
        sim.accept("place alice MUG:1")
        #expect(sim.reject("ship o-1") == "order o-1 is placed, not paid")
        sim.accept("pay o-1 1299")
        sim.accept("ship o-1")
        #expect(sim.reject("ship o-1") == "order o-1 is shipped, not paid")
        sim.accept("place bob MUG:1")
        sim.accept("cancel o-2 nope")
        #expect(sim.reject("ship o-2") == "order o-2 is cancelled, not paid")
    }

    @Test func cancelRefundsOnlyPaidOrdersAndReleasesStock() {
        var sim = ShopSimulator.stocked()
        sim.accept("place alice MUG:4")
        sim.accept("place bob MUG:2")
        #expect(sim.state.products["MUG"]?.available == 4)
        #expect(sim.accept("cancel o-1 changed my mind")
            == .orderCancelled(orderId: "o-1", reason: "changed my mind", refundCents: 0))
        sim.accept("pay o-2 2598")
        #expect(sim.accept("cancel o-2 too slow") == .orderCancelled(orderId: "o-2", reason: "too slow", refundCents: 2598))
        #expect(sim.state.products["MUG"] == ShopState.Product(priceCents: 1299, onHand: 10, reserved: 0))
        #expect(sim.state.orders["o-2"]?.status == .cancelled)
    }

    @Test func cancelRejections() {
        var sim = ShopSimulator.stocked()
        #expect(sim.reject("cancel o-9 whatever") == "unknown order: o-9")
        sim.accept("place alice MUG:1")
        sim.accept("pay o-1 1299")
        sim.accept("ship o-1")
        #expect(sim.reject("cancel o-1 too late") == "order o-1 is already shipped")
        sim.accept("place bob MUG:1")
        sim.accept("cancel o-2 first")
        #expect(sim.reject("cancel o-2 second") == "order o-2 is already cancelled")
        sim.accept("place carol MUG:1")
        #expect(sim.run(.cancel(orderId: "o-3", reason: "")) == .failure(Rejection("invalid reason: use 1-64 printable characters, got 0")))
        #expect(sim.run(.cancel(orderId: "o-3", reason: "line\nbreak")) == .failure(Rejection("invalid reason: character U+A is not printable")))
        #expect(sim.reject("cancel o-3 \(String(repeating: "r", count: 65))") == "invalid reason: use 1-64 printable characters, got 65")
    }

    @Test func eventsGoToTheirStreamsWithVersions() {
        var sim = ShopSimulator.stocked()
        sim.accept("place alice MUG:1")
        sim.accept("pay o-1 1299")
        sim.accept("ship o-1")
        let streams = sim.events.map { "\($0.event.stream)#\($0.meta.streamVersion)" }
        #expect(streams == [
            "product-MUG#1", "product-MUG#2", "product-PEN#1", "product-PEN#2",
            "order-o-1#1", "order-o-1#2", "order-o-1#3",
        ])
        #expect(sim.events.map(\.meta.position) == Array(1...7))
    }
}
