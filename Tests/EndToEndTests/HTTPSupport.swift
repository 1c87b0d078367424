import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One answer as real `curl` saw it.
struct HTTPAnswer: CustomStringConvertible {
    var status: Int
    /// Lower-cased names.
    var headers: [String: String]
    var body: String
    var method: String
    var path: String

    var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
    }

    var description: String { "\(method) \(path) -> \(status) \(headers) \(body.prefix(400))" }
}

/// Runs `curl` once: `-i` output split into status, headers and body.
func curl(
    _ method: String, _ url: String, body: String? = nil, headers: [String] = [], maxTime: Double = 20,
    streaming: Bool = false
) async throws -> HTTPAnswer {
    var args = [streaming ? "-sSN" : "-sS", "-i", "--max-time", "\(maxTime)", "-X", method, "-H", "Expect:"]
    for h in headers { args += ["-H", h] }
    var bodyFile: String?
    if let body {
        let path = NSTemporaryDirectory() + "prism-curl-" + UUID().uuidString.prefix(8)
        try Data(body.utf8).write(to: URL(fileURLWithPath: path))
        args += ["--data-binary", "@" + path]
        bodyFile = path
    }
    defer { if let bodyFile { unlink(bodyFile) } }
    args.append(url)
    let r = try await run("/usr/bin/curl", args, timeout: maxTime + 10)
    // A stream ends by curl's own time limit (exit 28): what arrived is the answer.
    guard r.code == 0 || streaming && r.code == 28 else { throw E2EError("curl \(method) \(url) failed (\(r.code)): \(r.stderr)") }
    return try parseAnswer(r.stdout, method: method, url: url)
}

func parseAnswer(_ raw: String, method: String, url: String) throws -> HTTPAnswer {
    guard let split = raw.range(of: "\r\n\r\n") else { throw E2EError("no HTTP head in: \(raw.prefix(200))") }
    let head = raw[..<split.lowerBound].components(separatedBy: "\r\n")
    let statusWords = head[0].split(separator: " ")
    guard statusWords.count >= 2, let status = Int(statusWords[1]) else { throw E2EError("bad status line \(head[0])") }
    var headers: [String: String] = [:]
    for line in head.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    let path = URL(string: url).map { $0.path + ($0.query.map { "?" + $0 } ?? "") } ?? url
    return HTTPAnswer(status: status, headers: headers, body: String(raw[split.upperBound...]), method: method, path: path)
}

/// A `prism serve --http` or `prism query --http` child on a free port, with its URL read from
/// its `http: ... listening on URL` line. Killed (SIGKILL) when dropped, unless stopped.
final class HTTPChild: @unchecked Sendable {
    let child: Child
    let url: String

    init(_ arguments: [String], kind: String = "command", environment: [String: String]? = nil) async throws {
        child = try Child([prismBinary] + arguments, environment: environment)
        let marker = "http: \(kind) service listening on "
        let deadline = Date().addingTimeInterval(60)
        while true {
            if let line = child.stderr.split(separator: "\n").first(where: { $0.contains(marker) }),
               let range = line.range(of: marker) {
                url = String(line[range.upperBound...].split(separator: " ")[0])
                return
            }
            if !child.isRunning {
                let code = try await child.wait(timeout: 5)
                throw E2EError("prism \(arguments.joined(separator: " ")) exited \(code) before listening: \(child.stderr)")
            }
            if Date() > deadline { throw E2EError("prism \(arguments.joined(separator: " ")) did not listen in 60 s: \(child.stderr)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    var port: Int { Int(url.split(separator: ":").last!)! }

    func stop() async throws -> Int32 {
        child.signal(SIGTERM)
        return try await child.wait(timeout: 30)
    }
}

/// A fresh raw TCP connection to 127.0.0.1:`port`, for clients that misbehave on purpose.
final class RawConnection: @unchecked Sendable {
    // @unchecked: one test uses a connection from one thread at a time.
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { close(fd); throw E2EError("cannot connect to port \(port)") }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    @discardableResult
    func send(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// Reads until the peer closes (or 30 s pass); blocking, so call it off the cooperative pool.
    func readToEnd() -> String {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            out += buffer[..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Runs blocking `body` on a thread of its own (never the cooperative pool) and awaits it.
func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { c in
        let thread = Thread { c.resume(returning: body()) }
        thread.start()
    }
}
