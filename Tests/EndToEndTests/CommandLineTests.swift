import Foundation
import Testing

/// The command line as other programs use it: idempotency across processes, and `export`
/// checked against `views --json` by a fold written here, from the spec, sharing no code with
/// Prism's projections.
@Suite(.serialized) struct CommandLineTests {
    @Test(.timeLimit(.minutes(2)))
    func aCommandIdHoldsAcrossProcesses() async throws {
        try await withTemporaryDirectory { dir in 
            let data = dir + "/log"
            #expect(try await prism("send", "--data", data, "--create", "register", "MUG", "1299", "Blue", "mug").code == 0)
            #expect(try await prism("send", "--data", data, "restock", "MUG", "10").code == 0)
            let first = try await prism("send", "--data", data, "--id", "order-42", "place", "alice", "MUG:2")
            #expect(first.code == 0)
            #expect(first.stdout == "accepted position=3\n")
            // A new process, the same id: the first outcome again, nothing appended.
            let again = try await prism("send", "--data", data, "--id", "order-42", "place", "alice", "MUG:2")
            #expect(again.stdout == first.stdout)
            let views = try await prism("views", "--data", data, "--json")
            #expect(views.stdout.hasPrefix("{\"position\":3,"))
            #expect(views.stdout.contains("\"reserved\":2"))
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func anIndependentFoldOfExportEqualsViewsJSON() async throws {
        try await withTemporaryDirectory { dir in 
            let data = dir + "/log"
            // A few seconds of the demo load: every kind of event, rejections included.
            let serve = try Child([prismBinary, "serve", "--data", data, "--rate", "3000", "--relaxed", "--seed", "7"])
            try await Task.sleep(for: .milliseconds(2500))
            serve.signal(SIGTERM)
            #expect(try await serve.wait() == 0)

            let export = try await prism("export", "--data", data)
            #expect(export.code == 0)
            let events = try export.stdout.split(separator: "\n").map {
                try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
            }
            #expect(events.count > 500)
            let types = Set(events.map { $0["type"] as! String })
            #expect(types.count == 7, "\(types)")

            let views = try await prism("views", "--data", data, "--json")
            #expect(views.code == 0)
            let actual = try JSONSerialization.jsonObject(with: Data(views.stdout.utf8)) as! [String: Any]
            let expected = SpecFold.views(of: events)
            for key in ["position", "shoppers", "warehouse", "finance", "support"] {
                #expect(NSDictionary(dictionary: ["v": expected[key]!]).isEqual(to: ["v": actual[key]!]),
                        "\(key) differs:\n expected \(expected[key]!)\n actual   \(actual[key]!)")
            }
            // Time travel: the same fold over a prefix equals `views --at`.
            let at = events.count / 2
            let past = try await prism("views", "--data", data, "--json", "--at", "\(at)")
            let pastViews = try JSONSerialization.jsonObject(with: Data(past.stdout.utf8)) as! [String: Any]
            #expect(NSDictionary(dictionary: SpecFold.views(of: Array(events.prefix(at)))).isEqual(to: pastViews))
        }
    }
}

/// SPEC section 3, folded straight from the JSON events of section 4.
enum SpecFold {
    struct Order {
        var customer: String
        var lines: [(sku: String, quantity: Int, unit: Int)]
        var total: Int
        var status = "placed"
        var placedAt: Int
        var paid = 0
        var refund = 0
    }

