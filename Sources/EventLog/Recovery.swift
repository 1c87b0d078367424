#if canImport(Glibc)
import Glibc
#endif

/// Opening a log: find the segments, check that they form one unbroken run of positions, and
/// find the end of the last valid commit of the last segment, telling a torn (unacknowledged)
/// end, which a writer cuts, from damage, which nobody cuts (see `RecordFormat`).
///
/// Only the last segment is scanned commit by commit (at most one segment's size); the others
/// cost a header read and a seal read each, so opening does not grow with the log's length.
enum Recovery {
    struct Opened {
        var report: OpenReport
        var segments: [UInt64]
        var tailEnd: TailEnd
        var fd: Int32
        /// The kind of the last commit of the last segment; nil when it holds none.
        var lastKind: RecordFormat.CommitKind?
    }

    /// The segments of a log, in order. Throws for a file that looks like a segment but is not
    /// named as one, so nobody appends beside a file that might hold positions.
    static func segmentList(directory: String, io: FileIO) throws -> [UInt64] {
        let (segments, lookalikes) = try listing(directory: directory, io: io)
        if let stray = lookalikes.first {
            throw LogError(.corruption, strayMessage(stray), file: directory + "/" + stray)
        }
        return segments
    }

    static func listing(directory: String, io: FileIO) throws -> (segments: [UInt64], lookalikes: [String]) {
        let names = try io.listDirectory(directory)
        return (names.compactMap(RecordFormat.segmentFirstPosition).sorted(), names.filter(RecordFormat.looksLikeSegment).sorted())
    }

    static func strayMessage(_ name: String) -> String {
        "a file named like a segment but not spelled as one (seg-<20 digits>.log): it could alias a segment's positions; move it out of the log folder"
    }

    /// Creates a segment atomically: header into a temporary file, fsync, rename, fsync the folder.
    static func createSegment(directory: String, first: UInt64, io: FileIO) throws {
        let path = directory + "/" + RecordFormat.segmentName(first)
        try io.writeAtomically(RecordFormat.header(firstPosition: first), to: path, directory: directory)
    }

