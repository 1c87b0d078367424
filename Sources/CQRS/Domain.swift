import EventStore

/// Where an event sits in the store, handed to `evolve` and projections beside the event itself:
/// the same values live (the writer folding its own decision) and on replay.
public struct EventMeta: Sendable, Equatable {
    public var position: UInt64
    public var streamVersion: UInt64
    /// Commit time, nanoseconds since the Unix epoch.
    public var timestampNanos: Int64

    public init(position: UInt64, streamVersion: UInt64, timestampNanos: Int64) {
        self.position = position
        self.streamVersion = streamVersion
        self.timestampNanos = timestampNanos
    }

    public init(_ record: EventView) {
        self.init(
            position: record.position, streamVersion: record.streamVersion,
            timestampNanos: record.timestampNanos)
    }
}

/// An event that can travel through a store: the domain owns its compact binary encoding, so
/// the store stays ignorant of the domain and no JSON sits on the hot path.
public protocol EventCodable: Sendable {
    /// The stream the event belongs to, for example `order-o-12`.
    var stream: String { get }
    /// The event type's name, for example `OrderPlaced`.
    var typeName: String { get }
    /// Appends the payload's bytes to `buffer`.
    func encodePayload(into buffer: inout [UInt8])
    /// Decodes an event from a stored event. Throws on bytes it does not understand.
    static func decode(_ record: EventView) throws -> Self
}

/// Why a command was refused. Nothing is appended for a rejected command.
public struct Rejection: Error, Sendable, Equatable, CustomStringConvertible {
    /// One human line, e.g. `insufficient stock for MUG: 2 available, 5 asked`.
    public var reason: String
    /// Control characters in `reason` (which often quotes input) are escaped, so a reason is
    /// always one safe line.
    public init(_ reason: String) { self.reason = escapeControlCharacters(reason) }
    public var description: String { reason }
}

/// The write side of a domain: *decide* turns a command into events (or a rejection) given the
/// write model, *evolve* folds an event into the write model. The engine owns when and where
/// they run; the domain owns what they mean.
public protocol Domain: Sendable {
    associatedtype Command: Sendable
    associatedtype Event: EventCodable
    /// The write model: only what decisions need, nothing a screen needs.
    associatedtype State: Sendable

    func initialState() -> State
    func decide(_ command: Command, state: State) -> Result<[Event], Rejection>
    func evolve(_ state: inout State, event: Event, meta: EventMeta)

    /// Whether `command` is the command that made `events`: asked when a command id comes again
    /// after a restart (when only the log remembers it), to tell a retry from a different command
    /// that reuses the id. Nil when the domain cannot tell; the default.
    func command(_ command: Command, matches events: [Event]) -> Bool?

    /// Whether two commands are the same request (for a command id seen twice in one process).
    /// Nil when the domain cannot tell; for an `Equatable` command, `==`.
    func isSame(_ a: Command, as b: Command) -> Bool?

    /// The version of the write model's snapshot layout; bump it whenever `State` or its
    /// encoding changes, so that an old snapshot is refused rather than misread. 0 (the
    /// default): the write model is never snapshotted and is folded from position 1.
    var snapshotVersion: UInt32 { get }
    func encodeSnapshot(_ state: State, into writer: inout SnapshotWriter)
    func decodeSnapshot(from reader: inout SnapshotReader) throws -> State
}

extension Domain {
    public func command(_ command: Command, matches events: [Event]) -> Bool? { nil }
    public func isSame(_ a: Command, as b: Command) -> Bool? { nil }
}

extension Domain where Command: Equatable {
    public func isSame(_ a: Command, as b: Command) -> Bool? { a == b }
}

extension Domain {
    public var snapshotVersion: UInt32 { 0 }
    public func encodeSnapshot(_ state: State, into writer: inout SnapshotWriter) {}
    public func decodeSnapshot(from reader: inout SnapshotReader) throws -> State {
        throw SnapshotDecodingError(offset: 0, "this domain takes no snapshots")
    }
}

/// A read model for one category of user. The projector owns `State` (mutated in place, never
/// shared) and publishes `View`s: small immutable snapshots that another thread can read for the
/// price of a reference copy. `State` may grow with the log; a `View` should not.
public protocol Projection: Sendable {
    associatedtype Event: EventCodable
    associatedtype State: Sendable
    associatedtype View: Sendable

    /// Stable lower-case name, e.g. `finance`: how the dashboard, the command line and the
    /// walkthroughs name the projection.
    var name: String { get }
    func initialState() -> State
    func apply(_ event: Event, meta: EventMeta, to state: inout State)
    /// The view to publish, as of `position` (the last event applied).
    func view(of state: State, position: UInt64) -> View

    /// The version of this projection's snapshot layout (and of what `apply` means): bump it
    /// when `State`, its encoding or the fold changes, so that an old snapshot is refused and
    /// the view refolded. 0 (the default): no snapshots; the projector folds from position 1.
    var snapshotVersion: UInt32 { get }
    func encodeSnapshot(_ state: State, into writer: inout SnapshotWriter)
    func decodeSnapshot(from reader: inout SnapshotReader) throws -> State
}

extension Projection {
    public var snapshotVersion: UInt32 { 0 }
    public func encodeSnapshot(_ state: State, into writer: inout SnapshotWriter) {}
    public func decodeSnapshot(from reader: inout SnapshotReader) throws -> State {
        throw SnapshotDecodingError(offset: 0, "this projection takes no snapshots")
    }
}
