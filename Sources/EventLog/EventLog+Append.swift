#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation

/// A batch waiting for the committer.
final class PendingAppend: @unchecked Sendable {
    // @unchecked: `events` is immutable; `completion` is called exactly once, by the leader
    // that commits (or refuses) the batch.
    let events: [NewEvent]
    /// The head the batch was decided against (see ``AppendBatch/expectedHead``).
    let expectedHead: UInt64?
    /// The commit time the writer named, if any.
    let timestamp: Int64?
    let completion: @Sendable (Result<AppendResult, LogError>) -> Void
    init(events: [NewEvent], expectedHead: UInt64? = nil, timestamp: Int64? = nil,
         completion: @escaping @Sendable (Result<AppendResult, LogError>) -> Void) {
        self.events = events
        self.expectedHead = expectedHead
        self.timestamp = timestamp
        self.completion = completion
    }

    convenience init(_ batch: AppendBatch, completion: @escaping @Sendable (Result<AppendResult, LogError>) -> Void) {
        self.init(events: batch.events, expectedHead: batch.expectedHead, timestamp: batch.timestampNanos, completion: completion)
    }
}

struct AppendQueue {
    var pending: [PendingAppend] = []
    var closing = false
    /// Set while some thread is committing (the leader). Only the leader touches the writer
    /// state, so this flag, flipped under the queue's lock, is what serialises commits.
    var leaderActive = false
}

extension EventLog {
    // MARK: Appending
    //
    // Group commit with a leader: whoever finds no commit in progress becomes the leader and
    // commits everything queued, again and again, until the queue is empty; everyone else
    // waits for the leader to complete their batch. A thread that appends and waits (the bench,
    // the CQRS writer) thus commits on its own thread with no hand-off, which matters on a busy
    // machine where every wake-up of another thread can cost a scheduler time slice; callbacks
    // and async callers hand off to the committer thread instead.

    /// Queues one atomic batch; `completion` runs once the batch is durable (or has failed), on
    /// whichever thread committed it. Nothing of a failed batch is ever readable.
    ///
    /// Completions run on a serial queue of their own, never on the thread that holds commit
    /// leadership: a completion may append again, wait for an append, or close the log.
    public func append(_ events: [NewEvent], completion: @escaping @Sendable (Result<AppendResult, LogError>) -> Void) {
        let deliver = completionQueue
        let pending = PendingAppend(events: events) { result in deliver.async { completion(result) } }
        // The caller must not block: the committer thread leads when no one else does.
        switch enqueue([pending], claimLeadership: false) {
        case .refused(let error): completion(.failure(error))
        case .lead: workAvailable.signal()
        case .follow: break
        }
    }

    /// Appends one atomic batch and blocks until it is durable.
    public func append(_ events: [NewEvent]) throws -> AppendResult {
        try appendBatches([events])[0].get()
    }

    /// Appends several atomic batches (each all-or-nothing on its own) in one group commit, and
    /// blocks until all are durable or refused. Results are in the order of `batches`.
    public func appendBatches(_ batches: [[NewEvent]]) -> [Result<AppendResult, LogError>] {
        append(batches.map { AppendBatch($0) })
    }

    /// Appends several atomic batches, each with its own expectations, in one group commit, and
    /// blocks until all are durable or refused. Results are in the order of `batches`.
    public func append(_ batches: [AppendBatch]) -> [Result<AppendResult, LogError>] {
        let done = DispatchSemaphore(value: 0)
        let results = ResultsBox(count: batches.count)
        let pending = batches.enumerated().map { (i, batch) in
            PendingAppend(batch) { result in
                results.set(i, result)
                done.signal()
            }
        }
        switch enqueue(pending, claimLeadership: true) {
        case .refused(let error): return batches.map { _ in .failure(error) }
        case .lead: lead()
        case .follow: break
        }
        for _ in batches { done.wait() }
        return results.values
    }

    /// Appends one atomic batch and resumes once it is durable.
    public func appendAsync(_ events: [NewEvent]) async throws -> AppendResult {
        let result: Result<AppendResult, LogError> = await withCheckedContinuation { c in
            append(events) { c.resume(returning: $0) }
        }
        return try result.get()
    }

    enum EnqueueOutcome { case lead, follow, refused(LogError) }

