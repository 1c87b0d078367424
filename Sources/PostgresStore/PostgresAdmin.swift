import EventStore
import Foundation
import PostgresNIO

/// Server-level chores outside one Prism database: making and dropping databases (the tests make
/// one per test; `prism db status` reads a database's tables). Each call opens a connection of
/// its own and closes it.
public enum PostgresAdmin {
    /// Creates database `name` on `server`'s server (connecting to `server`'s database).
    public static func createDatabase(_ name: String, on server: PostgresURL) throws {
        try run(["CREATE DATABASE \(quoted(name))"], on: server)
    }

    /// Drops database `name`, ending its sessions first.
    public static func dropDatabase(_ name: String, on server: PostgresURL) throws {
        try run(["DROP DATABASE IF EXISTS \(quoted(name)) WITH (FORCE)"], on: server)
    }

    /// Runs statements one by one on a connection of its own.
    public static func run(_ statements: [String], on url: PostgresURL) throws {
        let link = PostgresLink(url: url)
        defer { link.drop() }
        for s in statements { try link.query(PostgresQuery(unsafeSQL: s)) }
    }

    static func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// What `prism db status` prints.
    public struct Status: Sendable {
        public struct Checkpoint: Sendable {
            public var projector: String
            public var process: String
            public var position: UInt64
            public var secondsAgo: Double
        }
        public var schemaVersion: Int?
        public var head: UInt64
        public var events: UInt64
        public var commands: UInt64
        public var checkpoints: [Checkpoint]
    }

    /// The schema version, the head, row counts and the projector checkpoints that running
    /// processes reported. A database without Prism's schema answers `schemaVersion == nil`.
    public static func status(of url: PostgresURL) throws -> Status {
        let link = PostgresLink(url: url)
        defer { link.drop() }
        guard let version = try PostgresSchema.installedVersion(on: link) else {
            return Status(schemaVersion: nil, head: 0, events: 0, commands: 0, checkpoints: [])
        }
        try PostgresSchema.refuseNewer(version, url: url)
        let head = try PostgresStore.readHead(on: link)
        let counts = try link.query("SELECT (SELECT count(*) FROM prism_events), (SELECT count(*) FROM prism_commands)").rows
        let (events, commands) = try counts[counts.startIndex].decode((Int64, Int64).self)
        var checkpoints: [Status.Checkpoint] = []
        let rows = try link.query("""
            SELECT projector, process, position, extract(epoch FROM now() - updated_at)::float8
            FROM prism_checkpoints ORDER BY projector, process
            """).rows
        for row in rows {
            let (projector, process, position, age) = try row.decode((String, String, Int64, Double).self)
            checkpoints.append(.init(projector: projector, process: process, position: UInt64(position), secondsAgo: age))
        }
        return Status(schemaVersion: version, head: head, events: UInt64(events), commands: UInt64(commands), checkpoints: checkpoints)
    }
}

extension PostgresAdmin {
    /// The bytes a table takes on disk, with its indexes and TOAST (for `prism bench append`).
    public static func tableBytes(_ table: String, of url: PostgresURL) throws -> Int64 {
        let link = PostgresLink(url: url)
        defer { link.drop() }
        let rows = try link.query("SELECT pg_total_relation_size(\(table)::regclass)").rows
        return try rows[rows.startIndex].decode(Int64.self)
    }
}
