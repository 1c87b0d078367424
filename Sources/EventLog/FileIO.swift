#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// The one door through which the log reaches the file system.
///
/// Why one door: every system call's errno is read at once and EINTR is retried in one place,
/// and tests inject real-looking failures (ENOSPC half-way through a write, EIO on fdatasync)
/// here without a mock file system anywhere else. Modelled on swift-system's `Syscalls.swift`.
public struct FileIO: Sendable {
    /// Failures to inject; nil in production.
    public var faults: FaultInjector?
    /// A simulated power supply that can be cut (see ``PowerCutSimulator``); nil in production.
    public var powerCut: PowerCutSimulator?

    public init(faults: FaultInjector? = nil, powerCut: PowerCutSimulator? = nil) {
        self.faults = faults
        self.powerCut = powerCut
    }

    /// Runs `body`, retrying on EINTR, and turns -1 into a ``LogError`` naming `what` and `path`.
    @inline(__always)
    func call<T: BinaryInteger>(
        _ op: FaultInjector.Operation, _ what: String, path: String, _ body: () -> T
    ) throws -> T {
        if let powerCut, powerCut.hasCut { throw PowerCutSimulator.deadError(what, path) }
        faults?.record(op, path)
        if let faults, let injected = faults.injected(op) {
            throw LogError(.io, "\(what) failed: \(String(cString: strerror(injected)))", file: path, errno: injected)
        }
        while true {
            let r = body()
            if r >= 0 { return r }
            let e = Glibc.errno
            if e == EINTR { continue }
            throw LogError(.io, "\(what) failed: \(String(cString: strerror(e)))", file: path, errno: e)
        }
    }

