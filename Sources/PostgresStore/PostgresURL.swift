import Foundation

/// Where a PostgreSQL store lives: `postgres://USER[:PASSWORD]@HOST[:PORT]/DB`, as `--store` and
/// `$PRISM_STORE` take it. The password may also come from `$PGPASSWORD`, so that it need not
/// appear in a process list.
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    public var user: String
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String

    public init(user: String, password: String? = nil, host: String, port: Int = 5432, database: String) {
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.database = database
    }

    /// True when `text` names a PostgreSQL store (and should be parsed by ``parse(_:)``).
    public static func isPostgres(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// Parses the URL; the error says which part is wrong.
    public static func parse(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> PostgresURL {
        guard isPostgres(text), let parts = URLComponents(string: text) else {
            throw PostgresURLError("'\(text.filter { !$0.isASCII || $0.asciiValue! >= 32 })' is not a postgres:// URL; expected postgres://USER@HOST:PORT/DB")
        }
        guard let user = parts.user, !user.isEmpty else {
            throw PostgresURLError("\(redacted(text)): no user; expected postgres://USER@HOST:PORT/DB")
        }
        guard let host = parts.host, !host.isEmpty else {
            throw PostgresURLError("\(redacted(text)): no host; expected postgres://USER@HOST:PORT/DB")
        }
        let database = String(parts.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw PostgresURLError("\(redacted(text)): no database name; expected postgres://USER@HOST:PORT/DB")
        }
        let port = parts.port ?? 5432
        guard (1...65535).contains(port) else { throw PostgresURLError("\(redacted(text)): port \(port) is out of range") }
        let password = parts.password ?? environment["PGPASSWORD"]
        return PostgresURL(user: user, password: password, host: host, port: port, database: database)
    }

    /// The URL without its password: what status lines and errors show.
    public var description: String { "postgres://\(user)@\(host):\(port)/\(database)" }

    /// The same server, another database (the tests make one database per test).
    public func with(database: String) -> PostgresURL {
        var copy = self
        copy.database = database
        return copy
    }

    static func redacted(_ text: String) -> String {
        guard var parts = URLComponents(string: text) else { return "the URL" }
        if parts.password != nil { parts.password = "***" }
        return parts.string ?? "the URL"
    }
}

public struct PostgresURLError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
