import CQRS
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The writer's local command endpoint: a Unix socket `prism.sock` in the data folder, mode 0600
/// so that only its owner can use it.
///
/// The protocol is one line each way, so that `socat` or `nc -U` can speak it too:
/// the client sends `<command id or ->\t<command text>\n`; the writer answers with one line,
/// `accepted position=P`, `rejected: REASON`, `syntax: MESSAGE` or `error: MESSAGE`, once the
/// outcome is final (for an accepted command: once its events are durable). A line starting
/// with `!` is a load-control request instead (see `control(_:system:)`).
public final class CommandEndpoint: Sendable {
    public let path: String
    private let listener: Int32

    public static func socketPath(dataDirectory: String) -> String { dataDirectory + "/prism.sock" }

    /// Binds the socket and serves on a background thread. The caller holds the writer lock, so
    /// a socket file left by a crashed writer is stale and is replaced.
    public init(dataDirectory: String, system: ShopSystem) throws {
        path = Self.socketPath(dataDirectory: dataDirectory)
        guard path.utf8.count < 100 else {
            throw EndpointError("the data folder path is too long for a Unix socket (\(path.utf8.count) bytes): \(path)")
        }
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw EndpointError("socket: \(String(cString: strerror(errno)))") }
        var address = Self.address(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, chmod(path, 0o600) == 0, listen(fd, 64) == 0 else {
            let e = String(cString: strerror(errno))
            Glibc.close(fd)
            throw EndpointError("cannot listen on \(path): \(e)")
        }
        listener = fd
        let thread = Thread { [listener] in
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 {
                    if errno == EINTR { continue }
                    break  // the listener was closed
                }
                // One thread per connection: reading a client is blocking I/O, and a silent
                // client must never hold a thread of the cooperative pool that the projectors
                // run on. Clients are rare (`prism send`) and answered in milliseconds.
                var timeout = timeval(tv_sec: 10, tv_usec: 0)
                setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                let worker = Thread { Self.serve(client: client, system: system) }
                worker.name = "prism-endpoint-client"
                worker.start()
            }
        }
        thread.name = "prism-endpoint"
        thread.start()
    }

    /// Stops accepting and removes the socket file.
    public func close() {
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
        unlink(path)
    }

    private static func serve(client: Int32, system: ShopSystem) {
        defer { Glibc.close(client) }
        guard let line = readLine(client) else { return }
        if line.hasPrefix("!") {
            writeAll(client, control(String(line.dropFirst()), system: system) + "\n")
            return
        }
        let parts = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
        let reply: CommandReply
        if parts.count != 2 {
            reply = .failed("malformed request: expected '<id or ->\\t<command>'")
        } else {
            let id = parts[0] == "-" ? nil : String(parts[0])
            let text = String(parts[1])
            // Wait on this thread for the outcome (durable, or rejected).
            // A full writer queue is answered at once (`error: the writer is busy ...`), never queued
            // without bound.
            reply = (try? runBlocking { await system.submit(text: text, commandId: id, busyTimeout: .zero) }) ?? .failed("no answer")
        }
        writeAll(client, reply.wireLine + "\n")
    }

    /// Load control, for a program driving a child `prism serve` (the training walkthroughs):
    /// a request line `!pause`, `!resume`, `!rate N` or `!status` is answered with
    /// `ok load=live|paused|off rate=N head=P`, or `error: MESSAGE`.
    static func control(_ request: String, system: ShopSystem) -> String {
        let words = request.split(separator: " ").map(String.init)
        guard let load = system.load else { return "error: this writer has no load generator" }
        switch words.first {
        case "pause" where words.count == 1: load.pause()
        case "resume" where words.count == 1: load.resume()
        case "rate" where words.count == 2:
            guard let rate = Double(words[1]), rate >= 0 else { return "error: bad rate \(words[1])" }
            load.setRate(rate)
        case "status" where words.count == 1: break
        default: return "error: unknown control request !\(request): one of !pause, !resume, !rate N, !status"
        }
        return "ok load=\(load.isPaused ? "paused" : "live") rate=\(Int(load.rate)) head=\(system.store.head)"
    }

    /// Sends a load-control request (`pause`, `resume`, `rate N`, `status`; see `control`) to the
    /// writer serving `dataDirectory` and returns its answer line, or nil when no writer listens.
    public static func control(_ request: String, dataDirectory: String, timeoutSeconds: Double = 30) throws -> String? {
        try exchange("!" + request, dataDirectory: dataDirectory, timeoutSeconds: timeoutSeconds)
    }

    /// Sends one command to the writer serving `dataDirectory`. Returns nil when no writer is
    /// listening there (no socket, or a stale one), so the caller can open the log itself.
    public static func send(_ text: String, commandId: String?, dataDirectory: String) throws -> CommandReply? {
        let flat = text.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\t", with: " ")
        return try exchange("\(commandId ?? "-")\t\(flat)", dataDirectory: dataDirectory).map(CommandReply.init(line:))
    }

    /// One request line out, one answer line back; nil when no writer listens.
    private static func exchange(_ request: String, dataDirectory: String, timeoutSeconds: Double = 30) throws -> String? {
        let path = socketPath(dataDirectory: dataDirectory)
        guard path.utf8.count < 100, access(path, F_OK) == 0 else { return nil }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw EndpointError("socket: \(String(cString: strerror(errno)))") }
        defer { Glibc.close(fd) }
        var address = address(path)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if connected != 0 {
            if errno == ECONNREFUSED || errno == ENOENT { return nil }
            throw EndpointError("cannot reach the writer at \(path): \(String(cString: strerror(errno)))")
        }
        // A writer that cannot commit (a stalled disk) must not hang `prism send` forever.
        var timeout = timeval(tv_sec: Int(timeoutSeconds), tv_usec: Int((timeoutSeconds - timeoutSeconds.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        writeAll(fd, request + "\n")
        guard let line = readLine(fd) else {
            throw EndpointError("the writer at \(path) gave no answer (closed, or none within \(timeoutSeconds) s)")
        }
        return line
    }

    private static func address(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes.prefix(raw.count - 1))
            raw[min(bytes.count, raw.count - 1)] = 0
        }
        return address
    }

    private static func readLine(_ fd: Int32) -> String? {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while bytes.count < 65536 {
            let n = read(fd, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self) }
            if byte == UInt8(ascii: "\n") { break }
            bytes.append(byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func writeAll(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            done += n
        }
    }
}

public struct EndpointError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}
