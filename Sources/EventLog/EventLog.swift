#if canImport(Glibc)
import Glibc
#endif
import DequeModule
import Dispatch
import Foundation
import Synchronization

/// What opening the log found and did.
public struct OpenReport: Sendable, Equatable {
    public struct Truncation: Sendable, Equatable {
        public var file: String
        public var offset: Int64
        public var bytes: Int64
        /// The position the cut record or batch would have had.
        public var position: UInt64
        public var reason: String
    }
    public var segments: Int
    public var head: UInt64
    /// Set when a torn tail or an unfinished batch was cut off.
    public var truncation: Truncation?
}

public struct LogOptions: Sendable {
    /// Segment files are capped at this size (a single oversized batch may exceed it).
    public var segmentBytes: Int64 = 64 << 20
    /// Budget of the in-memory tail; older chunks are dropped and read from disk again.
    public var tailBudgetBytes: Int = 64 << 20
    public var durability: Durability = .full
    /// Wall clock in ns since the epoch, injectable for tests.
    public var clock: @Sendable () -> Int64 = {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
    /// How often a read-only follower looks for new commits while someone waits for them.
    public var followIntervalMilliseconds: Int = 5
    public var io = FileIO()

    public init() {}
}

/// The append-only event log: a folder of checksummed segment files, one writer process with
/// a group-committing writer thread, any number of readers and live subscribers, in this process
/// or in others (read-only).
///
/// Threads: appends are queued and committed by whichever thread holds commit leadership (a
/// blocking appender, an append session, or the log's committer thread for callback appends);
/// reads run on the caller's thread; subscriptions have feeder threads of their own. Shared state sits behind one `Mutex`, held
/// only to copy references or numbers, never across I/O.
public final class EventLog: @unchecked Sendable {
    // @unchecked: the mutable writer state (`writer`) is touched only by the thread that holds
    // commit leadership (`AppendQueue.leaderActive`, taken and given up under the queue's
    // Mutex: an appending thread, the committer thread, or an append session), or by `open`
    // before any other thread exists. Everything else is a `let`, a `Mutex` or an `Atomic`.

    public let directory: String
    public let options: LogOptions
    public let isReadOnly: Bool
    public let report: OpenReport

    let io: FileIO
    let shared: Mutex<Shared>
    let headValue: Atomic<UInt64>
    private let lock: DirectoryLock?
    /// The writer's durable head, published for followers in other processes.
    let headPublisher: HeadPublisher?
    var writer: WriterState?
    let queue = Mutex<AppendQueue>(AppendQueue())
    let workAvailable = DispatchSemaphore(value: 0)
    let committerDone = DispatchSemaphore(value: 0)
    let followerStop = Atomic<Bool>(false)
    /// Broadcast whenever the head moves or the log closes, for threads that block on the head
    /// (subscription feeders); async waiters are in `Shared.waiters`.
    let headChanged = NSCondition()
    /// Where completions of callback appends run: off the committing thread, in order.
    let completionQueue = DispatchQueue(label: "prism-log-completions")
    let streamIndexRecordsRead = Atomic<UInt64>(0)
    var followerStopped: Bool { followerStop.load(ordering: .acquiring) }

    public var head: UInt64 { headValue.load(ordering: .acquiring) }
    public var durability: Durability { options.durability }

    /// Opens (creating if needed) the log in `directory` for writing. Takes the writer lock,
    /// recovers a torn tail (see ``report``) and starts the committer thread.
    public static func open(directory: String, options: LogOptions = LogOptions()) throws -> EventLog {
        try EventLog(directory: directory, options: options, readOnly: false)
    }

    /// Opens an existing log for reading while another process may be writing it. Nothing on
    /// disk is changed; a torn tail is simply not read.
    public static func openReadOnly(directory: String, options: LogOptions = LogOptions()) throws -> EventLog {
        try EventLog(directory: directory, options: options, readOnly: true)
    }

