import EventLog
import Synchronization

/// The read side: one async consumer of the log that keeps one projection's view.
///
/// The projector's task owns the projection's mutable `State` and is the only thing that ever
/// touches it. After each batch it publishes an immutable `View` and its checkpoint behind a
/// `Mutex`; a reader on another thread (the dashboard) takes the lock only to copy a reference,
/// so a read is cheap, never sees a half-applied event, and costs the same however long the log.
///
/// Checkpoints live in memory: a view is rebuilt from the log when Prism starts, which is what a
/// learner should see happen, and what keeps a view and its checkpoint from ever disagreeing.
public final class Projector<P: Projection>: @unchecked Sendable {
    // @unchecked: all mutable state is inside `published` or `control` (Mutexes); the fold state
    // travels only inside the running task and its return value.

    public let projection: P
    public let log: EventLog
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
        var rebuildTarget: UInt64?
        var rebuildPosition: UInt64 = 0
        var rebuildStarted: UInt64 = 0
        var delayMilliseconds = 0
        var error: String?
        var waiters: [(id: Int, position: UInt64, continuation: CheckedContinuation<Bool, Never>)] = []
        var nextWaiter = 0
    }

    struct Folded: @unchecked Sendable {
        // @unchecked: handed from a finished task to the next one, never shared.
        var state: P.State
        var checkpoint: UInt64
        var timestamp: Int64
    }

    private let published: Mutex<Published>
    private let control = Mutex<Control>(Control())
    private let observers = Mutex<[@Sendable (UInt64) -> Void]>([])

    public init(_ projection: P, log: EventLog) {
        self.projection = projection
        self.log = log
        let initial = projection.initialState()
        published = Mutex(Published(view: projection.view(of: initial, position: 0), checkpoint: 0, timestampNanos: 0))
        control.withLock { $0.task = Task { Folded(state: initial, checkpoint: 0, timestamp: 0) } }
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
        let timer = Task {
            try? await Task.sleep(for: timeout)
            let c = control.withLock { c -> CheckedContinuation<Bool, Never>? in
                guard let i = c.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return c.waiters.remove(at: i).continuation
            }
            c?.resume(returning: false)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            let now = control.withLock { c -> Bool in
                if checkpoint >= position { return true }
                c.waiters.append((id, position, continuation))
                return false
            }
            if now { continuation.resume(returning: true) }
        }
    }

    /// Time travel: the view as of `position`, folded afresh from position 1. The live view is
    /// not touched.
    public func view(asOf position: UInt64) throws -> P.View {
        var state = projection.initialState()
        var last: UInt64 = 0
        try log.read(from: 1, through: position) { record in
            projection.apply(try P.Event.decode(record), meta: EventMeta(record), to: &state)
            last = record.position
            return true
        }
        return projection.view(of: state, position: last)
    }

    public var status: ProjectorStatus {
        let head = log.head
        let now = Clock.monotonicNanos()
        let p = current
        return control.withLock { c in
            var state = c.state
            let lag = head > p.checkpoint ? head - p.checkpoint : 0
            if state == .live && lag > 0 { state = .catchingUp }
            if state == .catchingUp && lag == 0 { state = .live }
            if state == .catchingUp && now - c.lastProgress > 2_000_000_000 { state = .stalled }
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
                rebuildProgress: progress, rebuildETASeconds: eta)
        }
    }

    /// Set when the projector stopped on an event it could not decode.
    public var lastError: String? { control.withLock { $0.error } }

    // MARK: Control

    /// Starts (or resumes, from its checkpoint) following the log.
    public func start() {
        control.withLock { c in
            guard c.state == .stopped, let previous = c.task else { return }
            c.state = .catchingUp
            c.error = nil
            c.task = Task { [self] in
                let folded = await previous.value
                return await self.follow(folded, rebuildTarget: nil)
            }
        }
    }

    /// Stops following; the view freezes at its checkpoint and goes stale.
    public func stop() {
        control.withLock { c in
            guard c.state != .stopped else { return }
            c.state = .stopped
            c.rebuildTarget = nil
            c.task?.cancel()
        }
    }

    /// Refolds from position 1 into a fresh state while the old view stays visible, then swaps
    /// the new view in atomically and goes on live.
    public func rebuild() {
        control.withLock { c in
            let previous = c.task
            previous?.cancel()
            let target = log.head
            c.state = .rebuilding
            c.rebuildTarget = target
            c.rebuildPosition = 0
            c.rebuildStarted = Clock.monotonicNanos()
            c.error = nil
            c.task = Task { [self] in
                _ = await previous?.value
                let fresh = Folded(state: projection.initialState(), checkpoint: 0, timestamp: 0)
                return await self.follow(fresh, rebuildTarget: target)
            }
        }
    }

    /// Slows the projector down by `milliseconds` per batch: for lessons on eventual consistency.
    public func setDelay(milliseconds: Int) {
        control.withLock { $0.delayMilliseconds = max(0, milliseconds) }
    }

    /// Stops and waits for the task to end.
    public func shutdown() async {
        stop()
        _ = await control.withLock { $0.task }?.value
    }

    // MARK: The fold

    private func follow(_ start: Folded, rebuildTarget: UInt64?) async -> Folded {
        var folded = start
        var rebuilding = rebuildTarget != nil
        if !rebuilding { control.withLock { $0.state = .catchingUp } }
        do {
            for try await batch in log.subscribe(from: folded.checkpoint + 1) {
                var decodeError: Error?
                batch.forEach { record in
                    guard decodeError == nil else { return }
                    do {
                        projection.apply(try P.Event.decode(record), meta: EventMeta(record), to: &folded.state)
                        folded.checkpoint = record.position
                        folded.timestamp = record.timestampNanos
                    } catch {
                        decodeError = error
                    }
                }
                let now = Clock.monotonicNanos()
                let delay = control.withLock { c -> Int in
                    c.applied += UInt64(batch.count)
                    c.meter.record(total: c.applied, now: now)
                    c.lastProgress = now
                    if rebuilding { c.rebuildPosition = folded.checkpoint }
                    return c.delayMilliseconds
                }
                if let decodeError {
                    control.withLock { c in
                        c.error = "\(projection.name): cannot apply position \(folded.checkpoint + 1): \(decodeError)"
                        c.state = .stopped
                    }
                    return folded
                }
                if rebuilding, let target = rebuildTarget, folded.checkpoint < target {
                    // Not done: the old view stays published.
                } else {
                    publish(folded)
                    if rebuilding { rebuilding = false }
                    let caughtUp = folded.checkpoint >= log.head
                    control.withLock { c in
                        if c.state != .stopped {
                            c.state = caughtUp ? .live : .catchingUp
                            c.rebuildTarget = nil
                        }
                    }
                }
                if delay > 0 { try? await Task.sleep(for: .milliseconds(delay)) }
                if Task.isCancelled { break }
            }
        } catch {
            control.withLock { c in
                c.error = "\(projection.name): \(error)"
                c.state = .stopped
            }
        }
        return folded
    }

    private func publish(_ folded: Folded) {
        let view = projection.view(of: folded.state, position: folded.checkpoint)
        published.withLock { $0 = Published(view: view, checkpoint: folded.checkpoint, timestampNanos: folded.timestamp) }
        let ready = control.withLock { c -> [CheckedContinuation<Bool, Never>] in
            var ready: [CheckedContinuation<Bool, Never>] = []
            c.waiters.removeAll { w in
                if w.position <= folded.checkpoint { ready.append(w.continuation); return true }
                return false
            }
            return ready
        }
        for r in ready { r.resume(returning: true) }
        for observer in observers.withLock({ $0 }) { observer(folded.checkpoint) }
    }
}
