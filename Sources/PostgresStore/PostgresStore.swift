import Dispatch
import EventStore
import Foundation
import PostgresNIO
import Synchronization

/// The event store in a PostgreSQL 15 database: for a team whose command service and query
/// services live on different machines. The tables are described in ``PostgresSchema``.
///
/// How it keeps the seam's contract:
/// - Dense positions in commit order: an append session is a transaction that first takes the
///   one `prism_head` row `FOR UPDATE`; the next session waits there until the previous one
///   commits or rolls back, so positions are handed out and committed in one order, whatever the
///   number of processes. A rolled-back session leaves no trace.
/// - One group commit, one transaction: every batch of an `append` call goes in one multi-row
///   `INSERT ... SELECT FROM unnest(...)` (one array parameter per column, so the statement is
///   the same whatever the batch size), the head row is updated and `NOTIFY` sent once, in the
///   same statement, then `COMMIT`.
/// - Expectations are checked in memory against stream versions this process keeps up to date
///   while it holds the head row; unique `(stream, stream_version)` and unique command ids back
///   them up in the database.
/// - Following: one dedicated connection per store `LISTEN`s for commits and polls the head
///   as a fallback, and again right after every reconnect; subscriptions read by position
///   (`position >= next ORDER BY position`), so a lost notification delays an event by at most
///   one poll and never loses it.
///
/// Failures: a server that cannot be reached is ``StoreError/Code/unavailable`` with one clear
/// line. With ``Options/retryWhileRunning`` (a running service), reads wait and retry with
/// backoff instead, and ``durabilityLabel`` says `store: reconnecting` meanwhile; appends fail
/// fast, so the writer answers its callers, and reconnect on the next commit.
public final class PostgresStore: EventStore, @unchecked Sendable {
    // @unchecked: `versions`/`versionsHead` are guarded by `sessionLock`; waiters by `waiters`
    // (a Mutex); the links are each used under their own discipline (the writer link under
    // `sessionLock`, readers through their pool, the follower link by its thread alone).

    public struct Options: Sendable {
        public var durability: Durability = .full
        /// Reads wait for the server to come back (with backoff) instead of failing: for
        /// services. One-shot commands leave it off and fail with one line.
        public var retryWhileRunning = false
        /// Create the schema when the database has none (write access only).
        public var createSchema = true
        /// Rows per read page, and so the largest batch a subscription step hands out.
        public var pageSize = 4096
        /// How often the follower polls the head when no notification came.
        public var pollInterval: Duration = .milliseconds(500)
        /// Connections for reading, shared by every reader of this store.
        public var readers = 4

        public init() {}
    }

    public let url: PostgresURL
    public let options: Options
    public let isReadOnly: Bool

    private let headValue = Atomic<UInt64>(0)
    private let closedFlag = Atomic<Bool>(false)
    private let reconnectingFlag = Atomic<Bool>(false)
    private let writer: PostgresLink?
    private let readers: PostgresLinkPool
    /// Held for a whole append session: one session of this process at a time (the head row
    /// serialises sessions across processes).
    private let sessionLock = NSLock()
    /// Each stream's version as of `versionsHead`, loaded at the first session; only touched
    /// under `sessionLock`.
    fileprivate var versions: [String: UInt64]?
    fileprivate var versionsHead: UInt64 = 0
    /// Woken whenever the head moves or the store closes.
    private let waiters = HeadWaiters()
    private let followerWake = DispatchSemaphore(value: 0)
    private let followerDone = DispatchSemaphore(value: 0)

    /// Largest stream name, type and command id, and largest event, in bytes: the file log's,
    /// so that a command one store refuses, the others refuse too.
    public static let maxStreamBytes = 65535
    public static let maxTypeBytes = 255
    public static let maxCommandIdBytes = 255
    public static let maxEventBytes = 16 << 20

    private init(url: PostgresURL, options: Options, writer: PostgresLink?, head: UInt64) {
        self.url = url
        self.options = options
        self.writer = writer
        isReadOnly = writer == nil
        readers = PostgresLinkPool(url: url, limit: options.readers)
        headValue.store(head, ordering: .releasing)
    }

