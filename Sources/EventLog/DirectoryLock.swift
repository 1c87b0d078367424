#if canImport(Glibc)
import Glibc
#endif

/// The exclusive writer lock on a data folder: `flock` on `DIR/LOCK`, which holds the pid.
///
/// Why `flock`: the kernel drops it when the process dies, even by SIGKILL, so a crashed writer
/// never leaves a stale lock behind, and the pid inside lets the refusal name the holder.
final class DirectoryLock: Sendable {
    let fd: Int32
    let path: String

    init(directory: String, io: FileIO) throws {
        path = directory + "/LOCK"
        fd = try io.open(path, O_RDWR | O_CREAT, 0o644)
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = buffer.withUnsafeMutableBytes { Glibc.pread(fd, $0.baseAddress!, 31, 0) }
            io.close(fd)
            let holder = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingNewlines : "unknown"
            if e == EWOULDBLOCK {
                throw LogError(
                    .locked, "the log is locked by another writer (pid \(holder)); stop it or use `prism watch` to read alongside",
                    file: directory)
            }
            throw LogError(.io, "cannot lock: \(String(cString: strerror(e)))", file: path, errno: e)
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = Glibc.ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { Glibc.pwrite(fd, $0.baseAddress!, $0.count, 0) }
    }

    func release() {
        _ = flock(fd, LOCK_UN)
        _ = Glibc.close(fd)
    }
}

extension String {
    var trimmingNewlines: String {
        var s = Substring(self)
        while let last = s.last, last == "\n" || last == "\r" || last == " " { s = s.dropLast() }
        return String(s)
    }
}
