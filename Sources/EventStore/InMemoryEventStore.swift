#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// An event store that keeps everything in this process's memory: for tests, and for
/// `prism --store memory`, a demo that leaves nothing on disk (the status line says `memory`).
///
/// It keeps the whole contract of ``EventStore`` except durability across the process: dense
/// positions, atomic batches, head and stream-version expectations, append sessions, blocking
/// and async waits, subscriptions. Its limits match the file log's (names, record size), so a
/// command that one store refuses, the other refuses too.
public final class InMemoryEventStore: EventStore, @unchecked Sendable {
    // @unchecked: mutable state is inside `state` (a Mutex); `session` is a lock.

    struct State {
        /// One chunk per append call, oldest first.
        var chunks: [PackedEventChunk] = []
        var streamVersions: [String: UInt64] = [:]
        var closed = false
    }

    /// Largest stream name, type and command id, and largest record, in bytes: the file log's.
    public static let maxStreamBytes = 65535
    public static let maxTypeBytes = 255
    public static let maxCommandIdBytes = 255
    public static let maxEventBytes = 16 << 20

    private let state = Mutex<State>(State())
    private let headValue = Atomic<UInt64>(0)
    /// Held for a whole append session (and for every plain append, which is a session of one).
    private let session = NSLock()
    /// Woken whenever the head moves or the store closes.
    private let waiters = HeadWaiters()
    private let clock: @Sendable () -> Int64

    public init(clock: @escaping @Sendable () -> Int64 = InMemoryEventStore.wallClock) {
        self.clock = clock
    }

    public static let wallClock: @Sendable () -> Int64 = {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    public var head: UInt64 { headValue.load(ordering: .acquiring) }
    public var description: String { "memory" }
    public var durabilityLabel: String { "nothing on disk" }
    public var isReadOnly: Bool { false }
    public var isClosed: Bool { state.withLock { $0.closed } }

    // MARK: Appending

    public func append(_ batches: [AppendBatch]) -> [Result<AppendResult, StoreError>] {
        do {
            return try withAppendSession { $0.append(batches) }
        } catch {
            return batches.map { _ in .failure(error as? StoreError ?? StoreError(.io, "\(error)")) }
        }
    }

    public func withAppendSession<R>(_ body: (any AppendSession) throws -> R) throws -> R {
        session.lock()
        defer { session.unlock() }
        if isClosed { throw StoreError(.closed, "the store is closed") }
        return try body(Session(store: self))
    }

    struct Session: AppendSession {
        let store: InMemoryEventStore
        var head: UInt64 { store.head }
        func streamVersion(of stream: String) throws -> UInt64 {
            store.state.withLock { $0.streamVersions[stream] ?? 0 }
        }
        func append(_ batches: [AppendBatch]) -> [Result<AppendResult, StoreError>] {
            store.commit(batches)
        }
    }

    public func problem(with event: NewEvent) -> String? {
        let stream = event.stream.utf8.count, type = event.type.utf8.count
        let id = event.commandId?.utf8.count ?? 0
        if stream == 0 { return "stream name is empty" }
        if stream > Self.maxStreamBytes { return "stream name is longer than \(Self.maxStreamBytes) bytes" }
        if type == 0 { return "event type is empty" }
        if type > Self.maxTypeBytes { return "event type is longer than \(Self.maxTypeBytes) bytes" }
        if id > Self.maxCommandIdBytes { return "command id is longer than \(Self.maxCommandIdBytes) bytes" }
        let size = stream + type + id + event.payload.count
        if size > Self.maxEventBytes { return "event of \(size) bytes exceeds the limit of \(Self.maxEventBytes)" }
        return nil
    }

    /// Commits batches under the session lock: checks each, claims versions, publishes once.
    private func commit(_ batches: [AppendBatch]) -> [Result<AppendResult, StoreError>] {
        let now = clock()
        var results: [Result<AppendResult, StoreError>] = []
        results.reserveCapacity(batches.count)
        let builder = MemoryChunkBuilder()
        let moved = state.withLock { s -> UInt64? in
            if s.closed {
                results = batches.map { _ in .failure(StoreError(.closed, "the store is closed")) }
                return nil
            }
            var next = headValue.load(ordering: .relaxed) + 1
            for batch in batches {
                if let problem = check(batch, next: next, versions: s.streamVersions) {
                    results.append(.failure(problem))
                    continue
                }
                let first = next
                for (i, event) in batch.events.enumerated() {
                    let version = (s.streamVersions[event.stream] ?? 0) + 1
                    s.streamVersions[event.stream] = version
                    builder.add(event, position: next, streamVersion: version,
                                timestamp: batch.timestampNanos ?? now, endsBatch: i == batch.events.count - 1)
                    next += 1
                }
                results.append(.success(AppendResult(firstPosition: first, lastPosition: next - 1)))
            }
            guard let chunk = builder.build() else { return nil }
            s.chunks.append(chunk)
            headValue.store(chunk.lastPosition, ordering: .releasing)
            return chunk.lastPosition
        }
        if let moved { waiters.headMoved(to: moved) }
        return results
    }

    /// Why `batch` cannot be appended at `next`, or nil. Checks everything before anything is
    /// claimed, so a refused batch leaves no trace.
    private func check(_ batch: AppendBatch, next: UInt64, versions: [String: UInt64]) -> StoreError? {
        if batch.events.isEmpty { return StoreError(.invalidArgument, "an append needs at least one event") }
        if let expected = batch.expectedHead, expected != next - 1 {
            return StoreError(
                .headMoved, "expected the head at \(expected), but it is at \(next - 1); nothing was appended",
                position: next - 1)
        }
        var seen: [String: UInt64] = [:]
        for event in batch.events {
            if let problem = problem(with: event) {
                return StoreError(.invalidArgument, "\(problem) (stream '\(event.stream)')")
            }
            let current = seen[event.stream] ?? versions[event.stream] ?? 0
            let ok: Bool
            switch event.expectedVersion {
            case .any: ok = true
            case .noStream: ok = current == 0
            case .exact(let v): ok = current == v
            }
            if !ok {
                let actual = current == 0 ? "does not exist" : "is at version \(current)"
                return StoreError(
                    .versionConflict,
                    "expected \(event.expectedVersion) of stream '\(event.stream)', but it \(actual); nothing was appended")
            }
            seen[event.stream] = current + 1
        }
        return nil
    }

    // MARK: Reading

    public func read(from: UInt64, through: UInt64, _ body: (EventView) throws -> Bool) throws {
        var position = max(from, 1)
        let limit = min(through, head)
        while position <= limit {
            guard let chunk = state.withLock({ Self.chunk(containing: position, in: $0.chunks) }) else { return }
            guard try chunk.forEach(from: position, through: limit, body) else { return }
            position = chunk.lastPosition + 1
        }
    }

    public func readBatch(from: UInt64, through: UInt64) throws -> EventBatch {
        let limit = min(through, head)
        guard from >= 1, from <= limit,
              let chunk = state.withLock({ Self.chunk(containing: from, in: $0.chunks) })
        else {
            throw StoreError(.invalidArgument, "no event at position \(from) (head \(head))", position: from)
        }
        return EventBatch(storage: chunk, first: from, last: min(chunk.lastPosition, limit))
    }

    static func chunk(containing position: UInt64, in chunks: [PackedEventChunk]) -> PackedEventChunk? {
        guard let first = chunks.first, let last = chunks.last,
              position >= first.firstPosition, position <= last.lastPosition else { return nil }
        var lo = 0, hi = chunks.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if chunks[mid].firstPosition <= position { lo = mid } else { hi = mid - 1 }
        }
        return chunks[lo]
    }