    /// Connects, checks (or, for writing, creates) the schema, reads the head and starts the
    /// follower. Throws ``StoreError/Code/unavailable`` with one clear line when the server,
    /// the login or the database is not there.
    public static func open(_ url: PostgresURL, access: StoreAccess, options: Options = Options()) throws -> PostgresStore {
        var options = options
        var setUp: [String] = []
        if case .write(let durability) = access {
            options.durability = durability
            // Relaxed: the commit returns before the WAL is flushed, as `--relaxed` does for
            // the file log's fdatasync; a crash of the server may lose the last commits.
            if durability == .relaxed { setUp.append("SET synchronous_commit = off") }
        }
        let link = PostgresLink(url: url, setUp: setUp)
        let head: UInt64
        do {
            if access != .readOnly && options.createSchema {
                try PostgresSchema.initialize(on: link)
            } else {
                try PostgresSchema.check(on: link)
            }
            head = try readHead(on: link)
        } catch {
            link.drop()
            throw error
        }
        if access == .readOnly { link.drop() }
        let store = PostgresStore(url: url, options: options, writer: access == .readOnly ? nil : link, head: head)
        let thread = Thread { [store] in store.follow() }
        thread.name = "prism-pg-follower"
        thread.start()
        return store
    }

    static func readHead(on link: PostgresLink) throws -> UInt64 {
        let rows = try link.query("SELECT position FROM prism_head WHERE id = 1").rows
        guard let row = rows.first else {
            throw StoreError(.corruption, "\(link.url): prism_head has no row; the schema is damaged")
        }
        return UInt64(try row.decode(Int64.self))
    }

    public var head: UInt64 { headValue.load(ordering: .acquiring) }
    public var description: String { "postgres \(url)" }
    public var durabilityLabel: String {
        if reconnectingFlag.load(ordering: .relaxed) { return "store: reconnecting" }
        return isReadOnly ? "follower" : options.durability.rawValue
    }
    /// True while the server cannot be reached and the store is retrying.
    public var isReconnecting: Bool { reconnectingFlag.load(ordering: .relaxed) }
    public var isClosed: Bool { closedFlag.load(ordering: .acquiring) }

    fileprivate func setReconnecting(_ value: Bool) {
        reconnectingFlag.store(value, ordering: .relaxed)
    }

    /// Moves the cached head forward (never back) and wakes whoever waits for it.
    fileprivate func advanceHead(to position: UInt64) {
        var current = headValue.load(ordering: .relaxed)
        while current < position {
            let (exchanged, original) = headValue.compareExchange(
                expected: current, desired: position, ordering: .acquiringAndReleasing)
            if exchanged { break }
            current = original
        }
        guard current < position else { return }
        waiters.headMoved(to: position)
    }

    // MARK: Appending

    public func append(_ batches: [AppendBatch]) -> [Result<AppendResult, StoreError>] {
        do {
            return try withAppendSession { $0.append(batches) }
        } catch {
            let e = error as? StoreError ?? StoreError(.io, "\(error)")
            return batches.map { _ in .failure(e) }
        }
    }

    public func withAppendSession<R>(_ body: (any AppendSession) throws -> R) throws -> R {
        guard let writer else { throw StoreError(.invalidArgument, "\(url) is open read-only") }
        sessionLock.lock()
        defer { sessionLock.unlock() }
        if isClosed { throw StoreError(.closed, "the store is closed") }
        let session = PostgresAppendSession(store: self, link: writer)
        defer { session.end() }
        _ = try session.lockHead()
        return try body(session)
    }