    /// Queues batches. `.lead` means no commit is in progress: with `claimLeadership` the caller
    /// is now the leader and must call `lead`; without, it must wake the committer thread.
    private func enqueue(_ batches: [PendingAppend], claimLeadership: Bool) -> EnqueueOutcome {
        if isReadOnly { return .refused(LogError(.invalidArgument, "the log is open read-only", file: directory)) }
        return queue.withLock { q -> EnqueueOutcome in
            if q.closing { return .refused(LogError(.closed, "the log is closed", file: directory)) }
            q.pending.append(contentsOf: batches)
            if q.leaderActive { return .follow }
            if claimLeadership { q.leaderActive = true }
            return .lead
        }
    }

    /// Commits everything queued, until the queue is empty, then gives up leadership.
    func lead() {
        while true {
            let group = queue.withLock { q -> [PendingAppend] in
                if q.pending.isEmpty { q.leaderActive = false }
                defer { q.pending.removeAll(keepingCapacity: true) }
                return q.pending
            }
            if group.isEmpty { return }
            commit(group)
        }
    }

    /// The committer thread holds the log weakly between commits, so that a log nobody closed
    /// is still freed (its deinit closes it) instead of keeping a thread, and a process, alive.
    func startCommitter() {
        let thread = Thread { [weak self, workAvailable, committerDone] in
            while true {
                workAvailable.wait()
                guard let log = self, log.committerTurn() else { break }
            }
            committerDone.signal()
        }
        thread.name = "prism-log-committer"
        thread.start()
    }

    /// One wake-up of the committer thread: leads if no one else does. Returns false once the
    /// log is closing and drained.
    private func committerTurn() -> Bool {
        let (closing, mustLead) = queue.withLock { q -> (Bool, Bool) in
            if q.leaderActive || q.pending.isEmpty { return (q.closing, false) }
            q.leaderActive = true
            return (q.closing, true)
        }
        if mustLead { lead() }
        guard closing else { return true }
        // Wait for another leader to finish, then refuse anything that slipped in.
        while queue.withLock({ $0.leaderActive }) { usleep(1000) }
        let late = queue.withLock { q -> [PendingAppend] in defer { q.pending.removeAll() }; return q.pending }
        for p in late { p.completion(.failure(LogError(.closed, "the log is closed", file: directory))) }
        return false
    }

    /// Commits a group of batches: checks versions, encodes all accepted batches into one
    /// buffer, writes it with one `pwrite` and makes it durable with one `fdatasync`.
    func commit(_ group: [PendingAppend]) {
        // The writer state moves into a local for the commit: one exclusive access instead of
        // one per field per record.
        var w = writer.take()!
        defer { writer = w }
        if let failure = w.failure {
            let refusal = LogError(
                .writerFailed, "appends are refused since an earlier write failed (\(failure.message)), until the tail is checked again (the writer retries) or the log is reopened",
                file: failure.file)
            for p in group { p.completion(.failure(refusal)) }
            return
        }
        if w.streamVersions == nil {
            do {
                w.streamVersions = try loadStreamVersions()
            } catch {
                for p in group { p.completion(.failure(error as? LogError ?? LogError(.io, "\(error)"))) }
                return
            }
        }
        let now = options.clock()
        var inFlight: [(PendingAppend, AppendResult)] = []
        var next = head + 1
        let buffer = w.buffer
        buffer.removeAll()
        var versions: [UInt64] = []

        for (index, p) in group.enumerated() {
            if let expected = p.expectedHead, expected != next - 1 {
                p.completion(.failure(LogError(
                    .headMoved, "expected the head at \(expected), but it is at \(next - 1); nothing was appended",
                    position: next - 1)))
                continue
            }
            if let problem = claimVersions(p.events, in: &w.streamVersions!, into: &versions) {
                p.completion(.failure(problem))
                continue
            }
            let mark = buffer.count
            let markOffsets = buffer.offsets.count
            let first = next
            let lastIndex = p.events.count - 1
            p.events.withUnsafeBufferPointer { events in
                for i in events.indices {
                    buffer.append(position: next, streamVersion: versions[i], timestamp: p.timestamp ?? now, endsBatch: i == lastIndex, event: events.baseAddress! + i)
                    next += 1
                }
            }
            // `mark` counts the commit header; the seal that ends a segment must fit too.
            let segmentUsed = w.segmentSize + Int64(mark)
            let hasContent = w.segmentSize > Int64(RecordFormat.headerSize) || mark > RecordFormat.commitHeaderSize
            if segmentUsed + Int64(buffer.count - mark + RecordFormat.commitHeaderSize) > options.segmentBytes && hasContent {
                // This batch does not fit: commit what precedes it, then start a new segment,
                // so that no batch ever spans two files.
                let moved = buffer.split(at: mark, offsetsFrom: markOffsets)
                do {
                    try flush(&w, &inFlight)
                    try roll(&w, first: first)
                } catch {
                    fail(&w, error as? LogError ?? LogError(.io, "\(error)"),
                         inFlight: inFlight + [(p, AppendResult(firstPosition: first, lastPosition: next - 1))],
                         rest: Array(group[(index + 1)...]))
                    return
                }
                buffer.restore(moved)
            }
            inFlight.append((p, AppendResult(firstPosition: first, lastPosition: next - 1)))
        }
        do {
            try flush(&w, &inFlight)
        } catch {
            fail(&w, error as? LogError ?? LogError(.io, "\(error)"), inFlight: inFlight, rest: [])
        }
    }

