import CQRS
import EventStore

/// The compact binary payload of each ``ShopEvent``.
///
/// Why binary and not JSON: every replay and every projector decodes every event, so the payload
/// is read far more often than it is written, and a JSON parser would cost more than the disk.
/// The layout is deliberately plain so a reader of a hex dump can follow it:
///
/// - byte 0: the payload format version, ``ShopEvent/payloadFormat``. A future change of a
///   payload bumps it, so old logs stay readable and corrupt bytes are told apart from new ones.
/// - then the fields in the order the SPEC names them:
///   - strings: `UInt16` little-endian byte count, then that many UTF-8 bytes;
///   - money: `Int64` little-endian cents;
///   - quantities: `UInt32` little-endian (the domain caps them at 1,000,000);
///   - the lines of an order: a `UInt8` count, then `sku, quantity, unitPriceCents` per line.
///
/// The event type is not repeated in the payload: the log already stores it beside the payload,
/// and decoding dispatches on those type bytes without allocating a `String`.
extension ShopEvent {
    /// Version byte that opens every payload.
    public static let payloadFormat: UInt8 = 1

    public func encodePayload(into buffer: inout [UInt8]) {
        buffer.append(Self.payloadFormat)
        switch self {
        case .productRegistered(let sku, let name, let price):
            buffer.appendString(sku)
            buffer.appendString(name)
            buffer.appendInt64(price)
        case .productRestocked(let sku, let quantity):
            buffer.appendString(sku)
            buffer.appendQuantity(quantity)
        case .priceChanged(let sku, let price):
            buffer.appendString(sku)
            buffer.appendInt64(price)
        case .orderPlaced(let orderId, let customer, let lines, let total):
            buffer.appendString(orderId)
            buffer.appendString(customer)
            precondition(lines.count <= Int(UInt8.max), "an order has at most 255 lines on the wire")
            buffer.append(UInt8(lines.count))
            for line in lines {
                buffer.appendString(line.sku)
                buffer.appendQuantity(line.quantity)
                buffer.appendInt64(line.unitPriceCents)
            }
            buffer.appendInt64(total)
        case .paymentReceived(let orderId, let amount):
            buffer.appendString(orderId)
            buffer.appendInt64(amount)
        case .orderShipped(let orderId):
            buffer.appendString(orderId)
        case .orderCancelled(let orderId, let reason, let refund):
            buffer.appendString(orderId)
            buffer.appendString(reason)
            buffer.appendInt64(refund)
        }
    }

    /// The payload as a fresh array; for tests and tools, not for the writer's hot path.
    public var payloadBytes: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        encodePayload(into: &bytes)
        return bytes
    }

    /// The event ready to hand to the log, with an optional command id.
    public func newEvent(commandId: String? = nil, expectedVersion: ExpectedVersion = .any) -> NewEvent {
        NewEvent(
            stream: stream, type: typeName, payload: payloadBytes, commandId: commandId,
            expectedVersion: expectedVersion)
    }

    public static func decode(_ record: EventView) throws -> ShopEvent {
        try decode(typeBytes: record.typeBytes, payload: record.payload, position: record.position)
    }

    /// Decodes an owned copy of a record (tools, tests, `export`).
    public static func decode(_ event: RecordedEvent) throws -> ShopEvent {
        var type = event.type
        return try type.withUTF8 { typeBytes in
            try event.payload.withUnsafeBytes { payload in
                try decode(
                    typeBytes: UnsafeRawBufferPointer(typeBytes), payload: payload,
                    position: event.position)
            }
        }
    }

    /// The decoder proper: dispatches on the type bytes, then reads fields in the order
    /// ``encodePayload(into:)`` wrote them and insists on consuming every byte, so a payload that
    /// is too long is reported as loudly as one that is too short.
    static func decode(
        typeBytes: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, position: UInt64
    ) throws -> ShopEvent {
        let type = TypeTag(typeBytes)
        var reader = PayloadReader(bytes: payload, typeBytes: typeBytes, position: position)
        let format = try reader.uint8()
        guard format == payloadFormat else {
            throw reader.error(at: 0, "unknown payload format \(format), expected \(payloadFormat)")
        }
        let event: ShopEvent
        switch type {
        case .productRegistered:
            event = .productRegistered(
                sku: try reader.string(), name: try reader.string(), priceCents: try reader.int64())
        case .productRestocked:
            event = .productRestocked(sku: try reader.string(), quantity: try reader.quantity())
        case .priceChanged:
            event = .priceChanged(sku: try reader.string(), priceCents: try reader.int64())
        case .orderPlaced:
            let orderId = try reader.string()
            let customer = try reader.string()
            let count = Int(try reader.uint8())
            var lines: [OrderLine] = []
            lines.reserveCapacity(count)
            for _ in 0..<count {
                lines.append(
                    OrderLine(
                        sku: try reader.string(), quantity: try reader.quantity(),
                        unitPriceCents: try reader.int64()))
            }
            event = .orderPlaced(
                orderId: orderId, customer: customer, lines: lines, totalCents: try reader.int64())
        case .paymentReceived:
            event = .paymentReceived(orderId: try reader.string(), amountCents: try reader.int64())
        case .orderShipped:
            event = .orderShipped(orderId: try reader.string())
        case .orderCancelled:
            event = .orderCancelled(
                orderId: try reader.string(), reason: try reader.string(),
                refundCents: try reader.int64())
        case .unknown(let name):
            throw ShopDecodingError(
                type: name, position: position, offset: 0, message: "unknown event type")
        }
        try reader.expectEnd()
        return event
    }
}

