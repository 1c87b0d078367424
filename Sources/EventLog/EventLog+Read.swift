#if canImport(Glibc)
import Glibc
#endif
import DequeModule
import Foundation

extension EventLog {
    // MARK: Reading

    /// Calls `body` for each record in `from...through`, clamped to the head, in position order,
    /// until it returns false. Recent records come from memory; older ones from disk, checksums
    /// verified. Throws ``LogError`` with file, offset and position on damage.
    public func read(from: UInt64, through: UInt64 = .max, _ body: (RecordView) throws -> Bool) throws {
        var position = max(from, 1)
        let limit = min(through, head)
        while position <= limit {
            let (cached, memoryStart) = shared.withLock { s in
                (Self.tailChunk(containing: position, in: s.tail), s.tail.first?.firstPosition ?? .max)
            }
            if let chunk = cached {
                guard try chunk.forEach(from: position, through: limit, body) else { return }
                position = min(chunk.lastPosition, limit) + 1
            } else {
                // From disk, up to where the in-memory tail takes over.
                let diskLimit = memoryStart > position ? min(limit, memoryStart - 1) : limit
                let (next, stopped) = try scanDisk(from: position, through: diskLimit, body)
                if stopped { return }
                position = next
            }
        }
    }

    /// Streams records `from...through` from the segment files through one reused buffer,
    /// verifying each record's checksum once (and each whole commit's) and handing each record
    /// to `body` in place: the replay path, where allocation per chunk or a second parse would
    /// cost more than the disk. Returns the next position, and whether `body` asked to stop.
    private func scanDisk(from: UInt64, through: UInt64, _ body: (RecordView) throws -> Bool) throws -> (UInt64, Bool) {
        let (segments, hint) = shared.withLock { ($0.segments, $0.resumeHints[from]) }
        guard var segmentIndex = segments.lastIndex(where: { $0 <= from }) else {
            throw LogError(.invalidArgument, "position \(from) is before the first segment", file: directory)
        }
        var position = from
        var offset = Int64(RecordFormat.headerSize)
        var expected = segments[segmentIndex]
        if let hint, hint.segment == segments[segmentIndex] {
            offset = hint.offset
            expected = hint.first
        }
        while true {
            let segment = segments[segmentIndex]
            let path = segmentPath(segment)
            let fd = try io.open(path, O_RDONLY)
            defer { io.close(fd) }
            var scanner = try SegmentScanner(io: io, fd: fd, path: path, readSize: 1 << 20)
            var more = true
            commits: while true {
                let commitOffset = offset, commitFirst = expected
                let step = try scanner.readCommit(at: offset, expected: expected, from: position) { view in
                    position = view.position + 1
                    more = try body(view)
                    return more && view.position < through
                }
                switch step {
                case .stopped:
                    remember(resume: position, segment: segment, offset: commitOffset, first: commitFirst)
                    return (position, !more)
                case .commit(let h) where h.kind == .seal:
                    break commits
                case .commit(let h):
                    offset = h.end
                    expected = h.last + 1
                    if h.kind == .events, h.last >= through, position > through {
                        remember(resume: position, segment: segment, offset: offset, first: expected)
                        return (position, false)
                    }
                case .bad(let d):
                    throw LogError(.corruption, d.reason, file: path, offset: d.offset, position: d.position)
                case .zeros, .endOfFile:
                    throw LogError(
                        .corruption,
                        "position \(position) is missing: \(RecordFormat.segmentName(segment)) ends at position \(expected - 1)\(segmentIndex + 1 < segments.count ? " without a seal" : "")",
                        file: path, offset: offset, position: position)
                }
            }
            // This segment is sealed; the next one must go on from the next position.
            segmentIndex += 1
            guard segmentIndex < segments.count else {
                throw LogError(
                    .corruption, "segment file is missing: \(RecordFormat.segmentName(segment)) is sealed, but \(RecordFormat.segmentName(expected)) is gone",
                    file: segmentPath(expected), position: expected)
            }
            if segments[segmentIndex] != expected {
                throw LogError(
                    .corruption, "segment starts at position \(segments[segmentIndex]) but the previous one ended at \(expected - 1)",
                    file: segmentPath(segments[segmentIndex]), offset: 0, position: expected)
            }
            offset = Int64(RecordFormat.headerSize)
        }
    }

    private func remember(resume position: UInt64, segment: UInt64, offset: Int64, first: UInt64) {
        shared.withLock { s in
            if s.resumeHints.count > 256 { s.resumeHints.removeAll(keepingCapacity: true) }
            s.resumeHints[position] = (segment, offset, first)
        }
    }

    /// A chunk that starts at or before `position` and contains it; `position <= limit <= head`.
    func chunk(from position: UInt64, limit: UInt64) throws -> LogChunk {
        if let cached = shared.withLock({ Self.tailChunk(containing: position, in: $0.tail) }) {
            return cached
        }
        return try readChunkFromDisk(from: position, limit: limit)
    }