    /// Checks a batch and claims the next version of each event's stream, all or nothing: on a
    /// problem the index is left as it was and the batch alone is refused. Consecutive events
    /// of one stream (an aggregate's events usually come together) cost one hash lookup per run.
    private func claimVersions(_ events: [NewEvent], in index: inout [StreamKey: UInt64], into versions: inout [UInt64]) -> LogError? {
        if events.isEmpty { return LogError(.invalidArgument, "an append needs at least one event") }
        versions.removeAll(keepingCapacity: true)
        var claimed: [(stream: StreamKey, count: UInt64)] = []
        func undo() {
            for run in claimed.reversed() {
                let v = index[run.stream, default: run.count] - run.count
                index[run.stream] = v == 0 ? nil : v
            }
        }
        return events.withUnsafeBufferPointer { buffer -> LogError? in
            var i = 0
            while i < buffer.count {
                let events = buffer.baseAddress!
                let stream = events[i].stream
                var j = i + 1
                while j < buffer.count && events[j].stream == stream { j += 1 }
                for k in i..<j {
                    if let problem = RecordFormat.validate(buffer.baseAddress! + k) {
                        undo()
                        return LogError(.invalidArgument, "\(problem) (stream '\(stream)')")
                    }
                }
                let run = UInt64(j - i)
                var after: UInt64 = 0
                let key = StreamKey(stream)
                index[key, default: 0].add(run, into: &after)
                claimed.append((key, run))
                let before = after - run
                for k in i..<j {
                    let current = before + UInt64(k - i)
                    let ok: Bool
                    switch buffer.baseAddress![k].expectedVersion {
                    case .any: ok = true
                    case .noStream: ok = current == 0
                    case .exact(let v): ok = current == v
                    }
                    if !ok {
                        undo()
                        let actual = current == 0 ? "does not exist" : "is at version \(current)"
                        return LogError(
                            .versionConflict,
                            "expected \(buffer[k].expectedVersion) of stream '\(stream)', but it \(actual); nothing was appended")
                    }
                    versions.append(current + 1)
                }
                i = j
            }
            return nil
        }
    }

    /// Frames the buffer as one commit, writes it, makes it durable, publishes it to readers and
    /// to followers in other processes, then acknowledges. Nothing is visible before the sync.
    private func flush(_ w: inout WriterState, _ inFlight: inout [(PendingAppend, AppendResult)]) throws {
        let buffer = w.buffer
        guard !buffer.isEmpty else { return }
        let path = segmentPath(w.segmentFirst)
        let (first, last) = buffer.finish(offset: w.segmentSize)
        try io.pwriteAll(w.fd, buffer.bytes, offset: w.segmentSize, path: path)
        if options.durability == .full { try io.fdatasync(w.fd, path: path) }
        w.segmentSize += Int64(buffer.count)
        w.lastKind = .events
        // The commit's own memory becomes the tail's chunk: no copy.
        let chunk = buffer.takeChunk(firstPosition: first)
        let end = TailEnd(segment: w.segmentFirst, offset: w.segmentSize, lastPosition: last)
        publish(chunk, tailEnd: end)
        headPublisher?.publish(HeadFile.Value(segment: end.segment, offset: end.offset, lastPosition: end.lastPosition))
        for (p, r) in inFlight { p.completion(.success(r)) }
        inFlight.removeAll()
    }

