import CQRS
import EventLog
import Foundation
import Testing

@testable import Shop

/// The JSON of SPEC sections 3 and 4, checked by parsing it back with Foundation.
@Suite struct ShopJSONTests {
    func object(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        return try #require(parsed as? [String: Any], sourceLocation: sourceLocation)
    }

    @Test func timesAreISO8601WithMilliseconds() {
        #expect(ShopJSON.iso8601(nanos: 1_796_032_800_000_000_000) == "2026-11-30T10:00:00.000Z")
        #expect(ShopJSON.iso8601(nanos: 1_709_251_199_123_999_999) == "2024-02-29T23:59:59.123Z")
        #expect(ShopJSON.iso8601(nanos: 946_684_800_000_000_000) == "2000-01-01T00:00:00.000Z")
        #expect(ShopJSON.iso8601(nanos: 0) == "1970-01-01T00:00:00.000Z")
        #expect(ShopJSON.iso8601(nanos: -1) == "1969-12-31T23:59:59.999Z")
    }

    /// `prism export` reuses one buffer for a megabyte of lines: appending a line must never
    /// copy it (a copy per event made export run at 16k events/s). A copy moves the buffer.
    @Test func appendingExportLinesNeverCopiesTheBuffer() {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20)
        let base = buffer.withUnsafeBufferPointer { $0.baseAddress }
        for i in 0..<100 {
            ShopJSON.appendExportLine(
                .orderPlaced(orderId: "o-\(i)", customer: "alice", lines: [OrderLine(sku: "MUG", quantity: 2, unitPriceCents: 1299)], totalCents: 2598),
                position: UInt64(i + 1), stream: "order-o-\(i)", version: 1, timestampNanos: 0, commandId: "c-\(i)", to: &buffer)
            buffer.append(UInt8(ascii: "\n"))
        }
        #expect(buffer.withUnsafeBufferPointer { $0.baseAddress } == base, "the buffer was copied")
        #expect(buffer.split(separator: UInt8(ascii: "\n")).count == 100)
    }

    @Test func exportLineMatchesTheSpecExample() throws {
        let line = ShopJSON.exportLine(
            .productRegistered(sku: "MUG", name: "Blue mug", priceCents: 1299), position: 1,
            stream: "product-MUG", version: 1, timestampNanos: 1_796_032_800_000_000_000, commandId: nil)
        #expect(line == #"{"position":1,"stream":"product-MUG","version":1,"type":"ProductRegistered","time":"2026-11-30T10:00:00.000Z","data":{"sku":"MUG","name":"Blue mug","priceCents":1299}}"#)
        let withId = ShopJSON.exportLine(
            .orderShipped(orderId: "o-1"), position: 9, stream: "order-o-1", version: 3,
            timestampNanos: 0, commandId: "c\"1")
        #expect(try object(withId)["commandId"] as? String == "c\"1")
    }

    @Test(arguments: ShopEventCodecTests.samples)
    func exportLineOfEveryEventIsValidJSON(event: ShopEvent) throws {
        let recorded = RecordedEvent(
            position: 5, stream: event.stream, streamVersion: 2, type: event.typeName,
            timestampNanos: 1_796_032_800_000_000_000, payload: event.payloadBytes, commandId: "cmd-7")
        let json = try object(try ShopJSON.exportLine(recorded))
        #expect(json["position"] as? Int == 5)
        #expect(json["stream"] as? String == event.stream)
        #expect(json["version"] as? Int == 2)
        #expect(json["type"] as? String == event.typeName)
        #expect(json["time"] as? String == "2026-11-30T10:00:00.000Z")
        #expect(json["commandId"] as? String == "cmd-7")
        let data = try #require(json["data"] as? [String: Any])
        switch event {
        case .productRegistered(let sku, let name, let price):
            #expect(Set(data.keys) == ["sku", "name", "priceCents"])
            #expect(data["sku"] as? String == sku && data["name"] as? String == name)
            #expect((data["priceCents"] as? NSNumber)?.int64Value == price)
        case .productRestocked(let sku, let quantity):
            #expect(Set(data.keys) == ["sku", "quantity"])
            #expect(data["sku"] as? String == sku && (data["quantity"] as? NSNumber)?.int64Value == quantity)
        case .priceChanged(let sku, let price):
            #expect(Set(data.keys) == ["sku", "priceCents"])
            #expect(data["sku"] as? String == sku && (data["priceCents"] as? NSNumber)?.int64Value == price)
        case .orderPlaced(let orderId, let customer, let lines, let total):
            #expect(Set(data.keys) == ["orderId", "customer", "lines", "totalCents"])
            #expect(data["orderId"] as? String == orderId && data["customer"] as? String == customer)
            #expect((data["totalCents"] as? NSNumber)?.int64Value == total)
            let jsonLines = try #require(data["lines"] as? [[String: Any]])
            #expect(jsonLines.count == lines.count)
            for (json, line) in zip(jsonLines, lines) {
                #expect(Set(json.keys) == ["sku", "quantity", "unitPriceCents"])
                #expect(json["sku"] as? String == line.sku)
                #expect((json["quantity"] as? NSNumber)?.int64Value == line.quantity)
                #expect((json["unitPriceCents"] as? NSNumber)?.int64Value == line.unitPriceCents)
            }
        case .paymentReceived(let orderId, let amount):
            #expect(Set(data.keys) == ["orderId", "amountCents"])
            #expect(data["orderId"] as? String == orderId && (data["amountCents"] as? NSNumber)?.int64Value == amount)
        case .orderShipped(let orderId):
            #expect(Set(data.keys) == ["orderId"])
            #expect(data["orderId"] as? String == orderId)
        case .orderCancelled(let orderId, let reason, let refund):
            #expect(Set(data.keys) == ["orderId", "reason", "refundCents"])
            #expect(data["orderId"] as? String == orderId && data["reason"] as? String == reason)
            #expect((data["refundCents"] as? NSNumber)?.int64Value == refund)
        }
    }

    @Test func appendExportLineAppendsToABuffer() throws {
        var buffer = Array("{\"position\":0}\n".utf8)
        let event = ShopEvent.productRestocked(sku: "MUG", quantity: 3)
        let payload = event.payloadBytes
        try payload.withUnsafeBytes { payload in
            try Array("ProductRestocked".utf8).withUnsafeBytes { type in
                try Array("product-MUG".utf8).withUnsafeBytes { stream in
                    try Array("c-1".utf8).withUnsafeBytes { commandId in
                        try ShopJSON.appendExportLine(
                            RecordView(
                                position: 2, streamVersion: 2, timestampNanos: 1_796_032_800_123_000_000,
                                streamBytes: stream, typeBytes: type, payload: payload,
                                commandIdBytes: commandId, endsBatch: true),
                            to: &buffer)
                    }
                }
            }
        }
        let lines = String(decoding: buffer, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[1] == #"{"position":2,"stream":"product-MUG","version":2,"type":"ProductRestocked","time":"2026-11-30T10:00:00.123Z","data":{"sku":"MUG","quantity":3},"commandId":"c-1"}"#)
    }

    @Test func stringsAreEscaped() throws {
        let nasty = "q\"b\\s/\n\r\t\u{01}\u{1F}\u{7F}é☕\u{2028}𝄞"
        let line = ShopJSON.exportLine(
            .orderCancelled(orderId: "o-1", reason: nasty, refundCents: 0), position: 1,
            stream: "order-o-1", version: 1, timestampNanos: 0, commandId: nasty)
        #expect(!line.contains("\n"))
        let json = try object(line)
        #expect((json["data"] as? [String: Any])?["reason"] as? String == nasty)
        #expect(json["commandId"] as? String == nasty)
    }

    @Test func viewsDocumentHasEveryField() throws {
        var sim = ShopSimulator.stocked()
        sim.accept("register Q 100 Quote \"name\" \\ here")
        sim.accept("place alice MUG:2 PEN:1")
        sim.accept("place bob MUG:1")
        sim.accept("pay o-1 2797")
        sim.accept("cancel o-2 changed \"mind\"")
        let views = sim.views
        let text = views.json
        let json = try object(text)
        #expect(Set(json.keys) == ["position", "shoppers", "warehouse", "finance", "support"])
        #expect(json["position"] as? Int == sim.events.count)

        let shoppers = try #require(json["shoppers"] as? [String: Any])
        #expect(Set(shoppers.keys) == ["catalog", "customers"])
        let catalog = try #require(shoppers["catalog"] as? [[String: Any]])
        #expect(catalog.map { $0["sku"] as? String } == ["MUG", "PEN", "Q"])
        #expect(Set(catalog[0].keys) == ["sku", "name", "priceCents", "available"])
        #expect(catalog[0]["available"] as? Int == 8)
        #expect(catalog[2]["name"] as? String == "Quote \"name\" \\ here")
        let customers = try #require(shoppers["customers"] as? [[String: Any]])
        #expect(Set(customers[0].keys) == ["customer", "orders", "open", "spentCents"])
        #expect(customers[0]["spentCents"] as? Int == 2797)

        let warehouse = try #require(json["warehouse"] as? [String: Any])
        #expect(Set(warehouse.keys) == ["stock", "pickQueue", "lowStock"])
        #expect(warehouse["pickQueue"] as? [String] == ["o-1"])
        #expect(warehouse["lowStock"] as? [String] == ["Q"])
        let stock = try #require(warehouse["stock"] as? [[String: Any]])
        #expect(Set(stock[0].keys) == ["sku", "onHand", "reserved", "available"])

        let finance = try #require(json["finance"] as? [String: Any])
        #expect(Set(finance.keys) == [
            "revenueCents", "refundsCents", "netCents", "outstandingCents", "paidOrders",
            "averageOrderCents", "topSkus",
        ])
        #expect(finance["revenueCents"] as? Int == 2797)
        let top = try #require(finance["topSkus"] as? [[String: Any]])
        #expect(top.map { $0["sku"] as? String } == ["MUG", "PEN"])
        #expect(Set(top[0].keys) == ["sku", "revenueCents"])

        let support = try #require(json["support"] as? [String: Any])
        #expect(Set(support.keys) == ["statusCounts", "oldestUnpaid", "cancellationReasons"])
        let counts = try #require(support["statusCounts"] as? [String: Int])
        #expect(counts == ["placed": 0, "paid": 1, "shipped": 0, "cancelled": 1])
        #expect(support["cancellationReasons"] as? [String: Int] == ["changed \"mind\"": 1])
        #expect((support["oldestUnpaid"] as? [Any])?.isEmpty == true)
    }

    @Test func emptyViewsAreValid() throws {
        let json = try object(ShopFold().views.json)
        #expect(json["position"] as? Int == 0)
        #expect(((json["support"] as? [String: Any])?["cancellationReasons"] as? [String: Any])?.isEmpty == true)
    }
}
