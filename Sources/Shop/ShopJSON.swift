import EventStore

/// Hand-written JSON for the views (SPEC section 3) and the export lines (SPEC section 4).
///
/// Why by hand: the field names and order are a contract other programs parse, the output is
/// compact and deterministic (object keys of `cancellationReasons` are sorted), and `export`
/// writes one line per event of the whole log, where an encoder's reflection would dominate.
struct JSONWriter {
    /// UTF-8 bytes; a byte buffer rather than a `String` because `export` writes a line per
    /// event of the whole log, and appending bytes is several times cheaper than growing a
    /// `String` scalar by scalar.
    var bytes: [UInt8] = []

    init(capacity: Int = 256) { if capacity > 0 { bytes.reserveCapacity(capacity) } }

    var text: String { String(decoding: bytes, as: UTF8.self) }

    mutating func byte(_ b: UInt8) { bytes.append(b) }

    /// Appends bytes in one go (one capacity check and a `memcpy`, not one per byte: `export`
    /// writes a line per event of the whole log).
    @inline(__always)
    mutating func raw(_ utf8: UnsafeBufferPointer<UInt8>) { bytes.append(contentsOf: utf8) }

    mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { escaped($0) }
    }

    /// A JSON string of the UTF-8 bytes `utf8`: runs that need no escape are appended whole.
    mutating func escaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        bytes.append(UInt8(ascii: "\""))
        let n = utf8.count
        var runStart = 0
        var i = 0
        while i < n {
            let b = utf8[i]
            if b >= 0x20 && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") && b != 0xE2 {
                i += 1
                continue
            }
            if i > runStart { raw(UnsafeBufferPointer(rebasing: utf8[runStart..<i])) }
            switch b {
            case UInt8(ascii: "\""): bytes.append(0x5C); bytes.append(0x22)
            case UInt8(ascii: "\\"): bytes.append(0x5C); bytes.append(0x5C)
            case UInt8(ascii: "\n"): bytes.append(0x5C); bytes.append(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"): bytes.append(0x5C); bytes.append(UInt8(ascii: "r"))
            case UInt8(ascii: "\t"): bytes.append(0x5C); bytes.append(UInt8(ascii: "t"))
            case 0xE2 where i + 2 < n && utf8[i + 1] == 0x80 && (utf8[i + 2] == 0xA8 || utf8[i + 2] == 0xA9):
                // U+2028/9 are legal JSON but break JavaScript readers of JSON Lines.
                unicodeEscape(utf8[i + 2] == 0xA8 ? 0x2028 : 0x2029)
                i += 2
            case 0xE2: bytes.append(b)
            default: unicodeEscape(UInt32(b))
            }
            i += 1
            runStart = i
        }
        if n > runStart { raw(UnsafeBufferPointer(rebasing: utf8[runStart..<n])) }
        bytes.append(UInt8(ascii: "\""))
    }

    /// A JSON string of raw UTF-8 bytes (a record's stream name, as stored).
    mutating func escaped(_ utf8: UnsafeRawBufferPointer) {
        escaped(utf8.assumingMemoryBound(to: UInt8.self))
    }

    private mutating func unicodeEscape(_ value: UInt32) {
        let hex: StaticString = "0123456789abcdef"
        bytes.append(0x5C)
        bytes.append(UInt8(ascii: "u"))
        for shift in stride(from: 12, through: 0, by: -4) { bytes.append(hex.utf8Start[Int((value >> UInt32(shift)) & 0xF)]) }
    }

    /// `"key":`; the comma is handled by ``ObjectWriter``.
    mutating func key(_ k: String) {
        string(k)
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func number<T: BinaryInteger>(_ n: T) { padded(Int64(n), width: 1) }

    /// Decimal digits of `n`, left-padded with zeros to `width`; no `String` in between, and
    /// one append for the whole number.
    mutating func padded(_ n: Int64, width: Int) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { digits in
            let end = digits.count
            var at = end
            var magnitude = n.magnitude
            repeat {
                at -= 1
                digits[at] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            while end - at < width && at > 1 {
                at -= 1
                digits[at] = UInt8(ascii: "0")
            }
            if n < 0 {
                at -= 1
                digits[at] = UInt8(ascii: "-")
            }
            raw(UnsafeBufferPointer(UnsafeMutableRawBufferPointer(rebasing: digits[at..<end]).assumingMemoryBound(to: UInt8.self)))
        }
    }

    /// Writes `{` members `}`; `body` calls the ``ObjectWriter`` `field` variants, which insert
    /// the commas.
    mutating func object(_ body: (inout ObjectWriter) -> Void) {
        bytes.append(UInt8(ascii: "{"))
        // Hand the buffer to the object writer and take it back by swapping, so that exactly
        // one value refers to it at any time and no append copies it. (Assigning instead leaves
        // a second reference alive until the writer's scope ends, and the next append then
        // copies the whole buffer: `export` copied its megabyte of output per event.)
        var writer = ObjectWriter(json: JSONWriter(capacity: 0))
        swap(&writer.json.bytes, &bytes)
        body(&writer)
        swap(&writer.json.bytes, &bytes)
        bytes.append(UInt8(ascii: "}"))
    }

    mutating func array<S: Sequence>(_ items: S, _ element: (inout JSONWriter, S.Element) -> Void) {
        bytes.append(UInt8(ascii: "["))
        var first = true
        for item in items {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            element(&self, item)
        }
        bytes.append(UInt8(ascii: "]"))
    }
}

