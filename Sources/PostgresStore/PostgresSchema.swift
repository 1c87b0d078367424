import EventStore
import Foundation
import PostgresNIO

/// The tables of a Prism database, and their version.
///
/// - `prism_events`: the log, one row per event, `position` its primary key. Unique
///   `(stream, stream_version)` backs up the expected-version checks made in memory.
/// - `prism_head`: one row, the last committed position. Every append takes it `FOR UPDATE`
///   first, so appends are serialised and commit in position order: positions stay dense with
///   several writers, and a reader that sees position N has seen 1...N-1. (A bare sequence would
///   hand out numbers outside the transaction and commit them out of order; readers would need
///   gap detection, and a rolled-back append would leave a hole for good.)
/// - `prism_commands`: one row per command id, unique, with the positions its events took.
/// - `prism_checkpoints`: what each running process reports of its projectors, for
///   `prism db status`.
/// - `prism_schema`: the version of all this. A database from a newer Prism is refused, not
///   guessed at.
public enum PostgresSchema {
    /// The version this Prism writes and reads.
    public static let version = 1
    /// The channel every commit notifies, with the new head as payload.
    public static let channel = "prism_events"

    static let tables = """
        CREATE TABLE IF NOT EXISTS prism_events (
            position       bigint  PRIMARY KEY,
            stream         text    NOT NULL,
            stream_version bigint  NOT NULL,
            type           text    NOT NULL,
            recorded_ns    bigint  NOT NULL,
            command_id     text,
            ends_batch     boolean NOT NULL,
            payload        bytea   NOT NULL,
            CONSTRAINT prism_events_stream_version UNIQUE (stream, stream_version)
        );
        CREATE TABLE IF NOT EXISTS prism_head (
            id       int    PRIMARY KEY CHECK (id = 1),
            position bigint NOT NULL
        );
        INSERT INTO prism_head (id, position) VALUES (1, 0) ON CONFLICT DO NOTHING;
        CREATE TABLE IF NOT EXISTS prism_commands (
            command_id     text   PRIMARY KEY,
            first_position bigint NOT NULL,
            last_position  bigint NOT NULL
        );
        CREATE TABLE IF NOT EXISTS prism_checkpoints (
            projector  text        NOT NULL,
            process    text        NOT NULL,
            position   bigint      NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (projector, process)
        );
        """

    public enum InitOutcome: Equatable, Sendable {
        case created
        case alreadyCurrent
    }

    /// Creates the schema if it is missing; refuses a newer one. Idempotent, and safe against a
    /// second `init` (or a second writer opening) at the same moment: an advisory lock
    /// serialises them.
    @discardableResult
    public static func initialize(_ url: PostgresURL) throws -> InitOutcome {
        let link = PostgresLink(url: url)
        defer { link.drop() }
        return try initialize(on: link)
    }

    @discardableResult
    static func initialize(on link: PostgresLink) throws -> InitOutcome {
        try link.query("BEGIN")
        do {
            try link.query("SELECT pg_advisory_xact_lock(7291001)")
            if let found = try installedVersion(on: link) {
                try refuseNewer(found, url: link.url)
                try link.query("COMMIT")
                return .alreadyCurrent
            }
            for statement in tables.split(separator: ";") where !statement.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                try link.query(PostgresQuery(unsafeSQL: String(statement)))
            }
            try link.query("CREATE TABLE prism_schema (id int PRIMARY KEY CHECK (id = 1), version int NOT NULL, created_at timestamptz NOT NULL DEFAULT now())")
            try link.query("INSERT INTO prism_schema (id, version) VALUES (1, \(Int32(version)))")
            try link.query("COMMIT")
            return .created
        } catch {
            if link.isConnected { _ = try? link.query("ROLLBACK") }
            throw error
        }
    }

    /// The schema version in the database, nil when there is none.
    static func installedVersion(on link: PostgresLink) throws -> Int? {
        let exists = try link.query("SELECT to_regclass('prism_schema') IS NOT NULL")
        guard let row = exists.rows.first, try row.decode(Bool.self) else { return nil }
        let rows = try link.query("SELECT version FROM prism_schema WHERE id = 1").rows
        guard let v = rows.first else { return nil }
        return Int(try v.decode(Int32.self))
    }

    static func refuseNewer(_ found: Int, url: PostgresURL) throws {
        if found > version {
            throw StoreError(
                .invalidArgument,
                "\(url) has Prism schema version \(found), made by a newer Prism; this Prism knows version \(version) and will not touch it")
        }
    }

    /// Checks that `link`'s database has this Prism's schema; the error says what to run.
    static func check(on link: PostgresLink) throws {
        guard let found = try installedVersion(on: link) else {
            throw StoreError(.unavailable, "\(link.url) has no Prism schema; run `prism db init --store \(link.url)` first")
        }
        try refuseNewer(found, url: link.url)
    }
}
