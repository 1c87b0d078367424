import Dispatch
import EventStore
import Foundation
import Synchronization

/// The read side: one async consumer of the store that keeps one projection's view.
///
/// The projector's task owns the projection's mutable `State` and is the only thing that ever
/// touches it. After each batch it publishes an immutable `View` and its checkpoint behind a
/// `Mutex`; a reader on another thread (the dashboard) takes the lock only to copy a reference,
/// so a read is cheap, never sees a half-applied event, and costs the same however long the log.
///
/// The checkpoint is the position of the last event applied to the published view; it is
/// published with the view under one lock, so the two never disagree. With ``Snapshots``, the
/// projector saves its state with its checkpoint every so many events or seconds (encoded and
/// written off the fold, from a copy-on-write copy of the state), and a start resumes from the
/// newest usable snapshot, folding only the events after it; without, it folds from position 1.
public final class Projector<P: Projection>: @unchecked Sendable {
    // @unchecked: all mutable state is inside `published` or `control` (Mutexes); the fold state
    // travels only inside the running task and its return value.

    public let projection: P
    public let store: any EventStore
    /// Where the projector keeps its snapshots; nil: none, every start folds from position 1.
    public let snapshots: Snapshots?
    public var name: String { projection.name }

    public struct Published: Sendable {
        public var view: P.View
        public var checkpoint: UInt64
        /// Commit time of the last applied event.
        public var timestampNanos: Int64
    }

    struct Control {
        var task: Task<Folded, Never>?
        var state: ProjectorState = .stopped
        var applied: UInt64 = 0
        var meter = RateMeter()
        var lastProgress: UInt64 = Clock.monotonicNanos()
        /// Set while a batch is being applied: a projector busy with a large batch is working,
        /// not stalled, however long since its last published checkpoint.
        var applying = false
        var rebuildTarget: UInt64?
        var rebuildPosition: UInt64 = 0
        var rebuildStarted: UInt64 = 0
        var delayMilliseconds = 0
        var error: String?
        var waiters: [(id: Int, position: UInt64, continuation: CheckedContinuation<Bool, Never>)] = []
        var nextWaiter = 0
        /// Bumped by every start, stop and rebuild: the run whose number matches owns the view.
        var generation = 0
    }

    struct Folded: @unchecked Sendable {
        // @unchecked: handed from a finished task to the next one, never shared.
        var state: P.State
        var checkpoint: UInt64
        var timestamp: Int64
        /// The position of the last snapshot saved of this state's run (or loaded), and when.
        var snapshotAt: UInt64 = 0
        var snapshotNanos: UInt64 = Clock.monotonicNanos()
    }

    private let published: Mutex<Published>
    private let control = Mutex<Control>(Control())
    private let observers = Mutex<[@Sendable (UInt64) -> Void]>([])

    public init(_ projection: P, store: any EventStore, snapshots: Snapshots? = nil) {
        self.projection = projection
        self.store = store
        self.snapshots = snapshots
        let initial = projection.initialState()
        published = Mutex(Published(view: projection.view(of: initial, position: 0), checkpoint: 0, timestampNanos: 0))
        control.withLock { c in
            c.task = Task { [self] in
                guard let loaded = self.loadSnapshot(atOrBefore: nil, quiet: false) else {
                    return Folded(state: initial, checkpoint: 0, timestamp: 0)
                }
                return Folded(state: loaded.state, checkpoint: loaded.position, timestamp: loaded.timestampNanos, snapshotAt: loaded.position)
            }
        }
    }

    /// The newest usable snapshot at or before `limit`, if the projection takes snapshots.
    private func loadSnapshot(atOrBefore limit: UInt64?, quiet: Bool) -> LoadedSnapshot<P.State>? {
        guard let snapshots, projection.snapshotVersion > 0 else { return nil }
        let projection = self.projection
        return snapshots.load(projection.name, version: projection.snapshotVersion, from: store, atOrBefore: limit, quiet: quiet) {
            try projection.decodeSnapshot(from: &$0)
        }
    }

    // MARK: Reading

