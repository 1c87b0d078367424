import Foundation
import Testing

@testable import EventStore

/// The contract of `EventStore` (see its doc comment), one test body per clause, run against
/// every store of ``StoreKind``.
@Suite struct ConformanceTests {
    @Test(arguments: StoreKind.allCases)
    func positionsAreDenseAndEventsRoundTrip(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            #expect(store.head == 0)
            let r1 = try store.append([event("a", "Opened", payload: [9], id: "c-1"), event("a", "Deposited")])
            let r2 = try store.append([event("b", payload: [])])
            #expect(r1 == AppendResult(firstPosition: 1, lastPosition: 2))
            #expect(r2 == AppendResult(firstPosition: 3, lastPosition: 3))
            #expect(store.head == 3)
            let all = try store.events(from: 1)
            #expect(all.map(\.position) == [1, 2, 3])
            #expect(all.map(\.stream) == ["a", "a", "b"])
            #expect(all.map(\.streamVersion) == [1, 2, 1])
            #expect(all.map(\.type) == ["Opened", "Deposited", "Happened"])
            #expect(all[0].payload == [9] && all[2].payload == [])
            #expect(all.map(\.commandId) == ["c-1", nil, nil])
            // The last event of each batch says so.
            var ends: [Bool] = []
            try store.read(from: 1, through: 3) { ends.append($0.endsBatch); return true }
            #expect(ends == [false, true, true])
            // Ranges are clamped to the head; reading stops when asked.
            #expect(try store.events(from: 2, through: 99).map(\.position) == [2, 3])
            var seen = 0
            try store.read(from: 1, through: 3) { _ in seen += 1; return false }
            #expect(seen == 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aWrongExpectationRefusesThatBatchAloneAndAppendsNothingOfIt(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try store.append([event("a"), event("a")])
            let results = store.append([
                AppendBatch([event("x")], expectedHead: 2),  // right: lands at 3
                AppendBatch([event("y")], expectedHead: 2),  // wrong now: the head is 3
                AppendBatch([event("a", expect: .exact(1)), event("z")]),  // a is at 2
                AppendBatch([event("a", expect: .exact(2)), event("b", expect: .noStream)]),
                AppendBatch([event("", "T")]),  // no stream name
            ])
            #expect(try results[0].get() == AppendResult(firstPosition: 3, lastPosition: 3))
            #expect(throws: StoreError.self) { try results[1].get() }
            if case .failure(let e) = results[1] { #expect(e.code == .headMoved) }
            if case .failure(let e) = results[2] { #expect(e.code == .versionConflict) } else { Issue.record("accepted a wrong version") }
            #expect(try results[3].get() == AppendResult(firstPosition: 4, lastPosition: 5))
            if case .failure(let e) = results[4] { #expect(e.code == .invalidArgument) } else { Issue.record("accepted an empty stream name") }
            #expect(store.head == 5)
            #expect(try store.events(from: 1).map(\.stream) == ["a", "a", "x", "a", "b"])
            #expect(store.problem(with: event("")) != nil)
            #expect(store.problem(with: event("ok", String(repeating: "t", count: 256))) != nil)
            #expect(store.problem(with: event("ok")) == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func anAppendSessionKeepsOtherSessionsOut(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            // Four threads, each 50 times: read the head inside a session, think, append expecting
            // it. With sessions exclusive, no expectation can ever be wrong.
            let threads = (0..<4).map { t in
                Task.detached {
                    try await onThread { () -> Int in
                        var refused = 0
                        for _ in 0..<50 {
                            try store.withAppendSession { session in
                                let head = session.head
                                let version = try session.streamVersion(of: "s\(t)")
                                usleep(UInt32.random(in: 0...300))
                                let r = session.append([AppendBatch(
                                    [event("s\(t)", expect: .exact(version)), event("shared")],
                                    expectedHead: head)])
                                if case .failure = r[0] { refused += 1 }
                            }
                        }
                        return refused
                    }
                }
            }
            var refused = 0
            for t in threads { refused += try await t.value }
            #expect(refused == 0)
            #expect(store.head == 400)
            // Batches never interleave: every s-event is followed by its shared event.
            let all = try store.events(from: 1)
            for pair in stride(from: 0, to: all.count, by: 2) {
                #expect(all[pair].stream.hasPrefix("s") && all[pair + 1].stream == "shared")
            }
            #expect(all.last?.streamVersion == 200)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func waitingForTheHeadBlocksAndSuspendsUntilItMoves(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            #expect(store.waitForHead(after: 0, timeout: .milliseconds(20)) == false)
            async let passed = onThread { store.waitForHead(after: 0, timeout: .seconds(10)) }
            async let suspended: Void = store.waitForHead(after: 1)
            try await Task.sleep(for: .milliseconds(50))
            _ = try store.append([event("a"), event("a")])
            #expect(try await passed)
            await suspended
            #expect(store.head == 2)
            // A batch handed out for a subscription holds at least `from` and never passes `through`.
            let batch = try store.readBatch(from: 2, through: 2)
            #expect(batch.first == 2 && batch.last == 2)
            #expect(throws: StoreError.self) { try store.readBatch(from: 3, through: 9) }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aSubscriptionSeesEveryPositionOnceWhileOthersAppend(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            for i in 0..<20 { _ = try store.append((0..<50).map { j in event("s\((i * 50 + j) % 13)") }) }
            let total: UInt64 = 20_000
            let writer = Task.detached {
                while store.head < total {
                    let n = Int(min(97, total - store.head))
                    _ = try store.append((0..<n).map { _ in event("live", payload: [UInt8](repeating: 7, count: 40)) })
                }
            }
            var expected: UInt64 = 1
            var ok = true
            for try await batch in store.subscribe(from: 1) {
                batch.forEach { e in
                    if e.position != expected { ok = false }
                    expected = e.position + 1
                }
                if !ok || expected > total { break }
            }
            try await writer.value
            #expect(ok)
            #expect(expected == total + 1)
            // From the middle, too.
            var iterator = store.subscribe(from: 12_345).makeAsyncIterator()
            let first = try await iterator.next()
            #expect(first?.first == 12_345)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aSlowSubscriberHoldsABoundedBufferAndNeverSlowsTheWriter(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try store.append([event("a")])
            var iterator = store.subscribe(from: 1, bufferedBatches: 3).makeAsyncIterator()
            #expect(try await iterator.next()?.first == 1)
            // The subscriber stops reading; the writer goes on at full speed.
            let started = ContinuousClock.now
            for _ in 0..<500 { _ = try store.append([event("b", payload: [UInt8](repeating: 1, count: 200))]) }
            #expect(ContinuousClock.now - started < .seconds(20))
            try await Task.sleep(for: .milliseconds(300))
            #expect(iterator.buffered <= 3, "the feeder read ahead past its bound")
            // And nothing was skipped meanwhile.
            var next: UInt64 = 2
            while next <= 501, let batch = try await iterator.next() {
                #expect(batch.first == next)
                next = batch.last + 1
            }
            #expect(next == 502)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func closingEndsSubscriptionsAndRefusesAppends(kind: StoreKind) async throws {
        let s = try kind.make()
        defer { s.cleanup() }
        let store = s.store
        _ = try store.append([event("a")])
        let reader = Task {
            var n = 0
            for try await batch in store.subscribe(from: 1) { n += batch.count }
            return n
        }
        try await Task.sleep(for: .milliseconds(100))
        store.close()
        #expect(try await reader.value == 1)
        #expect(store.isClosed)
        let result = store.append([AppendBatch([event("b")])])
        if case .failure(let e) = result[0] { #expect(e.code == .closed) } else { Issue.record("appended after close") }
        #expect(throws: StoreError.self) { try store.withAppendSession { _ in () } }
    }

    @Test(arguments: StoreKind.allCases)
    func aCancelledSubscriberStopsItsFeeder(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let reader = Task {
                var n = 0
                for try await batch in store.subscribe(from: 1) { n += batch.count }
                return n
            }
            try await Task.sleep(for: .milliseconds(50))
            _ = try store.append([event("a")])
            try await Task.sleep(for: .milliseconds(50))
            reader.cancel()
            #expect(try await reader.value == 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aNamedCommitTimeIsKept(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let r = store.append([AppendBatch([event("a")], timestampNanos: 1_234_567_890)])
            let landed = try r[0].get()
            let stored = try store.events(from: 1)
            #expect(landed.lastPosition == 1)
            #expect(stored.first?.timestampNanos == 1_234_567_890)
        }
    }
}
