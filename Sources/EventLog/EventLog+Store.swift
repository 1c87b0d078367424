@_exported import EventStore
import Foundation

/// The file log's names for the seam's types, so the log's own code reads in its terms.
public typealias LogError = StoreError
public typealias RecordView = EventView

extension EventView {
    /// The whole record as it lies in the log's buffer, frame included: the fields are laid out
    /// contiguously from the frame to the end of the payload (see `RecordFormat`). Valid only for
    /// views the file log made.
    var rawRecord: UnsafeRawBufferPointer {
        let start = streamBytes.baseAddress! - RecordFormat.recordOverhead
        return UnsafeRawBufferPointer(start: start, count: payload.baseAddress! + payload.count - start)
    }
}

/// The file log behind the seam: everything the engine needs, in the terms of `EventStore`.
extension EventLog: EventStore {
    public var description: String { "file \(directory)" }
    public var durabilityLabel: String { isReadOnly ? "follower" : options.durability.rawValue }
    public var isClosed: Bool { shared.withLock { $0.closed } }

    public func problem(with event: NewEvent) -> String? {
        withUnsafePointer(to: event) { RecordFormat.validate($0) }
    }

    public func readBatch(from: UInt64, through: UInt64) throws -> EventBatch {
        let limit = min(through, head)
        guard from >= 1, from <= limit else {
            throw LogError(.invalidArgument, "no record at position \(from) (head \(head))", file: directory, position: from)
        }
        let chunk = try chunk(from: from, limit: limit)
        return EventBatch(storage: chunk, first: from, last: min(chunk.lastPosition, limit))
    }

    public func waitForHead(after position: UInt64, timeout: Duration) -> Bool {
        let deadline = Date().addingTimeInterval(
            Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18)
        headChanged.lock()
        defer { headChanged.unlock() }
        while head <= position && !isClosed {
            if !headChanged.wait(until: deadline) { break }
        }
        return head > position
    }

    /// After a failed write the writer refuses appends (see `fail`); this checks the tail again
    /// and takes appends once it is whole: the file is cut back to the last durable commit
    /// (again, in case that cut failed too), the tail is scanned and repaired exactly as on
    /// open (a head mark is written and synced: the first test of the disk), and the durable
    /// head found must be the acknowledged one. On a disk that is still full, that fails and the
    /// log goes on refusing, with the new error.
    public func recoverFromFailure() -> StoreError? {
        if isReadOnly { return nil }
        guard takeLeadership() else { return LogError(.closed, "the log is closed", file: directory) }
        defer { lead() }
        guard var w = writer.take() else { return LogError(.closed, "the log is closed", file: directory) }
        defer { writer = w }
        guard let failure = w.failure else { return nil }
        let path = segmentPath(w.segmentFirst)
        do {
            try io.ftruncate(w.fd, w.segmentSize, path: path)
            try io.fsync(w.fd, path: path)
            let recovered = try Recovery.openTail(directory: directory, io: io, repair: true)
            guard recovered.report.head == head else {
                io.close(recovered.fd)
                return LogError(
                    .corruption,
                    "after the failed write (\(failure.message)) the log ends at position \(recovered.report.head), but \(head) was acknowledged; refusing appends (reopen the log to see why)",
                    file: directory)
            }
            io.close(w.fd)
            w = WriterState(
                fd: recovered.fd, segmentFirst: recovered.segments.last!, segmentSize: recovered.tailEnd.offset,
                lastKind: recovered.lastKind)
            shared.withLock { s in
                s.segments = recovered.segments
                s.tailEnd = recovered.tailEnd
            }
            let end = recovered.tailEnd
            headPublisher?.publish(HeadFile.Value(segment: end.segment, offset: end.offset, lastPosition: end.lastPosition))
            return nil
        } catch {
            let e = error as? LogError ?? LogError(.io, "\(error)")
            w.failure = e
            return LogError(.writerFailed, "the log still refuses appends: \(e.message)", file: e.file, errno: e.errno)
        }
    }

    /// Waits for commit leadership (another thread commits a group meanwhile: a millisecond or
    /// so); false when the log is closing.
    func takeLeadership() -> Bool {
        while true {
            let taken = queue.withLock { q -> Bool? in
                if q.closing { return nil }
                if q.leaderActive { return false }
                q.leaderActive = true
                return true
            }
            guard let taken else { return false }
            if taken { return true }
            usleep(50)
        }
    }

    /// The append session of the file log is commit leadership: while a session holds it, no
    /// other thread commits, so the head cannot move under the session's decisions. Batches that
    /// other threads queue meanwhile are committed when the session ends.
    public func withAppendSession<R>(_ body: (any AppendSession) throws -> R) throws -> R {
        if isReadOnly { throw LogError(.invalidArgument, "the log is open read-only", file: directory) }
        guard takeLeadership() else { throw LogError(.closed, "the log is closed", file: directory) }
        // Commits what others queued meanwhile, then gives leadership up.
        defer { lead() }
        return try body(FileAppendSession(log: self))
    }
}

/// An append session on the file log; the caller holds commit leadership.
struct FileAppendSession: AppendSession {
    let log: EventLog

    var head: UInt64 { log.head }

    func streamVersion(of stream: String) throws -> UInt64 {
        // The leader owns the writer state; load the index on first use, as a commit would.
        guard var w = log.writer.take() else { throw LogError(.closed, "the log is closed", file: log.directory) }
        defer { log.writer = w }
        if w.streamVersions == nil { w.streamVersions = try log.loadStreamVersions() }
        return w.streamVersions![StreamKey(stream)] ?? 0
    }

    func append(_ batches: [AppendBatch]) -> [Result<AppendResult, StoreError>] {
        let results = ResultsBox(count: batches.count)
        let pending = batches.enumerated().map { (i, batch) in
            PendingAppend(batch) { results.set(i, $0) }
        }
        // Leader already: commit on this thread; every completion has run when commit returns.
        log.commit(pending)
        return results.values
    }
}

extension StoreOpener {
    /// File logs in the folders a layer names: how the command line (and the tests) let a
    /// walkthrough open the fresh store of each run.
    public static let fileLog = StoreOpener { directory, access in
        switch access {
        case .write(let durability):
            var options = LogOptions()
            options.durability = durability
            return try EventLog.open(directory: directory, options: options)
        case .readOnly:
            return try EventLog.openReadOnly(directory: directory)
        }
    }
}