/// Writes the members of one JSON object, with commas between them.
struct ObjectWriter {
    var json: JSONWriter
    private var first = true

    init(json: JSONWriter) { self.json = json }

    private mutating func comma(_ key: String) {
        if !first { json.byte(UInt8(ascii: ",")) }
        first = false
        json.key(key)
    }

    mutating func field(_ key: String, _ value: String) {
        comma(key)
        json.string(value)
    }

    mutating func field<T: BinaryInteger>(_ key: String, _ value: T) {
        comma(key)
        json.number(value)
    }

    mutating func field(_ key: String, time nanos: Int64) {
        comma(key)
        ShopJSON.writeISO8601(nanos: nanos, to: &json)
    }

    mutating func field(_ key: String, _ write: (inout JSONWriter) -> Void) {
        comma(key)
        write(&json)
    }
}

extension ShoppersView {
    /// `{"catalog":[{sku,name,priceCents,available}],"customers":[{customer,orders,open,spentCents}]}`
    public var json: String {
        var w = JSONWriter()
        write(to: &w)
        return w.text
    }

    func write(to w: inout JSONWriter) {
        w.object { o in
            o.field("catalog") { w in
                w.array(catalog) { w, item in
                    w.object { o in
                        o.field("sku", item.sku)
                        o.field("name", item.name)
                        o.field("priceCents", item.priceCents)
                        o.field("available", item.available)
                    }
                }
            }
            o.field("customers") { w in
                w.array(customers) { w, c in
                    w.object { o in
                        o.field("customer", c.customer)
                        o.field("orders", c.orders)
                        o.field("open", c.open)
                        o.field("spentCents", c.spentCents)
                    }
                }
            }
        }
    }
}

extension WarehouseView {
    /// `{"stock":[{sku,onHand,reserved,available}],"pickQueue":[ids],"lowStock":[skus]}`
    public var json: String {
        var w = JSONWriter()
        write(to: &w)
        return w.text
    }

    func write(to w: inout JSONWriter) {
        w.object { o in
            o.field("stock") { w in
                w.array(stock) { w, s in
                    w.object { o in
                        o.field("sku", s.sku)
                        o.field("onHand", s.onHand)
                        o.field("reserved", s.reserved)
                        o.field("available", s.available)
                    }
                }
            }
            o.field("pickQueue") { w in w.array(pickQueue) { w, id in w.string(id) } }
            o.field("lowStock") { w in w.array(lowStock) { w, sku in w.string(sku) } }
        }
    }
}

extension FinanceView {
    /// `{"revenueCents":..,"refundsCents":..,"netCents":..,"outstandingCents":..,"paidOrders":..,
    /// "averageOrderCents":..,"topSkus":[{sku,revenueCents}]}`
    public var json: String {
        var w = JSONWriter()
        write(to: &w)
        return w.text
    }

    func write(to w: inout JSONWriter) {
        w.object { o in
            o.field("revenueCents", revenueCents)
            o.field("refundsCents", refundsCents)
            o.field("netCents", netCents)
            o.field("outstandingCents", outstandingCents)
            o.field("paidOrders", paidOrders)
            o.field("averageOrderCents", averageOrderCents)
            o.field("topSkus") { w in
                w.array(topSkus) { w, s in
                    w.object { o in
                        o.field("sku", s.sku)
                        o.field("revenueCents", s.revenueCents)
                    }
                }
            }
        }
    }
}

extension SupportView {
    /// `{"statusCounts":{placed,paid,shipped,cancelled},"oldestUnpaid":[{orderId,customer,placedAt}],
    /// "cancellationReasons":{reason:count}}`, reasons sorted so the output is deterministic.
    public var json: String {
        var w = JSONWriter()
        write(to: &w)
        return w.text
    }