    /// The latest published view and its checkpoint: a reference copy under a short lock.
    public var current: Published { published.withLock { $0 } }
    public var view: P.View { published.withLock { $0.view } }
    public var checkpoint: UInt64 { published.withLock { $0.checkpoint } }

    /// Runs `body(checkpoint)` after every publish, on the projector's task. Keep it short.
    public func onPublish(_ body: @escaping @Sendable (UInt64) -> Void) {
        observers.withLock { $0.append(body) }
    }

    /// Read-your-writes: waits until the published view includes `position`. Returns false on
    /// timeout.
    public func waitUntil(position: UInt64, timeout: Duration) async -> Bool {
        if checkpoint >= position { return true }
        let id = control.withLock { c -> Int in c.nextWaiter += 1; return c.nextWaiter }
        // The timeout runs on a Dispatch timer, not a Task: it must fire even when the
        // cooperative pool is busy (a blocked pool is exactly when a reader would hang). It is
        // armed only once the waiter is registered, so it can never miss it.
        let nanoseconds = max(0, timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
        return await withCheckedContinuation { continuation in
            let now = control.withLock { c -> Bool in
                if checkpoint >= position { return true }
                c.waiters.append((id, position, continuation))
                return false
            }
            if now {
                continuation.resume(returning: true)
                return
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(nanoseconds))) { [self] in
                let c = control.withLock { c -> CheckedContinuation<Bool, Never>? in
                    guard let i = c.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                    return c.waiters.remove(at: i).continuation
                }
                c?.resume(returning: false)
            }
        }
    }

    /// Time travel: the view as of `position`, folded from the nearest usable snapshot at or
    /// before it (position 1 without one). The live view is not touched.
    public func view(asOf position: UInt64) throws -> P.View {
        var state = projection.initialState()
        var last: UInt64 = 0
        if let loaded = loadSnapshot(atOrBefore: position, quiet: true) {
            state = loaded.state
            last = loaded.position
        }
        try store.read(from: last + 1, through: position) { record in
            projection.apply(try P.Event.decode(record), meta: EventMeta(record), to: &state)
            last = record.position
            return true
        }
        return projection.view(of: state, position: last)
    }

    public var status: ProjectorStatus {
        let head = store.head
        let now = Clock.monotonicNanos()
        let p = current
        return control.withLock { c in
            var state = c.state
            let lag = head > p.checkpoint ? head - p.checkpoint : 0
            if state == .live && lag > 0 { state = .catchingUp }
            if state == .catchingUp && lag == 0 { state = .live }
            // Stalled: behind and no progress for 2 s beyond any artificial delay (a projector
            // slowed on purpose is catching up, slowly, not stuck).
            let patience = 2_000_000_000 + UInt64(c.delayMilliseconds) * 1_000_000
            if state == .catchingUp && !c.applying && now - c.lastProgress > patience { state = .stalled }
            var lagMs = 0.0
            if lag > 0 && p.timestampNanos > 0 {
                lagMs = max(0, Double(Clock.wallNanos() - p.timestampNanos) / 1e6)
            }
            var progress: Double?
            var eta: Double?
            if c.state == .rebuilding, let target = c.rebuildTarget {
                progress = target == 0 ? 1 : min(1, Double(c.rebuildPosition) / Double(target))
                let elapsed = Double(now - c.rebuildStarted) / 1e9
                if let f = progress, f > 0 { eta = elapsed * (1 - f) / f }
            }
            return ProjectorStatus(
                name: projection.name, state: state, checkpoint: p.checkpoint, head: head,
                eventsPerSecond: c.meter.rate(now: now), lagMilliseconds: lagMs,
                rebuildProgress: progress, rebuildETASeconds: eta, error: c.error)
        }
    }

    /// Set when the projector stopped on an error (an event it could not decode, a store that
    /// failed); also in ``status``.
    public var lastError: String? { control.withLock { $0.error } }

    // MARK: Control

    /// Starts (or resumes, from its checkpoint) following the log.
    public func start() {
        control.withLock { c in
            guard c.state == .stopped, let previous = c.task else { return }
            c.state = .catchingUp
            c.error = nil
            c.generation += 1
            let generation = c.generation
            c.task = Task { [self] in
                let folded = await previous.value
                return await self.follow(folded, rebuildTarget: nil, generation: generation)
            }
        }
    }