    private init(directory: String, options: LogOptions, readOnly: Bool) throws {
        self.directory = directory
        self.options = options
        self.isReadOnly = readOnly
        self.io = options.io
        if readOnly {
            let names = try io.listDirectory(directory)
            if !names.contains(where: { RecordFormat.segmentFirstPosition($0) != nil || RecordFormat.looksLikeSegment($0) }) {
                throw LogError(.io, "no event log here (no segment files)", file: directory)
            }
            lock = nil
        } else {
            try io.makeDirectories(directory)
            lock = try DirectoryLock(directory: directory, io: options.io)
        }
        var publisher: HeadPublisher?
        do {
            let recovered: Recovery.Opened
            if readOnly {
                recovered = try Self.openFollowing(directory: directory, io: options.io)
                io.close(recovered.fd)
            } else {
                recovered = try Recovery.openTail(directory: directory, io: options.io, repair: true)
                publisher = try HeadPublisher(directory: directory, io: options.io)
                publisher!.publish(HeadFile.Value(
                    segment: recovered.tailEnd.segment, offset: recovered.tailEnd.offset, lastPosition: recovered.tailEnd.lastPosition))
                writer = WriterState(
                    fd: recovered.fd, segmentFirst: recovered.segments.last!, segmentSize: recovered.tailEnd.offset,
                    lastKind: recovered.lastKind)
            }
            self.report = recovered.report
            self.shared = Mutex(Shared(segments: recovered.segments, tailEnd: recovered.tailEnd))
            self.headValue = Atomic(recovered.report.head)
            self.headPublisher = publisher
        } catch {
            if let writer { io.close(writer.fd) }
            publisher?.close()
            lock?.release()
            throw error
        }
        if readOnly {
            startFollower()
        } else {
            startCommitter()
        }
    }

    /// Stops the committer (after committing what is queued) or the follower, closes files and
    /// releases the writer lock. Appends after `close` fail with `.closed`.
    public func close() {
        let wasOpen = shared.withLock { s -> Bool in
            defer { s.closed = true }
            return !s.closed
        }
        guard wasOpen else { return }
        if isReadOnly {
            followerStop.store(true, ordering: .releasing)
            committerDone.wait()
        } else {
            queue.withLock { $0.closing = true }
            workAvailable.signal()
            committerDone.wait()
            if var writer {
                markCleanClose(&writer)
                saveStreamIndex(writer)
                io.close(writer.fd)
            }
            headPublisher?.close()
            lock?.release()
        }
        let waiters = shared.withLock { s -> [CheckedContinuation<Void, Never>] in
            defer { s.waiters.removeAll() }
            return s.waiters.map(\.continuation)
        }
        for w in waiters { w.resume() }
        headChanged.lock()
        headChanged.broadcast()
        headChanged.unlock()
    }

    /// A log nobody closed: release the files and the lock, and let the thread go. No waiting
    /// here, as the last reference may be dropped on the committer thread itself; that thread
    /// finds its weak reference gone and ends.
    deinit {
        guard !shared.withLock({ $0.closed }) else { return }
        if isReadOnly {
            followerStop.store(true, ordering: .releasing)
        } else {
            queue.withLock { $0.closing = true }
            workAvailable.signal()
            if let writer { io.close(writer.fd) }
            headPublisher?.close()
            lock?.release()
        }
    }

    /// Opens a log read-only, reading no further than a live writer's published durable head.
    /// Checked again afterwards: a writer that started during the scan may have written
    /// bytes that are not durable yet.
    static func openFollowing(directory: String, io: FileIO) throws -> Recovery.Opened {
        while true {
            let limit = HeadFile.followerLimit(directory: directory, io: io)
            let opened = try Recovery.openTail(directory: directory, io: io, repair: false, limit: limit)
            if limit != nil || HeadFile.followerLimit(directory: directory, io: io) == nil { return opened }
            io.close(opened.fd)
        }
    }