    func write(to w: inout JSONWriter) {
        w.object { o in
            o.field("statusCounts") { w in
                w.object { o in
                    o.field("placed", statusCounts.placed)
                    o.field("paid", statusCounts.paid)
                    o.field("shipped", statusCounts.shipped)
                    o.field("cancelled", statusCounts.cancelled)
                }
            }
            o.field("oldestUnpaid") { w in
                w.array(oldestUnpaid) { w, u in
                    w.object { o in
                        o.field("orderId", u.orderId)
                        o.field("customer", u.customer)
                        o.field("placedAt", u.placedAt)
                    }
                }
            }
            o.field("cancellationReasons") { w in
                w.object { o in
                    for reason in cancellationReasons.keys.sorted() {
                        o.field(reason, cancellationReasons[reason] ?? 0)
                    }
                }
            }
        }
    }
}

extension ShopViews {
    /// `{"position":P,"shoppers":{...},"warehouse":{...},"finance":{...},"support":{...}}`,
    /// the document `prism views --json` prints (one line, no trailing newline).
    public var json: String {
        var w = JSONWriter(capacity: 4096)
        w.object { o in
            o.field("position", position)
            o.field("shoppers") { shoppers.write(to: &$0) }
            o.field("warehouse") { warehouse.write(to: &$0) }
            o.field("finance") { finance.write(to: &$0) }
            o.field("support") { support.write(to: &$0) }
        }
        return w.text
    }
}

extension ShopEvent {
    /// The `data` object of an export line: the event's fields, named exactly as SPEC section 2.
    public var dataJSON: String {
        var w = JSONWriter(capacity: 128)
        writeData(to: &w)
        return w.text
    }

    func writeData(to w: inout JSONWriter) {
        w.object { o in
            switch self {
            case .productRegistered(let sku, let name, let price):
                o.field("sku", sku)
                o.field("name", name)
                o.field("priceCents", price)
            case .productRestocked(let sku, let quantity):
                o.field("sku", sku)
                o.field("quantity", quantity)
            case .priceChanged(let sku, let price):
                o.field("sku", sku)
                o.field("priceCents", price)
            case .orderPlaced(let orderId, let customer, let lines, let total):
                o.field("orderId", orderId)
                o.field("customer", customer)
                o.field("lines") { w in
                    w.array(lines) { w, line in
                        w.object { o in
                            o.field("sku", line.sku)
                            o.field("quantity", line.quantity)
                            o.field("unitPriceCents", line.unitPriceCents)
                        }
                    }
                }
                o.field("totalCents", total)
            case .paymentReceived(let orderId, let amount):
                o.field("orderId", orderId)
                o.field("amountCents", amount)
            case .orderShipped(let orderId):
                o.field("orderId", orderId)
            case .orderCancelled(let orderId, let reason, let refund):
                o.field("orderId", orderId)
                o.field("reason", reason)
                o.field("refundCents", refund)
            }
        }
    }
}

