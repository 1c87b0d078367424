#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation

/// A batch waiting for the committer.
final class PendingAppend: @unchecked Sendable {
    // @unchecked: `events` is immutable; `completion` is called exactly once, by the committer.
    let events: [NewEvent]
    let completion: @Sendable (Result<AppendResult, LogError>) -> Void
    init(events: [NewEvent], completion: @escaping @Sendable (Result<AppendResult, LogError>) -> Void) {
        self.events = events
        self.completion = completion
    }
}

struct AppendQueue {
    var pending: [PendingAppend] = []
    var closing = false
}

extension EventLog {
    // MARK: Appending

    /// Queues one atomic batch; `completion` runs on the committer thread once the batch is
    /// durable (or has failed). Nothing of a failed batch is ever readable.
    public func append(_ events: [NewEvent], completion: @escaping @Sendable (Result<AppendResult, LogError>) -> Void) {
        if isReadOnly {
            completion(.failure(LogError(.invalidArgument, "the log is open read-only", file: directory)))
            return
        }
        let accepted = queue.withLock { q -> Bool in
            if q.closing { return false }
            q.pending.append(PendingAppend(events: events, completion: completion))
            return true
        }
        guard accepted else {
            completion(.failure(LogError(.closed, "the log is closed", file: directory)))
            return
        }
        workAvailable.signal()
    }

