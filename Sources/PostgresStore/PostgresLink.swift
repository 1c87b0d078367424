import EventStore
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// One connection to the server, made on first use and made again after it breaks, used
/// synchronously from the store's own threads (the writer, a subscription's feeder, the
/// follower).
///
/// Why connections and futures, not `PostgresClient`: the `EventStore` seam is synchronous and is
/// called from threads that may block (see `EventSubscription`). The client's pool is driven by an
/// async `run()` task and answers only async calls; bridging every call back to a blocking thread
/// would cost a task hop per query and, worse, would wait on the two-thread cooperative pool. A
/// `PostgresConnection` answers with `EventLoopFuture`s that complete on NIO's event loop, which
/// a blocked caller cannot starve. An append session also needs one connection for its whole
/// transaction, which is what a link is.
///
/// Not thread-safe: each link is used by one thread at a time (see ``PostgresLinkPool``).
final class PostgresLink: @unchecked Sendable {
    // @unchecked: `connection` is touched only by the one thread holding the link.
    let url: PostgresURL
    /// Run on every new connection before it is used (`SET synchronous_commit`, `LISTEN`).
    let setUp: [String]
    private var connection: PostgresConnection?

    static let logger = Logger(label: "prism.postgres") { _ in SwiftLogNoOpLogHandler() }
    static let nextID = Mutex<Int>(0)

    init(url: PostgresURL, setUp: [String] = []) {
        self.url = url
        self.setUp = setUp
    }

    var isConnected: Bool { connection.map { !$0.isClosed } ?? false }

    /// The live connection, connecting first when there is none.
    func live() throws -> PostgresConnection {
        if let c = connection, !c.isClosed { return c }
        connection = nil
        var config = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password,
            database: url.database, tls: .disable)
        config.options.connectTimeout = .seconds(5)
        let id = Self.nextID.withLock { $0 += 1; return $0 }
        let c: PostgresConnection
        do {
            c = try PostgresConnection.connect(
                on: PostgresConnection.defaultEventLoopGroup.any(), configuration: config, id: id,
                logger: Self.logger
            ).wait()
        } catch {
            throw PostgresFailure.describe(error, url: url, connecting: true)
        }
        connection = c
        for sql in setUp {
            _ = try query(PostgresQuery(unsafeSQL: sql))
        }
        return c
    }

    /// Runs one statement and collects its rows.
    @discardableResult
    func query(_ q: PostgresQuery) throws -> PostgresQueryResult {
        let c = try live()
        do {
            return try c.query(q, logger: Self.logger).wait()
        } catch {
            throw failed(error)
        }
    }

    /// Runs one statement, handing each row to `onRow` on the event loop as it arrives.
    func forEachRow(_ q: PostgresQuery, _ onRow: @escaping @Sendable (PostgresRow) throws -> Void) throws {
        let c = try live()
        do {
            _ = try c.query(q, logger: Self.logger, onRow).wait()
        } catch {
            throw failed(error)
        }
    }

    /// Sends a statement without waiting for it: the connection runs statements in order, so
    /// the next `query` waits behind it. For `BEGIN`, whose answer the next statement's implies.
    func send(_ q: PostgresQuery) throws -> EventLoopFuture<PostgresQueryResult> {
        try live().query(q, logger: Self.logger)
    }

    /// Waits for a statement sent with ``send(_:)``.
    func wait(_ f: EventLoopFuture<PostgresQueryResult>) throws -> PostgresQueryResult {
        do { return try f.wait() } catch { throw failed(error) }
    }

    /// The connection itself, for `addListener`.
    var current: PostgresConnection? { connection }

    /// Closes the connection and waits until it is closed (postgres-nio insists on that before
    /// a connection goes away); it is made again on next use.
    func drop() {
        if let c = connection {
            let closing: EventLoopFuture<Void> = c.close()
            _ = try? closing.wait()
        }
        connection = nil
    }

    /// Translates `error`, and forgets the connection when the error broke it.
    private func failed(_ error: Error) -> StoreError {
        let e = PostgresFailure.describe(error, url: url, connecting: false)
        if e.code == .unavailable { drop() }
        return e
    }
}

/// Turns postgres-nio's errors into ``StoreError``s with one clear line: what failed, where, and
/// what the server said. PSQLError's own description hides the server's message on purpose (it
/// may carry data); the message and SQLSTATE are what a person needs, so they are read out here.
enum PostgresFailure {
    static func describe(_ error: Error, url: PostgresURL, connecting: Bool) -> StoreError {
        if let e = error as? StoreError { return e }
        let prefix = connecting ? "cannot connect to \(url)" : "\(url)"
        guard let e = error as? PSQLError else {
            return StoreError(.unavailable, "\(prefix): \(plain(error))")
        }
        switch e.code {
        case .server:
            let state = e.serverInfo?[.sqlState] ?? ""
            let message = e.serverInfo?[.message] ?? "the server refused"
            // 08: connection exceptions; 57P01-57P03: the server is shutting down or starting;
            // 28: authentication; 3D000: no such database. All mean "cannot use the store now".
            if connecting || state.hasPrefix("08") || state.hasPrefix("57P") || state.hasPrefix("28") || state == "3D000" {
                return StoreError(.unavailable, "\(prefix): \(message)")
            }
            if state == "23505" {
                return StoreError(.versionConflict, "\(prefix): \(message); nothing was appended")
            }
            return StoreError(.io, "\(prefix): \(message) (SQLSTATE \(state))")
        case .connectionError:
            return StoreError(.unavailable, "\(prefix): \(e.underlying.map(plain) ?? "connection failed")")
        case .serverClosedConnection, .uncleanShutdown, .clientClosedConnection:
            return StoreError(.unavailable, "\(prefix): the connection was lost")
        case .authMechanismRequiresPassword:
            return StoreError(.unavailable, "\(prefix): the server asks for a password; give it in the URL (postgres://USER:PASSWORD@...) or in $PGPASSWORD")
        default:
            return StoreError(.unavailable, "\(prefix): \(e.code)")
        }
    }

    /// A system error in words: "connection refused", not a struct dump.
    static func plain(_ error: Error) -> String {
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)).lowercased() }
        if let c = error as? NIOConnectionError {
            for failure in c.connectionErrors {
                if let io = failure.error as? IOError { return String(cString: strerror(io.errnoCode)).lowercased() }
            }
            if let dns = c.dnsAError ?? c.dnsAAAAError { return "cannot resolve \(c.host): \(dns)" }
            return "cannot connect to \(c.host):\(c.port)"
        }
        if error is ChannelError { return "the connection was lost" }
        return "\(error)"
    }
}

/// Links for reading, shared by the store's threads: at most `limit`, each used by one thread at
/// a time.
final class PostgresLinkPool: @unchecked Sendable {
    // @unchecked: `idle` and `made` are guarded by `available`.
    private let url: PostgresURL
    private let limit: Int
    private var idle: [PostgresLink] = []
    private var made = 0
    private let available = NSCondition()

    init(url: PostgresURL, limit: Int) {
        self.url = url
        self.limit = max(1, limit)
    }

    func with<T>(_ body: (PostgresLink) throws -> T) throws -> T {
        available.lock()
        while idle.isEmpty && made >= limit { available.wait() }
        let link: PostgresLink
        if let l = idle.popLast() {
            link = l
        } else {
            made += 1
            link = PostgresLink(url: url)
        }
        available.unlock()
        defer {
            available.lock()
            idle.append(link)
            available.signal()
            available.unlock()
        }
        return try body(link)
    }

    func closeAll() {
        available.lock()
        let links = idle
        available.unlock()
        for l in links { l.drop() }
    }
}
