import Foundation
import Shop

/// The JSON form of a command for `POST /commands` (`Content-Type: application/json`): one object
/// whose `command` names the verb of SPEC section 2 and whose other members are its fields,
/// money in whole cents:
///
///     {"command": "register", "sku": "MUG", "priceCents": 1299, "name": "Mug"}
///     {"command": "restock",  "sku": "MUG", "quantity": 10}
///     {"command": "price",    "sku": "MUG", "priceCents": 999}
///     {"command": "place",    "customer": "alice", "lines": [{"sku": "MUG", "quantity": 2}], "orderId": "o-1"}
///     {"command": "pay",      "orderId": "o-1", "amountCents": 2598}
///     {"command": "ship",     "orderId": "o-1"}
///     {"command": "cancel",   "orderId": "o-1", "reason": "changed my mind"}
///
/// `orderId` of `place` is optional (the writer picks `o-<n>`). A member the verb does not take
/// is refused rather than ignored, so that `"price": 12.99` for `priceCents` is an error, not a
/// command with a price missing. Like the text form, this checks form only; the domain's rules
/// (SKU pattern, ranges) earn a rejection.
public enum CommandJSON {
    /// What is wrong with a body: `syntax` for bytes that are not JSON (400), `shape` for JSON
    /// that is not a command (422); `at` says where (a line and column, or a member path).
    public struct Failure: Error, Sendable, Equatable {
        public enum Kind: Sendable { case syntax, shape }
        public var kind: Kind
        public var message: String
        public var at: String?
    }

    static let fields: [String: [String: Field]] = [
        "register": ["sku": .string, "priceCents": .integer, "name": .string],
        "restock": ["sku": .string, "quantity": .integer],
        "price": ["sku": .string, "priceCents": .integer],
        "place": ["customer": .string, "lines": .lines, "orderId": .optionalString],
        "pay": ["orderId": .string, "amountCents": .integer],
        "ship": ["orderId": .string],
        "cancel": ["orderId": .string, "reason": .string],
    ]

    enum Field { case string, optionalString, integer, lines }

    public static func decode(_ bytes: [UInt8]) throws(Failure) -> ShopCommand {
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: Data(bytes), options: [])
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "not valid JSON"
            throw Failure(kind: .syntax, message: "malformed JSON: \(detail)", at: position(in: detail))
        }
        guard let object = value as? [String: Any] else {
            throw Failure(kind: .shape, message: "expected a JSON object with a \"command\" member", at: "$")
        }
        guard let verb = object["command"] as? String else {
            throw Failure(kind: .shape, message: "missing \"command\": one of \(CommandParser.verbs.joined(separator: ", "))", at: "$.command")
        }
        guard let spec = fields[verb] else {
            throw Failure(kind: .shape, message: "unknown command \(quoted(verb)): one of \(CommandParser.verbs.joined(separator: ", "))", at: "$.command")
        }
        for key in object.keys.sorted() where key != "command" && spec[key] == nil {
            throw Failure(kind: .shape, message: "\(verb) takes no member \(quoted(key)); it takes \(spec.keys.sorted().joined(separator: ", "))", at: "$.\(key)")
        }
        func string(_ key: String) throws(Failure) -> String {
            guard let v = object[key] else { throw Failure(kind: .shape, message: "\(verb) needs \"\(key)\" (a string)", at: "$.\(key)") }
            guard let s = v as? String else { throw Failure(kind: .shape, message: "\"\(key)\" must be a string", at: "$.\(key)") }
            return s
        }
        func integer(_ key: String, in value: Any?, path: String) throws(Failure) -> Int64 {
            guard let v = value else { throw Failure(kind: .shape, message: "\(verb) needs \"\(key)\" (a whole number)", at: path) }
            guard let n = wholeNumber(v) else { throw Failure(kind: .shape, message: "\"\(key)\" must be a whole number", at: path) }
            return n
        }
        switch verb {
        case "register":
            return .register(sku: try string("sku"), priceCents: try integer("priceCents", in: object["priceCents"], path: "$.priceCents"), name: try string("name"))
        case "restock":
            return .restock(sku: try string("sku"), quantity: try integer("quantity", in: object["quantity"], path: "$.quantity"))
        case "price":
            return .price(sku: try string("sku"), priceCents: try integer("priceCents", in: object["priceCents"], path: "$.priceCents"))
        case "place":
            let customer = try string("customer")
            var orderId: String?
            if let v = object["orderId"], !(v is NSNull) {
                guard let s = v as? String else { throw Failure(kind: .shape, message: "\"orderId\" must be a string", at: "$.orderId") }
                orderId = s
            }
            guard let raw = object["lines"] as? [Any] else {
                throw Failure(kind: .shape, message: "place needs \"lines\": an array of {\"sku\", \"quantity\"}", at: "$.lines")
            }
            var lines: [LineRequest] = []
            for (i, item) in raw.enumerated() {
                guard let line = item as? [String: Any] else {
                    throw Failure(kind: .shape, message: "each line must be an object {\"sku\", \"quantity\"}", at: "$.lines[\(i)]")
                }
                for key in line.keys.sorted() where key != "sku" && key != "quantity" {
                    throw Failure(kind: .shape, message: "a line takes no member \(quoted(key)); it takes sku, quantity", at: "$.lines[\(i)].\(key)")
                }
                guard let sku = line["sku"] as? String else {
                    throw Failure(kind: .shape, message: "a line needs \"sku\" (a string)", at: "$.lines[\(i)].sku")
                }
                lines.append(LineRequest(sku: sku, quantity: try integer("quantity", in: line["quantity"], path: "$.lines[\(i)].quantity")))
            }
            return .place(customer: customer, lines: lines, orderId: orderId)
        case "pay":
            return .pay(orderId: try string("orderId"), amountCents: try integer("amountCents", in: object["amountCents"], path: "$.amountCents"))
        case "ship":
            return .ship(orderId: try string("orderId"))
        default:
            return .cancel(orderId: try string("orderId"), reason: try string("reason"))
        }
    }

    /// A JSON number that is a whole number fitting Int64; never a boolean (`true` is an NSNumber too).
    static func wholeNumber(_ value: Any) -> Int64? {
        // Foundation bridges `true` to an NSNumber of ObjC type 'c' (char); `is Bool` would
        // also be true of 0 and 1.
        guard let number = value as? NSNumber, number.objCType.pointee != CChar(UInt8(ascii: "c")) else { return nil }
        let double = number.doubleValue
        guard double.rounded() == double, abs(double) < 9.2e18 else { return nil }
        return number.int64Value
    }

    /// `character 7` (or `line 1, column 7`) out of Foundation's "... around character 7." message.
    static func position(in detail: String) -> String? {
        guard let range = detail.range(of: "around ") else { return nil }
        var text = String(detail[range.upperBound...])
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    /// A client's string in a message: JSON-quoted, so control characters arrive escaped.
    static func quoted(_ s: String) -> String { JSONResponse.quote(String(s.prefix(60))) }
}