    static func views(of events: [[String: Any]]) -> [String: Any] {
        var names: [String: String] = [:], prices: [String: Int] = [:], restocked: [String: Int] = [:]
        var orders: [String: Order] = [:]
        var paymentOrder: [String] = []
        var revenue = 0, refunds = 0, payments = 0
        var reasons: [String: Int] = [:]
        var position = 0
        for e in events {
            position = e["position"] as! Int
            let d = e["data"] as! [String: Any]
            switch e["type"] as! String {
            case "ProductRegistered":
                names[d["sku"] as! String] = d["name"] as? String
                prices[d["sku"] as! String] = d["priceCents"] as? Int
            case "ProductRestocked":
                restocked[d["sku"] as! String, default: 0] += d["quantity"] as! Int
            case "PriceChanged":
                prices[d["sku"] as! String] = d["priceCents"] as? Int
            case "OrderPlaced":
                let lines = (d["lines"] as! [[String: Any]]).map {
                    (sku: $0["sku"] as! String, quantity: $0["quantity"] as! Int, unit: $0["unitPriceCents"] as! Int)
                }
                orders[d["orderId"] as! String] = Order(
                    customer: d["customer"] as! String, lines: lines, total: d["totalCents"] as! Int, placedAt: position)
            case "PaymentReceived":
                let id = d["orderId"] as! String
                orders[id]!.status = "paid"
                orders[id]!.paid = d["amountCents"] as! Int
                revenue += d["amountCents"] as! Int
                payments += 1
                paymentOrder.append(id)
            case "OrderShipped":
                orders[d["orderId"] as! String]!.status = "shipped"
            case "OrderCancelled":
                let id = d["orderId"] as! String
                orders[id]!.status = "cancelled"
                orders[id]!.refund = d["refundCents"] as! Int
                refunds += d["refundCents"] as! Int
                reasons[d["reason"] as! String, default: 0] += 1
            default:
                break
            }
        }
        func quantity(_ sku: String, _ statuses: Set<String>) -> Int {
            orders.values.filter { statuses.contains($0.status) }
                .flatMap(\.lines).filter { $0.sku == sku }.reduce(0) { $0 + $1.quantity }
        }
        let skus = names.keys.sorted()
        let onHand = Dictionary(uniqueKeysWithValues: skus.map { ($0, restocked[$0, default: 0] - quantity($0, ["shipped"])) })
        let reserved = Dictionary(uniqueKeysWithValues: skus.map { ($0, quantity($0, ["placed", "paid"])) })
        func available(_ sku: String) -> Int { max(0, onHand[sku]! - reserved[sku]!) }

        let customers = Set(orders.values.map(\.customer)).sorted().map { c -> [String: Any] in
            let mine = orders.values.filter { $0.customer == c }
            return ["customer": c, "orders": mine.count,
                    "open": mine.filter { $0.status == "placed" || $0.status == "paid" }.count,
                    "spentCents": mine.reduce(0) { $0 + $1.paid - $1.refund }]
        }
        let shoppers: [String: Any] = [
            "catalog": skus.map { ["sku": $0, "name": names[$0]!, "priceCents": prices[$0]!, "available": available($0)] as [String: Any] },
            "customers": customers,
        ]
        let warehouse: [String: Any] = [
            "stock": skus.map { ["sku": $0, "onHand": onHand[$0]!, "reserved": reserved[$0]!, "available": available($0)] as [String: Any] },
            "pickQueue": paymentOrder.filter { orders[$0]!.status == "paid" },
            "lowStock": skus.filter { available($0) < 5 },
        ]
        var skuRevenue: [String: Int] = [:]
        for o in orders.values where o.status == "paid" || o.status == "shipped" {
            for l in o.lines { skuRevenue[l.sku, default: 0] += l.quantity * l.unit }
        }
        let top = skuRevenue.filter { $0.value != 0 }
            .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .prefix(5).map { ["sku": $0.key, "revenueCents": $0.value] as [String: Any] }
        let finance: [String: Any] = [
            "revenueCents": revenue, "refundsCents": refunds, "netCents": revenue - refunds,
            "outstandingCents": orders.values.filter { $0.status == "placed" }.reduce(0) { $0 + $1.total },
            "paidOrders": payments, "averageOrderCents": payments == 0 ? 0 : revenue / payments,
            "topSkus": Array(top),
        ]
        let count = { (s: String) in orders.values.filter { $0.status == s }.count }
        let unpaid = orders.filter { $0.value.status == "placed" }.sorted { $0.value.placedAt < $1.value.placedAt }
            .prefix(5).map { ["orderId": $0.key, "customer": $0.value.customer, "placedAt": $0.value.placedAt] as [String: Any] }
        let support: [String: Any] = [
            "statusCounts": ["placed": count("placed"), "paid": count("paid"), "shipped": count("shipped"), "cancelled": count("cancelled")],
            "oldestUnpaid": Array(unpaid),
            "cancellationReasons": reasons,
        ]
        return ["position": position, "shoppers": shoppers, "warehouse": warehouse, "finance": finance, "support": support]
    }
}
