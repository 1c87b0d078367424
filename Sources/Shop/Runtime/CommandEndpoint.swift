import CQRS
import EventStore
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The writer's local command endpoint: a Unix socket `prism.sock` in the data folder, mode 0600
/// so that only its owner can use it.
///
/// The wire (version 2) carries every byte of a command id and of a command as it is, framed by
/// lengths, so that no id (`-`, an empty one, one with a tab) and no command text is changed on
/// the way:
///
///     command <ID_BYTES or -> <TEXT_BYTES>\n<ID_BYTES bytes of id><TEXT_BYTES bytes of text>
///
/// `-` means "no command id"; `0` is an empty id (refused: ids are never empty). The writer
/// answers with one line, `accepted position=P`, `rejected: REASON`, `syntax: MESSAGE` (the
/// request or the command is malformed: a usage error) or `error: MESSAGE`, once the outcome is
/// final (for an accepted command: once its events are durable), optionally followed by one
/// `note: TEXT` line (a repeated command id), and closes the connection. Every reply line has
/// its control characters escaped. A request over ``maxCommandBytes`` or with an id over
/// ``CommandId/maxBytes`` is refused before it is read, never cut and run.
///
/// A first line starting with `!` is a load-control request instead (see `control(_:system:)`).
/// `printf 'command - 14\nrestock MUG 10' | nc -U DIR/prism.sock` speaks the protocol by hand.
public final class CommandEndpoint: Sendable {
    public let path: String
    private let listener: Int32
    private let phase: Mutex<Phase>
    private let closed = Atomic<Bool>(false)
    private let active = Atomic<Int>(0)

    enum Phase {
        /// Bound, the writer still reading its log: requests are answered "starting".
        case starting
        case serving(ShopSystem)
    }

    /// The longest command text the endpoint reads. No valid command comes near it (names are
    /// at most 256 bytes); it only bounds what a client can make the writer hold.
    public static let maxCommandBytes = 65_536
    /// Connections served at once at most; beyond, a client is answered at once that the
    /// writer is busy, so a flood of clients cannot exhaust the writer's threads or descriptors.
    public static let maxConnections = 64
    /// How long a client waits for `connect` by default before saying the writer does not accept.
    public static let defaultConnectTimeout = 5.0

    public static func socketPath(dataDirectory: String) -> String { dataDirectory + "/prism.sock" }

    /// Binds the socket and serves `system` on a background thread.
    public convenience init(dataDirectory: String, system: ShopSystem, onProblem: (@Sendable (String) -> Void)? = nil) throws {
        try self.init(dataDirectory: dataDirectory, onProblem: onProblem)
        serve(system)
    }

    /// Binds the socket in the *starting* phase: until ``serve(_:)``, every command is answered
    /// that the writer is starting (not that the log is locked by another writer). The caller
    /// holds the writer lock, so a socket file left by a crashed writer is stale and is
    /// replaced. `onProblem` hears about trouble the endpoint survives (out of descriptors).
    public init(dataDirectory: String, onProblem: (@Sendable (String) -> Void)? = nil) throws {
        path = Self.socketPath(dataDirectory: dataDirectory)
        phase = Mutex(.starting)
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
        let thread = Thread { [self] in acceptLoop(onProblem: onProblem) }
        thread.name = "prism-endpoint"
        thread.start()
    }

    /// Ends the starting phase: commands go to `system` from now on.
    public func serve(_ system: ShopSystem) {
        phase.withLock { $0 = .serving(system) }
    }