    public func problem(with event: NewEvent) -> String? {
        let stream = event.stream.utf8.count, type = event.type.utf8.count
        let id = event.commandId?.utf8.count ?? 0
        if stream == 0 { return "stream name is empty" }
        if stream > Self.maxStreamBytes { return "stream name is longer than \(Self.maxStreamBytes) bytes" }
        if type == 0 { return "event type is empty" }
        if type > Self.maxTypeBytes { return "event type is longer than \(Self.maxTypeBytes) bytes" }
        if id > Self.maxCommandIdBytes { return "command id is longer than \(Self.maxCommandIdBytes) bytes" }
        // PostgreSQL's text cannot hold a NUL byte.
        if event.stream.utf8.contains(0) { return "stream name contains a NUL byte" }
        if event.type.utf8.contains(0) { return "event type contains a NUL byte" }
        if event.commandId?.utf8.contains(0) == true { return "command id contains a NUL byte" }
        let size = stream + type + id + event.payload.count
        if size > Self.maxEventBytes { return "event of \(size) bytes exceeds the limit of \(Self.maxEventBytes)" }
        return nil
    }

    /// Loads or refreshes the stream versions to `head` inside a session holding the head row.
    fileprivate func syncVersions(to head: UInt64, on link: PostgresLink) throws {
        if versions == nil {
            var loaded: [String: UInt64] = [:]
            for row in try link.query("SELECT stream, max(stream_version) FROM prism_events GROUP BY stream").rows {
                let (stream, version) = try row.decode((String, Int64).self)
                loaded[stream] = UInt64(version)
            }
            versions = loaded
            versionsHead = head
            return
        }
        guard versionsHead < head else { return }
        // Another process appended since this one last held the head row.
        let q: PostgresQuery = "SELECT stream, stream_version FROM prism_events WHERE position > \(Int64(versionsHead)) AND position <= \(Int64(head))"
        for row in try link.query(q).rows {
            let (stream, version) = try row.decode((String, Int64).self)
            versions![stream] = max(versions![stream] ?? 0, UInt64(version))
        }
        versionsHead = head
    }

    // MARK: Reading

    public func read(from: UInt64, through: UInt64, _ body: (EventView) throws -> Bool) throws {
        var position = max(from, 1)
        let limit = min(through, head)
        while position <= limit {
            let chunk = try fetch(from: position, through: min(limit, position + UInt64(options.pageSize) - 1))
            guard try chunk.forEach(from: position, through: limit, body) else { return }
            position = chunk.lastPosition + 1
        }
    }

    public func readBatch(from: UInt64, through: UInt64) throws -> EventBatch {
        let limit = min(through, head)
        guard from >= 1, from <= limit else {
            throw StoreError(.invalidArgument, "no event at position \(from) (head \(head))", position: from)
        }
        let chunk = try fetch(from: from, through: min(limit, from + UInt64(options.pageSize) - 1))
        return EventBatch(storage: chunk, first: from, last: chunk.lastPosition)
    }

    /// The rows `from...through` (all committed: `through` is at most the head), as one chunk.
    private func fetch(from: UInt64, through: UInt64) throws -> PackedEventChunk {
        try retrying {
            try readers.with { link in
                let builder = PostgresChunk.Builder(from: from)
                let q: PostgresQuery = """
                    SELECT \(unescaped: PostgresChunk.columns) FROM prism_events
                    WHERE position >= \(Int64(from)) AND position <= \(Int64(through)) ORDER BY position
                    """
                try link.forEachRow(q) { try builder.add($0) }
                let missing = builder.gap ?? (builder.expected <= through ? builder.expected : nil)
                if let missing {
                    throw StoreError(
                        .corruption, "\(url): prism_events has no row for position \(missing), below the head \(head)",
                        position: missing)
                }
                return builder.build()!
            }
        }
    }

    /// Runs `body`; while the server is away and the store is a running service's, waits and
    /// tries again with backoff (100 ms doubling to 2 s).
    private func retrying<T>(_ body: () throws -> T) throws -> T {
        var delay = 0.1
        while true {
            do {
                let r = try body()
                setReconnecting(false)
                return r
            } catch let e as StoreError where e.code == .unavailable && options.retryWhileRunning && !isClosed {
                setReconnecting(true)
                Thread.sleep(forTimeInterval: delay)
                delay = min(delay * 2, 2)
            }
        }
    }

    // MARK: Following

