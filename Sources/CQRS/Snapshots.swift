import Dispatch
import EventStore
import Synchronization

/// When to take snapshots and how many to keep.
public struct SnapshotPolicy: Sendable, Equatable {
    /// A snapshot after at least this many events since the last one...
    public var everyEvents: UInt64
    /// ...or after this many seconds, when at least one event came since the last one.
    public var everySeconds: Double
    /// The newest snapshots kept per name (older ones are the fallback when the newest is
    /// unusable).
    public var keepRecent: Int
    /// Beyond those, one snapshot per this many positions is kept (for time travel: the views
    /// as of P start from the nearest snapshot at or before P). 0 keeps no such archive. The
    /// projectors' snapshots hold live state only (a few KB for the shop), so an archive over a
    /// long log costs little; the writer keeps none (its snapshot carries a byte per closed
    /// order, and only the newest is ever needed).
    public var archiveSpacing: UInt64

    public init(everyEvents: UInt64 = 200_000, everySeconds: Double = 10, keepRecent: Int = 3, archiveSpacing: UInt64 = 100_000) {
        self.everyEvents = everyEvents
        self.everySeconds = everySeconds
        self.keepRecent = max(1, keepRecent)
        self.archiveSpacing = archiveSpacing
    }
}

/// A state read back from a snapshot, and where in the log it stands.
public struct LoadedSnapshot<State> {
    public var state: State
    /// The last position folded into `state`.
    public var position: UInt64
    /// Commit time of the event at `position`.
    public var timestampNanos: Int64
}

/// The engine's snapshots: a state saved with the position it was folded to, so that a start
/// folds only the events after it. Store-independent: bytes go to a ``SnapshotStorage``, and a
/// snapshot is tied to the log through the ``EventStore`` seam alone.
///
/// A snapshot file holds (little-endian): magic `PRISMSNP`, the format version
/// (``formatVersion``), the state's version (the projection's or domain's `snapshotVersion`),
/// the position, the fingerprint of the record at that position (``fingerprint(_:)``), that
/// record's commit time, the name, the body's length and the body, then a CRC-32C of everything
/// before it. Loading tries the snapshots of a name newest first and uses the first whose
/// checksum, format, name and version hold, whose position is at or below the head, and whose
/// fingerprint equals that of the record now at its position in the store; each one refused
/// costs one line of notice, and with none left the fold starts at position 1. So a damaged
/// file, one from another log, one from a log since cut back behind it, or one written by
/// another version of the projection is never used, let alone misread.
public final class Snapshots: Sendable {
    public static let formatVersion: UInt32 = 1
    static let magic: [UInt8] = Array("PRISMSNP".utf8)

    public let storage: any SnapshotStorage
    public let policy: SnapshotPolicy
    private let notice: @Sendable (String) -> Void
    /// Saves run here, one at a time, off the fold's thread.
    private let queue = DispatchQueue(label: "prism-snapshots", qos: .utility)
    private let inFlight = Mutex<Set<String>>([])
    private let notices = Mutex<[String]>([])

    public init(storage: any SnapshotStorage, policy: SnapshotPolicy = SnapshotPolicy(), notice: @escaping @Sendable (String) -> Void = { _ in }) {
        self.storage = storage
        self.policy = policy
        self.notice = notice
    }

    /// Every notice so far (a refused snapshot, a failed save), oldest first.
    public var allNotices: [String] { notices.withLock { $0 } }

    func say(_ line: String) {
        notices.withLock { $0.append(line) }
        notice(line)
    }

    /// The fingerprint of a stored record, the tie between a snapshot and the log: a CRC-32C
    /// over every field the seam hands out for it (position, stream version, commit time,
    /// stream, type, payload, command id). Every store gives those fields, and gives the same
    /// ones for a position every time it is read (``EventStore``'s contract), so any store can
    /// confirm that the record a snapshot was folded to is still the one at its position.
    public static func fingerprint(_ r: EventView) -> UInt32 {
        var c = SnapshotCRC.update(0, r.position)
        c = SnapshotCRC.update(c, r.streamVersion)
        c = SnapshotCRC.update(c, r.timestampNanos)
        c = SnapshotCRC.update(c, UInt32(r.streamBytes.count))
        c = SnapshotCRC.update(c, r.streamBytes)
        c = SnapshotCRC.update(c, UInt32(r.typeBytes.count))
        c = SnapshotCRC.update(c, r.typeBytes)
        c = SnapshotCRC.update(c, UInt32(r.payload.count))
        c = SnapshotCRC.update(c, r.payload)
        c = SnapshotCRC.update(c, UInt32(r.commandIdBytes.count))
        return SnapshotCRC.update(c, r.commandIdBytes)
    }

