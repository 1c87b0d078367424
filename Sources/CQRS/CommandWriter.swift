import Dispatch
import EventStore
import Foundation
import Synchronization

/// What became of a command.
public enum CommandOutcome: Sendable, Equatable, CustomStringConvertible {
    /// Its events are durable at `first...last`.
    case accepted(first: UInt64, last: UInt64)
    /// It was refused; nothing was appended.
    case rejected(String)

    public var description: String {
        switch self {
        case .accepted(_, let last): "accepted position=\(last)"
        case .rejected(let reason): "rejected: \(reason)"
        }
    }
}

/// What became of a command, and whether its command id had been used before.
public struct CommandReceipt: Sendable, Equatable {
    /// How a command relates to the first command of its id.
    public enum Repeat: Sendable, Equatable {
        /// The same command again (a retry).
        case same
        /// A different command reusing the id: it was not decided; the outcome is the first's.
        case differed
        /// The domain cannot tell whether the command is the same.
        case unknown
    }

    public var outcome: CommandOutcome
    /// Nil for a command decided now; else the outcome is the first command's, and nothing was
    /// appended for this one.
    public var repeatOf: Repeat?

    public init(_ outcome: CommandOutcome, repeatOf: Repeat? = nil) {
        self.outcome = outcome
        self.repeatOf = repeatOf
    }
}

/// Counters the dashboard turns into rates. Totals only; rates are the reader's business.
public struct WriterStatistics: Sendable, Equatable {
    public var accepted: UInt64
    public var rejected: UInt64
    public var events: UInt64
    /// 99th percentile of recent group-commit latencies, in milliseconds.
    public var appendP99Milliseconds: Double
    /// The last failure of the store (a failed write), while it lasts.
    public var failure: String?
}

/// The write side: one dedicated thread that owns the write model.
///
/// Why a thread and not an actor: the write model must never be touched by two commands at
/// once, decisions must see the effects of the commands before them, and the loop blocks on
/// the store. A plain thread with a queue says all of that without an executor hop per command;
/// ``ThreadBound`` checks that nothing else touches the model.
///
/// Each turn of the loop drains the queue (client commands first, then at most
/// ``generatedPerTurn`` generated ones) and runs one *round* inside the store's append session:
/// 1. catch up: fold the events that others appended since the last round (another writer on
///    the same store, another process on PostgreSQL) into the write model;
/// 2. decide every command against the write model, evolving it as it goes (so later commands
///    see earlier ones) with the very `EventMeta` the events will have in the store (position,
///    stream version, commit time), after checking that the store will take the events;
/// 3. append each accepted command's events as one atomic batch, expecting the head the round
///    decided against, in one commit; and only then complete the outcomes.
/// No other session can append during a round, so the expectation holds; if it does not (an
/// appender that bypassed sessions), the model is rebuilt from the store and the commands of
/// the refused batches are decided again.
public final class CommandWriter<D: Domain>: @unchecked Sendable {
    // @unchecked: the write model is a `ThreadBound` (checked on every access); the queue and
    // the counters are a Mutex and Atomics; everything else is a `let`.

    public typealias Completion = @Sendable (Result<CommandOutcome, StoreError>) -> Void
    public typealias ReceiptCompletion = @Sendable (Result<CommandReceipt, StoreError>) -> Void

    enum Work {
        case command(D.Command, id: String?)
        /// A command made on the writer thread from the current write model (the load generator).
        case generated(@Sendable (D.State) -> D.Command?)
        /// A look at the write model, on the writer thread, after the turn's commands.
        case inspect(@Sendable (borrowing Model) -> Void)
    }

    struct Item {
        var work: Work
        var completion: ReceiptCompletion

        init(work: Work, completion: @escaping ReceiptCompletion) {
            self.work = work
            self.completion = completion
        }

        init(work: Work, completion: @escaping Completion) {
            self.work = work
            self.completion = { completion($0.map(\.outcome)) }
        }
    }

