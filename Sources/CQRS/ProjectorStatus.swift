/// What a projector is doing, as the dashboard's projector strip shows it.
public enum ProjectorState: String, Sendable, Equatable, CaseIterable {
    /// Caught up with the log and following new events.
    case live
    /// Behind the log and reading to catch up.
    case catchingUp = "catching up"
    /// Stopped by a person; its view is frozen and goes stale.
    case stopped
    /// Refolding from position 1 into a fresh view that will replace the old one atomically.
    case rebuilding
    /// Has work to do but has made no progress for a while.
    case stalled
}

/// A projector's statistics at one instant. Cheap to copy; read from any thread.
public struct ProjectorStatus: Sendable, Equatable {
    public var name: String
    public var state: ProjectorState
    /// Last position applied to the published view.
    public var checkpoint: UInt64
    /// Head of the log when this status was taken.
    public var head: UInt64
    /// Events per second applied, smoothed.
    public var eventsPerSecond: Double
    /// Age of the oldest event not yet applied, in milliseconds; 0 when caught up.
    public var lagMilliseconds: Double
    /// During a rebuild: the fraction done (0...1) and the estimated seconds left.
    public var rebuildProgress: Double?
    public var rebuildETASeconds: Double?
    /// Why the projector stopped, when an error stopped it (not a person).
    public var error: String?

    public init(
        name: String, state: ProjectorState, checkpoint: UInt64, head: UInt64,
        eventsPerSecond: Double = 0, lagMilliseconds: Double = 0,
        rebuildProgress: Double? = nil, rebuildETASeconds: Double? = nil, error: String? = nil
    ) {
        self.error = error
        self.name = name
        self.state = state
        self.checkpoint = checkpoint
        self.head = head
        self.eventsPerSecond = eventsPerSecond
        self.lagMilliseconds = lagMilliseconds
        self.rebuildProgress = rebuildProgress
        self.rebuildETASeconds = rebuildETASeconds
    }

    /// Lag in events: head minus checkpoint.
    public var lagEvents: UInt64 { head >= checkpoint ? head - checkpoint : 0 }
}
