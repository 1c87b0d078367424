import EventLog
import Foundation
import Shop
import Synchronization
import Testing

@testable import CQRS

/// The write side: outcomes only after durability, rejections append nothing, one drain sees its
/// own effects, and command ids make retries safe (also across a restart).
@Suite struct WriterTests {
    // MARK: Durability and rejections

    @Test func outcomeArrivesOnlyOnceEventsAreDurableAndReadable() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        try await withShop(dir.path, .write(.full)) { system in
            let writer = try #require(system.writer)
            let log = system.log
            // Inside the completion (on the writer thread) the events must already be in the log.
            let seen = Mutex<[(outcome: CommandOutcome, head: UInt64, ids: [String?], events: [ShopEvent])]>([])
            let commands: [(ShopCommand, String)] = [
                (.register(sku: "MUG", priceCents: 1299, name: "Blue mug"), "c1"),
                (.restock(sku: "MUG", quantity: 10), "c2"),
                (.place(customer: "alice", lines: [LineRequest(sku: "MUG", quantity: 2)], orderId: nil), "c3"),
            ]
            for (command, id) in commands {
                let outcome: CommandOutcome = await withCheckedContinuation { c in
                    writer.submit(command, commandId: id) { result in
                        let outcome = (try? result.get()) ?? .rejected("failed")
                        var ids: [String?] = []
                        var events: [ShopEvent] = []
                        if case .accepted(let first, let last) = outcome {
                            try? log.read(from: first, through: last) { record in
                                ids.append(record.commandId)
                                if let e = try? ShopEvent.decode(record) { events.append(e) }
                                return true
                            }
                        }
                        seen.withLock { $0.append((outcome, log.head, ids, events)) }
                        c.resume(returning: outcome)
                    }
                }
                guard case .accepted = outcome else {
                    Issue.record("\(command) was not accepted: \(outcome)")
                    return
                }
            }
            let records = seen.withLock { $0 }
            #expect(records.map(\.outcome) == [.accepted(first: 1, last: 1), .accepted(first: 2, last: 2), .accepted(first: 3, last: 3)])
            for (i, r) in records.enumerated() {
                guard case .accepted(_, let last) = r.outcome else { continue }
                #expect(r.head >= last, "outcome \(r.outcome) arrived with head \(r.head)")
                #expect(r.ids == [commands[i].1], "command id of the record")
                #expect(r.events.count == 1)
            }
            #expect(records.last?.events == [
                .orderPlaced(orderId: "o-1", customer: "alice", lines: [OrderLine(sku: "MUG", quantity: 2, unitPriceCents: 1299)], totalCents: 2598),
            ])
            // And the async form: once `submit` returns, the event is readable at its position.
            let reply = try await writer.submit(.pay(orderId: "o-1", amountCents: 2598))
            #expect(reply == .accepted(first: 4, last: 4))
            #expect(log.head >= 4)
            #expect(try decodedEvents(log, from: 4, through: 4).map(\.event) == [.paymentReceived(orderId: "o-1", amountCents: 2598)])
        }
        // Durable means it survives closing: a new log on the folder holds all four events.
        let reopened = try EventLog.open(directory: dir.path)
        defer { reopened.close() }
        #expect(reopened.head == 4)
    }

    @Test func rejectedCommandAppendsNothingAndLeavesTheWriteModelAlone() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        try await withShop(dir.path) { system in
            let writer = try #require(system.writer)
            await accept(system, "register MUG 1299 Blue mug")
            await accept(system, "restock MUG 3")
            let head = system.log.head
            let model = await writeModel(writer)
            #expect(model != nil, "the writer's write model is reachable by reflection")

            let texts = [
                "register MUG 999 Another mug",  // SKU exists
                "restock PEN 5",  // unknown SKU
                "restock MUG 0",  // quantity out of range
                "price MUG 0",  // price <= 0
                "place alice MUG:4",  // more than available
                "place alice MUG:1 MUG:1",  // SKU twice
                "pay o-1 100",  // unknown order
                "ship o-1",
                "cancel o-1 oops",
            ]
            for text in texts {
                let reason = await reject(system, text)
                #expect(!reason.isEmpty)
                #expect(system.log.head == head, "'\(text)' appended something")
            }
            #expect(await reject(system, "place alice MUG:4") == "insufficient stock for MUG: 3 available, 4 asked")
            #expect(await writeModel(writer) == model, "a rejection changed the write model")
            #expect(writer.statistics.rejected == UInt64(texts.count + 1))
            #expect(writer.statistics.accepted == 2)
            // The next automatic order id was not used up by the rejected `place`.
            let position = await accept(system, "place bob MUG:3")
            #expect(try decodedEvents(system.log, from: position, through: position).first.map { event -> String in
                if case .orderPlaced(let id, _, _, _) = event.event { id } else { "" }
            } == "o-1")
        }
    }

    // MARK: One drain sees its own effects

    /// 100 one-unit orders against 50 in stock, all queued while the writer is parked, so they are
    /// decided in one drain: exactly 50 win, in the order they were queued, at consecutive positions.
    @Test func commandsInOneDrainSeeEachOther() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        try await withShop(dir.path) { system in
            let writer = try #require(system.writer)
            await accept(system, "register MUG 1299 Blue mug")
            await accept(system, "restock MUG 50")
            let head = system.log.head
            let outcomes = Mutex<[Int: CommandOutcome]>([:])
            let gate = await WriterGate.close(writer)
            let all = 100
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                for i in 0..<all {
                    let command = ShopCommand.place(customer: "c\(i)", lines: [LineRequest(sku: "MUG", quantity: 1)], orderId: nil)
                    writer.submit(command) { result in
                        let count = outcomes.withLock { o -> Int in
                            o[i] = (try? result.get()) ?? .rejected("failed")
                            return o.count
                        }
                        if count == all { done.resume() }
                    }
                }
                gate.open()
            }
            let results = outcomes.withLock { $0 }
            let accepted = (0..<all).filter { if case .accepted = results[$0]! { true } else { false } }
            #expect(accepted == Array(0..<50), "the first 50 queued must win")
            for (k, i) in accepted.enumerated() {
                let p = head + 1 + UInt64(k)
                #expect(results[i] == .accepted(first: p, last: p))
            }
            for i in 50..<all {
                #expect(results[i] == .rejected("insufficient stock for MUG: 0 available, 1 asked"))
            }
            #expect(system.log.head == head + 50)
            #expect(await system.waitForViews(position: system.log.head))
            let stock = system.warehouse.view.stock.first { $0.sku == "MUG" }
            #expect(stock == StockLine(sku: "MUG", onHand: 50, reserved: 50, available: 0))
        }
    }

    /// Concurrent submitters with random quantities that together ask for far more than the stock.
    @Test func concurrentOrdersNeverReserveMoreThanTheStock() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        try await withShop(dir.path) { system in
            await accept(system, "register MUG 1299 Blue mug")
            await accept(system, "register PEN 199 Gel pen")
            await accept(system, "restock MUG 100")
            await accept(system, "restock PEN 60")
            let submitted = 200
            let replies = await withTaskGroup(of: (Int64, Int64, CommandReply).self) { group in
                for i in 0..<submitted {
                    let mugs = Int64(i % 3 + 1)
                    let pens = Int64(i % 2)
                    let text = pens > 0 ? "place c\(i) MUG:\(mugs) PEN:\(pens)" : "place c\(i) MUG:\(mugs)"
                    group.addTask { (mugs, pens, await system.submit(text: text)) }
                }
                var all: [(Int64, Int64, CommandReply)] = []
                for await r in group { all.append(r) }
                return all
            }
            var accepted = 0, rejected = 0
            var mugs: Int64 = 0, pens: Int64 = 0
            for (m, p, reply) in replies {
                switch reply {
                case .accepted:
                    accepted += 1
                    mugs += m
                    pens += p
                case .rejected(let reason):
                    rejected += 1
                    #expect(reason.hasPrefix("insufficient stock for "), "\(reason)")
                default:
                    Issue.record("unexpected reply \(reply)")
                }
            }
            #expect(accepted + rejected == submitted)
            #expect(mugs <= 100 && pens <= 60)
            #expect(rejected > 0, "200 orders of 1-3 mugs cannot all fit in 100")
            #expect(system.log.head == 4 + UInt64(accepted))
            #expect(await system.waitForViews(position: system.log.head))
            let stock = system.warehouse.view.stock
            #expect(stock == [
                StockLine(sku: "MUG", onHand: 100, reserved: mugs, available: 100 - mugs),
                StockLine(sku: "PEN", onHand: 60, reserved: pens, available: 60 - pens),
            ])
            #expect(system.support.view.statusCounts.placed == accepted)
        }
    }

    @Test func submitAfterStopFailsWithClosed() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        try await withShop(dir.path) { system in
            let writer = try #require(system.writer)
            writer.stop()
            await #expect(throws: LogError.self) {
                _ = try await writer.submit(.register(sku: "MUG", priceCents: 1, name: "m"))
            }
            #expect(system.log.head == 0)
        }
    }

    // MARK: Idempotency

    @Test func sameCommandIdTwiceReturnsTheFirstOutcomeAndAppendsOnce() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        try await withShop(dir.path) { system in
            let writer = try #require(system.writer)
            #expect(await system.submit(text: "register MUG 1299 Blue mug", commandId: "reg") == .accepted(position: 1))
            #expect(await system.submit(text: "register MUG 1299 Blue mug", commandId: "reg") == .accepted(position: 1))
            // A different command under a seen id still gets the first outcome and appends nothing.
            #expect(await system.submit(text: "restock MUG 5", commandId: "reg") == .accepted(position: 1))
            #expect(system.log.head == 1)
            #expect(await system.submit(text: "restock MUG 5", commandId: "stock") == .accepted(position: 2))
            #expect(await system.submit(text: "restock MUG 5", commandId: "stock") == .accepted(position: 2))
            #expect(system.log.head == 2)

            // The same id twice in one drain: decided once, both get the same outcome.
            let gate = await WriterGate.close(writer)
            let outcomes = Mutex<[CommandOutcome]>([])
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                for _ in 0..<3 {
                    writer.submit(.restock(sku: "MUG", quantity: 7), commandId: "twice") { result in
                        let n = outcomes.withLock { o -> Int in
                            o.append((try? result.get()) ?? .rejected("failed"))
                            return o.count
                        }
                        if n == 3 { done.resume() }
                    }
                }
                gate.open()
            }
            #expect(outcomes.withLock { $0 } == Array(repeating: .accepted(first: 3, last: 3), count: 3))
            #expect(system.log.head == 3)
            #expect(await system.waitForViews(position: 3))
            #expect(system.warehouse.view.stock.first?.onHand == 12)
        }
    }

    /// A repeated id is told apart from a new command: the receipt says it is a repeat, and
    /// whether the command is the first one again, in one turn, across turns and after a restart.
    @Test func aRepeatedIdSaysWhetherTheCommandDiffered() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        try await withShop(dir.path) { system in
            let writer = try #require(system.writer)
            #expect(try await writer.submitForReceipt(.register(sku: "MUG", priceCents: 1299, name: "Mug"), commandId: "a")
                == CommandReceipt(.accepted(first: 1, last: 1)))
            #expect(try await writer.submitForReceipt(.register(sku: "MUG", priceCents: 1299, name: "Mug"), commandId: "a")
                == CommandReceipt(.accepted(first: 1, last: 1), repeatOf: .same))
            #expect(try await writer.submitForReceipt(.restock(sku: "MUG", quantity: 5), commandId: "a")
                == CommandReceipt(.accepted(first: 1, last: 1), repeatOf: .differed))
            #expect(try await writer.submitForReceipt(.restock(sku: "PEN", quantity: 5), commandId: "r")
                == CommandReceipt(.rejected("unknown SKU: PEN")))
            #expect(try await writer.submitForReceipt(.restock(sku: "PEN", quantity: 6), commandId: "r")
                == CommandReceipt(.rejected("unknown SKU: PEN"), repeatOf: .differed))
            // Two under one id in one turn.
            let gate = await WriterGate.close(writer)
            async let first = writer.submitForReceipt(.restock(sku: "MUG", quantity: 1), commandId: "t")
            async let second = writer.submitForReceipt(.restock(sku: "MUG", quantity: 2), commandId: "t")
            try await Task.sleep(for: .milliseconds(50))
            gate.open()
            let receipts = try await [first, second]
            #expect(receipts.map(\.outcome) == [receipts[0].outcome, receipts[0].outcome])
            #expect(Set(receipts.map(\.repeatOf)) == [nil, .differed])
        }
        // After a restart only the log remembers: the events tell the commands apart.
        try await withShop(dir.path) { system in
            let writer = try #require(system.writer)
            #expect(try await writer.submitForReceipt(.register(sku: "MUG", priceCents: 1299, name: "Mug"), commandId: "a")
                == CommandReceipt(.accepted(first: 1, last: 1), repeatOf: .same))
            #expect(try await writer.submitForReceipt(.register(sku: "MUG", priceCents: 1300, name: "Mug"), commandId: "a")
                == CommandReceipt(.accepted(first: 1, last: 1), repeatOf: .differed))
        }
    }

    /// A rejection appends nothing, so nothing on disk remembers it: the writer keeps rejected
    /// outcomes in memory only. Within one process a retry under the same id gets the first
    /// rejection again, even if it would now succeed; after a restart the id is unknown and the
    /// command is simply decided again. Accepted outcomes are rebuilt from the command ids stored
    /// with the events, so they survive a restart.
    @Test func idempotencyAcrossARestart() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let (head, placed) = try await withShop(dir.path) { system -> (UInt64, UInt64) in
            await accept(system, "register MUG 1299 Blue mug", id: "reg")
            #expect(await system.submit(text: "restock PEN 5", commandId: "early-pen") == .rejected("unknown SKU: PEN"))
            await accept(system, "register PEN 199 Gel pen", id: "reg-pen")
            // PEN exists now, but the id was seen: the first outcome comes back, nothing is appended.
            let head = system.log.head
            #expect(await system.submit(text: "restock PEN 5", commandId: "early-pen") == .rejected("unknown SKU: PEN"))
            #expect(system.log.head == head)
            await accept(system, "restock MUG 10")
            let placed = await accept(system, "place alice MUG:2", id: "order-1")
            return (system.log.head, placed)
        }
        try await withShop(dir.path) { system in
            let writer = try #require(system.writer)
            #expect(system.log.head == head)
            let remembered = await rememberedOutcomes(writer)
            #expect(remembered == [
                "reg": .accepted(first: 1, last: 1), "reg-pen": .accepted(first: 2, last: 2),
                "order-1": .accepted(first: placed, last: placed),
            ], "accepted ids come back from the log; the rejected one does not")
            #expect(await system.submit(text: "place alice MUG:2", commandId: "order-1") == .accepted(position: placed))
            #expect(await system.submit(text: "register MUG 1299 Blue mug", commandId: "reg") == .accepted(position: 1))
            #expect(system.log.head == head, "a retry after a restart appended")
            #expect(await system.waitForViews(position: head))
            #expect(system.support.view.statusCounts.placed == 1)
            // The id of the rejected command was forgotten with the process: decided again, accepted.
            #expect(await system.submit(text: "restock PEN 5", commandId: "early-pen") == .accepted(position: head + 1))
        }
        // And that acceptance is remembered from the log by the next process.
        try await withShop(dir.path) { system in
            #expect(await system.submit(text: "restock PEN 5", commandId: "early-pen") == .accepted(position: head + 1))
            #expect(system.log.head == head + 1)
        }
    }
}