    /// What only the writer thread touches.
    struct Model {
        var state: D.State
        /// The last position folded into `state`.
        var applied: UInt64 = 0
        var ids: CommandIdMemory<D.Command>
        /// The position of the last snapshot of the model saved (or loaded), and when.
        var snapshotAt: UInt64 = 0
        var snapshotNanos: UInt64 = Clock.monotonicNanos()
        /// Set while the store refuses appends after a failed write (see ``StoreRetry``).
        var retry: StoreRetry?
        /// When the store last recovered, and the delay reached then: a disk that fills again
        /// at once goes on from that delay, so a flapping disk is not retried (and logged)
        /// ten times a second.
        var lastRecovery: (nanos: UInt64, delayMilliseconds: Int)?
    }


    struct Queue {
        var commands: [Item] = []
        var generated: [Item] = []
        var stopping = false
    }

    public let domain: D
    public let store: any EventStore
    /// Client commands queued at most; beyond, `submit` answers ``StoreError/Code/busy``.
    public let capacity: Int
    /// Generated commands queued at most, and taken per turn at most: generated load never
    /// stands in front of a client command for more than one such turn.
    public let generatedPerTurn: Int

    let model: ThreadBound<Model>
    /// Where the write model's snapshots are kept; nil: every start folds from position 1.
    public let snapshots: Snapshots?
    private let queue = Mutex<Queue>(Queue())
    private let workAvailable = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let acceptedCount = Atomic<UInt64>(0)
    private let rejectedCount = Atomic<UInt64>(0)
    private let eventCount = Atomic<UInt64>(0)
    private let latencies = Mutex<LatencyRing>(LatencyRing())
    /// The last failure of the store, for other threads (the dashboard shows it); cleared by the
    /// next successful commit or once the store has recovered.
    private let failureText = Mutex<String?>(nil)
    /// Where the writer says that the store failed and recovered (`serve` prints to stderr).
    private let noticeHandler = Mutex<(@Sendable (String) -> Void)?>(nil)

    /// Folds the store into the write model (on the writer thread), from the newest usable
    /// snapshot when `snapshots` has one, else from position 1; then starts taking commands.
    /// Throws what reading the store threw.
    ///
    /// `rememberedIds`: how many command ids the writer keeps in memory to answer retries
    /// (between `rememberedIds` and twice that many, the most recent ones).
    public init(
        domain: D, store: any EventStore, capacity: Int = 10_000, generatedPerTurn: Int = 2_000,
        rememberedIds: Int = 100_000, snapshots: Snapshots? = nil
    ) throws {
        self.domain = domain
        self.store = store
        self.snapshots = snapshots
        self.capacity = capacity
        self.generatedPerTurn = generatedPerTurn
        model = ThreadBound(
            Model(state: domain.initialState(), ids: CommandIdMemory(capacity: rememberedIds)), name: "the write model")
        let ready = DispatchSemaphore(value: 0)
        let loadError = Mutex<Error?>(nil)
        // The thread holds the writer weakly between turns, so a writer nobody stopped is freed
        // (and its thread ends) rather than kept alive forever.
        let thread = Thread { [weak self, workAvailable, finished] in
            if let writer = self {
                writer.model.bind()
                do {
                    try writer.model.withValue { m in try writer.reload(&m) }
                } catch {
                    loadError.withLock { $0 = error }
                }
            }
            ready.signal()
            if loadError.withLock({ $0 }) == nil {
                var wake: UInt64?
                while true {
                    // While the store is failing, wake up for the next try even if no command comes.
                    if let wake {
                        let now = Clock.monotonicNanos()
                        _ = workAvailable.wait(timeout: .now() + .nanoseconds(Int(wake > now ? wake - now : 0)))
                    } else {
                        workAvailable.wait()
                    }
                    guard let writer = self else { break }
                    let (goOn, next) = writer.turn()
                    guard goOn else { break }
                    wake = next
                    writer.model.withValue { writer.snapshotIfDue(&$0) }
                }
                self?.model.withValue { m in self?.snapshotAtStop(&m) }
            }
            finished.signal()
        }
        thread.name = "prism-writer"
        thread.start()
        ready.wait()
        if let error = loadError.withLock({ $0 }) { throw error }
    }

    deinit {
        queue.withLock { $0.stopping = true }
        workAvailable.signal()
    }

    /// Queues a command; `completion` runs on the writer thread once its events are durable,
    /// it was rejected, or the store failed. A full queue completes at once with `.busy`.
    public func submit(_ command: D.Command, commandId: String? = nil, completion: @escaping Completion) {
        enqueue(Item(work: .command(command, id: commandId), completion: completion), generated: false)
    }

