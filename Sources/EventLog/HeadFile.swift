#if canImport(Glibc)
import Glibc
#endif

/// `head`: the live writer's durable head, for read-only followers in other processes.
///
/// Why a file of its own: a follower reads the segment files through the page cache, which holds
/// a commit as soon as it is written, before its `fdatasync` has succeeded. A commit whose sync
/// then fails is cut back, and a follower that had read it would keep phantom events. So the
/// writer rewrites this file after each successful sync (one small `pwrite`, never synced: it
/// is only for live followers) and holds a lock on its first byte while it lives; a follower
/// that finds the lock held reads no commit past the position written here. With no writer
/// alive (none running, or one that died) the lock is gone and followers read every valid
/// commit, as the next writer's recovery will keep them.
///
/// Layout (40 bytes, little-endian): magic `PRISMHED`, segment first position (8), offset of
/// the end of the last durable commit (8), its last position (8), reserved (4), CRC-32C of the
/// preceding 36 bytes (4). A torn or stale read fails the checksum and is simply retried at
/// the next look.
enum HeadFile {
    static let name = "head"
    static let size = 40
    static let magic: [UInt8] = Array("PRISMHED".utf8)

    struct Value: Equatable {
        var segment: UInt64
        var offset: Int64
        var lastPosition: UInt64
    }

    static func encode(_ value: Value) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: size)
        bytes.replaceSubrange(0..<8, with: magic)
        RecordFormat.store(&bytes, 8, value.segment)
        RecordFormat.store(&bytes, 16, UInt64(value.offset))
        RecordFormat.store(&bytes, 24, value.lastPosition)
        RecordFormat.store(&bytes, 36, bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<36])) })
        return bytes
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) -> Value? {
        guard bytes.count >= size, Array(bytes[0..<8]) == magic,
              RecordFormat.load(bytes, 36) as UInt32 == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<36]))
        else { return nil }
        return Value(
            segment: RecordFormat.load(bytes, 8), offset: Int64(RecordFormat.load(bytes, 16) as UInt64),
            lastPosition: RecordFormat.load(bytes, 24))
    }

    /// How far a follower may read: nil when no writer is alive (every valid commit), else the
    /// live writer's durable head (0 while it has not published one yet: read nothing new).
    static func followerLimit(directory: String, io: FileIO) -> UInt64? {
        let path = directory + "/" + name
        guard let fd = try? io.open(path, O_RDONLY) else { return nil }
        defer { io.close(fd) }
        guard (try? io.firstByteIsLocked(fd, path: path)) == true else { return nil }
        var bytes = [UInt8](repeating: 0, count: size)
        let n = (try? bytes.withUnsafeMutableBytes { try io.pread(fd, $0, offset: 0, path: path) }) ?? 0
        guard n == size, let value = bytes.withUnsafeBytes({ decode($0) }) else { return 0 }
        return value.lastPosition
    }
}

/// The writer's side of `head`: holds the lock and publishes each durable head.
final class HeadPublisher: @unchecked Sendable {
    // @unchecked: `publish` is called only by the committing thread (or by open and close,
    // when no commit runs); `fd` and `path` never change.
    let fd: Int32
    let path: String
    let io: FileIO

    init(directory: String, io: FileIO) throws {
        path = directory + "/" + HeadFile.name
        self.io = io
        fd = try io.open(path, O_RDWR | O_CREAT, 0o644)
        do {
            try io.lockFirstByte(fd, path: path)
        } catch {
            io.close(fd)
            throw error
        }
    }

    /// A failure here only makes followers lag, so it is not the append's failure.
    func publish(_ value: HeadFile.Value) {
        let bytes = HeadFile.encode(value)
        _ = try? bytes.withUnsafeBytes { try io.pwriteAll(fd, $0, offset: 0, path: path) }
    }

    /// Dropping the lock tells followers the writer is gone: they then read every valid commit.
    func close() {
        io.unlockFirstByte(fd)
        io.close(fd)
    }
}
