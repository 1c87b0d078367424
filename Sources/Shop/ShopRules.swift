import EventStore

/// The value rules of SPEC section 2 in one place, so the domain, the load generator and the
/// tests agree on them. Each check returns `nil` when the value is fine, else the human reason
/// that becomes part of a ``Rejection``.
public enum ShopRules {
    public static let maxLines = 10
    public static let lineQuantity: ClosedRange<Int64> = 1...1_000
    public static let restockQuantity: ClosedRange<Int64> = 1...1_000_000
    public static let textLength: ClosedRange<Int> = 1...64
    /// Names and reasons are limited in bytes too: one character can be any number of scalars
    /// (a letter and 40,000 combining accents is one character), and the binary payload stores a
    /// string's length in a `UInt16`. 256 bytes hold 64 characters of any common script.
    public static let textMaxBytes = 256
    /// Below this many available units a SKU is listed in the warehouse's `lowStock`.
    public static let lowStockThreshold: Int64 = 5

    /// `[A-Z0-9][A-Z0-9-]{0,15}`
    public static func skuProblem(_ sku: String) -> String? {
        matches(sku, maxLength: 16, first: { isUpper($0) || isDigit($0) },
                rest: { isUpper($0) || isDigit($0) || $0 == UInt8(ascii: "-") })
            ? nil : "invalid SKU '\(escapeControlCharacters(sku))': use 1-16 of A-Z, 0-9 and '-', not starting with '-'"
    }

    /// `[a-z0-9][a-z0-9_-]{0,31}`
    public static func customerProblem(_ customer: String) -> String? {
        matches(customer, maxLength: 32, first: { isLower($0) || isDigit($0) },
                rest: { isLower($0) || isDigit($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") })
            ? nil
            : "invalid customer '\(escapeControlCharacters(customer))': use 1-32 of a-z, 0-9, '_' and '-', starting with a letter or digit"
    }

    /// `[a-z0-9][a-z0-9-]{0,31}`
    public static func orderIdProblem(_ orderId: String) -> String? {
        matches(orderId, maxLength: 32, first: { isLower($0) || isDigit($0) },
                rest: { isLower($0) || isDigit($0) || $0 == UInt8(ascii: "-") })
            ? nil
            : "invalid order id '\(escapeControlCharacters(orderId))': use 1-32 of a-z, 0-9 and '-', starting with a letter or digit"
    }

    /// 1-64 printable characters in at most ``textMaxBytes`` bytes. "Printable" means no control
    /// characters, no bidirectional overrides, no line or paragraph separators and no unassigned or surrogate code points: everything that would break a
    /// one-line display or a JSON Lines export. Length counts characters as a person sees them.
    public static func textProblem(_ text: String, what: String) -> String? {
        let bytes = text.utf8.count
        guard bytes <= textMaxBytes else {
            return "invalid \(what): use at most \(textMaxBytes) bytes of UTF-8 (1-64 printable characters), got \(bytes) bytes"
        }
        let length = text.count
        guard textLength.contains(length) else {
            return "invalid \(what): use 1-64 printable characters, got \(length)"
        }
        for scalar in text.unicodeScalars {
            if isUnsafeForTerminal(scalar) {
                return "invalid \(what): character U+\(String(scalar.value, radix: 16, uppercase: true)) is not printable"
            }
            switch scalar.properties.generalCategory {
            case .control, .lineSeparator, .paragraphSeparator, .surrogate, .unassigned:
                return "invalid \(what): character U+\(String(scalar.value, radix: 16, uppercase: true)) is not printable"
            default:
                continue
            }
        }
        return nil
    }

    private static func isUpper(_ b: UInt8) -> Bool { b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") }
    private static func isLower(_ b: UInt8) -> Bool { b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z") }
    private static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    private static func matches(
        _ value: String, maxLength: Int, first: (UInt8) -> Bool, rest: (UInt8) -> Bool
    ) -> Bool {
        let utf8 = value.utf8
        guard let head = utf8.first, utf8.count <= maxLength, first(head) else { return false }
        return utf8.dropFirst().allSatisfy(rest)
    }
}
