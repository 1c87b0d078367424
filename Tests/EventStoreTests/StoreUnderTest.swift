import EventLog
import Foundation
import PostgresStore
import Testing

@testable import EventStore

/// Every store the conformance suite runs against: the same test bodies for each, as GRDB runs
/// its tests against both a queue and a pool. A new backend adds a case here.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case file
    case memory
    /// A fresh database per test on the server `$PRISM_TEST_POSTGRES` names (`.ci/run` starts
    /// one with `.ci/postgres.sh`); without it, these cases are cancelled and say why.
    case postgres

    var testDescription: String { rawValue }

    /// A fresh, empty store of this kind, and what removes it.
    func make() throws -> StoreUnderTest {
        switch self {
        case .memory:
            return StoreUnderTest(store: InMemoryEventStore(), cleanup: {})
        case .file:
            let dir = NSTemporaryDirectory() + "prism-conformance-" + UUID().uuidString
            var options = LogOptions()
            // The subject is the contract, not the disk; small segments and a small tail so
            // that reads cross segment files and fall back from memory to disk.
            options.durability = .relaxed
            options.segmentBytes = 64 << 10
            options.tailBudgetBytes = 32 << 10
            let log = try EventLog.open(directory: dir, options: options)
            return StoreUnderTest(store: log, cleanup: { try? FileManager.default.removeItem(atPath: dir) })
        case .postgres:
            let (url, drop) = try TestDatabase.make()
            var options = PostgresStore.Options()
            // Small pages, so that reads and subscriptions cross pages.
            options.pageSize = 7
            // As for the file log: the contract, not the disk (synchronous_commit off).
            let store = try PostgresStore.open(url, access: .write(.relaxed), options: options)
            return StoreUnderTest(store: store, cleanup: drop)
        }
    }
}

struct StoreUnderTest {
    let store: any EventStore
    let cleanup: @Sendable () -> Void
}

/// Runs `body` with a fresh store of `kind`, then closes and removes it.
func withStore<T>(_ kind: StoreKind, _ body: (any EventStore) async throws -> T) async throws -> T {
    let s = try kind.make()
    defer {
        s.store.close()
        s.cleanup()
    }
    return try await body(s.store)
}

func event(_ stream: String, _ type: String = "Happened", payload: [UInt8] = [1, 2, 3], id: String? = nil,
           expect: ExpectedVersion = .any) -> NewEvent {
    NewEvent(stream: stream, type: type, payload: payload, commandId: id, expectedVersion: expect)
}

/// Runs blocking work on a thread of its own and awaits it, so no test blocks the pool.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { c in
        Thread { c.resume(with: Result { try body() }) }.start()
    }
}

/// A fresh database on the test server, and what drops it.
enum TestDatabase {
    static let variable = "PRISM_TEST_POSTGRES"

    /// The test server's URL, or the test is cancelled with the reason.
    static func server() throws -> PostgresURL {
        guard let text = ProcessInfo.processInfo.environment[variable], !text.isEmpty else {
            try Test.cancel("skipped: \(variable) is unset, so there is no PostgreSQL to test against (run `.ci/postgres.sh run swift test`, as .ci/run does)")
        }
        return try PostgresURL.parse(text)
    }

    static func make() throws -> (PostgresURL, @Sendable () -> Void) {
        let server = try server()
        let name = "prism_t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        try PostgresAdmin.createDatabase(String(name), on: server)
        return (server.with(database: String(name)), { try? PostgresAdmin.dropDatabase(String(name), on: server) })
    }
}
