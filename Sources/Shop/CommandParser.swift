import EventStore

/// A command line that could not be parsed, pointing at the token that is wrong.
///
/// `tokenIndex` and `column` are 1-based (the verb is token 1, the line's first character is
/// column 1) so a person can count them; a missing token points one past the end of the line.
public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The whole human line, e.g. `expected SKU:QTY at token 3 (column 13): 'MUG:x'`.
    public var message: String
    public var tokenIndex: Int?
    public var column: Int?
    /// The offending token; nil when a token is missing.
    public var token: String?

    public init(message: String, tokenIndex: Int? = nil, column: Int? = nil, token: String? = nil) {
        self.message = message
        self.tokenIndex = tokenIndex
        self.column = column
        self.token = token
    }

    public var description: String { message }
}

/// The one parser of the text form of SPEC section 2, shared by the dashboard's command palette
/// and `prism send`:
///
///     register SKU PRICE NAME...        restock SKU QTY        price SKU PRICE
///     place CUSTOMER SKU:QTY... [as ORDER]        pay ORDER AMOUNT
///     ship ORDER                        cancel ORDER REASON...
///
/// - PRICE and AMOUNT are whole cents (`1299`), or currency units with exactly two decimals
///   (`12.99`, the same 1299 cents). One decimal or three are refused rather than guessed at.
///   ``ShopCommand/textForm`` always prints plain cents.
/// - NAME and REASON are the rest of the line from their first token, inner spacing kept and
///   trailing blanks dropped; so a name cannot start or end with a blank in the text form.
/// - The verb may be in any letter case; everything else is taken as written.
///
/// The parser checks *form* only (arity, numbers, `SKU:QTY` shape). Whether a value is allowed
/// (SKU pattern, quantity range, 1 to 10 lines, ...) is the domain's rule and earns a
/// ``Rejection``, so a well-formed but refused command is "rejected" (exit 1), not a usage
/// error (exit 2).
public enum CommandParser {
    /// The verbs, in the order of the SPEC table.
    public static let verbs = ["register", "restock", "price", "place", "pay", "ship", "cancel"]

    /// One usage line per verb.
    public static let usage: [String: String] = [
        "register": "register SKU PRICE NAME...",
        "restock": "restock SKU QTY",
        "price": "price SKU PRICE",
        "place": "place CUSTOMER SKU:QTY... [as ORDER]",
        "pay": "pay ORDER AMOUNT",
        "ship": "ship ORDER",
        "cancel": "cancel ORDER REASON...",
    ]

    /// Parses one command line.
    public static func parse(_ line: String) throws(ParseError) -> ShopCommand {
        let tokens = tokenize(line)
        guard let verbToken = tokens.first else {
            throw ParseError(message: "empty command; expected one of: \(verbs.joined(separator: ", "))")
        }
        var cursor = Cursor(line: line, tokens: tokens)
        let verb = verbToken.text.lowercased()
        guard let usageLine = usage[verb] else {
            throw cursor.error(
                "unknown command", at: verbToken,
                hint: "expected one of: \(verbs.joined(separator: ", "))")
        }
        cursor.usage = usageLine
        cursor.next = 1

        let command: ShopCommand
        switch verb {
        case "register":
            let sku = try cursor.word("SKU")
            let price = try cursor.money("PRICE")
            command = .register(sku: sku, priceCents: price, name: try cursor.rest("NAME"))
        case "restock":
            command = .restock(sku: try cursor.word("SKU"), quantity: try cursor.integer("QTY"))
        case "price":
            command = .price(sku: try cursor.word("SKU"), priceCents: try cursor.money("PRICE"))
        case "place":
            let customer = try cursor.word("CUSTOMER")
            var lines: [LineRequest] = []
            var orderId: String?
            while let token = cursor.peek() {
                if token.text == "as" {
                    cursor.next += 1
                    orderId = try cursor.word("ORDER")
                    break
                }
                lines.append(try cursor.orderLine())
            }
            command = .place(customer: customer, lines: lines, orderId: orderId)
        case "pay":
            command = .pay(orderId: try cursor.word("ORDER"), amountCents: try cursor.money("AMOUNT"))
        case "ship":
            command = .ship(orderId: try cursor.word("ORDER"))
        default:  // "cancel": `usage` has exactly the seven verbs.
            let orderId = try cursor.word("ORDER")
            command = .cancel(orderId: orderId, reason: try cursor.rest("REASON"))
        }
        try cursor.expectEnd()
        return command
    }

    /// Parses a command given as separate arguments (`prism send place alice MUG:2`); they are
    /// joined with single spaces, so an argument quoted by the shell reads as its words.
    public static func parse(arguments: [String]) throws(ParseError) -> ShopCommand {
        try parse(arguments.joined(separator: " "))
    }

    /// A token with where it starts, for messages and for rest-of-line fields.
    struct Token {
        var text: Substring
        /// 1-based.
        var index: Int
        /// 1-based, in characters.
        var column: Int
        var start: String.Index
    }

