import Foundation
import PostgresStore
import Testing

@testable import EventStore

/// What only the PostgreSQL store has to show: two handles on one database (as two processes
/// would have) serialise on the head row.
@Suite struct PostgresStoreTests {
    /// Two store handles append at once, each deciding inside its session against the head it
    /// holds: every append lands where its session said (none sees the head move under it), and
    /// positions stay 1...N with no gap, also after a session that rolled back.
    @Test func twoHandlesOnOneDatabaseSerialiseOnTheHeadRow() async throws {
        let (url, drop) = try TestDatabase.make()
        defer { drop() }
        let a = try PostgresStore.open(url, access: .write(.relaxed))
        defer { a.close() }
        let b = try PostgresStore.open(url, access: .write(.relaxed))
        defer { b.close() }
        struct Refused: Error {}
        let rounds = 40
        let outcomes = try await withThrowingTaskGroup(of: [String].self) { group in
            for (name, store) in [("a", a), ("b", b)] {
                group.addTask {
                    try await onThread {
                        var problems: [String] = []
                        for i in 0..<rounds {
                            // Every fifth session gives up after looking: it must leave no trace.
                            if i % 5 == 4 {
                                _ = try? store.withAppendSession { s -> Void in
                                    _ = s.head
                                    throw Refused()
                                }
                            }
                            try store.withAppendSession { s in
                                let head = s.head
                                let version = try s.streamVersion(of: "shared")
                                let r = s.append([AppendBatch(
                                    [NewEvent(stream: "shared", type: name, payload: [UInt8(i)], expectedVersion: .exact(version))],
                                    expectedHead: head)])
                                if case .failure(let e) = r[0] { problems.append("\(name) \(i): \(e)") }
                            }
                        }
                        return problems
                    }
                }
            }
            var all: [String] = []
            for try await p in group { all += p }
            return all
        }
        #expect(outcomes.isEmpty, "\(outcomes.prefix(5))")
        let events = try a.events(from: 1)
        #expect(events.map(\.position) == (1...UInt64(2 * rounds)).map { $0 })
        #expect(events.map(\.streamVersion) == (1...UInt64(2 * rounds)).map { $0 })
        #expect(Set(events.map(\.type)) == ["a", "b"])
    }

    /// A command id is unique in the database, whichever handle wrote it first.
    @Test func aCommandIdTakenByAnotherHandleIsRefused() async throws {
        let (url, drop) = try TestDatabase.make()
        defer { drop() }
        let a = try PostgresStore.open(url, access: .write(.relaxed))
        defer { a.close() }
        let b = try PostgresStore.open(url, access: .write(.relaxed))
        defer { b.close() }
        _ = try a.append([NewEvent(stream: "s", type: "T", payload: [], commandId: "once")])
        let r = b.append([AppendBatch([NewEvent(stream: "t", type: "T", payload: [], commandId: "once")]),
                          AppendBatch([NewEvent(stream: "u", type: "T", payload: [], commandId: "other")])])
        guard case .failure(let e) = r[0] else { Issue.record("a used command id was taken again"); return }
        #expect(e.code == .versionConflict)
        #expect(e.message.contains("command id 'once' was already used (positions 1...1)"))
        #expect(try r[1].get() == AppendResult(firstPosition: 2, lastPosition: 2))
    }
}