    /// Stops accepting and removes the socket file.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
        unlink(path)
    }

    /// Accepts until closed. No error ends it: out of descriptors (EMFILE, ENFILE), it refuses
    /// the waiting client with a clear line through a descriptor kept in reserve for that, backs
    /// off and goes on; any other failure backs off and goes on.
    private func acceptLoop(onProblem: (@Sendable (String) -> Void)?) {
        var reserve = open("/dev/null", O_RDONLY | O_CLOEXEC)
        var backoff: useconds_t = 10_000
        var troubled = false
        while !closed.load(ordering: .acquiring) {
            let client = Self.acceptClient(listener)
            if client < 0 {
                let e = errno
                if closed.load(ordering: .acquiring) { break }
                if e == EINTR || e == ECONNABORTED { continue }
                if !troubled {
                    troubled = true
                    onProblem?("command endpoint: accept failed (\(String(cString: strerror(e)))); refusing clients and retrying until it recovers")
                }
                if e == EMFILE || e == ENFILE, reserve >= 0 {
                    // Every client waiting now hears why, rather than waiting in the backlog.
                    Glibc.close(reserve)
                    var waiting = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
                    for _ in 0..<Self.maxConnections where poll(&waiting, 1, 0) == 1 {
                        let refused = Self.acceptClient(listener)
                        guard refused >= 0 else { break }
                        Self.writeAll(refused, "error: the writer is out of file descriptors (\(String(cString: strerror(e)))); retry in a moment\n")
                        Glibc.close(refused)
                    }
                    reserve = open("/dev/null", O_RDONLY | O_CLOEXEC)
                }
                usleep(backoff)
                backoff = min(backoff * 2, 500_000)
                continue
            }
            if troubled {
                troubled = false
                onProblem?("command endpoint: accepting clients again")
            }
            backoff = 10_000
            if reserve < 0 { reserve = open("/dev/null", O_RDONLY | O_CLOEXEC) }
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            if active.add(1, ordering: .acquiringAndReleasing).newValue > Self.maxConnections {
                active.subtract(1, ordering: .acquiringAndReleasing)
                Self.writeAll(client, "error: the writer is serving \(Self.maxConnections) connections already; retry in a moment\n")
                Glibc.close(client)
                continue
            }
            // One thread per connection: reading a client is blocking I/O, and a silent
            // client must never hold a thread of the cooperative pool that the projectors
            // run on. Clients are rare (`prism send`) and answered in milliseconds.
            let worker = Thread { [self] in
                handle(client: client)
                Glibc.close(client)
                active.subtract(1, ordering: .acquiringAndReleasing)
            }
            worker.name = "prism-endpoint-client"
            worker.start()
        }
        if reserve >= 0 { Glibc.close(reserve) }
    }

    /// `accept`, the new descriptor closed on exec (Glibc's module has no `accept4`).
    private static func acceptClient(_ listener: Int32) -> Int32 {
        let fd = accept(listener, nil, nil)
        if fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return fd
    }

    private func handle(client: Int32) {
        var reader = Reader(fd: client)
        guard let header = reader.line(limit: 256) else {
            if reader.overlong { Self.writeAll(client, "syntax: malformed request: the first line is longer than 256 bytes\n") }
            return
        }
        let system: ShopSystem
        switch phase.withLock({ p -> ShopSystem? in if case .serving(let s) = p { return s }; return nil }) {
        case .some(let s): system = s
        case .none:
            Self.writeAll(client, "error: the writer (pid \(getpid())) is starting: it is reading the log and takes commands in a moment; retry shortly\n")
            return
        }
        if header.hasPrefix("!") {
            Self.writeAll(client, Self.control(String(header.dropFirst()), system: system) + "\n")
            return
        }
        let request: (id: String?, text: String)
        switch Self.readCommand(header: header, from: &reader) {
        case .success(let r): request = r
        case .failure(let refusal):
            Self.writeAll(client, CommandReply.badSyntax(refusal.description).wireLine + "\n")
            // Read what the client still sends (bounded) before closing, so that it reads
            // this refusal rather than a reset connection.
            shutdown(client, Int32(SHUT_WR))
            reader.drain(limit: 4 * Self.maxCommandBytes)
            return
        }
        // Wait on this thread for the outcome (durable, or rejected). A full writer queue is
        // answered at once (`error: the writer is busy ...`), never queued without bound.
        let answer = (try? runBlocking { await system.answer(text: request.text, commandId: request.id, busyTimeout: .zero) })
            ?? CommandAnswer(.failed("no answer"))
        var lines = answer.reply.wireLine + "\n"
        if let note = answer.note { lines += "note: \(note)\n" }
        Self.writeAll(client, lines)
    }

    /// Reads the id and the text that `header` announces.
    static func readCommand(header: String, from reader: inout Reader) -> Result<(id: String?, text: String), EndpointError> {
        let words = header.split(separator: " ", omittingEmptySubsequences: false)
        guard words.count == 3, words[0] == "command", let textBytes = Int(words[2]), textBytes >= 0,
            words[1] == "-" || Int(words[1]).map({ $0 >= 0 }) == true
        else {
            return .failure(EndpointError("malformed request: expected 'command <ID_BYTES or -> <TEXT_BYTES>' and then the bytes; got '\(escapeControlCharacters(header.prefix(80)))'"))
        }
        let idBytes = Int(words[1])
        if let idBytes, idBytes > CommandId.maxBytes {
            return .failure(EndpointError("a command id is at most \(CommandId.maxBytes) bytes of UTF-8; this one has \(idBytes)"))
        }
        if textBytes > maxCommandBytes {
            return .failure(EndpointError("the command is \(textBytes) bytes; the endpoint takes at most \(maxCommandBytes) bytes (no command needs more: names and reasons are at most \(ShopRules.textMaxBytes) bytes)"))
        }
        var id: String?
        if let idBytes {
            guard let bytes = reader.bytes(idBytes) else { return .failure(EndpointError("the request ended inside the command id")) }
            guard let text = String(validating: bytes, as: UTF8.self) else { return .failure(EndpointError("the command id is not valid UTF-8")) }
            id = text
        }
        guard let bytes = reader.bytes(textBytes) else { return .failure(EndpointError("the request ended inside the command")) }
        guard let text = String(validating: bytes, as: UTF8.self) else { return .failure(EndpointError("the command is not valid UTF-8")) }
        return .success((id, text))
    }

    /// The request that carries `text` and `commandId` exactly.
    static func request(_ text: String, commandId: String?) -> [UInt8] {
        let id = commandId.map { Array($0.utf8) }
        let body = Array(text.utf8)
        return Array("command \(id.map { "\($0.count)" } ?? "-") \(body.count)\n".utf8) + (id ?? []) + body
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
            guard let rate = Double(words[1]), rate >= 0 else { return "error: bad rate \(escapeControlCharacters(words[1]))" }
            load.setRate(rate)
        case "status" where words.count == 1: break
        default: return "error: unknown control request !\(escapeControlCharacters(request)): one of !pause, !resume, !rate N, !status"
        }
        return "ok load=\(load.isPaused ? "paused" : "live") rate=\(Int(load.rate)) head=\(system.store.head)"
    }

    /// Sends a load-control request (`pause`, `resume`, `rate N`, `status`; see `control`) to the
    /// writer serving `dataDirectory` and returns its answer line, or nil when no writer listens.
    public static func control(_ request: String, dataDirectory: String, timeoutSeconds: Double = 30) throws -> String? {
        try exchange(
            Array(("!" + request + "\n").utf8), dataDirectory: dataDirectory,
            connectTimeoutSeconds: min(timeoutSeconds, defaultConnectTimeout), timeoutSeconds: timeoutSeconds)?.first
    }

    /// Sends one command to the writer serving `dataDirectory`. Returns nil when no writer is
    /// listening there (no socket, or a stale one), so the caller can open the log itself.
    public static func send(_ text: String, commandId: String?, dataDirectory: String) throws -> CommandReply? {
        try answer(text, commandId: commandId, dataDirectory: dataDirectory)?.reply
    }

    /// As ``send(_:commandId:dataDirectory:)``, with the writer's note (a repeated command id).
    public static func answer(
        _ text: String, commandId: String?, dataDirectory: String,
        connectTimeoutSeconds: Double = defaultConnectTimeout, timeoutSeconds: Double = 30
    ) throws -> CommandAnswer? {
        guard let lines = try exchange(
            request(text, commandId: commandId), dataDirectory: dataDirectory,
            connectTimeoutSeconds: connectTimeoutSeconds, timeoutSeconds: timeoutSeconds)
        else { return nil }
        let note = lines.dropFirst().first { $0.hasPrefix("note: ") }.map { String($0.dropFirst(6)) }
        return CommandAnswer(CommandReply(line: lines[0]), note: note)
    }

    /// One request out, the answer lines back (at least one); nil when no writer listens.
    private static func exchange(
        _ request: [UInt8], dataDirectory: String, connectTimeoutSeconds: Double = defaultConnectTimeout,
        timeoutSeconds: Double = 30
    ) throws -> [String]? {
        let path = socketPath(dataDirectory: dataDirectory)
        guard path.utf8.count < 100, access(path, F_OK) == 0 else { return nil }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw EndpointError("socket: \(String(cString: strerror(errno)))") }
        defer { Glibc.close(fd) }
        // On a Unix socket, `connect` waits for room in the writer's backlog for as long as the
        // send timeout allows: a writer that stopped accepting must not hang `prism send`.
        var connectTimeout = timeval(connectTimeoutSeconds)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &connectTimeout, socklen_t(MemoryLayout<timeval>.size))
        var address = address(path)
        var connected: Int32
        repeat {
            connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        } while connected != 0 && errno == EINTR
        if connected != 0 {
            let e = errno
            if e == ECONNREFUSED || e == ENOENT { return nil }
            if e == EAGAIN || e == ETIMEDOUT {
                throw EndpointError("the writer at \(path) accepted no connection within \(format(connectTimeoutSeconds)) s (stopped or overloaded); check the process that runs `prism serve`")
            }
            throw EndpointError("cannot reach the writer at \(path): \(String(cString: strerror(e)))")
        }
        // A writer that cannot commit (a stalled disk) must not hang `prism send` forever.
        var timeout = timeval(timeoutSeconds)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        // A writer that refuses the request may close before reading all of it: the write then
        // fails (EPIPE; never SIGPIPE, thanks to MSG_NOSIGNAL) and its refusal is still there
        // to read.
        let sent = writeAll(fd, request)
        var reader = Reader(fd: fd)
        var lines: [String] = []
        while lines.count < 4, let line = reader.line(limit: 65_536) { lines.append(line) }
        guard !lines.isEmpty else {
            if !sent {
                throw EndpointError("the writer at \(path) closed the connection before it took the whole request, and said nothing")
            }
            throw EndpointError("the writer at \(path) gave no answer (closed, or none within \(format(timeoutSeconds)) s)")
        }
        return lines
    }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? "\(Int(seconds))" : "\(seconds)"
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

    @discardableResult
    static func writeAll(_ fd: Int32, _ text: String) -> Bool { writeAll(fd, Array(text.utf8)) }

    /// Writes every byte; false when the peer is gone or the write timed out.
    @discardableResult
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            done += n
        }
        return true
    }

    /// Buffered reads from a socket: lines for headers and replies, exact counts for bodies.
    struct Reader {
        let fd: Int32
        private var buffer: [UInt8] = []
        private var start = 0
        private var ended = false
        /// Set when `line` gave up on a line longer than its limit.
        private(set) var overlong = false

        init(fd: Int32) { self.fd = fd }

        private mutating func fill() -> Bool {
            if ended { return false }
            if start > 0 { buffer.removeFirst(start); start = 0 }
            var chunk = [UInt8](repeating: 0, count: 16_384)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { ended = true; return false }
                buffer += chunk[..<n]
                return true
            }
        }

        /// The next line without its `\n` (a last line may lack one); nil at the end, or when
        /// the line is longer than `limit` bytes.
        mutating func line(limit: Int) -> String? {
            while true {
                if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                    guard newline - start <= limit else { overlong = true; return nil }
                    let text = String(decoding: buffer[start..<newline], as: UTF8.self)
                    start = newline + 1
                    return text
                }
                if buffer.count - start > limit { overlong = true; return nil }
                if !fill() {
                    guard buffer.count > start else { return nil }
                    let text = String(decoding: buffer[start...], as: UTF8.self)
                    start = buffer.count
                    return text
                }
            }
        }

        /// Exactly `count` bytes; nil when the connection ends first.
        mutating func bytes(_ count: Int) -> [UInt8]? {
            while buffer.count - start < count {
                if !fill() { return nil }
            }
            let out = Array(buffer[start..<(start + count)])
            start += count
            return out
        }

        /// Reads and drops up to `limit` bytes, until the peer stops sending (waiting at most
        /// a second for each read).
        mutating func drain(limit: Int) {
            var timeout = timeval(tv_sec: 1, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var total = buffer.count - start
            buffer = []
            start = 0
            while total < limit, fill() {
                total += buffer.count
                buffer = []
            }
        }
    }
}

extension timeval {
    init(_ seconds: Double) {
        let whole = seconds.rounded(.down)
        self.init(tv_sec: Int(whole), tv_usec: Int((seconds - whole) * 1e6))
    }
}

public struct EndpointError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}