    static func tailChunk(containing position: UInt64, in tail: Deque<LogChunk>) -> LogChunk? {
        guard let first = tail.first, let last = tail.last,
              position >= first.firstPosition, position <= last.lastPosition else { return nil }
        var lo = 0, hi = tail.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if tail[mid].firstPosition <= position { lo = mid } else { hi = mid - 1 }
        }
        return tail[lo]
    }

    /// Reads up to about a megabyte of whole records from `position` on, from the segment files,
    /// into a chunk of their own (a subscription keeps it while the scan buffer is reused).
    func readChunkFromDisk(from position: UInt64, limit: UInt64) throws -> LogChunk {
        let storage = ChunkStorage(capacity: 64 << 10)
        var count = 0
        var offsets: [Int32] = []
        var first: UInt64 = 0
        _ = try scanDisk(from: position, through: limit) { record in
            if offsets.isEmpty { first = record.position }
            offsets.append(Int32(count))
            let raw = record.rawRecord
            storage.reserve(count + raw.count, used: count)
            (storage.base + count).copyMemory(from: raw.baseAddress!, byteCount: raw.count)
            count += raw.count
            return count < 1 << 20
        }
        storage.shrink(to: count)
        return LogChunk(firstPosition: first, storage: storage, start: 0, count: count, offsets: offsets)
    }

    // MARK: Publishing and waiting

    /// Makes a committed chunk visible: adds it to the tail, moves the head, wakes waiters.
    func publish(_ chunk: LogChunk?, tailEnd: TailEnd) {
        let ready = shared.withLock { s -> [CheckedContinuation<Void, Never>] in
            if let chunk {
                s.tail.append(chunk)
                s.tailBytes += chunk.byteCount
                while s.tailBytes > options.tailBudgetBytes, let oldest = s.tail.popFirst() {
                    s.tailBytes -= oldest.byteCount
                }
            }
            s.tailEnd = tailEnd
            headValue.store(tailEnd.lastPosition, ordering: .releasing)
            var ready: [CheckedContinuation<Void, Never>] = []
            s.waiters.removeAll { w in
                if w.after < tailEnd.lastPosition { ready.append(w.continuation); return true }
                return false
            }
            return ready
        }
        for c in ready { c.resume() }
        headChanged.lock()
        headChanged.broadcast()
        headChanged.unlock()
    }

    /// Suspends until the head passes `position`, the log closes, or the task is cancelled.
    public func waitForHead(after position: UInt64) async {
        let id = shared.withLock { s -> UInt64 in s.nextWaiterId += 1; return s.nextWaiterId }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = shared.withLock { s -> Bool in
                    if s.closed || head > position || Task.isCancelled { return true }
                    s.waiters.append((id, position, c))
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            let c = shared.withLock { s -> CheckedContinuation<Void, Never>? in
                guard let i = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return s.waiters.remove(at: i).continuation
            }
            c?.resume()
        }
    }

    /// Bytes held by the in-memory tail, never above the budget.
    public var tailMemoryBytes: Int { shared.withLock { $0.tailBytes } }


    // MARK: Following another process's writes

    /// The follower thread holds the log weakly between looks, like the committer.
    func startFollower() {
        let thread = Thread { [weak self, committerDone] in
            while true {
                guard let log = self, !log.followerStopped else { break }
                log.refresh()
                let busy = log.shared.withLock { !$0.waiters.isEmpty }
                let pause = UInt32((busy ? log.options.followIntervalMilliseconds : 50) * 1000)
                _ = consume log
                usleep(pause)
            }
            committerDone.signal()
        }
        thread.name = "prism-log-follower"
        thread.start()
    }

    /// For a read-only log: looks for commits the writer process has made durable since the
    /// last look, including in a new segment, and moves the head. While a writer lives, never
    /// past the durable head it published (see `HeadFile`); never into a commit that is not
    /// whole and valid.
    public func refresh() {
        guard isReadOnly else { return }
        let start = shared.withLock { $0.tailEnd }
        var limit = HeadFile.followerLimit(directory: directory, io: io)
        var (end, entered) = Recovery.follow(directory: directory, io: io, from: start, limit: limit)
        if limit == nil, end != start, let now = HeadFile.followerLimit(directory: directory, io: io) {
            // A writer started during the look: read again, only what it has made durable.
            limit = now
            (end, entered) = Recovery.follow(directory: directory, io: io, from: start, limit: now)
        }
        guard end != start else { return }
        if !entered.isEmpty {
            shared.withLock { s in for first in entered where s.segments.last! < first { s.segments.append(first) } }
        }
        publish(nil, tailEnd: end)
    }
}