    /// Appends one atomic batch and blocks until it is durable.
    public func append(_ events: [NewEvent]) throws -> AppendResult {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox()
        append(events) { result in
            box.result = result
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }

    /// Appends one atomic batch and resumes once it is durable.
    public func appendAsync(_ events: [NewEvent]) async throws -> AppendResult {
        let result: Result<AppendResult, LogError> = await withCheckedContinuation { c in
            append(events) { c.resume(returning: $0) }
        }
        return try result.get()
    }

    func startCommitter() {
        let thread = Thread { [self] in self.committerLoop() }
        thread.name = "prism-log-committer"
        thread.start()
    }

    private func committerLoop() {
        while true {
            workAvailable.wait()
            let (group, closing) = queue.withLock { q -> ([PendingAppend], Bool) in
                defer { q.pending.removeAll(keepingCapacity: true) }
                return (q.pending, q.closing)
            }
            if !group.isEmpty { commit(group) }
            if closing {
                // Anything that slipped in after the last drain is refused, not lost silently.
                let late = queue.withLock { q -> [PendingAppend] in defer { q.pending.removeAll() }; return q.pending }
                for p in late { p.completion(.failure(LogError(.closed, "the log is closed", file: directory))) }
                break
            }
        }
        committerDone.signal()
    }

    /// Commits a group of batches: checks versions, encodes all accepted batches into one
    /// buffer, writes it with one `pwrite` and makes it durable with one `fdatasync`.
    private func commit(_ group: [PendingAppend]) {
        if let failure = writer!.failure {
            let refusal = LogError(
                .writerFailed, "appends are refused since an earlier write failed (\(failure.message)); reopen the log",
                file: failure.file)
            for p in group { p.completion(.failure(refusal)) }
            return
        }
        if writer!.streamVersions == nil {
            do {
                writer!.streamVersions = try loadStreamVersions()
            } catch {
                for p in group { p.completion(.failure(error as? LogError ?? LogError(.io, "\(error)"))) }
                return
            }
        }
        let now = options.clock()
        var inFlight: [(PendingAppend, AppendResult)] = []
        var next = head + 1
        writer!.buffer.removeAll(keepingCapacity: true)
        writer!.offsets.removeAll(keepingCapacity: true)

        for (index, p) in group.enumerated() {
            if let problem = check(p.events) {
                p.completion(.failure(problem))
                continue
            }
            let mark = writer!.buffer.count
            let markOffsets = writer!.offsets.count
            let first = next
            for (i, event) in p.events.enumerated() {
                let version = writer!.streamVersions![event.stream, default: 0] + 1
                writer!.streamVersions![event.stream] = version
                writer!.offsets.append(Int32(writer!.buffer.count))
                _ = RecordFormat.encode(
                    into: &writer!.buffer, position: next, streamVersion: version, timestamp: now,
                    endsBatch: i == p.events.count - 1, event: event)
                next += 1
            }
            let batchBytes = Int64(writer!.buffer.count - mark)
            let segmentUsed = writer!.segmentSize + Int64(mark)
            if segmentUsed + batchBytes > options.segmentBytes && segmentUsed > Int64(RecordFormat.headerSize) {
                // This batch does not fit: commit what precedes it, then start a new segment,
                // so that no batch ever spans two files.
                let moved = Array(writer!.buffer[mark...])
                let movedOffsets = writer!.offsets[markOffsets...].map { $0 - Int32(mark) }
                writer!.buffer.removeSubrange(mark...)
                writer!.offsets.removeSubrange(markOffsets...)
                do {
                    try flush(&inFlight)
                    try roll(first: first)
                } catch {
                    fail(error as? LogError ?? LogError(.io, "\(error)"), inFlight: inFlight + [(p, AppendResult(firstPosition: first, lastPosition: next - 1))], rest: Array(group[(index + 1)...]))
                    return
                }
                writer!.buffer = moved
                writer!.offsets = movedOffsets
            }
            inFlight.append((p, AppendResult(firstPosition: first, lastPosition: next - 1)))
        }
        do {
            try flush(&inFlight)
        } catch {
            fail(error as? LogError ?? LogError(.io, "\(error)"), inFlight: inFlight, rest: [])
        }
    }

    /// Checks a batch before anything is encoded; a problem refuses that batch alone.
    private func check(_ events: [NewEvent]) -> LogError? {
        if events.isEmpty { return LogError(.invalidArgument, "an append needs at least one event") }
        var seen: [String: UInt64] = [:]
        for event in events {
            if let problem = RecordFormat.validate(event) {
                return LogError(.invalidArgument, "\(problem) (stream '\(event.stream)')")
            }
            let current = seen[event.stream] ?? writer!.streamVersions![event.stream, default: 0]
            let ok: Bool
            switch event.expectedVersion {
            case .any: ok = true
            case .noStream: ok = current == 0
            case .exact(let v): ok = current == v
            }
            if !ok {
                let actual = current == 0 ? "does not exist" : "is at version \(current)"
                return LogError(
                    .versionConflict,
                    "expected \(event.expectedVersion) of stream '\(event.stream)', but it \(actual); nothing was appended")
            }
            seen[event.stream] = current + 1
        }
        return nil
    }

    /// Writes the buffer, makes it durable, publishes it to readers, then acknowledges.
    private func flush(_ inFlight: inout [(PendingAppend, AppendResult)]) throws {
        guard !writer!.buffer.isEmpty else { return }
        let path = segmentPath(writer!.segmentFirst)
        let fd = writer!.fd
        let offset = writer!.segmentSize
        try writer!.buffer.withUnsafeBytes { (raw) throws in try io.pwriteAll(fd, raw, offset: offset, path: path) }
        if options.durability == .full { try io.fdatasync(fd, path: path) }
        writer!.segmentSize += Int64(writer!.buffer.count)
        let chunk = LogChunk(firstPosition: inFlight[0].1.firstPosition, bytes: writer!.buffer, offsets: writer!.offsets)
        let newHead = chunk.lastPosition
        let end = TailEnd(segment: writer!.segmentFirst, offset: writer!.segmentSize, lastPosition: newHead)
        publish(chunk, tailEnd: end)
        writer!.buffer.removeAll(keepingCapacity: true)
        writer!.offsets.removeAll(keepingCapacity: true)
        for (p, r) in inFlight { p.completion(.success(r)) }
        inFlight.removeAll()
    }

    /// Starts a new segment whose first position is `first`.
    private func roll(first: UInt64) throws {
        let old = segmentPath(writer!.segmentFirst)
        if options.durability == .relaxed { try io.fdatasync(writer!.fd, path: old) }
        try Recovery.createSegment(directory: directory, first: first, io: io)
        let fd = try io.open(segmentPath(first), O_RDWR)
        io.close(writer!.fd)
        writer!.fd = fd
        writer!.segmentFirst = first
        writer!.segmentSize = Int64(RecordFormat.headerSize)
        shared.withLock { $0.segments.append(first) }
    }

    /// A write failed: cut the file back to its last durable size so no partial record stays on
    /// disk, refuse everything in flight, and refuse all appends until the log is reopened (the
    /// state of the page cache after a failed fdatasync is unknowable, so guessing is worse).
    private func fail(_ error: LogError, inFlight: [(PendingAppend, AppendResult)], rest: [PendingAppend]) {
        let path = segmentPath(writer!.segmentFirst)
        try? io.ftruncate(writer!.fd, writer!.segmentSize, path: path)
        writer!.failure = error
        writer!.streamVersions = nil
        for (p, _) in inFlight { p.completion(.failure(error)) }
        for p in rest { p.completion(.failure(LogError(.writerFailed, "not appended: an earlier write in the same commit failed (\(error.message))", file: error.file))) }
    }

    /// Builds the stream-version index by reading the whole log once, on the first append.
    /// Opening stays independent of the log's length; the first append of a writer pays this.
    private func loadStreamVersions() throws -> [String: UInt64] {
        var versions: [String: UInt64] = [:]
        do {
            try read(from: 1, through: head) { record in
                versions[record.stream] = record.streamVersion
                return true
            }
        } catch let e as LogError {
            throw e
        } catch {
            throw LogError(.io, "reading stream versions failed: \(error)")
        }
        return versions
    }
}

final class ResultBox: @unchecked Sendable {
    // @unchecked: written once by the committer before a semaphore signal, read after the wait.
    var result: Result<AppendResult, LogError>?
}
