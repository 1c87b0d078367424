import Dispatch
import EventLog
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

/// Counters the dashboard turns into rates. Totals only; rates are the reader's business.
public struct WriterStatistics: Sendable, Equatable {
    public var accepted: UInt64
    public var rejected: UInt64
    public var events: UInt64
    /// 99th percentile of recent group-commit latencies, in milliseconds.
    public var appendP99Milliseconds: Double
    /// Why the writer stopped accepting commands (a failed write), if it has.
    public var failure: String?
}

/// The write side: one dedicated thread that owns the write model.
///
/// Why a thread and not an actor: the write model must never be touched by two commands at
/// once, decisions must see the effects of the commands before them, and the loop blocks on
/// the disk. A plain thread with a queue says all of that without an executor hop per command.
///
/// Each turn of the loop drains the whole queue, decides every command against the write model
/// (evolving it as it goes, so later commands see earlier ones), hands each accepted command's
/// events to the log as one atomic batch, waits until the log has made them all durable (one
/// group commit), and only then completes the outcomes.
public final class CommandWriter<D: Domain>: @unchecked Sendable {
    // @unchecked: `state`, `outcomes` and `failure` are touched only by the writer thread (and
    // by `init` before it starts). Everything shared is in a Mutex or an Atomic.

    public typealias Completion = @Sendable (Result<CommandOutcome, LogError>) -> Void

    enum Work {
        case command(D.Command, id: String?)
        /// A command made on the writer thread from the current write model (the load generator).
        case generated(@Sendable (D.State) -> D.Command?)
    }

    struct Item {
        var work: Work
        var completion: Completion
    }

    public let domain: D
    public let log: EventLog
    private var state: D.State
    /// First outcome of every command id seen: from the log for accepted ones (so it survives
    /// restarts), from memory for rejected ones (a rejection appends nothing, so a retry after
    /// a restart is simply decided again).
    private var outcomes: [String: CommandOutcome] = [:]
    private var failure: LogError?

    private let queue = Mutex<(items: [Item], stopping: Bool)>(([], false))
    private let workAvailable = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let acceptedCount = Atomic<UInt64>(0)
    private let rejectedCount = Atomic<UInt64>(0)
    private let eventCount = Atomic<UInt64>(0)
    private let latencies = Mutex<LatencyRing>(LatencyRing())
    /// A copy of `failure`'s text for other threads (the dashboard shows it).
    private let failureText = Mutex<String?>(nil)

    /// Rebuilds the write model from the whole log, then starts the writer thread.
    public init(domain: D, log: EventLog) throws {
        self.domain = domain
        self.log = log
        var state = domain.initialState()
        var outcomes: [String: CommandOutcome] = [:]
        try log.read(from: 1) { record in
            let event = try D.Event.decode(record)
            domain.evolve(&state, event: event, meta: EventMeta(record))
            if let id = record.commandId {
                if case .accepted(let first, _) = outcomes[id] {
                    outcomes[id] = .accepted(first: first, last: record.position)
                } else {
                    outcomes[id] = .accepted(first: record.position, last: record.position)
                }
            }
            return true
        }
        self.state = state
        self.outcomes = outcomes
        // The thread holds the writer weakly between turns, so a writer nobody stopped is freed
        // (and its thread ends) rather than kept alive forever.
        let thread = Thread { [weak self, workAvailable, finished] in
            while true {
                workAvailable.wait()
                guard let writer = self, writer.turn() else { break }
            }
            finished.signal()
        }
        thread.name = "prism-writer"
        thread.start()
    }

    deinit {
        queue.withLock { $0.stopping = true }
        workAvailable.signal()
    }

    /// Queues a command; `completion` runs on the writer thread once its events are durable
    /// or it was rejected.
    public func submit(_ command: D.Command, commandId: String? = nil, completion: @escaping Completion) {
        enqueue(Item(work: .command(command, id: commandId), completion: completion))
    }