/// The export format of SPEC section 4 and the time stamps it uses.
public enum ShopJSON {
    /// One JSON Lines line (without the newline) for one event:
    /// `{"position":1,"stream":"product-MUG","version":1,"type":"ProductRegistered",
    /// "time":"2026-11-30T10:00:00.000Z","data":{...},"commandId":"..."}`; `commandId` only
    /// when the event was written with one.
    public static func exportLine(
        _ event: ShopEvent, position: UInt64, stream: String, version: UInt64,
        timestampNanos: Int64, commandId: String?
    ) -> String {
        var bytes: [UInt8] = []
        appendExportLine(
            event, position: position, stream: stream, version: version,
            timestampNanos: timestampNanos, commandId: commandId, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the export line (without the newline) to `buffer`: the form for `prism export`,
    /// which can reuse one buffer for many lines and write it with one system call.
    public static func appendExportLine(
        _ event: ShopEvent, position: UInt64, stream: String, version: UInt64,
        timestampNanos: Int64, commandId: String?, to buffer: inout [UInt8]
    ) {
        var stream = stream
        stream.withUTF8 { streamUTF8 in
            if var commandId {
                commandId.withUTF8 { id in
                    appendExportLine(event, position: position, stream: UnsafeRawBufferPointer(streamUTF8), version: version,
                                     timestampNanos: timestampNanos, commandId: UnsafeRawBufferPointer(id), to: &buffer)
                }
            } else {
                appendExportLine(event, position: position, stream: UnsafeRawBufferPointer(streamUTF8), version: version,
                                 timestampNanos: timestampNanos, commandId: nil, to: &buffer)
            }
        }
    }

    /// The export line from the names' UTF-8 bytes as stored: no `String` made per event.
    static func appendExportLine(
        _ event: ShopEvent, position: UInt64, stream: UnsafeRawBufferPointer, version: UInt64,
        timestampNanos: Int64, commandId: UnsafeRawBufferPointer?, to buffer: inout [UInt8]
    ) {
        var w = JSONWriter(capacity: 0)
        swap(&w.bytes, &buffer)
        w.object { o in
            o.field("position", position)
            o.field("stream") { $0.escaped(stream) }
            o.field("version", version)
            o.field("type", event.typeName)
            o.field("time", time: timestampNanos)
            o.field("data") { event.writeData(to: &$0) }
            if let commandId { o.field("commandId") { $0.escaped(commandId) } }
        }
        swap(&w.bytes, &buffer)
    }

    /// The export line of a record of the log; throws ``ShopDecodingError`` on bad bytes.
    public static func exportLine(_ record: EventView) throws -> String {
        exportLine(
            try ShopEvent.decode(record), position: record.position, stream: record.stream,
            version: record.streamVersion, timestampNanos: record.timestampNanos,
            commandId: record.commandId)
    }

    /// Appends the export line of a record of the log to `buffer` (no newline).
    public static func appendExportLine(_ record: EventView, to buffer: inout [UInt8]) throws {
        appendExportLine(
            try ShopEvent.decode(record), position: record.position, stream: record.streamBytes,
            version: record.streamVersion, timestampNanos: record.timestampNanos,
            commandId: record.commandIdBytes.isEmpty ? nil : record.commandIdBytes, to: &buffer)
    }

    /// The export line of an owned record.
    public static func exportLine(_ record: RecordedEvent) throws -> String {
        exportLine(
            try ShopEvent.decode(record), position: record.position, stream: record.stream,
            version: record.streamVersion, timestampNanos: record.timestampNanos,
            commandId: record.commandId)
    }

    /// ISO-8601 UTC with milliseconds, e.g. `2026-11-30T10:00:00.000Z`.
    public static func iso8601(nanos: Int64) -> String {
        var w = JSONWriter(capacity: 24)
        appendISO8601(nanos: nanos, to: &w)
        return w.text
    }

    /// The time as a JSON string.
    static func writeISO8601(nanos: Int64, to w: inout JSONWriter) {
        w.byte(UInt8(ascii: "\""))
        appendISO8601(nanos: nanos, to: &w)
        w.byte(UInt8(ascii: "\""))
    }

    /// Truncates (does not round) below the millisecond, so a time never reads later than it
    /// was. Computed by hand (Howard Hinnant's days-to-civil algorithm) to keep Foundation off
    /// the export path; correct for any `Int64` of nanoseconds, before 1970 too.
    private static func appendISO8601(nanos: Int64, to w: inout JSONWriter) {
        let (seconds, subNanos) = floorDivMod(nanos, 1_000_000_000)
        let (days, secondOfDay) = floorDivMod(seconds, 86_400)
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        guard year >= 0 && year <= 9999 else {
            // Outside four digits: the general path (a sign, more digits).
            w.padded(year, width: 4)
            appendMonthOnwards(month, day, secondOfDay, subNanos, to: &w)
            return
        }
        // The usual case in one append: `YYYY-MM-DDTHH:MM:SS.mmmZ`, 24 bytes.
        var text: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &text) { t in
            func put(_ value: Int64, _ at: Int, _ width: Int) {
                var v = value
                for i in stride(from: at + width - 1, through: at, by: -1) {
                    t[i] = UInt8(ascii: "0") + UInt8(v % 10)
                    v /= 10
                }
            }
            put(year, 0, 4); t[4] = UInt8(ascii: "-")
            put(month, 5, 2); t[7] = UInt8(ascii: "-")
            put(day, 8, 2); t[10] = UInt8(ascii: "T")
            put(secondOfDay / 3_600, 11, 2); t[13] = UInt8(ascii: ":")
            put(secondOfDay / 60 % 60, 14, 2); t[16] = UInt8(ascii: ":")
            put(secondOfDay % 60, 17, 2); t[19] = UInt8(ascii: ".")
            put(subNanos / 1_000_000, 20, 3); t[23] = UInt8(ascii: "Z")
            w.raw(UnsafeBufferPointer(t.assumingMemoryBound(to: UInt8.self)))
        }
    }

    private static func appendMonthOnwards(_ month: Int64, _ day: Int64, _ secondOfDay: Int64, _ subNanos: Int64, to w: inout JSONWriter) {
        w.byte(UInt8(ascii: "-"))
        w.padded(month, width: 2)
        w.byte(UInt8(ascii: "-"))
        w.padded(day, width: 2)
        w.byte(UInt8(ascii: "T"))
        w.padded(secondOfDay / 3_600, width: 2)
        w.byte(UInt8(ascii: ":"))
        w.padded(secondOfDay / 60 % 60, width: 2)
        w.byte(UInt8(ascii: ":"))
        w.padded(secondOfDay % 60, width: 2)
        w.byte(UInt8(ascii: "."))
        w.padded(subNanos / 1_000_000, width: 3)
        w.byte(UInt8(ascii: "Z"))
    }

    private static func floorDivMod(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        let q = a / b
        let r = a % b
        return r < 0 ? (q - 1, r + b) : (q, r)
    }
}
