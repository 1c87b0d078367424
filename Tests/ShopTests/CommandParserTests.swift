import Testing

@testable import Shop

/// The text form: every verb, the money forms, printing back, and errors that point at tokens.
@Suite struct CommandParserTests {
    @Test func everyVerb() throws {
        #expect(try CommandParser.parse("register MUG 1299 Blue mug") == .register(sku: "MUG", priceCents: 1299, name: "Blue mug"))
        #expect(try CommandParser.parse("restock MUG 50") == .restock(sku: "MUG", quantity: 50))
        #expect(try CommandParser.parse("price MUG 1499") == .price(sku: "MUG", priceCents: 1499))
        #expect(try CommandParser.parse("place alice MUG:2 PEN:10")
            == .place(customer: "alice", lines: [LineRequest(sku: "MUG", quantity: 2), LineRequest(sku: "PEN", quantity: 10)], orderId: nil))
        #expect(try CommandParser.parse("place alice MUG:2 as o-77")
            == .place(customer: "alice", lines: [LineRequest(sku: "MUG", quantity: 2)], orderId: "o-77"))
        #expect(try CommandParser.parse("place alice") == .place(customer: "alice", lines: [], orderId: nil))
        #expect(try CommandParser.parse("pay o-1 2598") == .pay(orderId: "o-1", amountCents: 2598))
        #expect(try CommandParser.parse("ship o-1") == .ship(orderId: "o-1"))
        #expect(try CommandParser.parse("cancel o-1 changed  my mind  ") == .cancel(orderId: "o-1", reason: "changed  my mind"))
        #expect(try CommandParser.parse("  \tSHIP   o-1 ") == .ship(orderId: "o-1"))
        #expect(try CommandParser.parse(arguments: ["register", "MUG", "12.99", "Blue mug"])
            == .register(sku: "MUG", priceCents: 1299, name: "Blue mug"))
    }

    @Test func moneyInCentsOrWithTwoDecimals() throws {
        #expect(try CommandParser.parse("pay o-1 12.99") == .pay(orderId: "o-1", amountCents: 1299))
        #expect(try CommandParser.parse("pay o-1 0.05") == .pay(orderId: "o-1", amountCents: 5))
        #expect(try CommandParser.parse("price MUG -1.50") == .price(sku: "MUG", priceCents: -150))
        #expect(try CommandParser.parse("price MUG -3") == .price(sku: "MUG", priceCents: -3))
        let oneDecimal = try #require(throws: ParseError.self) { try CommandParser.parse("pay o-1 12.9") }
        #expect(oneDecimal.message == "expected AMOUNT in cents (1299) or with two decimals (12.99) at token 3 (column 9): '12.9'")
        #expect(throws: ParseError.self) { try CommandParser.parse("pay o-1 12.999") }
        #expect(throws: ParseError.self) { try CommandParser.parse("pay o-1 .99") }
        #expect(throws: ParseError.self) { try CommandParser.parse("pay o-1 99999999999999999999") }
        #expect(throws: ParseError.self) { try CommandParser.parse("pay o-1 92233720368547758.08") }
        #expect(try CommandParser.parse("pay o-1 92233720368547758.07") == .pay(orderId: "o-1", amountCents: .max))
        #expect(try CommandParser.parse("pay o-1 -0.05") == .pay(orderId: "o-1", amountCents: -5))
        #expect(throws: ParseError.self) { try CommandParser.parse("pay o-1 1e3") }
    }

    @Test func textFormParsesBack() throws {
        let commands: [ShopCommand] = [
            .register(sku: "MUG", priceCents: 1299, name: "Blue  mug"),
            .restock(sku: "MUG", quantity: 5),
            .price(sku: "MUG", priceCents: 1),
            .place(customer: "alice", lines: [LineRequest(sku: "MUG", quantity: 2), LineRequest(sku: "PEN", quantity: 1)], orderId: nil),
            .place(customer: "bob", lines: [LineRequest(sku: "MUG", quantity: 2)], orderId: "gift-1"),
            .pay(orderId: "o-1", amountCents: 2598),
            .ship(orderId: "o-1"),
            .cancel(orderId: "o-1", reason: "out of patience"),
        ]
        for command in commands {
            #expect(try CommandParser.parse(command.textForm) == command)
        }
        #expect(ShopCommand.place(customer: "alice", lines: [LineRequest(sku: "MUG", quantity: 2)], orderId: "o-9").description
            == "place alice MUG:2 as o-9")
    }

    @Test func badLineNamesTokenAndColumn() throws {
        let error = try #require(throws: ParseError.self) { try CommandParser.parse("place alice MUG:x") }
        #expect(error.message == "expected SKU:QTY at token 3 (column 13): 'MUG:x'")
        #expect(error.tokenIndex == 3 && error.column == 13 && error.token == "MUG:x")

        let noColon = try #require(throws: ParseError.self) { try CommandParser.parse("place alice PEN:1 MUG") }
        #expect(noColon.message == "expected SKU:QTY at token 4 (column 19): 'MUG'")
        let emptySku = try #require(throws: ParseError.self) { try CommandParser.parse("place alice :3") }
        #expect(emptySku.tokenIndex == 3)
    }

    @Test func unknownVerbListsTheVerbs() throws {
        let error = try #require(throws: ParseError.self) { try CommandParser.parse("buy MUG") }
        #expect(error.message == "unknown command at token 1 (column 1): 'buy'; expected one of: register, restock, price, place, pay, ship, cancel")
        let empty = try #require(throws: ParseError.self) { try CommandParser.parse("   ") }
        #expect(empty.message == "empty command; expected one of: register, restock, price, place, pay, ship, cancel")
    }

    @Test func missingAndExtraTokens() throws {
        let missing = try #require(throws: ParseError.self) { try CommandParser.parse("restock MUG") }
        #expect(missing.message == "missing QTY at token 3 (column 13); usage: restock SKU QTY")
        #expect(missing.token == nil)
        let noName = try #require(throws: ParseError.self) { try CommandParser.parse("register MUG 100") }
        #expect(noName.message == "missing NAME at token 4 (column 18); usage: register SKU PRICE NAME...")
        let noOrder = try #require(throws: ParseError.self) { try CommandParser.parse("place alice MUG:1 as") }
        #expect(noOrder.message.hasPrefix("missing ORDER at token 5"))
        let extra = try #require(throws: ParseError.self) { try CommandParser.parse("ship o-1 now") }
        #expect(extra.message == "unexpected extra argument at token 3 (column 10): 'now'; usage: ship ORDER")
        let afterAs = try #require(throws: ParseError.self) { try CommandParser.parse("place alice MUG:1 as o-1 PEN:2") }
        #expect(afterAs.tokenIndex == 6 && afterAs.token == "PEN:2")
        let badQty = try #require(throws: ParseError.self) { try CommandParser.parse("restock MUG ten") }
        #expect(badQty.message == "expected QTY as a whole number at token 3 (column 13): 'ten'")
    }

    @Test func columnsCountCharactersNotBytes() throws {
        let error = try #require(throws: ParseError.self) { try CommandParser.parse("place café MUG:?") }
        #expect(error.column == 12)
    }
}