    /// The fingerprint and commit time of the record at `position`, read from the store.
    static func record(at position: UInt64, in store: any EventStore) throws -> (fingerprint: UInt32, timestamp: Int64)? {
        var found: (UInt32, Int64)?
        try store.read(from: position, through: position) { r in
            if r.position == position { found = (fingerprint(r), r.timestampNanos) }
            return false
        }
        return found
    }

    // MARK: Framing

    struct Header {
        var version: UInt32
        var position: UInt64
        var fingerprint: UInt32
        var timestamp: Int64
        var name: String
    }

    static func frame(_ h: Header, body: [UInt8]) -> [UInt8] {
        var w = SnapshotWriter(capacity: body.count + 64)
        for b in magic { w.u8(b) }
        w.u32(formatVersion)
        w.u32(h.version)
        w.u64(h.position)
        w.u32(h.fingerprint)
        w.i64(h.timestamp)
        w.string(h.name)
        w.blob(body)
        var bytes = w.bytes
        let crc = bytes.withUnsafeBytes { SnapshotCRC.update(0, $0) }
        withUnsafeBytes(of: crc.littleEndian) { bytes += $0 }
        return bytes
    }

    /// The header and a reader at the body, or why the bytes are not a snapshot.
    static func unframe(_ bytes: [UInt8]) -> Result<(Header, SnapshotReader), SnapshotRefusal> {
        guard bytes.count >= magic.count + 4 + 4, Array(bytes[0..<magic.count]) == magic else { return .failure(.damaged("not a snapshot file")) }
        let body = bytes.count - 4
        let stored = bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: body, as: UInt32.self)) }
        let computed = bytes.withUnsafeBytes { SnapshotCRC.update(0, UnsafeRawBufferPointer(rebasing: $0[0..<body])) }
        guard stored == computed else { return .failure(.damaged("checksum mismatch")) }
        var r = SnapshotReader(Array(bytes[0..<body]), offset: magic.count)
        do {
            let format = try r.u32()
            guard format == formatVersion else { return .failure(.otherVersion("snapshot format \(format), this build reads \(formatVersion)")) }
            let h = Header(version: try r.u32(), position: try r.u64(), fingerprint: try r.u32(), timestamp: try r.i64(), name: try r.string())
            let length = try r.u64()
            guard length == UInt64(r.remaining) else { return .failure(.damaged("body length \(length), \(r.remaining) bytes present")) }
            return .success((h, r))
        } catch {
            return .failure(.damaged("\(error)"))
        }
    }

    // MARK: Loading

    /// The newest usable snapshot of `name` at or before `limit` (the head by default), decoded
    /// with `decode`; nil when there is none, and a notice for each one refused on the way.
    public func load<State>(
        _ name: String, version: UInt32, from store: any EventStore, atOrBefore limit: UInt64? = nil,
        quiet: Bool = false, decode: (inout SnapshotReader) throws -> State
    ) -> LoadedSnapshot<State>? {
        guard version > 0 else { return nil }
        let head = store.head
        let limit = min(limit ?? head, head)
        for position in storage.positions(of: name) {
            let label = "snapshot \(name)@\(position)"
            if position > head {
                // Only a log cut back behind it has a head below a snapshot's position.
                if !quiet { say("\(label) ignored: the log ends at \(head), before it (cut back?); folding from an older one") }
                continue
            }
            guard position <= limit else { continue }
            let bytes: [UInt8]
            do { bytes = try storage.load(name, position: position) } catch {
                if !quiet { say("\(label) ignored: \(error)") }
                continue
            }
            switch Self.unframe(bytes) {
            case .failure(let why):
                if !quiet { say("\(label) ignored: \(why)") }
            case .success(let (h, body)):
                var body = body
                guard h.name == name, h.position == position else {
                    if !quiet { say("\(label) ignored: it holds \(h.name)@\(h.position)") }
                    continue
                }
                guard h.version == version else {
                    if !quiet { say("\(label) ignored: written by version \(h.version) of \(name), this build is version \(version)") }
                    continue
                }
                let actual: (fingerprint: UInt32, timestamp: Int64)?
                do { actual = try Self.record(at: position, in: store) } catch {
                    if !quiet { say("\(label) ignored: cannot read the record at \(position): \(error)") }
                    continue
                }
                guard let actual, actual.fingerprint == h.fingerprint, actual.timestamp == h.timestamp else {
                    if !quiet { say("\(label) ignored: the record at \(position) is not the one it was folded to (another log?)") }
                    continue
                }
                do {
                    let state = try decode(&body)
                    try body.expectEnd()
                    return LoadedSnapshot(state: state, position: position, timestampNanos: h.timestamp)
                } catch {
                    if !quiet { say("\(label) ignored: cannot decode: \(error)") }
                }
            }
        }
        return nil
    }

    // MARK: Saving

    /// True when a snapshot folded to `position` is due, given the last one taken.
    public func due(position: UInt64, last: UInt64, lastNanos: UInt64, now: UInt64) -> Bool {
        guard position > last else { return false }
        return position - last >= policy.everyEvents || Double(now &- lastNanos) / 1e9 >= policy.everySeconds
    }

    /// Encodes and saves a snapshot on the background queue; `state` is the caller's copy (a
    /// copy-on-write value, so the fold goes on meanwhile). Skipped, returning false, while a
    /// save of the same name is still running: the fold never waits for the disk.
    @discardableResult
    public func saveInBackground<State: Sendable>(
        _ name: String, version: UInt32, state: State, position: UInt64, fingerprint: UInt32, timestamp: Int64,
        archive: Bool = true, encode: @escaping @Sendable (State, inout SnapshotWriter) -> Void
    ) -> Bool {
        guard version > 0 else { return false }
        let started = inFlight.withLock { $0.insert(name).inserted }
        guard started else { return false }
        queue.async { [self] in
            defer { _ = inFlight.withLock { $0.remove(name) } }
            saveNow(name, version: version, state: state, position: position, fingerprint: fingerprint, timestamp: timestamp, archive: archive, encode: encode)
        }
        return true
    }

    /// Encodes and saves a snapshot on the calling thread; false (and a notice) on failure.
    @discardableResult
    public func saveNow<State>(
        _ name: String, version: UInt32, state: State, position: UInt64, fingerprint: UInt32, timestamp: Int64,
        archive: Bool = true, encode: (State, inout SnapshotWriter) -> Void
    ) -> Bool {
        guard version > 0 else { return false }
        var w = SnapshotWriter(capacity: 1 << 16)
        encode(state, &w)
        let bytes = Self.frame(Header(version: version, position: position, fingerprint: fingerprint, timestamp: timestamp, name: name), body: w.bytes)
        do {
            try storage.save(name, position: position, bytes: bytes)
        } catch {
            say("snapshot \(name)@\(position) not saved: \(error)")
            return false
        }
        prune(name, archive: archive)
        return true
    }

    /// Waits until the background saves queued so far are done.
    public func flush() {
        queue.sync {}
    }

    /// Keeps the newest ``SnapshotPolicy/keepRecent`` snapshots of `name` and, older than
    /// those and when `archive`, the first one in each ``SnapshotPolicy/archiveSpacing`` positions.
    func prune(_ name: String, archive: Bool) {
        let all = storage.positions(of: name)
        var buckets = Set<UInt64>()
        // Oldest first, so that the first snapshot of each bucket is the one kept.
        for (index, position) in all.enumerated().reversed() {
            if index < policy.keepRecent { continue }
            if archive, policy.archiveSpacing > 0, buckets.insert(position / policy.archiveSpacing).inserted { continue }
            storage.remove(name, position: position)
        }
    }
}

/// Why a snapshot's bytes were refused.
enum SnapshotRefusal: Error, CustomStringConvertible {
    case damaged(String)
    case otherVersion(String)

    var description: String {
        switch self {
        case .damaged(let why): "damaged (\(why))"
        case .otherVersion(let why): why
        }
    }
}

/// Carries a value that is handed over once to another thread and never shared.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
