#if canImport(Glibc)
import Glibc
#endif

/// A borrowed view of one stored event, valid only inside the closure that receives it: what
/// crosses the store seam on the read side, whatever the backend (file records, rows of a
/// database, arrays in memory).
///
/// Why a borrowed view and not a struct of `String`s and `[UInt8]`: replay and live projection
/// touch every event, and materialising three heap objects per event would make the allocator,
/// not the disk, the limit. Callers decode what they need straight from the bytes and call
/// ``materialize()`` only when they must keep an event.
public struct EventView {
    /// Position in the whole log: 1, 2, 3, ... with no gaps.
    public let position: UInt64
    /// Version of the event within its stream: 1, 2, 3, ...
    public let streamVersion: UInt64
    /// Wall-clock time of the commit, nanoseconds since the Unix epoch.
    public let timestampNanos: Int64
    /// UTF-8 bytes of the stream name.
    public let streamBytes: UnsafeRawBufferPointer
    /// UTF-8 bytes of the event type.
    public let typeBytes: UnsafeRawBufferPointer
    /// The payload, opaque to the log.
    public let payload: UnsafeRawBufferPointer
    /// UTF-8 bytes of the command id; empty when the event was written without one.
    public let commandIdBytes: UnsafeRawBufferPointer
    /// True for the last record of an atomic batch.
    public let endsBatch: Bool

    public init(
        position: UInt64, streamVersion: UInt64, timestampNanos: Int64,
        streamBytes: UnsafeRawBufferPointer, typeBytes: UnsafeRawBufferPointer,
        payload: UnsafeRawBufferPointer, commandIdBytes: UnsafeRawBufferPointer, endsBatch: Bool
    ) {
        self.position = position
        self.streamVersion = streamVersion
        self.timestampNanos = timestampNanos
        self.streamBytes = streamBytes
        self.typeBytes = typeBytes
        self.payload = payload
        self.commandIdBytes = commandIdBytes
        self.endsBatch = endsBatch
    }

    public var stream: String { String(decoding: streamBytes, as: UTF8.self) }
    public var type: String { String(decoding: typeBytes, as: UTF8.self) }
    public var commandId: String? {
        commandIdBytes.isEmpty ? nil : String(decoding: commandIdBytes, as: UTF8.self)
    }

    /// True when the event type equals `name`, without allocating a `String`.
    @inlinable
    public func typeIs(_ name: StaticString) -> Bool {
        let count = name.utf8CodeUnitCount
        guard count == typeBytes.count else { return false }
        let other = UnsafeRawBufferPointer(start: name.utf8Start, count: count)
        return count == 0 || memcmp(typeBytes.baseAddress!, other.baseAddress!, count) == 0
    }

    /// Copies the record out of the log's buffer.
    public func materialize() -> RecordedEvent {
        RecordedEvent(
            position: position, stream: stream, streamVersion: streamVersion, type: type,
            timestampNanos: timestampNanos, payload: [UInt8](payload), commandId: commandId)
    }
}

/// An owned copy of one stored event; see ``EventView`` for the borrowed form used on hot paths.
public struct RecordedEvent: Sendable, Equatable {
    public var position: UInt64
    public var stream: String
    public var streamVersion: UInt64
    public var type: String
    public var timestampNanos: Int64
    public var payload: [UInt8]
    public var commandId: String?

    public init(
        position: UInt64, stream: String, streamVersion: UInt64, type: String,
        timestampNanos: Int64, payload: [UInt8], commandId: String?
    ) {
        self.position = position
        self.stream = stream
        self.streamVersion = streamVersion
        self.type = type
        self.timestampNanos = timestampNanos
        self.payload = payload
        self.commandId = commandId
    }
}

/// One event to append: the store assigns its position, stream version and (unless the batch
/// names one) its commit time.
public struct NewEvent: Sendable {
    public var stream: String
    public var type: String
    public var payload: [UInt8]
    public var commandId: String?
    public var expectedVersion: ExpectedVersion

    public init(
        stream: String, type: String, payload: [UInt8], commandId: String? = nil,
        expectedVersion: ExpectedVersion = .any
    ) {
        self.stream = stream
        self.type = type
        self.payload = payload
        self.commandId = commandId
        self.expectedVersion = expectedVersion
    }
}

/// What a writer believes about a stream's version before it appends to it: optimistic
/// concurrency. A wrong belief fails the whole batch and appends nothing.
public enum ExpectedVersion: Sendable, Equatable, CustomStringConvertible {
    /// Append whatever the stream's version is.
    case any
    /// The stream must not exist yet.
    case noStream
    /// The stream's last event must have exactly this version.
    case exact(UInt64)

    public var description: String {
        switch self {
        case .any: "any"
        case .noStream: "no stream"
        case .exact(let v): "version \(v)"
        }
    }
}