    static func tokenize(_ line: String) -> [Token] {
        var tokens: [Token] = []
        var column = 0
        var current: (start: String.Index, column: Int)?
        for index in line.indices {
            column += 1
            let blank = line[index] == " " || line[index] == "\t"
            if blank, let open = current {
                tokens.append(Token(text: line[open.start..<index], index: tokens.count + 1, column: open.column, start: open.start))
                current = nil
            } else if !blank && current == nil {
                current = (index, column)
            }
        }
        if let open = current {
            tokens.append(Token(text: line[open.start...], index: tokens.count + 1, column: open.column, start: open.start))
        }
        return tokens
    }

    /// Walks the tokens after the verb; every `throw` names the token and where it is.
    struct Cursor {
        let line: String
        let tokens: [Token]
        var next = 0
        var usage = ""

        init(line: String, tokens: [Token]) {
            self.line = line
            self.tokens = tokens
        }

        func peek() -> Token? { next < tokens.count ? tokens[next] : nil }

        func error(_ what: String, at token: Token, hint: String? = nil) -> ParseError {
            var message = "\(what) at token \(token.index) (column \(token.column)): '\(escapeControlCharacters(token.text))'"
            if let hint { message += "; \(hint)" }
            return ParseError(message: message, tokenIndex: token.index, column: token.column, token: String(token.text))
        }

        func missing(_ name: String) -> ParseError {
            let index = tokens.count + 1
            let column = line.count + 2
            return ParseError(
                message: "missing \(name) at token \(index) (column \(column)); usage: \(usage)",
                tokenIndex: index, column: column, token: nil)
        }

        mutating func take(_ name: String) throws(ParseError) -> Token {
            guard let token = peek() else { throw missing(name) }
            next += 1
            return token
        }

        mutating func word(_ name: String) throws(ParseError) -> String {
            String(try take(name).text)
        }

        mutating func integer(_ name: String) throws(ParseError) -> Int64 {
            let token = try take(name)
            guard let value = CommandParser.integer(token.text) else {
                throw error("expected \(name) as a whole number", at: token)
            }
            return value
        }

        mutating func money(_ name: String) throws(ParseError) -> Int64 {
            let token = try take(name)
            guard let value = CommandParser.cents(token.text) else {
                throw error("expected \(name) in cents (1299) or with two decimals (12.99)", at: token)
            }
            return value
        }

        mutating func orderLine() throws(ParseError) -> LineRequest {
            let token = try take("SKU:QTY")
            let parts = token.text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, let quantity = CommandParser.integer(parts[1]) else {
                throw error("expected SKU:QTY", at: token)
            }
            return LineRequest(sku: String(parts[0]), quantity: quantity)
        }

        /// The rest of the line from the next token on, trailing blanks dropped.
        mutating func rest(_ name: String) throws(ParseError) -> String {
            let first = try take(name)
            next = tokens.count
            var text = line[first.start...]
            while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
            return String(text)
        }

        func expectEnd() throws(ParseError) {
            if let extra = peek() { throw error("unexpected extra argument", at: extra, hint: "usage: \(usage)") }
        }
    }

    /// An optionally signed decimal integer; the sign lets the domain say "must be positive"
    /// instead of the parser saying "not a number".
    static func integer(_ text: Substring) -> Int64? {
        var digits = text
        var negative = false
        if digits.first == "-" { negative = true; digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        guard let magnitude = Int64(digits) else { return nil }
        return negative ? -magnitude : magnitude
    }

    /// `1299` or `12.99`, both 1299 cents.
    static func cents(_ text: Substring) -> Int64? {
        guard let dot = text.firstIndex(of: ".") else { return integer(text) }
        let whole = text[..<dot]
        let fraction = text[text.index(after: dot)...]
        guard fraction.count == 2, fraction.allSatisfy({ $0.isASCII && $0.isNumber }),
            let units = integer(whole), let hundredths = Int64(fraction)
        else { return nil }
        let (scaled, o1) = units.multipliedReportingOverflow(by: 100)
        let signed = whole.first == "-" ? -hundredths : hundredths
        let (total, o2) = scaled.addingReportingOverflow(signed)
        return o1 || o2 ? nil : total
    }
}

extension ShopCommand: CustomStringConvertible {
    /// The command in the text form ``CommandParser`` reads, money in plain cents; parsing it
    /// gives the same command back (for names and reasons without leading or trailing blanks).
    public var textForm: String {
        switch self {
        case .register(let sku, let price, let name): "register \(sku) \(price) \(name)"
        case .restock(let sku, let quantity): "restock \(sku) \(quantity)"
        case .price(let sku, let price): "price \(sku) \(price)"
        case .place(let customer, let lines, let orderId):
            (["place", customer] + lines.map { "\($0.sku):\($0.quantity)" }
                + (orderId.map { ["as", $0] } ?? [])).joined(separator: " ")
        case .pay(let orderId, let amount): "pay \(orderId) \(amount)"
        case .ship(let orderId): "ship \(orderId)"
        case .cancel(let orderId, let reason): "cancel \(orderId) \(reason)"
        }
    }

    public var description: String { textForm }
}
