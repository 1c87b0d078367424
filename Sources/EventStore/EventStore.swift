/// The seam between Prism's engine and where its events live.
///
/// Everything above this protocol (the CQRS engine, the shop, the dashboard, the walkthroughs,
/// the command line's commands) sees only `EventStore`, ``EventView`` and the value types of this
/// module. The backends are beside it: the segmented file log (`EventLog`, the embedded
/// default), ``InMemoryEventStore`` (tests and `--store memory` demos) and, later, PostgreSQL.
/// One conformance suite (Tests/EventStoreTests) runs the same test bodies against each.
///
/// The contract, for every backend:
/// - Positions are dense: 1, 2, 3, ... with no gap, in commit order; `head` is the last durable
///   one (0 when empty). A reader never sees a position the store could still take back.
/// - A batch is atomic: all of its events become visible together, or none do.
/// - A stored event never changes: reading a position again hands out the same fields (stream
///   version, commit time, stream, type, payload, command id) byte for byte, for as long as the
///   store holds that position. The engine's snapshots rely on it: a snapshot is tied to the log
///   by a fingerprint it computes over those fields of the record at its position
///   (`Snapshots.fingerprint` in CQRS), so no backend has to offer anything more for them; a
///   store cut back and written again at that position gives a different fingerprint.
/// - A batch may carry an expectation: the head the writer decided against
///   (``AppendBatch/expectedHead``) and, per event, the stream's version
///   (``NewEvent/expectedVersion``). A wrong expectation refuses that batch alone and appends
///   nothing of it.
/// - Writers that want to decide against the newest state take an append session
///   (``withAppendSession(_:)``): while it is held, no other session of the same store appends.
///   That is how several command writers share one log (see `CommandWriter`).
public protocol EventStore: AnyObject, Sendable {
    /// The last durable position; 0 when the store is empty.
    var head: UInt64 { get }
    /// What and where the store is, for a status line: `file /var/lib/prism`, `memory`.
    var description: String { get }
    /// How durable an acknowledged append is, in a word for the status line: `durable`,
    /// `relaxed`, `memory` (nothing survives the process).
    var durabilityLabel: String { get }
    /// True when this handle only follows a store someone else writes.
    var isReadOnly: Bool { get }
    var isClosed: Bool { get }

    /// Appends batches, each atomically, in one commit where the backend can (one fdatasync for
    /// the file log, one transaction for PostgreSQL), and blocks until all are durable or
    /// refused. Results are in the order of `batches`.
    func append(_ batches: [AppendBatch]) -> [Result<AppendResult, StoreError>]

    /// Runs `body` holding the store's append session: until it returns, no other session
    /// appends, so a writer can catch up to `session.head`, decide, and append with that head as
    /// its expectation without losing a race. Do not call `withAppendSession` or `append`
    /// of the same store from inside `body` (it would wait for itself); use the session.
    func withAppendSession<R>(_ body: (any AppendSession) throws -> R) throws -> R

    /// Why the store would refuse `event` (an empty or oversized name, a record over the size
    /// limit), or nil. The writer asks before it lets an event touch its write model.
    func problem(with event: NewEvent) -> String?

    /// Calls `body` for each event in `from...through` (clamped to the head), in position order,
    /// until it returns false. Throws on damage, with the backend's context.
    func read(from: UInt64, through: UInt64, _ body: (EventView) throws -> Bool) throws

    /// The events from `from` on, up to `through` (at least one when `from <= through <= head`),
    /// as one batch a subscriber can keep: the step a subscription takes. The batch's size is
    /// the backend's choice (a group commit, a megabyte of disk, a page of rows).
    func readBatch(from: UInt64, through: UInt64) throws -> EventBatch

    /// Blocks the calling thread until the head passes `position`, the store closes, or
    /// `timeout` passes; true when the head passed. For the store's own I/O threads.
    func waitForHead(after position: UInt64, timeout: Duration) -> Bool

    /// Suspends until the head passes `position`, the store closes, or the task is cancelled.
    func waitForHead(after position: UInt64) async

    /// Commits what is queued, stops the store's threads and releases its files or
    /// connections. Appends after `close` fail with ``StoreError/Code/closed``.
    func close()

