import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import ServiceLifecycle
import Synchronization

/// Where a service listens: `HOST:PORT` (port 0: any free port, reported once bound).
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`, `:PORT` or `PORT` (host 127.0.0.1), `[::1]:PORT`.
    public static func parse(_ text: String) throws(HTTPServiceError) -> ListenAddress {
        var host = "127.0.0.1"
        var portText = Substring(text)
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw HTTPServiceError("bad address '\(text)': expected [IPV6]:PORT")
            }
            host = String(text[text.index(after: text.startIndex)..<close])
            portText = text[text.index(close, offsetBy: 2)...]
        } else if let colon = text.lastIndex(of: ":") {
            if colon != text.startIndex { host = String(text[..<colon]) }
            portText = text[text.index(after: colon)...]
        }
        guard let port = Int(portText), (0...65535).contains(port), !host.isEmpty else {
            throw HTTPServiceError("bad address '\(text)': expected HOST:PORT, e.g. 127.0.0.1:8080 (port 0: any free port)")
        }
        return ListenAddress(host: host, port: port)
    }

    /// True for an address only this machine can reach; any other needs a token.
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

public struct HTTPServiceError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The limits every Prism HTTP service applies, so that no single client can stop, hang or
/// starve it (issue 13, "Safety").
public struct HTTPLimits: Sendable {
    /// Largest request body read; a larger one is answered 413 without reading it all.
    public var maxBodyBytes = 64 * 1024
    /// Largest request head (all header fields together, and any one of them).
    public var maxHeaderBytes = 16 * 1024
    /// Open connections at most; beyond, new ones wait in the kernel's backlog.
    public var maxConnections = 512
    /// A request must arrive whole within this time of the connection opening or the previous
    /// answer being sent (slow clients, slowloris), else the connection is closed.
    public var requestTimeout: Duration = .seconds(10)
    /// An idle keep-alive connection is closed after this.
    public var idleTimeout: Duration = .seconds(60)
    public init() {}
}

/// What every request answers when the service was started with `--token`.
public struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String
    public init(token: String) { self.token = token }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let value = request.headers[.authorization], value == "Bearer \(token)" else {
            var response = JSONResponse.error(.unauthorized, "missing or wrong token: send 'Authorization: Bearer TOKEN'")
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        return try await next(request, context)
    }
}

/// Turns every error a route or the router throws (unknown route, too large a body, bad
/// parameter) into the one error shape of `docs/openapi.json`: `{"error": "..."}`, with the
/// control characters of anything the client sent escaped.
public struct ErrorShapeMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let message: String
            switch error.status {
            case .notFound: message = "no route \(request.method) \(request.uri.path)"
            case .contentTooLarge: message = "request body too large"
            case .methodNotAllowed: message = "method \(request.method) not allowed on \(request.uri.path)"
            default: message = error.body ?? error.status.reasonPhrase
            }
            var response = JSONResponse.error(error.status, message)
            for field in error.headers where field.name != .contentType && field.name != .contentLength {
                response.headers.append(field)
            }
            return response
        } catch let error as HTTPServiceError {
            return JSONResponse.error(.badRequest, error.description)
        } catch let error as any HTTPResponseError {
            // NIO's too-many-bytes (a body over the limit) and the like: the status is theirs,
            // the body ours.
            let message = error.status == .contentTooLarge ? "request body too large" : error.status.reasonPhrase
            return JSONResponse.error(error.status, message)
        }
    }
}

/// Closes a connection whose request has not arrived whole within `timeout` of the connection
/// opening or the previous answer going out: a client that trickles its head or body
/// (slowloris) cannot hold a connection for longer. Added behind Hummingbird's HTTP decoder,
/// so it sees whole request heads and ends.
final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount) { self.timeout = timeout }

    func handlerAdded(context: ChannelHandlerContext) { arm(context) }
    func handlerRemoved(context: ChannelHandlerContext) { timer?.cancel() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data) {
            timer?.cancel()
            timer = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { arm(context) }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext) {
        timer?.cancel()
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }
}

/// Runs a Hummingbird application until `stop()`: the one way Prism's HTTP services start,
/// with the limits of ``HTTPLimits`` and the port reported once bound.
public final class RunningHTTPServer: Sendable {
    /// The address actually bound (port 0 resolved).
    public let address: ListenAddress
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    /// Binds and starts serving `router`; returns once the socket is listening (or throws why not).
    public static func start(
        router: Router<BasicRequestContext>, address: ListenAddress, limits: HTTPLimits, name: String
    ) async throws -> RunningHTTPServer {
        var logger = Logger(label: name)
        logger.logLevel = .critical
        let bound = AsyncStream<Result<Int, HTTPServiceError>>.makeStream()
        let timeout = TimeAmount.nanoseconds(Int64(limits.requestTimeout.components.seconds) * 1_000_000_000
            + limits.requestTimeout.components.attoseconds / 1_000_000_000)
        let idle = TimeAmount.nanoseconds(Int64(limits.idleTimeout.components.seconds) * 1_000_000_000)
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestDeadlineHandler(timeout: timeout)],
            idleTimeout: idle,
            httpDecoderConfiguration: .init(
                maxHeaderFieldSize: limits.maxHeaderBytes, maxHeaderListSize: limits.maxHeaderBytes, maxHeaderFieldCount: 100))
        let app = Application(
            router: router,
            server: .http1(configuration: http1),
            configuration: ApplicationConfiguration(
                address: .hostname(address.host, port: address.port), serverName: "prism",
                backlog: 256, reuseAddress: true,
                availableConnectionsDelegate: MaximumAvailableConnections(limits.maxConnections)),
            onServerRunning: { channel in
                bound.continuation.yield(.success(channel.localAddress?.port ?? address.port))
            },
            logger: logger)
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], cancellationSignals: [], logger: logger)
        let task = Task {
            do {
                try await group.run()
                bound.continuation.yield(.failure(HTTPServiceError("the server stopped")))
            } catch {
                bound.continuation.yield(.failure(HTTPServiceError("cannot listen on \(address): \(error)")))
                throw error
            }
        }
        var iterator = bound.stream.makeAsyncIterator()
        switch await iterator.next() {
        case .success(let port):
            return RunningHTTPServer(address: ListenAddress(host: address.host, port: port), group: group, task: task)
        case .failure(let error): throw error
        case nil: throw HTTPServiceError("cannot listen on \(address)")
        }
    }

    private init(address: ListenAddress, group: ServiceGroup, task: Task<Void, any Error>) {
        self.address = address
        self.group = group
        self.task = task
    }

    /// Stops accepting, lets open requests finish (for at most a moment), and returns.
    public func stop() async {
        await group.triggerGracefulShutdown()
        let task = self.task
        let timeout = Task {
            try? await Task.sleep(for: .seconds(2))
            task.cancel()
        }
        _ = await task.result
        timeout.cancel()
    }
}

/// JSON answers, written by hand: a handful of fixed shapes that need no encoder.
public enum JSONResponse {
    public static func ok(_ json: String, status: HTTPResponse.Status = .ok) -> Response {
        var buffer = ByteBuffer()
        buffer.writeString(json)
        buffer.writeString("\n")
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
    }

    /// `{"error": MESSAGE, ...extra}`; `extra` holds already-encoded JSON values.
    public static func error(_ status: HTTPResponse.Status, _ message: String, _ extra: [(String, String)] = []) -> Response {
        var fields = [("error", quote(message))]
        fields += extra
        return ok(object(fields), status: status)
    }

    /// `{"k": v, ...}` from already-encoded values.
    public static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\(quote($0.0)):\($0.1)" }.joined(separator: ",") + "}"
    }

    /// A JSON string literal; control characters (and so any terminal escape a client sent) as
    /// `\u00XX`.
    public static func quote(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value):
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// Reads `name` from the query string as a whole number in `range`, or throws a 400 that says
/// which parameter and what it must be.
func queryNumber(_ request: Request, _ name: String, default value: UInt64, range: ClosedRange<UInt64>) throws -> UInt64 {
    guard let text = request.uri.queryParameters.get(name) else { return value }
    guard let number = UInt64(text), range.contains(number) else {
        throw HTTPServiceError("query parameter \(name)=\(text.prefix(40)) must be a whole number in \(range.lowerBound)...\(range.upperBound)")
    }
    return number
}
