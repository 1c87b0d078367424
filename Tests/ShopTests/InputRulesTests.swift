import CQRS
import EventStore
import Testing

@testable import Shop

/// The rules that keep one bad input from reaching the store or the terminal.
@Suite struct InputRulesTests {
    @Test func commandIdsAreCheckedWhereTheyEnter() {
        #expect(CommandId.problem("order-42") == nil)
        #expect(CommandId.problem("-") == nil)
        #expect(CommandId.problem(String(repeating: "é", count: 127)) == nil)  // 254 bytes
        #expect(CommandId.problem("")?.contains("empty") == true)
        #expect(CommandId.problem(String(repeating: "a", count: 256))?.contains("255 bytes") == true)
        #expect(CommandId.problem(String(repeating: "é", count: 128))?.contains("has 256") == true)
        for bad in ["a\tb", "a\nb", "a\u{1B}b", "a\u{7F}", "a\u{85}", "\u{202E}x"] {
            let problem = CommandId.problem(bad)
            #expect(problem?.contains("control characters") == true, "\(bad.debugDescription)")
            #expect(problem.map { !$0.unicodeScalars.contains(where: isUnsafeForTerminal) } == true)
        }
    }

    @Test func namesAndReasonsAreLimitedInBytesToo() {
        var sim = ShopSimulator.stocked()
        let accents = "a" + String(repeating: "\u{0301}", count: 40_000)  // 1 character, 80,001 bytes
        #expect(accents.count == 1)
        #expect(sim.reject("register BIG 100 \(accents)").contains("at most 256 bytes"))
        #expect(sim.reject("register BIG 100 \("a" + String(repeating: "\u{0301}", count: 128))").contains("got 257 bytes"))
        sim.accept("register OK 100 \(String(repeating: "é", count: 64))")  // 128 bytes, 64 characters
        sim.accept("place alice MUG:1 as o-9")
        #expect(sim.reject("cancel o-9 \(accents)").contains("at most 256 bytes"))
    }

    @Test func theEscapeHelperLeavesNoControlCharacter() {
        #expect(escapeControlCharacters("plain text, é, 日本") == "plain text, é, 日本")
        #expect(escapeControlCharacters("a\u{1B}[2Jb\r\n\t") == "a\\u{1B}[2Jb\\r\\n\\t")
        #expect(escapeControlCharacters("\u{9B}\u{7F}\u{202E}\u{2028}") == "\\u{9B}\\u{7F}\\u{202E}\\u{2028}")
        let once = escapeControlCharacters("x\u{1B}y")
        #expect(escapeControlCharacters(once) == once)
    }

    @Test func parserAndDomainMessagesQuoteInputEscaped() {
        do {
            _ = try CommandParser.parse("\u{1B}[31mred")
            Issue.record("parsed")
        } catch {
            #expect(!error.message.contains("\u{1B}") && error.message.contains("\\u{1B}"))
        }
        var sim = ShopSimulator.stocked()
        let reason = sim.reject("restock M\u{1B}UG 5")
        #expect(!reason.contains("\u{1B}") && reason.contains("\\u{1B}"), "\(reason)")
    }

    @Test func aCommandMatchesTheEventItMade() {
        let domain = ShopDomain()
        let placed = ShopEvent.orderPlaced(
            orderId: "o-1", customer: "alice", lines: [OrderLine(sku: "MUG", quantity: 2, unitPriceCents: 100)], totalCents: 200)
        #expect(domain.command(.place(customer: "alice", lines: [LineRequest(sku: "MUG", quantity: 2)], orderId: nil), matches: [placed]) == true)
        #expect(domain.command(.place(customer: "alice", lines: [LineRequest(sku: "MUG", quantity: 2)], orderId: "o-1"), matches: [placed]) == true)
        #expect(domain.command(.place(customer: "alice", lines: [LineRequest(sku: "MUG", quantity: 3)], orderId: nil), matches: [placed]) == false)
        #expect(domain.command(.restock(sku: "MUG", quantity: 5), matches: [.productRestocked(sku: "MUG", quantity: 5)]) == true)
        #expect(domain.command(.restock(sku: "MUG", quantity: 7), matches: [.productRestocked(sku: "MUG", quantity: 5)]) == false)
        #expect(domain.command(.ship(orderId: "o-1"), matches: [.productRestocked(sku: "MUG", quantity: 5)]) == false)
    }
}