    /// Queues a command and waits for its outcome; waits for room while the queue is full (up
    /// to `busyTimeout`, then throws `.busy`).
    public func submit(_ command: D.Command, commandId: String? = nil, busyTimeout: Duration = .seconds(30)) async throws -> CommandOutcome {
        try await submitForReceipt(command, commandId: commandId, busyTimeout: busyTimeout).outcome
    }

    /// As ``submit(_:commandId:busyTimeout:)``, and says whether the id was used before (and
    /// whether by the same command).
    public func submitForReceipt(_ command: D.Command, commandId: String? = nil, busyTimeout: Duration = .seconds(30)) async throws -> CommandReceipt {
        let deadline = ContinuousClock.now + busyTimeout
        while true {
            let result: Result<CommandReceipt, StoreError> = await withCheckedContinuation { c in
                let completion: ReceiptCompletion = { c.resume(returning: $0) }
                enqueue(Item(work: .command(command, id: commandId), completion: completion), generated: false)
            }
            if case .failure(let e) = result, e.code == .busy, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(2))
                continue
            }
            return try result.get()
        }
    }

    /// Queues a command that `make` builds on the writer thread from the current write model;
    /// `make` may return nil to skip a turn. Dropped (completed with `.busy`) when
    /// ``generatedPerTurn`` generated commands are queued already.
    public func submitGenerated(_ make: @escaping @Sendable (D.State) -> D.Command?, completion: @escaping Completion) {
        enqueue(Item(work: .generated(make), completion: completion), generated: true)
    }

    /// Runs `body` on the writer thread with the write model and the last position folded
    /// into it, after the commands queued before it, and returns what it returns: for tests,
    /// tools, and snapshots of the write model.
    public func inspect<R: Sendable>(_ body: @escaping @Sendable (_ state: D.State, _ applied: UInt64) -> R) async -> R? {
        let box = Mutex<R?>(nil)
        let result: Result<CommandOutcome, StoreError> = await withCheckedContinuation { c in
            enqueue(Item(work: .inspect({ m in box.withLock { $0 = body(m.state, m.applied) } }), completion: { c.resume(returning: $0) }), generated: false)
        }
        guard case .success = result else { return nil }
        return box.withLock { $0 }
    }

    /// The command ids the writer remembers and their outcomes (for tests).
    func rememberedOutcomes() async -> [String: CommandOutcome]? {
        let box = Mutex<[String: CommandOutcome]?>(nil)
        let result: Result<CommandOutcome, StoreError> = await withCheckedContinuation { c in
            enqueue(Item(work: .inspect({ m in box.withLock { $0 = m.ids.all } }), completion: { c.resume(returning: $0) }), generated: false)
        }
        guard case .success = result else { return nil }
        return box.withLock { $0 }
    }

    /// How many command ids the writer remembers now (for tests of the bound).
    func rememberedIdCount() async -> Int {
        await inspectModel { $0.ids.count } ?? -1
    }

    private func inspectModel<R: Sendable>(_ body: @escaping @Sendable (borrowing Model) -> R) async -> R? {
        let box = Mutex<R?>(nil)
        let result: Result<CommandOutcome, StoreError> = await withCheckedContinuation { c in
            enqueue(Item(work: .inspect({ m in box.withLock { $0 = body(m) } }), completion: { c.resume(returning: $0) }), generated: false)
        }
        guard case .success = result else { return nil }
        return box.withLock { $0 }
    }

    /// Where to say that the store failed, is being retried, and recovered: `serve` passes a
    /// line printer for its stderr. Without one the writer says it only through
    /// ``statistics`` (the dashboard's message line).
    public func onNotice(_ handler: @escaping @Sendable (String) -> Void) {
        noticeHandler.withLock { $0 = handler }
    }

    private func notice(_ text: String) {
        noticeHandler.withLock { $0 }?(text)
    }

    /// Commands queued and not yet taken by the writer.
    public var queuedCount: Int { queue.withLock { $0.commands.count + $0.generated.count } }
    /// Generated commands queued and not yet taken by the writer.
    public var queuedGeneratedCount: Int { queue.withLock { $0.generated.count } }

    public var statistics: WriterStatistics {
        WriterStatistics(
            accepted: acceptedCount.load(ordering: .relaxed), rejected: rejectedCount.load(ordering: .relaxed),
            events: eventCount.load(ordering: .relaxed), appendP99Milliseconds: latencies.withLock { $0.p99 },
            failure: failureText.withLock { $0 })
    }

    /// Finishes what is queued, then stops the thread. The store stays open. Called from the
    /// writer thread itself (a completion), it only asks the thread to stop, since waiting there
    /// would wait forever.
    public func stop() {
        let first = queue.withLock { q -> Bool in defer { q.stopping = true }; return !q.stopping }
        guard first else { return }
        workAvailable.signal()
        if model.isOwnedByCurrentThread { return }
        finished.wait()
    }

    enum Verdict { case queued, stopped, full }

    private func enqueue(_ item: Item, generated: Bool) {
        let verdict = queue.withLock { q -> Verdict in
            if q.stopping { return .stopped }
            if generated {
                if q.generated.count >= generatedPerTurn { return .full }
                q.generated.append(item)
            } else {
                if q.commands.count >= capacity { return .full }
                q.commands.append(item)
            }
            return .queued
        }
        switch verdict {
        case .queued: workAvailable.signal()
        case .stopped: item.completion(.failure(StoreError(.closed, "the writer has stopped")))
        case .full: item.completion(.failure(StoreError(.busy, "the writer is busy: \(generated ? generatedPerTurn : capacity) commands are queued; retry later")))
        }
    }

    /// One wake-up: decide and commit what is queued. False once stopping and drained; and
    /// when the store is failing, the monotonic time of the next try.
    private func turn() -> (Bool, UInt64?) {
        let (items, stopping, more) = queue.withLock { q -> ([Item], Bool, Bool) in
            var items = q.commands
            q.commands.removeAll(keepingCapacity: true)
            let n = min(q.generated.count, generatedPerTurn)
            items += q.generated[..<n]
            q.generated.removeFirst(n)
            return (items, q.stopping, !q.generated.isEmpty)
        }
        retryStoreIfDue()
        if !items.isEmpty { process(items) }
        if more { workAvailable.signal() }
        return (!stopping || more, model.withValue { $0.retry?.nextNanos })
    }

    /// While the store is failing and the delay has passed: asks it to check its tail again.
    /// On success the writer takes commands again (its model was rebuilt from the store when
    /// the write failed); otherwise the delay doubles, up to ``StoreRetry/maxDelayMilliseconds``.
    private func retryStoreIfDue() {
        let now = Clock.monotonicNanos()
        guard let retry = model.withValue({ $0.retry }), now >= retry.nextNanos else { return }
        if let still = store.recoverFromFailure() {
            let next = model.withValue { m -> StoreRetry in
                m.retry!.attempts += 1
                m.retry!.failure = still
                m.retry!.delayMilliseconds = min(StoreRetry.maxDelayMilliseconds, m.retry!.delayMilliseconds * 2)
                m.retry!.nextNanos = Clock.monotonicNanos() + UInt64(m.retry!.delayMilliseconds) * 1_000_000
                return m.retry!
            }
            failureText.withLock { $0 = next.refusal.description }
            notice("store still failing after \(next.attempts) \(next.attempts == 1 ? "retry" : "retries"): \(still.description); next try in \(StoreRetry.describe(next.delayMilliseconds))")
            return
        }
        model.withValue { m in
            m.retry = nil
            m.lastRecovery = (Clock.monotonicNanos(), retry.delayMilliseconds)
        }
        failureText.withLock { $0 = nil }
        notice("store recovered after \(retry.attempts + 1) \(retry.attempts == 0 ? "retry" : "retries"): taking commands again (head \(store.head))")
    }

    /// A failure of the store that a retry may cure (not a closed store, not damage).
    private func isRetryable(_ e: StoreError) -> Bool {
        [.io, .writerFailed, .unavailable].contains(e.code)
    }

    /// Notes a store failure: logged once, then refused and retried until the store recovers.
    private func storeFailed(_ e: StoreError, _ m: inout Model) {
        guard isRetryable(e), m.retry == nil else { return }
        let now = Clock.monotonicNanos()
        var retry = StoreRetry(failure: e, now: now)
        var again = false
        if let last = m.lastRecovery, now - last.nanos < 30_000_000_000 {
            again = true
            retry.delayMilliseconds = min(StoreRetry.maxDelayMilliseconds, last.delayMilliseconds * 2)
            retry.nextNanos = now + UInt64(retry.delayMilliseconds) * 1_000_000
        }
        m.retry = retry
        failureText.withLock { $0 = retry.refusal.description }
        notice("store write failed\(again ? " again" : ""): \(e.description); refusing commands, retrying every \(StoreRetry.describe(retry.delayMilliseconds)) and longer")
    }

    /// One turn: rounds until every command has an outcome, then the completions.
    private func process(_ items: [Item]) {
        if let retry = model.withValue({ $0.retry }) {
            // The store still refuses appends: say so at once rather than try each command.
            for item in items {
                if case .inspect(let look) = item.work {
                    model.withValue { look($0) }
                    item.completion(.success(CommandReceipt(.rejected("inspected"))))
                } else {
                    item.completion(.failure(retry.refusal))
                }
            }
            return
        }
        var results = [Result<CommandReceipt, StoreError>?](repeating: nil, count: items.count)
        var repeats: [(index: Int, of: Int)] = []
        var looks: [Int] = []
        var todo: [Int] = []
        for (i, item) in items.enumerated() {
            if case .inspect = item.work { looks.append(i) } else { todo.append(i) }
        }
        var attempt = 0
        while !todo.isEmpty {
            attempt += 1
            let pending = todo
            do {
                todo = try store.withAppendSession { session in
                    try model.withValue { m in
                        try round(items, pending, &results, &repeats, &m, session, lastAttempt: attempt >= 3)
                    }
                }
            } catch {
                let e = error as? StoreError ?? StoreError(.io, "\(error)")
                failureText.withLock { $0 = e.description }
                let told = model.withValue { m -> StoreError in
                    storeFailed(e, &m)
                    return m.retry?.refusal(e) ?? e
                }
                for i in pending where results[i] == nil { results[i] = .failure(told) }
                todo = []
            }
        }
        for (index, of) in repeats {
            let same: CommandReceipt.Repeat
            if case .command(let a, _) = items[index].work, case .command(let b, _) = items[of].work {
                same = domain.isSame(a, as: b).map { $0 ? .same : .differed } ?? .unknown
            } else {
                same = .unknown
            }
            results[index] = results[of].map { $0.map { CommandReceipt($0.outcome, repeatOf: same) } }
        }
        for i in looks {
            if case .inspect(let look) = items[i].work { model.withValue { look($0) } }
            results[i] = .success(CommandReceipt(.rejected("inspected")))
        }
        for (index, item) in items.enumerated() {
            item.completion(results[index] ?? .failure(StoreError(.io, "no outcome")))
        }
    }

    /// One round inside the append session; returns the commands to decide again.
    private func round(
        _ items: [Item], _ todo: [Int], _ results: inout [Result<CommandReceipt, StoreError>?],
        _ repeats: inout [(index: Int, of: Int)], _ m: inout Model, _ session: any AppendSession, lastAttempt: Bool
    ) throws -> [Int] {
        try catchUp(&m, through: session.head)
        var next = m.applied + 1
        var versions: [String: UInt64] = [:]
        var batches: [AppendBatch] = []
        var owners: [(index: Int, first: UInt64, last: UInt64, id: String?, command: D.Command)] = []
        var idsThisRound: [String: Int] = [:]
        var rejected: UInt64 = 0
        let now = Clock.wallNanos()

        for index in todo {
            let command: D.Command
            var commandId: String?
            switch items[index].work {
            case .command(let c, let id):
                command = c
                commandId = id
            case .generated(let make):
                guard let c = make(m.state) else {
                    results[index] = .success(CommandReceipt(.rejected("nothing to do")))
                    continue
                }
                command = c
            case .inspect:
                continue
            }
            if let id = commandId {
                if let prior = m.ids.entry(id) {
                    results[index] = .success(CommandReceipt(prior.outcome, repeatOf: try compare(command, with: prior)))
                    continue
                }
                if let first = idsThisRound[id] {
                    repeats.append((index, first))
                    continue
                }
                idsThisRound[id] = index
            }
            switch domain.decide(command, state: m.state) {
            case .failure(let rejection):
                results[index] = .success(CommandReceipt(.rejected(rejection.reason)))
                rejected += 1
                if let id = commandId { m.ids.remember(id, .rejected(rejection.reason), command: command) }
            case .success(let events):
                if events.isEmpty {
                    results[index] = .success(CommandReceipt(.rejected("the command produced no events")))
                    continue
                }
                var batch: [NewEvent] = []
                batch.reserveCapacity(events.count)
                for event in events {
                    var payload: [UInt8] = []
                    event.encodePayload(into: &payload)
                    batch.append(NewEvent(stream: event.stream, type: event.typeName, payload: payload, commandId: commandId))
                }
                // The store must be able to take every event before any of them touches the
                // write model: a refused batch then rejects this command alone.
                if let problem = batch.lazy.compactMap({ self.store.problem(with: $0) }).first {
                    results[index] = .success(CommandReceipt(.rejected("the store cannot take this command's events: \(problem)")))
                    rejected += 1
                    continue
                }
                let first = next
                for event in events {
                    let version = try (versions[event.stream] ?? session.streamVersion(of: event.stream)) + 1
                    versions[event.stream] = version
                    // The write model moves on at once, so the next command in this round sees it.
                    domain.evolve(&m.state, event: event, meta: EventMeta(position: next, streamVersion: version, timestampNanos: now))
                    next += 1
                }
                batches.append(AppendBatch(batch, expectedHead: first - 1, timestampNanos: now))
                owners.append((index, first, next - 1, commandId, command))
            }
        }
        rejectedCount.add(rejected, ordering: .relaxed)
        guard !batches.isEmpty else { return [] }

        let started = Clock.monotonicNanos()
        let appended = session.append(batches)
        latencies.withLock { $0.add(Double(Clock.monotonicNanos() - started) / 1e6) }
        var events: UInt64 = 0
        var accepted: UInt64 = 0
        var redo: [Int] = []
        var diverged = false
        var failure: StoreError?
        for (k, owner) in owners.enumerated() {
            switch appended[k] {
            case .success(let r):
                // Durable, so accepted, whatever else went wrong in the round.
                let outcome = CommandOutcome.accepted(first: r.firstPosition, last: r.lastPosition)
                results[owner.index] = .success(CommandReceipt(outcome))
                events += r.lastPosition - r.firstPosition + 1
                accepted += 1
                if let id = owner.id { m.ids.remember(id, outcome, command: owner.command) }
                if r.firstPosition != owner.first || r.lastPosition != owner.last { diverged = true }
                if !diverged { m.applied = r.lastPosition }
            case .failure(let e) where e.code == .headMoved && !lastAttempt:
                diverged = true
                redo.append(owner.index)
            case .failure(let e) where [.headMoved, .versionConflict, .invalidArgument].contains(e.code):
                diverged = true
                results[owner.index] = .success(CommandReceipt(.rejected(e.message)))
            case .failure(let e):
                diverged = true
                failure = e
                results[owner.index] = .failure(e)
            }
        }
        acceptedCount.add(accepted, ordering: .relaxed)
        eventCount.add(events, ordering: .relaxed)
        failureText.withLock { $0 = failure?.description }
        if let failure {
            storeFailed(failure, &m)
            if let retry = m.retry {
                for owner in owners {
                    if case .failure(let e)? = results[owner.index] { results[owner.index] = .failure(retry.refusal(e)) }
                }
            }
        }
        if diverged {
            // The model holds events the store refused: fold it afresh from what the store holds.
            try reload(&m)
        }
        return redo
    }

    /// How `command` relates to the first command of its id: compared with the remembered
    /// command when this process decided it, else with the events the log holds for it.
    private func compare(_ command: D.Command, with prior: CommandIdMemory<D.Command>.Entry) throws -> CommandReceipt.Repeat {
        if let first = prior.command {
            return domain.isSame(command, as: first).map { $0 ? .same : .differed } ?? .unknown
        }
        guard case .accepted(let from, let through) = prior.outcome else { return .unknown }
        var events: [D.Event] = []
        try store.read(from: from, through: through) { view in
            events.append(try D.Event.decode(view))
            return true
        }
        return domain.command(command, matches: events).map { $0 ? .same : .differed } ?? .unknown
    }

    /// Folds events `m.applied + 1 ... head` into the write model, with their stored metadata,
    /// and remembers their command ids.
    func catchUp(_ m: inout Model, through head: UInt64) throws {
        guard head > m.applied else { return }
        try store.read(from: m.applied + 1, through: head) { view in
            let event = try D.Event.decode(view)
            domain.evolve(&m.state, event: event, meta: EventMeta(view))
            if !view.commandIdBytes.isEmpty { m.ids.noteAccepted(view.commandId!, position: view.position) }
            m.applied = view.position
            return true
        }
    }
}