/// The event type named by a record's type bytes, found by comparing bytes (``EventView/typeIs(_:)``
/// does the same) so the decoder allocates no `String` on the happy path.
private enum TypeTag {
    case productRegistered, productRestocked, priceChanged, orderPlaced, paymentReceived
    case orderShipped, orderCancelled
    case unknown(String)

    init(_ bytes: UnsafeRawBufferPointer) {
        func its(_ name: StaticString) -> Bool {
            name.utf8CodeUnitCount == bytes.count
                && UnsafeRawBufferPointer(start: name.utf8Start, count: bytes.count)
                    .elementsEqual(bytes)
        }
        if its("OrderPlaced") { self = .orderPlaced }
        else if its("PaymentReceived") { self = .paymentReceived }
        else if its("OrderShipped") { self = .orderShipped }
        else if its("OrderCancelled") { self = .orderCancelled }
        else if its("ProductRestocked") { self = .productRestocked }
        else if its("PriceChanged") { self = .priceChanged }
        else if its("ProductRegistered") { self = .productRegistered }
        else { self = .unknown(String(decoding: bytes, as: UTF8.self)) }
    }
}

/// A payload the decoder could not read: which event type, at which log position, at which byte
/// of the payload, and what was wrong, so `prism verify` can point a person at the exact spot.
public struct ShopDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The record's event type as stored in the log.
    public var type: String
    /// The record's position in the log.
    public var position: UInt64
    /// Byte offset inside the payload where reading failed.
    public var offset: Int
    public var message: String

    public init(type: String, position: UInt64, offset: Int, message: String) {
        self.type = type
        self.position = position
        self.offset = offset
        self.message = message
    }

    public var description: String {
        "cannot decode \(type) at position \(position), payload byte \(offset): \(message)"
    }
}

/// Reads fields from a borrowed payload, tracking the offset for error messages.
private struct PayloadReader {
    let bytes: UnsafeRawBufferPointer
    /// The record's type, only for error messages.
    let typeBytes: UnsafeRawBufferPointer
    let position: UInt64
    var offset = 0

    init(bytes: UnsafeRawBufferPointer, typeBytes: UnsafeRawBufferPointer, position: UInt64) {
        self.bytes = bytes
        self.typeBytes = typeBytes
        self.position = position
    }

    func error(at offset: Int, _ message: String) -> ShopDecodingError {
        ShopDecodingError(
            type: String(decoding: typeBytes, as: UTF8.self), position: position, offset: offset, message: message)
    }

    /// `what` is made only for the error: a string built per field was most of `export`'s
    /// decoding time.
    mutating func need(_ count: Int, for what: @autoclosure () -> String) throws {
        guard bytes.count - offset >= count else {
            throw error(
                at: offset,
                "payload ends after \(bytes.count) bytes, \(what()) needs \(count) more")
        }
    }

    mutating func uint8() throws -> UInt8 {
        try need(1, for: "a byte")
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func int64() throws -> Int64 {
        try need(8, for: "an Int64")
        defer { offset += 8 }
        return Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int64.self))
    }

    mutating func quantity() throws -> Int64 {
        try need(4, for: "a quantity")
        defer { offset += 4 }
        return Int64(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
    }

    mutating func string() throws -> String {
        try need(2, for: "a string length")
        let count = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
        let start = offset
        offset += 2
        try need(count, for: "a string of \(count) bytes")
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
        // ASCII (most names and ids) is valid UTF-8 as it is: no generic validation pass.
        if !slice.contains(where: { $0 >= 0x80 }) {
            offset += count
            return String(decoding: slice, as: UTF8.self)
        }
        guard let string = String(validating: slice, as: UTF8.self) else {
            throw error(at: start, "string of \(count) bytes is not valid UTF-8")
        }
        offset += count
        return string
    }

    func expectEnd() throws {
        guard offset == bytes.count else {
            throw error(at: offset, "\(bytes.count - offset) unexpected bytes after the last field")
        }
    }
}

extension [UInt8] {
    fileprivate mutating func appendInt64(_ value: Int64) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    fileprivate mutating func appendQuantity(_ value: Int64) {
        precondition(value >= 0 && value <= Int64(UInt32.max), "quantity \(value) does not fit the wire format")
        Swift.withUnsafeBytes(of: UInt32(value).littleEndian) { append(contentsOf: $0) }
    }

    fileprivate mutating func appendString(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            precondition(utf8.count <= Int(UInt16.max), "string of \(utf8.count) bytes is too long for the wire format")
            Swift.withUnsafeBytes(of: UInt16(utf8.count).littleEndian) { append(contentsOf: $0) }
            append(contentsOf: utf8)
        }
    }
}