    /// Starts a new segment whose first position is `first`. The new segment is created (and
    /// its name made durable) before the old one is sealed, so a seal always means "the next
    /// segment exists": a sealed last segment is then a deleted successor, never a crash.
    private func roll(_ w: inout WriterState, first: UInt64) throws {
        let old = segmentPath(w.segmentFirst)
        // The old segment's bytes must be durable before a successor vouches for them.
        if options.durability == .relaxed { try io.fdatasync(w.fd, path: old) }
        try Recovery.createSegment(directory: directory, first: first, io: io)
        let seal = RecordFormat.markCommit(.seal, offset: w.segmentSize, head: first - 1)
        try Recovery.writeCommit(seal, fd: w.fd, at: w.segmentSize, path: old, io: io)
        w.segmentSize += Int64(seal.count)
        let fd = try io.open(segmentPath(first), O_RDWR)
        io.close(w.fd)
        w.fd = fd
        w.segmentFirst = first
        w.segmentSize = Int64(RecordFormat.headerSize)
        w.lastKind = nil
        shared.withLock { $0.segments.append(first) }
    }

    /// A write failed: cut the file back to its last durable size, and make the cut durable, so
    /// no partial commit stays on disk; refuse everything in flight, and refuse all appends
    /// until `recoverFromFailure` has checked the tail again from the file, or the log is
    /// reopened (the state of the page cache after a failed fdatasync is unknowable, so
    /// guessing is worse). Followers never saw the bytes: the durable head they read was not
    /// moved.
    private func fail(_ w: inout WriterState, _ error: LogError, inFlight: [(PendingAppend, AppendResult)], rest: [PendingAppend]) {
        let path = segmentPath(w.segmentFirst)
        if (try? io.ftruncate(w.fd, w.segmentSize, path: path)) != nil {
            try? io.fsync(w.fd, path: path)
        }
        w.failure = error
        w.streamVersions = nil
        w.buffer.removeAll()
        for (p, _) in inFlight { p.completion(.failure(error)) }
        for p in rest { p.completion(.failure(LogError(.writerFailed, "not appended: an earlier write in the same commit failed (\(error.message))", file: error.file))) }
    }

    /// Builds the stream-version index by reading the whole log once, on the first append.
    /// Opening stays independent of the log's length; the first append of a writer pays this.
    func loadStreamVersions() throws -> [StreamKey: UInt64] {
        // Start from the snapshot a clean close left, when it belongs to this log.
        var versions: [StreamKey: UInt64] = [:]
        var from: UInt64 = 1
        if let snapshot = StreamIndexFile.read(directory: directory, io: io), snapshot.position <= head,
           snapshot.position == 0 || (try? recordChecksum(at: snapshot.position)) == snapshot.recordChecksum {
            versions = snapshot.versions
            from = snapshot.position + 1
        } else {
            // Room for the streams seen so far and as many again, so the table is not rehashed
            // again and again as a fresh log grows.
            versions.reserveCapacity(Int(min(head, 1 << 24)) + 65536)
        }
        streamIndexRecordsRead.store(head >= from ? head - from + 1 : 0, ordering: .relaxed)
        do {
            try read(from: from, through: head) { record in
                versions[StreamKey(record.stream)] = record.streamVersion
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

final class ResultsBox: @unchecked Sendable {
    // @unchecked: each slot is written once, before a semaphore signal, and all are read only
    // after waiting for every signal.
    private(set) var values: [Result<AppendResult, LogError>]
    init(count: Int) { values = Array(repeating: .failure(LogError(.closed, "not committed")), count: count) }
    func set(_ i: Int, _ r: Result<AppendResult, LogError>) { values[i] = r }
}

extension UInt64 {
    /// Adds `n` and reports the result: lets a dictionary's in-place accessor bump a version
    /// with a single hash lookup.
    @inline(__always)
    mutating func add(_ n: UInt64, into result: inout UInt64) {
        self += n
        result = self
    }
}