    /// Queues a command and waits for its outcome.
    public func submit(_ command: D.Command, commandId: String? = nil) async throws -> CommandOutcome {
        let result: Result<CommandOutcome, LogError> = await withCheckedContinuation { c in
            submit(command, commandId: commandId) { c.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Queues a command that `make` builds on the writer thread from the current write model;
    /// `make` may return nil to skip a turn.
    public func submitGenerated(_ make: @escaping @Sendable (D.State) -> D.Command?, completion: @escaping Completion) {
        enqueue(Item(work: .generated(make), completion: completion))
    }

    /// Commands queued and not yet taken by the writer.
    public var queuedCount: Int { queue.withLock { $0.items.count } }

    public var statistics: WriterStatistics {
        WriterStatistics(
            accepted: acceptedCount.load(ordering: .relaxed), rejected: rejectedCount.load(ordering: .relaxed),
            events: eventCount.load(ordering: .relaxed), appendP99Milliseconds: latencies.withLock { $0.p99 },
            failure: failureText.withLock { $0 })
    }

    /// Finishes what is queued, then stops the thread. The log stays open.
    public func stop() {
        let first = queue.withLock { q -> Bool in defer { q.stopping = true }; return !q.stopping }
        guard first else { return }
        workAvailable.signal()
        finished.wait()
    }

    private func enqueue(_ item: Item) {
        let ok = queue.withLock { q -> Bool in
            if q.stopping { return false }
            q.items.append(item)
            return true
        }
        if ok { workAvailable.signal() } else {
            item.completion(.failure(LogError(.closed, "the writer has stopped")))
        }
    }

    /// One wake-up: decide and commit everything queued. False once stopping.
    private func turn() -> Bool {
        let (items, stopping) = queue.withLock { q -> ([Item], Bool) in
            defer { q.items.removeAll(keepingCapacity: true) }
            return (q.items, q.stopping)
        }
        if !items.isEmpty { process(items) }
        return !stopping
    }

    /// One turn: decide everything queued, commit once, complete.
    private func process(_ items: [Item]) {
        if let failure {
            for item in items { item.completion(.failure(failure)) }
            return
        }
        var position = log.head + 1
        var batches: [(index: Int, events: [NewEvent], first: UInt64, last: UInt64)] = []
        var results = [Result<CommandOutcome, LogError>?](repeating: nil, count: items.count)
        /// Commands in this turn that repeat an id first seen earlier in the same turn.
        var repeats: [(index: Int, of: Int)] = []
        var idsThisTurn: [String: Int] = [:]
        var rejected: UInt64 = 0

        for (index, item) in items.enumerated() {
            let command: D.Command
            var commandId: String?
            switch item.work {
            case .command(let c, let id):
                command = c
                commandId = id
            case .generated(let make):
                guard let c = make(state) else {
                    results[index] = .success(.rejected("nothing to do"))
                    continue
                }
                command = c
            }
            if let id = commandId {
                if let prior = outcomes[id] {
                    results[index] = .success(prior)
                    continue
                }
                if let first = idsThisTurn[id] {
                    repeats.append((index, first))
                    continue
                }
                idsThisTurn[id] = index
            }
            switch domain.decide(command, state: state) {
            case .failure(let rejection):
                results[index] = .success(.rejected(rejection.reason))
                rejected += 1
                if let id = commandId { outcomes[id] = .rejected(rejection.reason) }
            case .success(let events):
                let first = position
                var batch: [NewEvent] = []
                batch.reserveCapacity(events.count)
                let now = Clock.wallNanos()
                for event in events {
                    // The write model moves on at once, so the next command in this turn sees it.
                    domain.evolve(&state, event: event, meta: EventMeta(position: position, streamVersion: 0, timestampNanos: now))
                    var payload: [UInt8] = []
                    event.encodePayload(into: &payload)
                    batch.append(NewEvent(stream: event.stream, type: event.typeName, payload: payload, commandId: commandId))
                    position += 1
                }
                if events.isEmpty {
                    results[index] = .success(.rejected("the command produced no events"))
                } else {
                    batches.append((index, batch, first, position - 1))
                }
            }
        }

        if !batches.isEmpty {
            let started = Clock.monotonicNanos()
            // One call, one group commit, on this thread: the log makes the writer its leader.
            let appended = log.appendBatches(batches.map(\.events))
            let elapsed = Double(Clock.monotonicNanos() - started) / 1e6
            latencies.withLock { $0.add(elapsed) }
            var events: UInt64 = 0
            var accepted: UInt64 = 0
            for (k, batch) in batches.enumerated() {
                switch appended[k] {
                case .success(let r) where r.firstPosition == batch.first && r.lastPosition == batch.last:
                    let outcome = CommandOutcome.accepted(first: r.firstPosition, last: r.lastPosition)
                    results[batch.index] = .success(outcome)
                    events += UInt64(batch.events.count)
                    accepted += 1
                    if case .command(_, let id?) = items[batch.index].work { outcomes[id] = outcome }
                case .success(let r):
                    // Someone else appended to the log: the write model no longer matches it.
                    failure = LogError(
                        .writerFailed,
                        "the log moved under the writer (expected \(batch.first)...\(batch.last), got \(r.firstPosition)...\(r.lastPosition)); restart to rebuild the write model")
                    results[batch.index] = .failure(failure!)
                case .failure(let error):
                    // The write model already holds these events; it must not decide again
                    // until it is rebuilt from what the log really holds.
                    failure = error
                    results[batch.index] = .failure(error)
                }
            }
            if let failure { failureText.withLock { $0 = failure.description } }
            acceptedCount.add(accepted, ordering: .relaxed)
            eventCount.add(events, ordering: .relaxed)
        }
        rejectedCount.add(rejected, ordering: .relaxed)
        for (index, of) in repeats { results[index] = results[of] }
        for (index, item) in items.enumerated() { item.completion(results[index]!) }
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