    /// Stops following; the view freezes at its checkpoint and goes stale. A rebuild in progress
    /// is abandoned and the projector keeps the state it had before the rebuild.
    public func stop() {
        control.withLock { c in
            guard c.state != .stopped else { return }
            c.state = .stopped
            c.rebuildTarget = nil
            c.generation += 1
            c.task?.cancel()
        }
    }

    /// Refolds from position 1 into a fresh state while the old view stays visible, then swaps
    /// the new view in atomically and goes on live.
    public func rebuild() {
        control.withLock { c in
            let previous = c.task
            previous?.cancel()
            let target = store.head
            c.state = .rebuilding
            c.rebuildTarget = target
            c.rebuildPosition = 0
            c.rebuildStarted = Clock.monotonicNanos()
            c.error = nil
            c.generation += 1
            let generation = c.generation
            c.task = Task { [self] in
                let old = await previous?.value
                let fresh = Folded(state: projection.initialState(), checkpoint: 0, timestamp: 0)
                return await self.follow(fresh, rebuildTarget: target, generation: generation, fallback: old)
            }
        }
    }

    /// Slows the projector down by `milliseconds` per batch: for lessons on eventual consistency.
    public func setDelay(milliseconds: Int) {
        control.withLock { $0.delayMilliseconds = max(0, milliseconds) }
    }