    /// The follower thread: LISTEN on a connection of its own, poll the head between
    /// notifications, reconnect with backoff.
    private func follow() {
        let link = PostgresLink(url: url)
        var listening = false
        var delay = 0.1
        while !isClosed {
            do {
                if !listening || !link.isConnected {
                    listening = false
                    let connection = try link.live()
                    connection.addListener(channel: PostgresSchema.channel) { [weak self] _, note in
                        if let h = UInt64(note.payload) { self?.advanceHead(to: h) }
                    }
                    try link.query("LISTEN \(unescaped: PostgresSchema.channel)")
                    listening = true
                }
                // The poll, and the catch-up after a (re)connect: notifications sent while this
                // connection was down are gone, the head row is not.
                advanceHead(to: try Self.readHead(on: link))
                setReconnecting(false)
                delay = 0.1
                _ = followerWake.wait(timeout: .now() + .nanoseconds(Int(options.pollInterval.components.seconds * 1_000_000_000 + options.pollInterval.components.attoseconds / 1_000_000_000)))
            } catch {
                listening = false
                link.drop()
                if isClosed { break }
                setReconnecting(true)
                _ = followerWake.wait(timeout: .now() + .milliseconds(Int(delay * 1000)))
                delay = min(delay * 2, 2)
            }
        }
        link.drop()
        followerDone.signal()
    }

    // MARK: Waiting

    public func waitForHead(after position: UInt64, timeout: Duration) -> Bool {
        waiters.wait(after: position, timeout: timeout) { head }
    }

    public func waitForHead(after position: UInt64) async {
        await waiters.wait(after: position) { head }
    }

    public func close() {
        guard !closedFlag.exchange(true, ordering: .acquiringAndReleasing) else { return }
        followerWake.signal()
        _ = followerDone.wait(timeout: .now() + .seconds(3))
        sessionLock.lock()
        writer?.drop()
        sessionLock.unlock()
        readers.closeAll()
        waiters.close()
    }

    // MARK: Status

    /// What a running process reports of its projectors, for `prism db status`: one row per
    /// projector and process, replaced each time.
    public func reportCheckpoints(_ checkpoints: [(projector: String, position: UInt64)], process: String) throws {
        guard !checkpoints.isEmpty else { return }
        try readers.with { link in
            let q: PostgresQuery = """
                INSERT INTO prism_checkpoints (projector, process, position, updated_at)
                SELECT p, \(process), c, now() FROM unnest(\(checkpoints.map(\.projector))::text[], \(checkpoints.map { Int64($0.position) })::bigint[]) AS u(p, c)
                ON CONFLICT (projector, process) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
                """
            try link.query(q)
        }
    }
}

/// One append session: a transaction on the writer link holding the head row.
///
/// Each `append` commits its transaction (the seam promises durable results when `append`
/// returns). A session that asks for the head or appends again afterwards takes the head row
/// anew in a new transaction; another process may have appended in between, which the new head
/// shows and the batches' `expectedHead` then refuse. The command writer appends once per
/// session, so for it the session is one transaction.
final class PostgresAppendSession: AppendSession {
    let store: PostgresStore
    let link: PostgresLink
    /// The head as locked by the open transaction; nil when no transaction is open.
    private var locked: UInt64?

    init(store: PostgresStore, link: PostgresLink) {
        self.store = store
        self.link = link
    }

    /// Opens the transaction and takes the head row, unless that is done already.
    func lockHead() throws -> UInt64 {
        if let locked { return locked }
        do {
            let begin = try link.send("BEGIN")
            let rows = try link.query("SELECT position FROM prism_head WHERE id = 1 FOR UPDATE").rows
            _ = try link.wait(begin)
            guard let row = rows.first else { throw StoreError(.corruption, "\(store.url): prism_head has no row") }
            let head = UInt64(try row.decode(Int64.self))
            locked = head
            store.advanceHead(to: head)
            try store.syncVersions(to: head, on: link)
            return head
        } catch {
            let e = error as? StoreError ?? StoreError(.io, "\(error)")
            if e.code == .unavailable { store.setReconnecting(true) }
            end()
            throw e
        }
    }

