import Foundation
import PostgresStore
import Testing

/// The PostgreSQL server of the test run (`.ci/postgres.sh run` sets `$PRISM_TEST_POSTGRES`),
/// a fresh database per test, and clusters of a test's own for tests that restart the server.
enum PostgresTestServer {
    static let variable = "PRISM_TEST_POSTGRES"

    /// The server's URL, or the test is cancelled with the reason.
    static func url() throws -> PostgresURL {
        guard let text = ProcessInfo.processInfo.environment[variable], !text.isEmpty else {
            try Test.cancel("skipped: \(variable) is unset, so there is no PostgreSQL to test against (run `.ci/postgres.sh run swift test`, as .ci/run does)")
        }
        return try PostgresURL.parse(text)
    }

    /// The cluster script, for a cluster of the test's own.
    static func script() throws -> String {
        _ = try url()
        guard let s = ProcessInfo.processInfo.environment["PRISM_TEST_POSTGRES_SCRIPT"], !s.isEmpty else {
            try Test.cancel("skipped: PRISM_TEST_POSTGRES_SCRIPT is unset (run the tests through .ci/postgres.sh run)")
        }
        return s
    }

    static func freshName() -> String {
        "prism_e2e_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
    }
}

/// Runs `body` with the URL of a fresh, empty database, dropped afterwards.
func withDatabase<T>(on server: PostgresURL? = nil, _ body: (PostgresURL) async throws -> T) async throws -> T {
    let server = try server ?? PostgresTestServer.url()
    let name = PostgresTestServer.freshName()
    try PostgresAdmin.createDatabase(name, on: server)
    defer { try? PostgresAdmin.dropDatabase(name, on: server) }
    return try await body(server.with(database: name))
}

/// A PostgreSQL cluster of the test's own (for restarts and crashes that would hurt the other
/// tests' server), stopped and removed by `stop()`.
final class OwnCluster: @unchecked Sendable {
    let directory: String
    let url: PostgresURL
    let script: String

    init() async throws {
        script = try PostgresTestServer.script()
        directory = "/tmp/prism-pg-own-" + UUID().uuidString.prefix(8)
        let r = try await run(script, ["start", directory], timeout: 120)
        guard r.code == 0 else { throw E2EError("cannot start a cluster: \(r.stderr)") }
        url = try PostgresURL.parse(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// `pg_ctl ARGS` on this cluster.
    func ctl(_ args: String...) async throws {
        let r = try await run(script, ["ctl", directory] + args, timeout: 120)
        guard r.code == 0 else { throw E2EError("pg_ctl \(args.joined(separator: " ")) failed: \(r.stderr)") }
    }

    func stop() async {
        _ = try? await run(script, ["stop", directory], timeout: 60)
    }
}