    /// Stops and waits for the task to end, then saves a snapshot of the state at its
    /// checkpoint (when it moved since the last one), so that the next start folds nothing.
    public func shutdown() async {
        stop()
        guard let folded = await control.withLock({ $0.task })?.value else { return }
        guard let snapshots, projection.snapshotVersion > 0, folded.checkpoint > folded.snapshotAt else { return }
        let (projection, store) = (self.projection, self.store)
        let box = UncheckedBox(folded)
        // Blocking file work: on a thread of its own, never on the cooperative pool.
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                let folded = box.value
                snapshots.flush()
                if let record = try? Snapshots.record(at: folded.checkpoint, in: store) {
                    snapshots.saveNow(
                        projection.name, version: projection.snapshotVersion, state: folded.state, position: folded.checkpoint,
                        fingerprint: record.fingerprint, timestamp: record.timestamp
                    ) { projection.encodeSnapshot($0, into: &$1) }
                }
                done.resume()
            }
            thread.name = "prism-snapshot"
            thread.start()
        }
    }

    // MARK: The fold

    /// Folds batches from the log into `start` until cancelled. `generation` identifies this
    /// run: a run that has been superseded (stopped, restarted, rebuilt) changes neither the
    /// state nor the published view. A rebuild that is abandoned before it completes returns
    /// `fallback`, the state from before the rebuild, so the checkpoint never moves backwards.
    private func follow(_ start: Folded, rebuildTarget: UInt64?, generation: Int, fallback: Folded? = nil) async -> Folded {
        var folded = start
        var rebuilding = rebuildTarget != nil
        func current() -> Bool { control.withLock { $0.generation == generation } }
        func abandon() -> Folded { rebuilding ? (fallback ?? folded) : folded }
        if let target = rebuildTarget, target <= folded.checkpoint {
            // Nothing to refold (an empty log): the fresh view is complete already.
            guard publish(folded, generation: generation) else { return abandon() }
            rebuilding = false
        }
        if !rebuilding, folded.checkpoint > published.withLock({ $0.checkpoint }) {
            // Resumed from a snapshot: its view is good at once, before any new event comes.
            guard publish(folded, generation: generation) else { return abandon() }
        }
        let snapshotting = snapshots != nil && projection.snapshotVersion > 0
        do {
            for try await batch in store.subscribe(from: folded.checkpoint + 1) {
                var decodeError: Error?
                control.withLock { c in if c.generation == generation { c.applying = true } }
                // A large batch reports its progress to the rate meter as it goes, every few
                // thousand events, so the rate shown does not drop to 0 while it is applied.
                var uncounted: UInt64 = 0
                // Decided before the batch, so that the fingerprint of its last record is taken
                // while that record is at hand. A rebuild snapshots once, when it completes.
                let finishing = rebuilding && batch.last >= (rebuildTarget ?? 0)
                let due = snapshotting && (finishing || (!rebuilding && snapshots!.due(
                    position: batch.last, last: folded.snapshotAt, lastNanos: folded.snapshotNanos, now: Clock.monotonicNanos())))
                var fingerprint: UInt32?
                batch.forEach { record in
                    guard decodeError == nil else { return }
                    do {
                        projection.apply(try P.Event.decode(record), meta: EventMeta(record), to: &folded.state)
                        folded.checkpoint = record.position
                        folded.timestamp = record.timestampNanos
                        uncounted += 1
                        if uncounted == 4096 {
                            let now = Clock.monotonicNanos()
                            control.withLock { c in
                                guard c.generation == generation else { return }
                                c.applied += uncounted
                                c.meter.record(total: c.applied, now: now)
                            }
                            uncounted = 0
                        }
                        if due && record.position == batch.last { fingerprint = Snapshots.fingerprint(record) }
                    } catch {
                        decodeError = error
                    }
                }
                if let fingerprint, decodeError == nil, let snapshots {
                    let projection = self.projection
                    if snapshots.saveInBackground(
                        projection.name, version: projection.snapshotVersion, state: folded.state,
                        position: folded.checkpoint, fingerprint: fingerprint, timestamp: folded.timestamp,
                        encode: { projection.encodeSnapshot($0, into: &$1) })
                    {
                        folded.snapshotAt = folded.checkpoint
                        folded.snapshotNanos = Clock.monotonicNanos()
                    }
                }
                let now = Clock.monotonicNanos()
                let delay = control.withLock { c -> Int in
                    c.applying = false
                    guard c.generation == generation else { return 0 }
                    c.applied += uncounted
                    c.meter.record(total: c.applied, now: now)
                    c.lastProgress = now
                    if rebuilding { c.rebuildPosition = folded.checkpoint }
                    return c.delayMilliseconds
                }
                if let decodeError {
                    control.withLock { c in
                        guard c.generation == generation else { return }
                        c.error = "\(projection.name): cannot apply position \(folded.checkpoint + 1): \(decodeError)"
                        c.state = .stopped
                    }
                    return abandon()
                }
                if rebuilding, let target = rebuildTarget, folded.checkpoint < target {
                    // Not done: the old view stays published.
                } else {
                    guard publish(folded, generation: generation) else { return abandon() }
                    rebuilding = false
                }
                if delay > 0 { try? await Task.sleep(for: .milliseconds(delay)) }
                if Task.isCancelled || !current() { break }
            }
        } catch {
            control.withLock { c in
                guard c.generation == generation else { return }
                c.error = "\(projection.name): \(error)"
                c.state = .stopped
            }
        }
        return abandon()
    }

    /// Publishes a view, unless this run has been superseded; then also settles the state
    /// (live or catching up) and wakes read-your-writes waiters. Returns false when superseded.
    private func publish(_ folded: Folded, generation: Int) -> Bool {
        let view = projection.view(of: folded.state, position: folded.checkpoint)
        let head = store.head
        let ready = control.withLock { c -> [CheckedContinuation<Bool, Never>]? in
            // Under the control lock, so a stop or rebuild cannot slip in between check and publish.
            guard c.generation == generation else { return nil }
            published.withLock { $0 = Published(view: view, checkpoint: folded.checkpoint, timestampNanos: folded.timestamp) }
            c.state = folded.checkpoint >= head ? .live : .catchingUp
            c.rebuildTarget = nil
            var ready: [CheckedContinuation<Bool, Never>] = []
            c.waiters.removeAll { w in
                if w.position <= folded.checkpoint { ready.append(w.continuation); return true }
                return false
            }
            return ready
        }
        guard let ready else { return false }
        for r in ready { r.resume(returning: true) }
        for observer in observers.withLock({ $0 }) { observer(folded.checkpoint) }
        return true
    }
}