    /// Ends an open transaction that appended nothing.
    func end() {
        guard locked != nil else { return }
        locked = nil
        if link.isConnected { _ = try? link.query("ROLLBACK") }
    }

    var head: UInt64 { (try? lockHead()) ?? store.head }

    func streamVersion(of stream: String) throws -> UInt64 {
        _ = try lockHead()
        return store.versions?[stream] ?? 0
    }

    func append(_ batches: [AppendBatch]) -> [Result<AppendResult, StoreError>] {
        let head: UInt64
        do { head = try lockHead() } catch {
            let e = error as? StoreError ?? StoreError(.io, "\(error)")
            return batches.map { _ in .failure(e) }
        }
        let known = store.versions ?? [:]
        // Command ids already taken: one indexed look-up for the whole group.
        var ids = Set<String>()
        for batch in batches { for e in batch.events { if let id = e.commandId { ids.insert(id) } } }
        var taken: [String: (UInt64, UInt64)] = [:]
        if !ids.isEmpty {
            do {
                let q: PostgresQuery = "SELECT command_id, first_position, last_position FROM prism_commands WHERE command_id = ANY(\(Array(ids))::text[])"
                for row in try link.query(q).rows {
                    let (id, first, last) = try row.decode((String, Int64, Int64).self)
                    taken[id] = (UInt64(first), UInt64(last))
                }
            } catch {
                return fail(batches, error)
            }
        }

        var results: [Result<AppendResult, StoreError>] = []
        results.reserveCapacity(batches.count)
        var positions: [Int64] = [], streams: [String] = [], streamVersions: [Int64] = []
        var types: [String] = [], stamps: [Int64] = [], commandIds: [String] = []
        var ends: [Bool] = [], payloads: [ByteBuffer] = []
        var commandRows: [(id: String, first: Int64, last: Int64)] = []
        var pending: [String: UInt64] = [:]
        var usedIds = Set<String>()
        let now = InMemoryEventStore.wallClock()
        var next = head + 1
        for batch in batches {
            switch check(batch, next: next, known: known, pending: pending, taken: taken, used: usedIds) {
            case .failure(let e):
                results.append(.failure(e))
            case .success(let versions):
                let first = next
                var firstOfId: [String: Int64] = [:]
                for (i, event) in batch.events.enumerated() {
                    positions.append(Int64(next))
                    streams.append(event.stream)
                    streamVersions.append(Int64(versions[i]))
                    types.append(event.type)
                    stamps.append(batch.timestampNanos ?? now)
                    commandIds.append(event.commandId ?? "")
                    ends.append(i == batch.events.count - 1)
                    payloads.append(ByteBuffer(bytes: event.payload))
                    pending[event.stream] = versions[i]
                    if let id = event.commandId, firstOfId[id] == nil { firstOfId[id] = Int64(next) }
                    next += 1
                }
                for (id, firstPosition) in firstOfId.sorted(by: { $0.value < $1.value }) {
                    usedIds.insert(id)
                    commandRows.append((id, firstPosition, Int64(next - 1)))
                }
                results.append(.success(AppendResult(firstPosition: first, lastPosition: next - 1)))
            }
        }
        guard !positions.isEmpty else { return results }
        let last = Int64(next - 1)
        let insert: PostgresQuery = """
            WITH e AS (
                INSERT INTO prism_events (position, stream, stream_version, type, recorded_ns, command_id, ends_batch, payload)
                SELECT p, s, v, t, r, NULLIF(c, ''), b, d
                FROM unnest(\(positions)::bigint[], \(streams)::text[], \(streamVersions)::bigint[], \(types)::text[],
                            \(stamps)::bigint[], \(commandIds)::text[], \(ends)::boolean[], \(payloads)::bytea[])
                     AS u(p, s, v, t, r, c, b, d)
            ), c AS (
                INSERT INTO prism_commands (command_id, first_position, last_position)
                SELECT * FROM unnest(\(commandRows.map(\.id))::text[], \(commandRows.map(\.first))::bigint[], \(commandRows.map(\.last))::bigint[])
            ), h AS (
                UPDATE prism_head SET position = \(last) WHERE id = 1
            )
            SELECT pg_notify(\(PostgresSchema.channel), \(String(last)))
            """
        do {
            // Sent back to back: if the insert fails, PostgreSQL turns the COMMIT into a
            // ROLLBACK, and the insert's error is what is thrown.
            let inserted = try link.send(insert)
            let commit = try link.send("COMMIT")
            _ = try link.wait(inserted)
            locked = nil
            do {
                _ = try link.wait(commit)
            } catch {
                let e = error as? StoreError ?? StoreError(.io, "\(error)")
                return results.map {
                    guard case .success = $0 else { return $0 }
                    return .failure(StoreError(e.code, "\(e.message) during COMMIT: whether these events were stored is unknown; retry with the same command id"))
                }
            }
        } catch {
            locked = nil
            return fail(results, error)
        }
        for (stream, version) in pending { store.versions?[stream] = version }
        store.versionsHead = UInt64(last)
        store.advanceHead(to: UInt64(last))
        return results
    }

