import Testing

@testable import Shop

/// The write model's orders: closed ones keep their status in a byte and nothing else.
@Suite struct OrderBookTests {
    @Test func closedOrdersCostTheWriterAByteEach() {
        var book = OrderBook()
        for n in 1...1000 {
            book.open["o-\(n)"] = ShopState.Order(status: .placed, lines: [OrderLine(sku: "MUG", quantity: 1, unitPriceCents: 100)], totalCents: 100)
            book.close("o-\(n)", as: n % 2 == 0 ? .shipped : .cancelled)
        }
        book.open["mine"] = ShopState.Order(status: .placed, lines: [], totalCents: 1)
        book.close("mine", as: .shipped)
        book.close("o-0999999999", as: .cancelled)
        #expect(book.open.isEmpty)
        #expect(book.closedNumbered.count < 2_000)
        #expect(book.closedNamed.count == 2)
        #expect(book["o-2"]?.status == .shipped)
        #expect(book["o-3"]?.status == .cancelled)
        #expect(book["mine"]?.status == .shipped)
        #expect(book["o-0999999999"]?.status == .cancelled)
        #expect(book["o-1001"] == nil)
        #expect(book.closedCount == 1002)
    }
}