/// A failed store write (a full disk, EIO): until the store has checked its tail again
/// (``EventStore/recoverFromFailure()``), every command is refused at once with the
/// failure, and the writer tries again with a doubling delay, also while no command comes,
/// so the status line clears by itself once there is room.
struct StoreRetry {
    var failure: StoreError
    var attempts = 0
    var delayMilliseconds = StoreRetry.firstDelayMilliseconds
    var nextNanos: UInt64

    static let firstDelayMilliseconds = 100
    static let maxDelayMilliseconds = 5_000

    init(failure: StoreError, now: UInt64) {
        self.failure = failure
        nextNanos = now + UInt64(Self.firstDelayMilliseconds) * 1_000_000
    }

    /// The refusal a command gets meanwhile.
    var refusal: StoreError { refusal(failure) }

    /// `error`, saying that nothing was appended and that the writer retries.
    func refusal(_ error: StoreError) -> StoreError {
        var e = error
        e.message = "\(error.message); nothing was appended; the writer is retrying (every \(Self.describe(delayMilliseconds)))"
        return e
    }

    static func describe(_ ms: Int) -> String { ms < 1000 ? "\(ms) ms" : String(format: "%.1f s", Double(ms) / 1000) }
}

/// The outcomes of recent command ids, so that a retry is answered with its first outcome.
///
/// Bounded: two generations of at most `capacity` ids each; when the newer one fills, the
/// older is dropped (O(1) amortised). An id older than that is decided again if retried; with
/// the file log and the memory store, that is the documented window (README, "Decisions").
/// Accepted ids come back from the store on start-up, so the window survives restarts;
/// rejected ones live in memory only (a rejection appends nothing).
struct CommandIdMemory<Command: Sendable>: Sendable {
    /// An id's first outcome, and its command when this process decided it (to tell a retry
    /// from a different command reusing the id).
    struct Entry: Sendable {
        var outcome: CommandOutcome
        var command: Command?
    }