    /// After a failed write (a full disk, EIO) a store may refuse every append until it has
    /// checked its tail again: this tries that now, without losing or reusing an acknowledged
    /// position. Returns nil when the store takes appends (again), or the error that still
    /// stands. A writer calls it with backoff; it must not be called inside an append session.
    func recoverFromFailure() -> StoreError?
}

extension EventStore {
    /// Stores that never refuse appends for an earlier failure have nothing to recover.
    public func recoverFromFailure() -> StoreError? { nil }
}

/// The append right of one writer, handed out by ``EventStore/withAppendSession(_:)``.
public protocol AppendSession {
    /// The head as of now: no other session can move it while this one is held.
    var head: UInt64 { get }
    /// The current version of `stream` (0 when it has no events), including this session's own
    /// appends.
    func streamVersion(of stream: String) throws -> UInt64
    /// As ``EventStore/append(_:)``, inside the session.
    func append(_ batches: [AppendBatch]) -> [Result<AppendResult, StoreError>]
}

/// One atomic batch to append, with what the writer believed when it made it.
public struct AppendBatch: Sendable {
    public var events: [NewEvent]
    /// When set, the batch is refused with ``StoreError/Code/headMoved`` unless the store's head
    /// is exactly this just before the batch (the writer decided against that state).
    public var expectedHead: UInt64?
    /// The commit time to record, nanoseconds since the epoch; nil lets the store take its
    /// clock. A writer that folds its own events before they are durable names the time, so
    /// that its write model sees the same time live as on replay.
    public var timestampNanos: Int64?

    public init(_ events: [NewEvent], expectedHead: UInt64? = nil, timestampNanos: Int64? = nil) {
        self.events = events
        self.expectedHead = expectedHead
        self.timestampNanos = timestampNanos
    }
}

/// Where an appended batch landed.
public struct AppendResult: Sendable, Equatable {
    public var firstPosition: UInt64
    public var lastPosition: UInt64

    public init(firstPosition: UInt64, lastPosition: UInt64) {
        self.firstPosition = firstPosition
        self.lastPosition = lastPosition
    }
}

/// How hard an append works to be durable before it is acknowledged.
public enum Durability: String, Sendable, Equatable {
    /// Durable per commit (the file log: one fdatasync per group commit): an acknowledged event
    /// survives a power cut. The default.
    case full = "durable"
    /// No fdatasync: survives a crash of Prism, not of the machine. For demos on slow disks; the
    /// dashboard shows it.
    case relaxed
}

extension EventStore {
    /// Appends one atomic batch and blocks until it is durable.
    public func append(_ events: [NewEvent]) throws -> AppendResult {
        try append([AppendBatch(events)])[0].get()
    }

    /// Every event from `from` on, to the head.
    public func read(from: UInt64, _ body: (EventView) throws -> Bool) throws {
        try read(from: from, through: .max, body)
    }

    /// Owned copies of the events in `from...through`.
    public func events(from: UInt64, through: UInt64 = .max) throws -> [RecordedEvent] {
        var out: [RecordedEvent] = []
        try read(from: from, through: through) { out.append($0.materialize()); return true }
        return out
    }

    /// An async sequence of batches from `position` on (1 = the beginning): catch-up from
    /// storage, then live. See ``EventSubscription``.
    public func subscribe(from position: UInt64, bufferedBatches: Int = 4) -> EventSubscription {
        EventSubscription(store: self, from: position, capacity: bufferedBatches)
    }
}

/// How a store is to be opened: for writing (with a durability) or to follow a store that
/// another process writes.
public enum StoreAccess: Sendable, Equatable {
    case write(Durability)
    case readOnly
}

/// The composition root's way of opening stores for a layer that needs fresh ones of its own
/// (a walkthrough makes a fresh folder per run): the layer names a folder and an access, the
/// root decides which backend that means. Layers below the command line never name a backend.
public struct StoreOpener: Sendable {
    public let open: @Sendable (_ directory: String, _ access: StoreAccess) throws -> any EventStore

    public init(_ open: @escaping @Sendable (_ directory: String, _ access: StoreAccess) throws -> any EventStore) {
        self.open = open
    }
}