    /// Opens the log's tail. `repair` (a writer) cuts a torn end, finishes an interrupted roll
    /// and records the durable head with a head mark. `limit` (a follower of a live writer)
    /// stops at the writer's published durable head instead of at the last valid commit.
    static func openTail(directory: String, io: FileIO, repair: Bool, limit: UInt64? = nil) throws -> Opened {
        if repair {
            for name in try io.listDirectory(directory) where name.hasPrefix("seg-") && name.hasSuffix(".tmp") {
                io.unlink(directory + "/" + name)
            }
        }
        // A reader racing a writer's roll can list the folder between the new segment's
        // creation and its predecessor's seal; listing again settles it.
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try openTailOnce(directory: directory, io: io, repair: repair, limit: limit)
            } catch let retry as ListingChanged where attempt < 5 {
                _ = retry
                continue
            } catch let changed as ListingChanged {
                throw changed.error
            }
        }
    }

    /// The folder changed under a reader: what would otherwise be reported.
    struct ListingChanged: Error { var error: LogError }

    private static func openTailOnce(directory: String, io: FileIO, repair: Bool, limit: UInt64?) throws -> Opened {
        var segments = try segmentList(directory: directory, io: io)
        if segments.isEmpty {
            guard repair else { throw LogError(.io, "no event log here (no segment files)", file: directory) }
            // A new log, unless a writer has published a head here before: then every segment
            // is gone, and starting again at position 1 would reuse acknowledged positions.
            if let gone = publishedHead(directory: directory, io: io), gone > 0 {
                throw LogError(
                    .corruption,
                    "segment file is missing: no segment files are left, but a writer recorded a durable head of position \(gone) here; refusing to start a new log over it (remove \(HeadFile.name) too to start afresh)",
                    file: directory + "/" + RecordFormat.segmentName(1), position: 1)
            }
            try createSegment(directory: directory, first: 1, io: io)
            segments = [1]
        }
        func path(_ first: UInt64) -> String { directory + "/" + RecordFormat.segmentName(first) }
        if segments[0] != 1 {
            throw LogError(
                .corruption,
                "segment file is missing: the log starts at position 1, but the first segment found, \(RecordFormat.segmentName(segments[0])), starts at \(segments[0])",
                file: path(1), position: 1)
        }
        // Every segment but the last: its header, and the seal that ends it.
        var unsealed: UInt64?
        for (i, first) in segments.dropLast().enumerated() {
            let fd = try io.open(path(first), O_RDONLY)
            defer { io.close(fd) }
            _ = try SegmentScanner.readHeader(io: io, fd: fd, path: path(first), expectedFirst: first)
            let next = segments[i + 1]
            guard let seal = try SegmentScanner(io: io, fd: fd, path: path(first), readSize: 64).readSeal() else {
                // Only a roll interrupted between the new segment's creation and this seal can
                // leave that, and only just before the last segment; checked below.
                if i == segments.count - 2 { unsealed = first; continue }
                throw try unsealedDamage(directory: directory, io: io, first: first, next: next)
            }
            try checkChain(directory: directory, sealed: first, seal: seal, next: next)
        }

        let last = segments.last!
        let fd = try io.open(path(last), repair ? O_RDWR : O_RDONLY)
        do {
            _ = try SegmentScanner.readHeader(io: io, fd: fd, path: path(last), expectedFirst: last)
            var scanner = try SegmentScanner(io: io, fd: fd, path: path(last))
            var at = Int64(RecordFormat.headerSize)
            var expected = last
            var lastKind: RecordFormat.CommitKind?
            var seal: RecordFormat.CommitHeader?
            var stop: SegmentScanner.Step = .endOfFile
            scan: while true {
                if let limit, expected > limit { break }
                let step = try scanner.readCommit(at: at, expected: expected)
                switch step {
                case .commit(let h):
                    if let limit, h.kind == .events, h.last > limit { break scan }
                    if h.kind == .seal { seal = h }
                    at = h.end
                    expected = h.last + 1
                    lastKind = h.kind
                    if seal != nil { break scan }
                case .stopped:
                    preconditionFailure("no body to stop")
                case .endOfFile, .zeros, .bad:
                    stop = step
                    break scan
                }
            }

            if let seal {
                // A sealed last segment: its successor was created before the seal was written.
                let missing = seal.last + 1
                if limit != nil || !repair, (try? io.listDirectory(directory))?.contains(RecordFormat.segmentName(missing)) == true {
                    throw ListingChanged(error: LogError(.corruption, "segment list changed", file: path(missing)))
                }
                throw LogError(
                    .corruption,
                    "segment file is missing: \(RecordFormat.segmentName(last)) was sealed at position \(seal.last) after \(RecordFormat.segmentName(missing)) had been created, and that file is gone; refusing to go on after a hole",
                    file: path(missing), position: missing)
            }

            if let unsealed {
                // An interrupted roll leaves the new segment empty; anything else is damage.
                guard lastKind == nil, stop == .endOfFile || stop == .zeros else {
                    // A reader may have looked at the old segment just before the writer sealed it.
                    if !repair, try sealIsThere(directory: directory, io: io, first: unsealed) {
                        throw ListingChanged(error: LogError(.corruption, "segment list changed", file: path(unsealed)))
                    }
                    throw try unsealedDamage(directory: directory, io: io, first: unsealed, next: last)
                }
                try finishRoll(directory: directory, io: io, first: unsealed, next: last, repair: repair)
            }

            var truncation: OpenReport.Truncation?
            if let limit, expected <= limit, stop != .endOfFile {
                // The live writer published a durable head past these bytes: damage, for certain.
                let d: SegmentScanner.Damage
                if case .bad(let bad) = stop { d = bad } else {
                    d = .init(offset: at, position: expected, reason: "zeros where a commit header should be", commitOffset: at)
                }
                throw LogError(
                    .corruption, "\(d.reason), below the durable head \(limit) that the writer published: this is damage",
                    file: path(last), offset: d.offset, position: d.position)
            }
            if limit == nil, stop != .endOfFile {
                let damage: SegmentScanner.Damage
                switch stop {
                case .bad(let d): damage = d
                default: damage = .init(offset: at, position: expected, reason: "zeros where a commit header should be", commitOffset: at)
                }
                if let found = try scanner.findValidCommit(after: damage.commitOffset, minPosition: expected) {
                    throw LogError(
                        .corruption,
                        "\(damage.reason); a valid commit (positions \(found.header.first)...\(found.header.last)) follows at offset \(found.offset), so these bytes were acknowledged: this is damage, not a torn write",
                        file: path(last), offset: damage.offset, position: damage.position)
                }
                let reason = stop == .zeros ? "torn write: zeros where a commit header should be" : "torn write: \(damage.reason)"
                truncation = .init(
                    file: path(last), offset: at, bytes: scanner.fileSize - at, position: expected, reason: reason)
                if repair {
                    try io.ftruncate(fd, at, path: path(last))
                    try io.fsync(fd, path: path(last))
                }
            }
            if repair && lastKind == .events {
                // Record the durable head, so that the last commit is followed by a valid one and
                // any later damage to it is told from a tear.
                try writeCommit(RecordFormat.markCommit(.mark, offset: at, head: expected - 1), fd: fd, at: at, path: path(last), io: io)
                at += Int64(RecordFormat.commitHeaderSize)
                lastKind = .mark
            }
            let tailEnd = TailEnd(segment: last, offset: at, lastPosition: expected - 1)
            let report = OpenReport(segments: segments.count, head: expected - 1, truncation: truncation)
            return Opened(report: report, segments: segments, tailEnd: tailEnd, fd: fd, lastKind: lastKind)
        } catch {
            io.close(fd)
            throw error
        }
    }

    static func sealIsThere(directory: String, io: FileIO, first: UInt64) throws -> Bool {
        let path = directory + "/" + RecordFormat.segmentName(first)
        let fd = try io.open(path, O_RDONLY)
        defer { io.close(fd) }
        return try SegmentScanner(io: io, fd: fd, path: path, readSize: 64).readSeal() != nil
    }

    /// The last position a writer published in `head`, whether or not one is alive.
    static func publishedHead(directory: String, io: FileIO) -> UInt64? {
        let path = directory + "/" + HeadFile.name
        guard let fd = try? io.open(path, O_RDONLY) else { return nil }
        defer { io.close(fd) }
        var bytes = [UInt8](repeating: 0, count: HeadFile.size)
        guard (try? bytes.withUnsafeMutableBytes({ try io.pread(fd, $0, offset: 0, path: path) })) == HeadFile.size else { return nil }
        return bytes.withUnsafeBytes { HeadFile.decode($0) }?.lastPosition
    }

    /// Writes a mark or seal and makes it durable.
    static func writeCommit(_ bytes: [UInt8], fd: Int32, at offset: Int64, path: String, io: FileIO) throws {
        try bytes.withUnsafeBytes { try io.pwriteAll(fd, $0, offset: offset, path: path) }
        try io.fdatasync(fd, path: path)
    }

    /// A seal must lead to the next segment, position for position.
    static func checkChain(directory: String, sealed first: UInt64, seal: RecordFormat.CommitHeader, next: UInt64) throws {
        let want = seal.last + 1
        if want == next { return }
        if want < next {
            throw LogError(
                .corruption,
                "segment file is missing: \(RecordFormat.segmentName(first)) was sealed at position \(seal.last), so \(RecordFormat.segmentName(want)) must follow, but the next segment is \(RecordFormat.segmentName(next)) (positions \(want)...\(next - 1) are gone)",
                file: directory + "/" + RecordFormat.segmentName(want), position: want)
        }
        throw LogError(
            .corruption,
            "\(RecordFormat.segmentName(next)) starts at position \(next), inside \(RecordFormat.segmentName(first)), which was sealed at position \(seal.last)",
            file: directory + "/" + RecordFormat.segmentName(next), offset: 0, position: next)
    }

    /// Scans a segment that has a successor, to name its damage: it must hold valid commits up
    /// to position `next - 1`, every byte acknowledged.
    static func scanSealedRun(directory: String, io: FileIO, first: UInt64, next: UInt64)
        throws -> (end: Int64, lastPosition: UInt64, damage: SegmentScanner.Damage?, fileSize: Int64)
    {
        let path = directory + "/" + RecordFormat.segmentName(first)
        let fd = try io.open(path, O_RDONLY)
        defer { io.close(fd) }
        var scanner = try SegmentScanner(io: io, fd: fd, path: path)
        var at = Int64(RecordFormat.headerSize)
        var expected = first
        while true {
            switch try scanner.readCommit(at: at, expected: expected) {
            case .commit(let h) where h.kind != .seal:
                at = h.end
                expected = h.last + 1
            case .commit, .endOfFile, .stopped:
                return (at, expected - 1, nil, scanner.fileSize)
            case .zeros:
                return (at, expected - 1, .init(offset: at, position: expected, reason: "zeros where a commit header should be", commitOffset: at), scanner.fileSize)
            case .bad(let d):
                return (at, expected - 1, d, scanner.fileSize)
            }
        }
    }

    /// The error for a segment that has a successor but no seal, naming the first bad byte.
    static func unsealedDamage(directory: String, io: FileIO, first: UInt64, next: UInt64) throws -> LogError {
        let path = directory + "/" + RecordFormat.segmentName(first)
        let run = try scanSealedRun(directory: directory, io: io, first: first, next: next)
        if let d = run.damage {
            return LogError(
                .corruption, "\(d.reason) in a segment that has a successor (every byte of it was acknowledged): this is damage, not a torn write",
                file: path, offset: d.offset, position: d.position)
        }
        if run.lastPosition + 1 != next {
            return LogError(
                .corruption,
                "\(RecordFormat.segmentName(first)) ends at position \(run.lastPosition) without a seal, but the next segment starts at \(next): positions \(run.lastPosition + 1)...\(next - 1) are missing (was the file cut short?)",
                file: path, offset: run.end, position: run.lastPosition + 1)
        }
        return LogError(
            .corruption, "\(RecordFormat.segmentName(first)) has a successor but does not end with a seal", file: path, offset: run.end,
            position: next)
    }

    /// Finishes a roll that a crash interrupted after the new segment `next` was created: the
    /// old segment must hold valid commits up to `next - 1`, followed by nothing or by a torn
    /// seal (at most a seal's size); a writer cuts that and writes the seal.
    static func finishRoll(directory: String, io: FileIO, first: UInt64, next: UInt64, repair: Bool) throws {
        let path = directory + "/" + RecordFormat.segmentName(first)
        let run = try scanSealedRun(directory: directory, io: io, first: first, next: next)
        let rest = run.fileSize - run.end
        guard run.lastPosition + 1 == next, rest <= Int64(RecordFormat.commitHeaderSize) else {
            throw try unsealedDamage(directory: directory, io: io, first: first, next: next)
        }
        guard repair else { return }
        let fd = try io.open(path, O_RDWR)
        defer { io.close(fd) }
        if rest > 0 {
            try io.ftruncate(fd, run.end, path: path)
        }
        try writeCommit(RecordFormat.markCommit(.seal, offset: run.end, head: next - 1), fd: fd, at: run.end, path: path, io: io)
        if rest > 0 { try io.fsync(fd, path: path) }
    }

    /// Follows a live log from `end`: the commits written since, across seals into new
    /// segments, up to the position `limit` when set. Stops quietly at anything not (yet)
    /// valid; returns the new end and the segments entered.
    static func follow(directory: String, io: FileIO, from start: TailEnd, limit: UInt64?) -> (TailEnd, [UInt64]) {
        var end = start
        var entered: [UInt64] = []
        segments: while true {
            let path = directory + "/" + RecordFormat.segmentName(end.segment)
            guard let fd = try? io.open(path, O_RDONLY) else { break }
            defer { io.close(fd) }
            guard var scanner = try? SegmentScanner(io: io, fd: fd, path: path, readSize: 1 << 20) else { break }
            while true {
                if let limit, end.lastPosition >= limit { break segments }
                guard case .commit(let h)? = try? scanner.readCommit(at: end.offset, expected: end.lastPosition + 1)
                else { break segments }
                if let limit, h.kind == .events, h.last > limit { break segments }
                if h.kind == .seal {
                    let next = h.last + 1
                    let nextPath = directory + "/" + RecordFormat.segmentName(next)
                    guard let nfd = try? io.open(nextPath, O_RDONLY) else { break segments }
                    let ok = (try? SegmentScanner.readHeader(io: io, fd: nfd, path: nextPath, expectedFirst: next)) != nil
                    io.close(nfd)
                    guard ok else { break segments }
                    entered.append(next)
                    end = TailEnd(segment: next, offset: Int64(RecordFormat.headerSize), lastPosition: h.last)
                    continue segments
                }
                end = TailEnd(segment: end.segment, offset: h.end, lastPosition: h.last)
            }
        }
        return (end, entered)
    }
}