    // MARK: Waiting

    public func waitForHead(after position: UInt64, timeout: Duration) -> Bool {
        waiters.wait(after: position, timeout: timeout) { head }
    }

    public func waitForHead(after position: UInt64) async {
        await waiters.wait(after: position) { head }
    }

    public func close() {
        state.withLock { $0.closed = true }
        waiters.close()
    }

}

/// Collects the events of one append call into a ``PackedEventChunk``; used under the memory
/// store's lock only.
final class MemoryChunkBuilder {
    var first: UInt64 = 0
    var bytes: [UInt8] = []
    var entries: [PackedEventChunk.Entry] = []

    func add(_ event: NewEvent, position: UInt64, streamVersion: UInt64, timestamp: Int64, endsBatch: Bool) {
        if entries.isEmpty { first = position }
        let offset = bytes.count
        bytes.append(contentsOf: event.stream.utf8)
        bytes.append(contentsOf: event.type.utf8)
        if let id = event.commandId { bytes.append(contentsOf: id.utf8) }
        bytes.append(contentsOf: event.payload)
        entries.append(PackedEventChunk.Entry(
            streamVersion: streamVersion, timestamp: timestamp, offset: offset,
            streamCount: event.stream.utf8.count, typeCount: event.type.utf8.count,
            idCount: event.commandId?.utf8.count ?? 0, payloadCount: event.payload.count,
            endsBatch: endsBatch))
    }

    func build() -> PackedEventChunk? {
        entries.isEmpty ? nil : PackedEventChunk(firstPosition: first, bytes: bytes, entries: entries)
    }
}
