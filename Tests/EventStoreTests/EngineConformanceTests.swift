@testable import CQRS
import Foundation
import Testing

@testable import EventStore

/// The CQRS engine over every store, with a domain that is not the shop (``Bank``).
@Suite struct EngineConformanceTests {
    @Test(arguments: StoreKind.allCases)
    func twoWritersOnOneStoreKeepTheRuleAndAgreeWithAFoldOfTheEvents(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let a = try CommandWriter(domain: Bank(), store: store)
            let b = try CommandWriter(domain: Bank(), store: store)
            defer { a.stop(); b.stop() }
            let accounts = ["ann", "bob", "cat", "dan"]
            for name in accounts { _ = try await a.submit(.open(name)) }
            #expect(try await b.submit(.open("ann")) == .rejected("account ann exists"), "b must see a's events")
            _ = try await b.submit(.deposit("ann", 100))
            // Both writers at once: many withdrawals race for the same money. Only the store's
            // order decides; the rule must hold at every position.
            func load(_ writer: CommandWriter<Bank>, seed: UInt64) async throws -> Int {
                var rng = SeededRandom(seed)
                var accepted = 0
                try await withThrowingTaskGroup(of: CommandOutcome.self) { group in
                    for _ in 0..<600 {
                        let x = accounts[Int(rng.next() % 4)], y = accounts[Int(rng.next() % 4)]
                        let n = Int64(rng.next() % 40 + 1)
                        let command: BankCommand = switch rng.next() % 3 {
                        case 0: .deposit(x, n)
                        case 1: .withdraw(x, n * 2)
                        default: .transfer(from: x, to: y, n * 3)
                        }
                        group.addTask { try await writer.submit(command) }
                    }
                    for try await outcome in group { if case .accepted = outcome { accepted += 1 } }
                }
                return accepted
            }
            async let fromA = load(a, seed: 1)
            async let fromB = load(b, seed: 2)
            let accepted = try await fromA + fromB
            #expect(accepted > 300, "the race was not run: only \(accepted) commands accepted")

            let (folded, neverNegative) = try foldBank(store)
            #expect(neverNegative, "two writers overdrew an account")
            // Each writer, once it has caught up (its next command), holds exactly the fold,
            // metadata included: live evolve saw what replay sees.
            for writer in [a, b] {
                _ = try await writer.submit(.open("probe-\(ObjectIdentifier(writer).hashValue)"))
            }
            let (final, _) = try foldBank(store)
            let modelA = await a.inspect { state, _ in state }
            let modelB = await b.inspect { state, _ in state }
            #expect(modelA?.balances == final.balances || modelB?.balances == final.balances)
            // The last writer to append is exactly at the head; the other is one event behind.
            for model in [modelA, modelB] {
                guard let model else { Issue.record("no write model"); continue }
                for (account, meta) in model.lastMeta where final.lastMeta[account] != nil && account.hasPrefix("probe") == false {
                    #expect(meta == final.lastMeta[account]!, "live meta of \(account) differs from the stored one")
                }
            }
            #expect(folded.balances.values.allSatisfy { $0 >= 0 })
            // A projector over the same store folds to the same balances.
            let projector = Projector(BalancesProjection(), store: store)
            projector.start()
            #expect(await projector.waitUntil(position: store.head, timeout: .seconds(10)))
            #expect(projector.view.balances == final.balances)
            await projector.shutdown()
        }
    }

    @Test(arguments: StoreKind.allCases)
    func liveEvolveSeesTheMetadataTheStoreRecords(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let writer = try CommandWriter(domain: Bank(), store: store)
            defer { writer.stop() }
            _ = try await writer.submit(.open("ann"))
            _ = try await writer.submit(.open("bob"))
            _ = try await writer.submit(.transfer(from: "ann", to: "bob", 0))
            _ = try await writer.submit(.deposit("ann", 5))
            _ = try await writer.submit(.transfer(from: "ann", to: "bob", 2))
            let live = await writer.inspect { state, _ in state.lastMeta }
            let (folded, _) = try foldBank(store)
            #expect(live == folded.lastMeta)
            #expect(folded.lastMeta["ann"]?.streamVersion == 3)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aBatchTheStoreWouldRefuseRejectsThatCommandAloneAndTheWriterGoesOn(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let writer = try CommandWriter(domain: Bank(), store: store)
            defer { writer.stop() }
            _ = try await writer.submit(.open("ann"))
            // A stream name over the store's limit: the command is rejected with the reason.
            let huge = String(repeating: "x", count: 70_000)
            guard case .rejected(let reason) = try await writer.submit(.open(huge)) else {
                Issue.record("an unstorable command was not rejected")
                return
            }
            #expect(reason.contains("stream name"))
            // Nothing of it reached the write model or the store, and the writer goes on.
            #expect(try await writer.submit(.deposit("ann", 5)) == .accepted(first: 2, last: 2))
            #expect(try await writer.submit(.deposit(huge, 5)) == .rejected("no account \(huge)"))
            #expect(store.head == 2)
            #expect(writer.statistics.failure == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func eventsAppendedBehindTheWritersBackAreFoldedInBeforeItDecides(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let writer = try CommandWriter(domain: Bank(), store: store)
            defer { writer.stop() }
            #expect(try await writer.submit(.open("ann")) == .accepted(first: 1, last: 1))
            // Someone else appends straight to the store (another process, a tool).
            var payload: [UInt8] = []
            BankEvent.deposited("ann", 50).encodePayload(into: &payload)
            _ = try store.append([NewEvent(stream: "account-ann", type: "Deposited", payload: payload)])
            // The writer decides with that money, at the right position.
            #expect(try await writer.submit(.withdraw("ann", 50)) == .accepted(first: 3, last: 3))
            #expect(try await writer.submit(.withdraw("ann", 1)) == .rejected("insufficient funds in ann: 0 < 1"))
            #expect(writer.statistics.failure == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aFullQueueAnswersBusyInsteadOfGrowing(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let writer = try CommandWriter(domain: Bank(), store: store, capacity: 10)
            defer { writer.stop() }
            _ = try await writer.submit(.open("ann"))
            // Hold the store's append session: the writer blocks in its next round, and the
            // queue behind it fills up.
            let release = DispatchSemaphore(value: 0)
            let holding = DispatchSemaphore(value: 0)
            Thread {
                try? store.withAppendSession { _ in
                    holding.signal()
                    release.wait()
                }
            }.start()
            holding.wait()
            let outcomes = OutcomeBox()
            for i in 0..<40 {
                writer.submit(.deposit("ann", Int64(i + 1))) { outcomes.add($0) }
                usleep(2_000)
            }
            release.signal()
            try await Task.sleep(for: .milliseconds(300))
            let all = outcomes.values
            let busy = all.filter { if case .failure(let e) = $0 { e.code == .busy } else { false } }.count
            #expect(busy >= 20, "a queue of 10 took \(40 - busy) of 40 commands")
            #expect(writer.queuedCount == 0)
            let balance = await writer.inspect { state, _ in state.balances["ann"] }
            #expect(balance != nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func commandIdsAreRememberedWithinABoundedWindow(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let writer = try CommandWriter(domain: Bank(), store: store, rememberedIds: 5)
            defer { writer.stop() }
            for i in 0..<30 { _ = try await writer.submit(.open("a\(i)"), commandId: "id-\(i)") }
            let remembered = await writer.inspect { _, _ in 0 }
            #expect(remembered == 0)
            // A retry of a recent id is answered from memory and appends nothing.
            let head = store.head
            #expect(try await writer.submit(.open("a29"), commandId: "id-29") == .accepted(first: 30, last: 30))
            #expect(store.head == head)
            let count = await writer.rememberedIdCount()
            #expect(count <= 10)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aProjectorStoppedByAnErrorSaysWhy(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try store.append([NewEvent(stream: "account-x", type: "Exploded", payload: [])])
            let projector = Projector(BalancesProjection(), store: store)
            projector.start()
            let deadline = ContinuousClock.now + .seconds(10)
            while projector.status.state != .stopped && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(projector.status.state == .stopped)
            #expect(projector.status.error?.contains("position 1") == true)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aCompletionMayStopTheWriterWithoutDeadlock(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let writer = try CommandWriter(domain: Bank(), store: store)
            let stopped = DispatchSemaphore(value: 0)
            writer.submit(.open("ann")) { _ in
                writer.stop()
                stopped.signal()
            }
            let ok = try await onThread { stopped.wait(timeout: .now() + 10) == .success }
            #expect(ok, "stop() from a completion deadlocked")
            writer.stop()
        }
    }
}

/// Outcomes collected from completions on the writer thread.
final class OutcomeBox: @unchecked Sendable {
    // @unchecked: every access holds `lock`.
    private let lock = NSLock()
    private var list: [Result<CommandOutcome, StoreError>] = []
    func add(_ r: Result<CommandOutcome, StoreError>) { lock.lock(); list.append(r); lock.unlock() }
    var values: [Result<CommandOutcome, StoreError>] { lock.lock(); defer { lock.unlock() }; return list }
}

/// SplitMix64: the same commands for the same seed, on every run.
struct SeededRandom {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