    public func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o644) throws -> Int32 {
        let fd = try call(.open, "open", path: path) { Glibc.open(path, flags | O_CLOEXEC, mode) }
        powerCut?.opened(fd, path: path, truncated: flags & O_TRUNC != 0)
        return fd
    }

    public func close(_ fd: Int32) {
        powerCut?.closed(fd)
        _ = Glibc.close(fd)  // close is not retried on EINTR: on Linux the fd is gone either way.
    }

    /// Reads up to `count` bytes at `offset`; returns fewer only at end of file.
    public func pread(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, offset: Int64, path: String) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = try call(.read, "read", path: path) {
                Glibc.pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Writes all of `buffer` at `offset`, or throws. An injected partial write writes the
    /// first bytes for real before failing, as a full disk does.
    public func pwriteAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, offset: Int64, path: String) throws {
        if let powerCut {
            try powerCut.write(fd, offset: offset, count: buffer.count, path: path) {
                try writeAll(fd, buffer, offset: offset, path: path)
            }
        } else {
            try writeAll(fd, buffer, offset: offset, path: path)
        }
    }

    private func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, offset: Int64, path: String) throws {
        var done = 0
        if let faults, let (bytes, err) = faults.partialWrite(buffer.count) {
            if bytes > 0 { _ = Glibc.pwrite(fd, buffer.baseAddress!, bytes, off_t(offset)) }
            throw LogError(.io, "write failed: \(String(cString: strerror(err)))", file: path, errno: err)
        }
        while done < buffer.count {
            let n = try call(.write, "write", path: path) {
                Glibc.pwrite(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            }
            done += n
        }
    }

    public func fdatasync(_ fd: Int32, path: String) throws {
        try synced(fd, path: path) { _ = try call(.sync, "fdatasync", path: path) { Glibc.fdatasync(fd) } }
    }

    public func fsync(_ fd: Int32, path: String) throws {
        try synced(fd, path: path) { _ = try call(.sync, "fsync", path: path) { Glibc.fsync(fd) } }
    }

    private func synced(_ fd: Int32, path: String, _ body: () throws -> Void) throws {
        if let powerCut { try powerCut.sync(fd, path: path, body) } else { try body() }
    }

    public func ftruncate(_ fd: Int32, _ size: Int64, path: String) throws {
        let body = { _ = try call(.truncate, "ftruncate", path: path) { Glibc.ftruncate(fd, off_t(size)) } }
        if let powerCut { try powerCut.truncate(fd, to: size, path: path, body) } else { try body() }
    }

    public func fileSize(_ fd: Int32, path: String) throws -> Int64 {
        var st = stat()
        _ = try call(.stat, "fstat", path: path) { Glibc.fstat(fd, &st) }
        return Int64(st.st_size)
    }

    public func rename(_ from: String, _ to: String) throws {
        _ = try call(.rename, "rename to \(to)", path: from) { Glibc.rename(from, to) }
        powerCut?.renamed(from, to)
    }

    public func unlink(_ path: String) {
        if let powerCut, powerCut.hasCut { return }
        _ = Glibc.unlink(path)
    }

    // Linux's open-file-description locks (F_OFD_*, since 3.15): owned by the open file, not
    // the process, so closing another descriptor of the same file (a follower in the writer's
    // own process) does not drop them, and the kernel drops them when the writer dies, even by
    // SIGKILL. Glibc's headers hide the constants behind _GNU_SOURCE, so they are spelled here.
    private static let F_OFD_GETLK: Int32 = 36
    private static let F_OFD_SETLK: Int32 = 37

    private static func firstByte(_ type: Int32) -> flock {
        var lock = flock()
        lock.l_type = Int16(type)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = 0
        lock.l_len = 1
        return lock
    }

    /// Takes a write lock on the first byte of `fd`'s file, for as long as the file is open:
    /// what tells followers that a writer is alive.
    public func lockFirstByte(_ fd: Int32, path: String) throws {
        var lock = Self.firstByte(F_WRLCK)
        _ = try call(.open, "lock", path: path) { fcntl(fd, Self.F_OFD_SETLK, &lock) }
    }

    /// Gives the lock up explicitly. Closing the descriptor is not enough while a child that
    /// another thread is forking still shares the open file (between its fork and its exec):
    /// the lock would outlive the close, and the next writer in this process would be refused.
    public func unlockFirstByte(_ fd: Int32) {
        var lock = Self.firstByte(F_UNLCK)
        _ = fcntl(fd, Self.F_OFD_SETLK, &lock)
    }

    /// True when another open file holds a write lock on the first byte of `fd`'s file.
    public func firstByteIsLocked(_ fd: Int32, path: String) throws -> Bool {
        var lock = Self.firstByte(F_RDLCK)
        _ = try call(.stat, "test lock", path: path) { fcntl(fd, Self.F_OFD_GETLK, &lock) }
        return lock.l_type != Int16(F_UNLCK)
    }

    /// Writes a whole file so that it either exists complete or not at all: into `path.tmp`,
    /// fsync, rename over `path`, then fsync the folder so the new name survives a crash.
    public func writeAtomically(_ bytes: [UInt8], to path: String, directory: String) throws {
        let tmp = path + ".tmp"
        let fd = try open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        do {
            try bytes.withUnsafeBytes { try pwriteAll(fd, $0, offset: 0, path: tmp) }
            try fsync(fd, path: tmp)
            close(fd)
        } catch {
            close(fd)
            unlink(tmp)
            throw error
        }
        try rename(tmp, path)
        try syncDirectory(directory)
    }

    /// fsyncs a directory so that a created or renamed entry in it survives a crash.
    public func syncDirectory(_ path: String) throws {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path: path)
    }

    /// Creates `path` and its parents, each created folder fsync'd into its parent so that it
    /// survives a power cut (a log whose folder vanishes loses everything acknowledged in it).
    public func makeDirectories(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        var parent = prefix.isEmpty ? "." : prefix
        for part in path.split(separator: "/") {
            prefix += part
            if Glibc.mkdir(prefix, 0o755) == 0 {
                try syncDirectory(parent)
            } else if Glibc.errno != EEXIST {
                let e = Glibc.errno
                throw LogError(.io, "cannot create directory: \(String(cString: strerror(e)))", file: prefix, errno: e)
            }
            parent = prefix
            prefix += "/"
        }
    }

    /// The names in a directory, without `.` and `..`.
    public func listDirectory(_ path: String) throws -> [String] {
        if let powerCut, powerCut.hasCut { throw PowerCutSimulator.deadError("list", path) }
        guard let dir = opendir(path) else {
            let e = Glibc.errno
            throw LogError(.io, "cannot list directory: \(String(cString: strerror(e)))", file: path, errno: e)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}

/// Failures to inject into ``FileIO``, for tests of what the log does when the disk says no.
public final class FaultInjector: Sendable {
    public enum Operation: Sendable, Equatable { case open, read, write, sync, truncate, stat, rename }

    struct Rule {
        var operation: Operation
        /// Calls of this operation still to pass before the fault fires.
        var skip: Int
        var errno: Int32
        /// For writes: the fraction of the buffer written before the failure.
        var partialFraction: Double?
        var remaining: Int
        /// How long the call hangs before it fails, as a slow disk does: lets a test look at what
        /// others see while a doomed write or sync is still in flight.
        var delayMilliseconds: Int = 0
    }

    private let rules = Mutex<[Rule]>([])
    private let log = Mutex<[(Operation, String)]?>(nil)

    public init() {}

    /// Starts keeping a list of every call (operation and path), for tests of what is synced when.
    public func startRecording() { log.withLock { $0 = [] } }

    /// The calls made since `startRecording`, in order.
    public var recorded: [(operation: Operation, path: String)] { log.withLock { ($0 ?? []).map { ($0.0, $0.1) } } }

    func record(_ op: Operation, _ path: String) {
        log.withLock { if $0 != nil { $0!.append((op, path)) } }
    }

    /// After `skip` successful calls of `operation`, fail the next `times` with `errno`. For a
    /// write, `partialFraction` writes that share of the bytes first, as a disk filling up does.
    /// `delayMilliseconds` makes each failing call hang that long first.
    public func fail(
        _ operation: Operation, errno: Int32, after skip: Int = 0, times: Int = 1,
        partialFraction: Double? = nil, delayMilliseconds: Int = 0
    ) {
        rules.withLock {
            $0.append(Rule(
                operation: operation, skip: skip, errno: errno, partialFraction: partialFraction, remaining: times,
                delayMilliseconds: delayMilliseconds))
        }
    }

    public func clear() { rules.withLock { $0.removeAll() } }

    func injected(_ op: Operation) -> Int32? {
        let hit = rules.withLock { rules -> (Int32, Int)? in
            guard let i = rules.firstIndex(where: { $0.operation == op && $0.remaining > 0 && $0.partialFraction == nil })
            else { return nil }
            if rules[i].skip > 0 { rules[i].skip -= 1; return nil }
            rules[i].remaining -= 1
            return (rules[i].errno, rules[i].delayMilliseconds)
        }
        guard let (errno, delay) = hit else { return nil }
        if delay > 0 { usleep(UInt32(delay) * 1000) }
        return errno
    }

    func partialWrite(_ count: Int) -> (Int, Int32)? {
        rules.withLock { rules in
            guard let i = rules.firstIndex(where: { $0.operation == .write && $0.remaining > 0 && $0.partialFraction != nil })
            else { return nil }
            if rules[i].skip > 0 { rules[i].skip -= 1; return nil }
            rules[i].remaining -= 1
            return (Int(Double(count) * rules[i].partialFraction!), rules[i].errno)
        }
    }
}
