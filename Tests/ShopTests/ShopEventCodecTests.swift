import CQRS
import EventLog
import Testing

@testable import Shop

/// The binary payloads: every event round-trips, the layout is what the doc comment promises,
/// and bad bytes fail loudly with the type and position.
@Suite struct ShopEventCodecTests {
    static let samples: [ShopEvent] = [
        .productRegistered(sku: "MUG", name: "Blue mug ☕ \"quoted\"", priceCents: 1299),
        .productRestocked(sku: "MUG", quantity: 1_000_000),
        .priceChanged(sku: "NOTE-A5", priceCents: Int64.max),
        .orderPlaced(
            orderId: "o-12", customer: "al_ice-9",
            lines: [
                OrderLine(sku: "MUG", quantity: 2, unitPriceCents: 1299),
                OrderLine(sku: "PEN", quantity: 1000, unitPriceCents: 199),
            ], totalCents: 201_598),
        .orderPlaced(orderId: "o-1", customer: "bob", lines: [], totalCents: 0),
        .paymentReceived(orderId: "o-12", amountCents: 201_598),
        .orderShipped(orderId: "o-12"),
        .orderCancelled(orderId: "o-13", reason: "changed their mind", refundCents: 0),
        .orderCancelled(orderId: "o-14", reason: "é", refundCents: -1),
    ]

    func record(type: String, payload: [UInt8], position: UInt64 = 42) -> RecordedEvent {
        RecordedEvent(
            position: position, stream: "order-x", streamVersion: 1, type: type,
            timestampNanos: 0, payload: payload, commandId: nil)
    }

    @Test(arguments: samples)
    func roundTripThroughAnOwnedRecord(event: ShopEvent) throws {
        let decoded = try ShopEvent.decode(record(type: event.typeName, payload: event.payloadBytes))
        #expect(decoded == event)
    }

    @Test(arguments: samples)
    func roundTripThroughABorrowedRecordView(event: ShopEvent) throws {
        var buffer: [UInt8] = [0xEE]  // encodePayload appends; it must not touch what is there
        event.encodePayload(into: &buffer)
        #expect(buffer.first == 0xEE)
        let payload = Array(buffer.dropFirst())
        let decoded = try payload.withUnsafeBytes { payload in
            try Array(event.typeName.utf8).withUnsafeBytes { type in
                try Array(event.stream.utf8).withUnsafeBytes { stream in
                    try ShopEvent.decode(
                        RecordView(
                            position: 1, streamVersion: 1, timestampNanos: 0, streamBytes: stream,
                            typeBytes: type, payload: payload,
                            commandIdBytes: UnsafeRawBufferPointer(start: nil, count: 0), endsBatch: true))
                }
            }
        }
        #expect(decoded == event)
    }

    @Test func layoutIsCompactAndLittleEndian() {
        let bytes = ShopEvent.priceChanged(sku: "MUG", priceCents: 1299).payloadBytes
        #expect(bytes == [1, 3, 0, 0x4D, 0x55, 0x47, 0x13, 0x05, 0, 0, 0, 0, 0, 0])
        let restock = ShopEvent.productRestocked(sku: "A", quantity: 0x0102_0304).payloadBytes
        #expect(restock == [1, 1, 0, 0x41, 4, 3, 2, 1])
        let shipped = ShopEvent.orderShipped(orderId: "o-1").payloadBytes
        #expect(shipped == [1, 3, 0, 0x6F, 0x2D, 0x31])
    }

    @Test func newEventCarriesStreamTypeAndCommandId() {
        let event = ShopEvent.paymentReceived(orderId: "o-3", amountCents: 5)
        let new = event.newEvent(commandId: "cmd-1")
        #expect(new.stream == "order-o-3")
        #expect(new.type == "PaymentReceived")
        #expect(new.payload == event.payloadBytes)
        #expect(new.commandId == "cmd-1")
        #expect(Set(Self.samples.map(\.typeName)).isSubset(of: Set(ShopEvent.typeNames)))
    }

    @Test(arguments: samples)
    func everyTruncationIsReported(event: ShopEvent) {
        let payload = event.payloadBytes
        for length in 0..<payload.count {
            #expect(throws: ShopDecodingError.self) {
                _ = try ShopEvent.decode(record(type: event.typeName, payload: Array(payload[..<length]), position: 9))
            }
        }
        do {
            _ = try ShopEvent.decode(record(type: event.typeName, payload: Array(payload.dropLast()), position: 9))
        } catch let error as ShopDecodingError {
            #expect(error.type == event.typeName)
            #expect(error.position == 9)
            #expect(error.description.hasPrefix("cannot decode \(event.typeName) at position 9"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func trailingBytesAreReported() throws {
        let event = ShopEvent.orderShipped(orderId: "o-1")
        let error = try #require(throws: ShopDecodingError.self) {
            try ShopEvent.decode(record(type: "OrderShipped", payload: event.payloadBytes + [0, 0]))
        }
        #expect(error.offset == 6)
        #expect(error.description == "cannot decode OrderShipped at position 42, payload byte 6: 2 unexpected bytes after the last field")
    }

    @Test func unknownTypeFormatAndBadUTF8AreReported() throws {
        let unknown = try #require(throws: ShopDecodingError.self) {
            try ShopEvent.decode(record(type: "OrderTeleported", payload: [1]))
        }
        #expect(unknown.description == "cannot decode OrderTeleported at position 42, payload byte 0: unknown event type")

        let format = try #require(throws: ShopDecodingError.self) {
            try ShopEvent.decode(record(type: "OrderShipped", payload: [2, 1, 0, 0x41]))
        }
        #expect(format.message == "unknown payload format 2, expected 1")

        let utf8 = try #require(throws: ShopDecodingError.self) {
            try ShopEvent.decode(record(type: "OrderShipped", payload: [1, 2, 0, 0xC3, 0x28]))
        }
        #expect(utf8.message == "string of 2 bytes is not valid UTF-8")
        #expect(utf8.offset == 1)
    }
}

extension ShopEvent: CustomTestStringConvertible {
    public var testDescription: String { "\(typeName) \(dataJSON)" }
}
