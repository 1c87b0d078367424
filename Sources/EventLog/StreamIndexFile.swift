#if canImport(Glibc)
import Glibc
#endif

/// `streams.idx`: the writer's stream-version index as of a position, saved when a writer
/// closes cleanly, so that the next writer's first append reads only the events after that
/// position instead of the whole log.
///
/// It is a cache, never a source of truth: it is used only if its checksum holds, its position
/// is at or below the head, and the record at that position in *this* log is the one it was
/// saved against (its CRC-32C); otherwise the index is rebuilt from the log as if it were absent.
/// After a crash the file may be older than the log, which is fine: the newer events are read.
///
/// Layout (little-endian): magic `PRISMIDX`, format version (4), reserved (4), position (8),
/// checksum of the whole record at that position (4), reserved (4), entry count (8); then per
/// stream its name's length (2), the name (UTF-8) and its version (8); then a CRC-32C of all
/// that precedes it (4).
enum StreamIndexFile {
    static let name = "streams.idx"
    static let magic: [UInt8] = Array("PRISMIDX".utf8)

    struct Snapshot {
        var position: UInt64
        var recordChecksum: UInt32
        var versions: [StreamKey: UInt64]
    }

    /// Writes the snapshot atomically (temporary file, fsync, rename). Failure only costs the
    /// next writer a full read, so it is reported to the caller, not fatal.
    static func write(_ snapshot: Snapshot, directory: String, io: FileIO) throws {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(48 + snapshot.versions.count * 24)
        bytes += magic
        append(&bytes, UInt32(1))
        append(&bytes, UInt32(0))
        append(&bytes, snapshot.position)
        append(&bytes, snapshot.recordChecksum)
        append(&bytes, UInt32(0))
        append(&bytes, UInt64(snapshot.versions.count))
        for (key, version) in snapshot.versions {
            append(&bytes, UInt16(key.name.utf8.count))
            bytes += key.name.utf8
            append(&bytes, version)
        }
        append(&bytes, CRC32C.checksum(bytes))
        try io.writeAtomically(bytes, to: directory + "/" + name, directory: directory)
    }

    /// Reads a snapshot whose framing and checksum hold; nil for anything else.
    static func read(directory: String, io: FileIO) -> Snapshot? {
        let path = directory + "/" + name
        guard let fd = try? io.open(path, O_RDONLY) else { return nil }
        defer { io.close(fd) }
        guard let size = try? io.fileSize(fd, path: path), size >= 44, size < 1 << 32 else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        guard (try? bytes.withUnsafeMutableBytes({ try io.pread(fd, $0, offset: 0, path: path) })) == Int(size) else { return nil }
        return bytes.withUnsafeBytes { raw -> Snapshot? in
            let body = raw.count - 4
            guard Array(raw[0..<8]) == magic,
                  raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian == 1,
                  raw.loadUnaligned(fromByteOffset: body, as: UInt32.self).littleEndian
                    == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<body]))
            else { return nil }
            let position = raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian
            let checksum = raw.loadUnaligned(fromByteOffset: 24, as: UInt32.self).littleEndian
            let count = raw.loadUnaligned(fromByteOffset: 32, as: UInt64.self).littleEndian
            var versions: [StreamKey: UInt64] = [:]
            versions.reserveCapacity(Int(min(count, 1 << 24)) + 65536)
            var at = 40
            for _ in 0..<count {
                guard at + 2 <= body else { return nil }
                let length = Int(raw.loadUnaligned(fromByteOffset: at, as: UInt16.self).littleEndian)
                guard at + 2 + length + 8 <= body else { return nil }
                let name = String(decoding: UnsafeRawBufferPointer(rebasing: raw[(at + 2)..<(at + 2 + length)]), as: UTF8.self)
                versions[StreamKey(name)] = raw.loadUnaligned(fromByteOffset: at + 2 + length, as: UInt64.self).littleEndian
                at += 2 + length + 8
            }
            guard at == body else { return nil }
            return Snapshot(position: position, recordChecksum: checksum, versions: versions)
        }
    }

    private static func append<T: FixedWidthInteger>(_ bytes: inout [UInt8], _ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }
}
