import CCRC32C
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Where snapshots' bytes are kept: files in the data folder beside a file log, memory beside a
/// memory store. Storage only keeps bytes by name and position; the framing, the checksums and
/// the tie to the log are the engine's (``Snapshots``), the same for every backend.
public protocol SnapshotStorage: Sendable {
    /// What and where, for notices: `snapshots in /var/lib/prism/snapshots`.
    var description: String { get }
    /// The positions of the stored snapshots of `name`, newest first.
    func positions(of name: String) -> [UInt64]
    /// The bytes of one snapshot; throws when they cannot be read.
    func load(_ name: String, position: UInt64) throws -> [UInt8]
    /// Stores the bytes so that a reader sees either all of them or none (never a torn file).
    func save(_ name: String, position: UInt64, bytes: [UInt8]) throws
    func remove(_ name: String, position: UInt64)
}

/// Snapshots as files, `<folder>/<name>-<position>.snap`.
///
/// A save writes `<file>.<pid>.tmp`, fsyncs it, renames it over the final name and fsyncs the
/// folder: a crash at any moment leaves the old set of snapshots or the new one, plus at worst a
/// stray `.tmp` file that loading never looks at (and the next save of that process id, or
/// ``removeStrayFiles()``, deletes). The process id keeps two processes that snapshot the same
/// view at the same position (a server and a dashboard following it) off each other's file.
public final class FileSnapshotStorage: SnapshotStorage {
    public let folder: String
    /// Test hook: when set, a save stops for this long between fsyncing the temporary file and
    /// renaming it, so that a test can kill the process in that window. Read from the
    /// environment variable `PRISM_TEST_SNAPSHOT_PAUSE_SECONDS` once.
    let pauseBeforeRename: Double

    public init(folder: String) {
        self.folder = folder
        pauseBeforeRename = Double(ProcessInfo.processInfo.environment["PRISM_TEST_SNAPSHOT_PAUSE_SECONDS"] ?? "") ?? 0
    }

    public var description: String { "snapshots in \(folder)" }

    static func fileName(_ name: String, _ position: UInt64) -> String { "\(name)-\(position).snap" }

    public func positions(of name: String) -> [UInt64] {
        let prefix = name + "-"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        var out: [UInt64] = []
        for file in names where file.hasPrefix(prefix) && file.hasSuffix(".snap") {
            let digits = file.dropFirst(prefix.count).dropLast(5)
            if let p = UInt64(digits), String(p) == digits { out.append(p) }
        }
        return out.sorted(by: >)
    }

    public func load(_ name: String, position: UInt64) throws -> [UInt8] {
        let path = folder + "/" + Self.fileName(name, position)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SnapshotIOError("cannot read \(path)")
        }
        return [UInt8](data)
    }

    public func save(_ name: String, position: UInt64, bytes: [UInt8]) throws {
        try makeFolder()
        let path = folder + "/" + Self.fileName(name, position)
        let tmp = path + ".\(getpid()).tmp"
        let fd = Glibc.open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SnapshotIOError("cannot create \(tmp): \(String(cString: strerror(errno)))") }
        var failure: String?
        bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = "cannot write \(tmp): \(String(cString: strerror(errno)))"
                    return
                }
                done += n
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = "cannot fsync \(tmp): \(String(cString: strerror(errno)))" }
        Glibc.close(fd)
        if let failure {
            unlink(tmp)
            throw SnapshotIOError(failure)
        }
        if pauseBeforeRename > 0 { Thread.sleep(forTimeInterval: pauseBeforeRename) }
        guard rename(tmp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw SnapshotIOError("cannot rename \(tmp): \(reason)")
        }
        try syncFolder()
    }

    public func remove(_ name: String, position: UInt64) {
        unlink(folder + "/" + Self.fileName(name, position))
    }

    /// Deletes the `.tmp` files that a killed save left behind: those whose process is gone
    /// (or is this one), never one that a live process may still be writing.
    public func removeStrayFiles() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        for file in names where file.hasSuffix(".tmp") {
            let parts = file.split(separator: ".")
            guard parts.count >= 3, let pid = pid_t(parts[parts.count - 2]) else { continue }
            if pid == getpid() || (kill(pid, 0) != 0 && errno == ESRCH) { unlink(folder + "/" + file) }
        }
    }

    private func makeFolder() throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue { return }
        guard mkdir(folder, 0o755) == 0 || errno == EEXIST else {
            throw SnapshotIOError("cannot create \(folder): \(String(cString: strerror(errno)))")
        }
        // The new folder's entry must survive a crash too.
        let parent = (folder as NSString).deletingLastPathComponent
        try Self.sync(parent.isEmpty ? "." : parent)
    }

    private func syncFolder() throws { try Self.sync(folder) }

    private static func sync(_ path: String) throws {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SnapshotIOError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw SnapshotIOError("cannot fsync \(path): \(String(cString: strerror(errno)))") }
    }
}

/// Snapshots in this process's memory, beside a memory store: nothing outlives the process
/// (neither do the events), so they serve a rebuild's restart, time travel and tests of the
/// mechanism itself.
public final class MemorySnapshotStorage: SnapshotStorage {
    private let files = Mutex<[String: [UInt64: [UInt8]]]>([:])

    public init() {}

    public var description: String { "snapshots in memory" }

    public func positions(of name: String) -> [UInt64] {
        files.withLock { ($0[name].map { Array($0.keys) } ?? []).sorted(by: >) }
    }

    public func load(_ name: String, position: UInt64) throws -> [UInt8] {
        guard let b = files.withLock({ $0[name]?[position] }) else { throw SnapshotIOError("no snapshot \(name) at \(position)") }
        return b
    }

    public func save(_ name: String, position: UInt64, bytes: [UInt8]) throws {
        files.withLock { $0[name, default: [:]][position] = bytes }
    }

    public func remove(_ name: String, position: UInt64) {
        files.withLock { _ = $0[name]?.removeValue(forKey: position) }
    }

    /// Replaces a stored snapshot's bytes (tests damage snapshots this way).
    public func overwrite(_ name: String, position: UInt64, with bytes: [UInt8]) {
        files.withLock { $0[name, default: [:]][position] = bytes }
    }
}

public struct SnapshotIOError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}

/// CRC-32C, for snapshot files and for the fingerprint of the record a snapshot is tied to.
enum SnapshotCRC {
    static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return crc }
        return prism_crc32c_update(crc, base, bytes.count)
    }

    static func update<T: FixedWidthInteger>(_ crc: UInt32, _ value: T) -> UInt32 {
        withUnsafeBytes(of: value.littleEndian) { update(crc, $0) }
    }
}