    /// Every batch of the call fails with `error` (nothing of the call was committed).
    private func fail(_ batches: [AppendBatch], _ error: Error) -> [Result<AppendResult, StoreError>] {
        let e = error as? StoreError ?? StoreError(.io, "\(error)")
        if e.code == .unavailable { store.setReconnecting(true) }
        end()
        return batches.map { _ in .failure(e) }
    }

    private func fail(_ results: [Result<AppendResult, StoreError>], _ error: Error) -> [Result<AppendResult, StoreError>] {
        let e = error as? StoreError ?? StoreError(.io, "\(error)")
        if e.code == .unavailable { store.setReconnecting(true) }
        end()
        return results.map {
            guard case .success = $0 else { return $0 }
            return .failure(e)
        }
    }

    /// Why `batch` cannot be appended at `next`, or the stream version of each of its events.
    /// Checks everything before anything is claimed, so a refused batch leaves no trace.
    private func check(
        _ batch: AppendBatch, next: UInt64, known: [String: UInt64], pending: [String: UInt64],
        taken: [String: (UInt64, UInt64)], used: Set<String>
    ) -> Result<[UInt64], StoreError> {
        if batch.events.isEmpty { return .failure(StoreError(.invalidArgument, "an append needs at least one event")) }
        if let expected = batch.expectedHead, expected != next - 1 {
            return .failure(StoreError(
                .headMoved, "expected the head at \(expected), but it is at \(next - 1); nothing was appended",
                position: next - 1))
        }
        var seen: [String: UInt64] = [:]
        var versions: [UInt64] = []
        versions.reserveCapacity(batch.events.count)
        for event in batch.events {
            if let problem = store.problem(with: event) {
                return .failure(StoreError(.invalidArgument, "\(problem) (stream '\(event.stream)')"))
            }
            if let id = event.commandId {
                if let range = taken[id] {
                    return .failure(StoreError(
                        .versionConflict, "command id '\(id)' was already used (positions \(range.0)...\(range.1)); nothing was appended"))
                }
                if used.contains(id) {
                    return .failure(StoreError(
                        .versionConflict, "command id '\(id)' is used by an earlier batch of the same commit; nothing was appended"))
                }
            }
            let current = seen[event.stream] ?? pending[event.stream] ?? known[event.stream] ?? 0
            let ok: Bool
            switch event.expectedVersion {
            case .any: ok = true
            case .noStream: ok = current == 0
            case .exact(let v): ok = current == v
            }
            if !ok {
                let actual = current == 0 ? "does not exist" : "is at version \(current)"
                return .failure(StoreError(
                    .versionConflict,
                    "expected \(event.expectedVersion) of stream '\(event.stream)', but it \(actual); nothing was appended"))
            }
            seen[event.stream] = current + 1
            versions.append(current + 1)
        }
        return .success(versions)
    }
}