    let capacity: Int
    /// The two generations; read and restored whole by the writer's snapshots.
    var current: [String: Entry] = [:]
    var previous: [String: Entry] = [:]

    init(capacity: Int) { self.capacity = max(1, capacity) }

    subscript(id: String) -> CommandOutcome? { entry(id)?.outcome }

    func entry(_ id: String) -> Entry? { current[id] ?? previous[id] }

    var count: Int { current.count + previous.count }

    /// Every remembered id, newest outcome first.
    var all: [String: CommandOutcome] { current.merging(previous) { newer, _ in newer }.mapValues(\.outcome) }

    mutating func remember(_ id: String, _ outcome: CommandOutcome, command: Command? = nil) {
        if current[id] == nil && current.count >= capacity {
            previous = current
            current = [:]
        }
        current[id] = Entry(outcome: outcome, command: command ?? entry(id)?.command)
    }

    /// An event of an accepted command: extends the command's range or starts it.
    mutating func noteAccepted(_ id: String, position: UInt64) {
        if case .accepted(let first, let last)? = self[id], last + 1 == position {
            remember(id, .accepted(first: first, last: position))
        } else {
            remember(id, .accepted(first: position, last: position))
        }
    }
}

/// The last 512 commit latencies, for a cheap p99 on the status line.
struct LatencyRing {
    private var values = [Double](repeating: 0, count: 512)
    private var count = 0
    private var next = 0

    mutating func add(_ v: Double) {
        values[next] = v
        next = (next + 1) % values.count
        count = min(count + 1, values.count)
    }

    var p99: Double {
        guard count > 0 else { return 0 }
        let sorted = values[0..<count].sorted()
        return sorted[min(count - 1, Int(Double(count) * 0.99))]
    }
}
