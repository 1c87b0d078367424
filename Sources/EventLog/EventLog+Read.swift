#if canImport(Glibc)
import Glibc
#endif
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
    /// verifying each checksum once and handing each record to `body` in place: the replay path,
    /// where allocation per chunk or a second parse would cost more than the disk.
    /// Returns the next position, and whether `body` asked to stop.
    private func scanDisk(from: UInt64, through: UInt64, _ body: (RecordView) throws -> Bool) throws -> (UInt64, Bool) {
        let (segments, hint) = shared.withLock { ($0.segments, $0.resumeHints[from]) }
        guard var segmentIndex = segments.lastIndex(where: { $0 <= from }) else {
            throw LogError(.invalidArgument, "position \(from) is before the first segment", file: directory)
        }
        var size = 1 << 20
        var buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        var position = from
        var offset = Int64(RecordFormat.headerSize)
        var expected = segments[segmentIndex]
        if let hint, hint.segment == segments[segmentIndex] {
            offset = hint.offset
            expected = from
        }
        while true {
            let segment = segments[segmentIndex]
            let path = segmentPath(segment)
            let fd = try io.open(path, O_RDONLY)
            defer { io.close(fd) }
            while true {
                let n = try io.pread(fd, buffer, offset: offset, path: path)
                if n == 0 { break }
                var consumed = 0
                var grow = 0
                while consumed < n {
                    switch RecordFormat.parse(UnsafeRawBufferPointer(rebasing: buffer[consumed..<n])) {
                    case .incomplete(let needed):
                        if n < size {
                            throw LogError(
                                .corruption, "record is cut short by the end of the file",
                                file: path, offset: offset + Int64(consumed), position: expected)
                        }
                        if consumed == 0 { grow = needed }
                        break
                    case .invalid(let reason):
                        throw LogError(.corruption, reason, file: path, offset: offset + Int64(consumed), position: expected)
                    case .record(let view, let recordSize):
                        if view.position != expected {
                            throw LogError(
                                .corruption, "position \(view.position) where \(expected) was expected",
                                file: path, offset: offset + Int64(consumed), position: expected)
                        }
                        expected += 1
                        consumed += recordSize
                        if view.position >= position {
                            position = view.position + 1
                            let more = try body(view)
                            if !more || view.position >= through {
                                remember(resume: position, segment: segment, offset: offset + Int64(consumed))
                                return (position, !more)
                            }
                        }
                        continue
                    }
                    break
                }
                if grow > 0 {
                    buffer.deallocate()
                    size = grow
                    buffer = .allocate(byteCount: size, alignment: 16)
                    continue
                }
                offset += Int64(consumed)
            }
            // This segment is done; the next one must go on from the next position.
            segmentIndex += 1
            guard segmentIndex < segments.count else {
                throw LogError(
                    .corruption, "position \(position) is missing: the log ends at \(expected - 1)",
                    file: path, offset: offset, position: position)
            }
            if segments[segmentIndex] != expected {
                throw LogError(
                    .corruption, "segment starts at position \(segments[segmentIndex]) but the previous one ended at \(expected - 1)",
                    file: segmentPath(segments[segmentIndex]), offset: 0, position: expected)
            }
            offset = Int64(RecordFormat.headerSize)
        }
    }

    private func remember(resume position: UInt64, segment: UInt64, offset: Int64) {
        shared.withLock { s in
            if s.resumeHints.count > 256 { s.resumeHints.removeAll(keepingCapacity: true) }
            s.resumeHints[position] = (segment, offset)
        }
    }

    /// A chunk that starts at or before `position` and contains it; `position <= limit <= head`.
    func chunk(from position: UInt64, limit: UInt64) throws -> LogChunk {
        if let cached = shared.withLock({ Self.tailChunk(containing: position, in: $0.tail) }) {
            return cached
        }
        return try readChunkFromDisk(from: position, limit: limit)
    }

    static func tailChunk(containing position: UInt64, in tail: [LogChunk]) -> LogChunk? {
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
        var bytes: [UInt8] = []
        var offsets: [Int32] = []
        var first: UInt64 = 0
        _ = try scanDisk(from: position, through: limit) { record in
            if offsets.isEmpty { first = record.position }
            offsets.append(Int32(bytes.count))
            bytes.append(contentsOf: record.rawRecord)
            return bytes.count < 1 << 20
        }
        return LogChunk(firstPosition: first, bytes: bytes, offsets: offsets)
    }

    // MARK: Publishing and waiting

    /// Makes a committed chunk visible: adds it to the tail, moves the head, wakes waiters.
    func publish(_ chunk: LogChunk?, tailEnd: TailEnd) {
        let ready = shared.withLock { s -> [CheckedContinuation<Void, Never>] in
            if let chunk {
                s.tail.append(chunk)
                s.tailBytes += chunk.byteCount
                var drop = 0
                while s.tailBytes > options.tailBudgetBytes && drop < s.tail.count {
                    s.tailBytes -= s.tail[drop].byteCount
                    drop += 1
                }
                if drop > 0 { s.tail.removeFirst(drop) }
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

    /// For a read-only log: looks for batches the writer process has committed since the last
    /// look, including in a new segment, and moves the head. Never reads past a whole batch.
    public func refresh() {
        guard isReadOnly else { return }
        var end = shared.withLock { $0.tailEnd }
        let before = end
        while true {
            let path = segmentPath(end.segment)
            guard let fd = try? io.open(path, O_RDONLY) else { break }
            defer { io.close(fd) }
            guard var scanner = try? SegmentScanner(io: io, fd: fd, path: path),
                  let (newEnd, why) = try? Recovery.scanBatches(&scanner, segment: end.segment, from: end.offset, lastPosition: end.lastPosition)
            else { break }
            end = newEnd
            guard why == .endOfFile, newEnd.offset == scanner.fileSize else { break }
            let nextFirst = end.lastPosition + 1
            // An empty segment is its own successor's name: nothing newer exists yet.
            guard nextFirst > end.segment else { break }
            let nextPath = segmentPath(nextFirst)
            guard let nfd = try? io.open(nextPath, O_RDONLY) else { break }
            let ok = (try? SegmentScanner.readHeader(io: io, fd: nfd, path: nextPath, expectedFirst: nextFirst)) != nil
            io.close(nfd)
            guard ok else { break }
            shared.withLock { if $0.segments.last! < nextFirst { $0.segments.append(nextFirst) } }
            end = TailEnd(segment: nextFirst, offset: Int64(RecordFormat.headerSize), lastPosition: end.lastPosition)
        }
        if end != before { publish(nil, tailEnd: end) }
    }
}
