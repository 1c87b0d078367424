import EventLog

/// Hand-written JSON for the views (SPEC section 3) and the export lines (SPEC section 4).
///
/// Why by hand: the field names and order are a contract other programs parse, the output is
/// compact and deterministic (object keys of `cancellationReasons` are sorted), and `export`
/// writes one line per event of the whole log, where an encoder's reflection would dominate.
struct JSONWriter {
    private(set) var text = ""

    init(capacity: Int = 256) { text.reserveCapacity(capacity) }

    mutating func raw(_ s: String) { text += s }

    mutating func string(_ s: String) {
        text += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case "\u{08}": text += "\\b"
            case "\u{0C}": text += "\\f"
            case _ where scalar.value < 0x20 || scalar == "\u{2028}" || scalar == "\u{2029}":
                // U+2028/9 are legal JSON but break JavaScript readers of JSON Lines.
                let hex = String(scalar.value, radix: 16, uppercase: false)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }

    /// `"key":` with the comma handled by the caller through ``field``.
    mutating func key(_ k: String) {
        string(k)
        text += ":"
    }

    mutating func number<T: BinaryInteger>(_ n: T) { text += String(n) }

    /// Writes `{` fields `}`; `body` calls ``field(_:_:)`` variants, which insert the commas.
    mutating func object(_ body: (inout ObjectWriter) -> Void) {
        text += "{"
        // Hand the buffer to the object writer and take it back, so it stays uniquely
        // referenced and appends never copy it.
        var writer = ObjectWriter(json: self)
        self = JSONWriter(capacity: 0)
        body(&writer)
        self = writer.json
        text += "}"
    }

    mutating func array<S: Sequence>(_ items: S, _ element: (inout JSONWriter, S.Element) -> Void) {
        text += "["
        var first = true
        for item in items {
            if !first { text += "," }
            first = false
            element(&self, item)
        }
        text += "]"
    }
}

/// Writes the members of one JSON object, with commas between them.
struct ObjectWriter {
    var json: JSONWriter
    private var first = true

    init(json: JSONWriter) { self.json = json }

    private mutating func comma(_ key: String) {
        if !first { json.raw(",") }
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

    mutating func field(_ key: String, raw value: String) {
        comma(key)
        json.raw(value)
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
        return w.text
    }
}

extension WarehouseView {
    /// `{"stock":[{sku,onHand,reserved,available}],"pickQueue":[ids],"lowStock":[skus]}`
    public var json: String {
        var w = JSONWriter()
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
        return w.text
    }
}

extension FinanceView {
    /// `{"revenueCents":..,"refundsCents":..,"netCents":..,"outstandingCents":..,"paidOrders":..,
    /// "averageOrderCents":..,"topSkus":[{sku,revenueCents}]}`
    public var json: String {
        var w = JSONWriter()
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
        return w.text
    }
}

extension SupportView {
    /// `{"statusCounts":{placed,paid,shipped,cancelled},"oldestUnpaid":[{orderId,customer,placedAt}],
    /// "cancellationReasons":{reason:count}}`, reasons sorted so the output is deterministic.
    public var json: String {
        var w = JSONWriter()
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
        return w.text
    }
}

extension ShopViews {
    /// `{"position":P,"shoppers":{...},"warehouse":{...},"finance":{...},"support":{...}}`,
    /// the document `prism views --json` prints.
    public var json: String {
        var w = JSONWriter(capacity: 4096)
        w.object { o in
            o.field("position", position)
            o.field("shoppers", raw: shoppers.json)
            o.field("warehouse", raw: warehouse.json)
            o.field("finance", raw: finance.json)
            o.field("support", raw: support.json)
        }
        return w.text
    }
}

extension ShopEvent {
    /// The `data` object of an export line: the event's fields, named exactly as SPEC section 2.
    public var dataJSON: String {
        var w = JSONWriter(capacity: 128)
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
        return w.text
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
        var w = JSONWriter(capacity: 256)
        w.object { o in
            o.field("position", position)
            o.field("stream", stream)
            o.field("version", version)
            o.field("type", event.typeName)
            o.field("time", iso8601(nanos: timestampNanos))
            o.field("data", raw: event.dataJSON)
            if let commandId { o.field("commandId", commandId) }
        }
        return w.text
    }

    /// The export line of a record of the log; throws ``ShopDecodingError`` on bad bytes.
    public static func exportLine(_ record: RecordView) throws -> String {
        exportLine(
            try ShopEvent.decode(record), position: record.position, stream: record.stream,
            version: record.streamVersion, timestampNanos: record.timestampNanos,
            commandId: record.commandId)
    }

    /// The export line of an owned record.
    public static func exportLine(_ record: RecordedEvent) throws -> String {
        exportLine(
            try ShopEvent.decode(record), position: record.position, stream: record.stream,
            version: record.streamVersion, timestampNanos: record.timestampNanos,
            commandId: record.commandId)
    }

    /// ISO-8601 UTC with milliseconds, e.g. `2026-11-30T10:00:00.000Z`, truncating (not
    /// rounding) below the millisecond so a time never appears later than it was. Computed by
    /// hand (Howard Hinnant's days-to-civil algorithm) to keep Foundation off the export path.
    public static func iso8601(nanos: Int64) -> String {
        let (seconds, subNanos) = floorDivMod(nanos, 1_000_000_000)
        let (days, secondOfDay) = floorDivMod(seconds, 86_400)
        let millis = subNanos / 1_000_000
        // Days since 1970-01-01 to year/month/day in the proleptic Gregorian calendar.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) + "T"
            + pad(secondOfDay / 3_600, 2) + ":" + pad(secondOfDay / 60 % 60, 2) + ":"
            + pad(secondOfDay % 60, 2) + "." + pad(millis, 3) + "Z"
    }

    private static func floorDivMod(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        let q = a / b
        let r = a % b
        return r < 0 ? (q - 1, r + b) : (q, r)
    }

    private static func pad(_ n: Int64, _ width: Int) -> String {
        let digits = String(n.magnitude)
        let sign = n < 0 ? "-" : ""
        return sign + String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