    /// A clean close records the durable head after the last commit (a head mark, synced), so
    /// that damage to that commit is later told from a torn write.
    private func markCleanClose(_ w: inout WriterState) {
        guard w.failure == nil, w.lastKind == .events else { return }
        let path = segmentPath(w.segmentFirst)
        let at = w.segmentSize
        let mark = RecordFormat.markCommit(.mark, offset: at, head: head)
        do {
            try Recovery.writeCommit(mark, fd: w.fd, at: at, path: path, io: io)
            w.segmentSize += Int64(mark.count)
            w.lastKind = .mark
            headPublisher?.publish(HeadFile.Value(segment: w.segmentFirst, offset: w.segmentSize, lastPosition: head))
        } catch {
            // The mark only sharpens the diagnosis of later damage; the log is whole without it.
            try? io.ftruncate(w.fd, at, path: path)
        }
    }

    /// How many records the last build of the stream-version index read (all of them without a
    /// usable `streams.idx`, only the newer ones with it). For tests and benchmarks.
    public var streamIndexRecordsReadOnLastLoad: UInt64 { streamIndexRecordsRead.load(ordering: .relaxed) }

    /// Saves the stream-version index for the next writer, while this one still holds the lock.
    private func saveStreamIndex(_ writer: WriterState) {
        guard writer.failure == nil, let versions = writer.streamVersions, head > 0,
              let checksum = try? recordChecksum(at: head) else { return }
        try? StreamIndexFile.write(
            .init(position: head, recordChecksum: checksum, versions: versions), directory: directory, io: io)
    }

    /// CRC-32C of the whole record at `position`, as stored: what ties a `streams.idx` to this log.
    func recordChecksum(at position: UInt64) throws -> UInt32 {
        var checksum: UInt32?
        try read(from: position, through: position) { record in
            checksum = CRC32C.checksum(record.rawRecord)
            return false
        }
        guard let checksum else { throw LogError(.invalidArgument, "no record at position \(position)") }
        return checksum
    }

    /// The first positions of the segment files, in order.
    public var segmentFirstPositions: [UInt64] { shared.withLock { $0.segments } }

    func segmentPath(_ first: UInt64) -> String { directory + "/" + RecordFormat.segmentName(first) }
}

/// State shared between the committer, readers and subscribers.
struct Shared {
    var segments: [UInt64]
    /// End of the last whole batch in the last segment (read-only followers scan on from here).
    var tailEnd: TailEnd
    /// The in-memory tail: recent chunks, oldest first, within the byte budget. A deque, so
    /// that dropping the oldest chunk as each commit arrives is O(1) (an array moved every
    /// remaining chunk: with small commits, hundreds of thousands per commit).
    var tail = Deque<LogChunk>()
    var tailBytes = 0
    var waiters: [(id: UInt64, after: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
    var nextWaiterId: UInt64 = 0
    var closed = false
    /// Where a disk read that stopped at a position can resume: position -> the commit holding
    /// it (segment, offset of the commit, its first position).
    var resumeHints: [UInt64: (segment: UInt64, offset: Int64, first: UInt64)] = [:]
}

/// The end of the last valid commit of the last segment.
struct TailEnd: Equatable {
    var segment: UInt64
    var offset: Int64
    var lastPosition: UInt64
}

/// Mutable state of the writer, owned by whichever thread holds commit leadership.
struct WriterState {
    var fd: Int32
    var segmentFirst: UInt64
    /// Where the next commit goes: the end of the last commit of the current segment.
    var segmentSize: Int64
    /// The kind of the last commit written; a clean close adds a head mark after events.
    var lastKind: RecordFormat.CommitKind?
    /// Current version of every stream, built on the first append (see `loadStreamVersions`).
    var streamVersions: [StreamKey: UInt64]? = nil
    let buffer = EncodeBuffer()
    var failure: LogError? = nil
}
