import CQRS
import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import Metrics
import NIOCore
import Prometheus
import Shop
import Synchronization

/// The command microservice: `prism serve --http ADDR`. It takes commands over HTTP and answers
/// each only once its outcome is final (for an accepted command: once its events are durable),
/// serves the log as JSON Lines, and reports its health and metrics. Routes and bodies are
/// described in `docs/openapi.json`.
public final class CommandService: Sendable {
    public let server: RunningHTTPServer
    public let metrics: CommandMetrics
    private let heartbeat: ServiceHeartbeat?

    public var address: ListenAddress { server.address }

    /// Starts serving `system` (which must have a writer). With a data folder, the service
    /// registers itself there (see ``ServiceRegistry``).
    public static func start(
        system: ShopSystem, address: ListenAddress, limits: HTTPLimits = HTTPLimits(), token: String? = nil,
        registry: PrometheusCollectorRegistry = ProcessMetrics.registry
    ) async throws -> CommandService {
        ProcessMetrics.bootstrap()
        guard let writer = system.writer else { throw HTTPServiceError("the store is read-only: a command service needs a writer") }
        let metrics = CommandMetrics(registry: registry, writer: writer, store: system.store)
        let routes = CommandRoutes(system: system, writer: writer, metrics: metrics, limits: limits)
        let router = Router()
        router.add(middleware: ErrorShapeMiddleware())
        if let token { router.add(middleware: BearerTokenMiddleware(token: token)) }
        router.add(middleware: MetricsMiddleware())
        routes.register(on: router)
        let server = try await RunningHTTPServer.start(router: router, address: address, limits: limits, name: "prism-command")
        let url = "http://\(server.address)"
        let started = ServiceRegistry.nowMillis()
        let heartbeat = system.directory.map { directory in
            ServiceHeartbeat(dataDirectory: directory) {
                let s = metrics.sample()
                return ServiceRecord(
                    kind: "command", address: url, pid: getpid(), checkpoint: s.head, ratePerSecond: s.rate,
                    p99Milliseconds: s.p99Milliseconds, startedMillis: started)
            }
        }
        return CommandService(server: server, metrics: metrics, heartbeat: heartbeat)
    }

    private init(server: RunningHTTPServer, metrics: CommandMetrics, heartbeat: ServiceHeartbeat?) {
        self.server = server
        self.metrics = metrics
        self.heartbeat = heartbeat
    }

    /// Stops serving and withdraws the registry record. Blocks (joins the heartbeat thread):
    /// call it from a thread of the caller's, as `prism serve` does after its signal.
    public func stop() async {
        await server.stop()
        if let heartbeat { _ = try? await offPool { heartbeat.stop() } }
    }
}

/// The command service's metrics, in a Prometheus registry of its own (the `/metrics` page).
public final class CommandMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let httpAccepted: Prometheus.Counter
    let httpRejected: Prometheus.Counter
    let httpInvalid: Prometheus.Counter
    let httpBusy: Prometheus.Counter
    let writerAccepted: Prometheus.Counter
    let writerRejected: Prometheus.Counter
    let head: Prometheus.Gauge
    let queueDepth: Prometheus.Gauge
    let commitLatency: DurationHistogram
    private let writer: CommandWriter<ShopDomain>
    private let store: any EventStore
    /// The writer totals last copied into the counters, and the rate meter.
    private let seen = Mutex<(accepted: UInt64, rejected: UInt64, meter: RateMeter)>((0, 0, RateMeter()))

    public struct Sample: Sendable {
        public var head: UInt64
        public var rate: Double
        public var p99Milliseconds: Double
        public var queueDepth: Int
        public var accepted: UInt64
        public var rejected: UInt64
    }

    init(registry: PrometheusCollectorRegistry, writer: CommandWriter<ShopDomain>, store: any EventStore) {
        self.registry = registry
        self.writer = writer
        self.store = store
        let http = "prism_http_commands_total"
        let help = "Commands received over HTTP by outcome (accepted: durable; rejected: refused by a rule; invalid: did not parse; busy: writer queue full)."
        httpAccepted = registry.makeCounter(descriptor: .prism(http, help: help), labels: [("outcome", "accepted")])
        httpRejected = registry.makeCounter(descriptor: .prism(http, help: help), labels: [("outcome", "rejected")])
        httpInvalid = registry.makeCounter(descriptor: .prism(http, help: help), labels: [("outcome", "invalid")])
        httpBusy = registry.makeCounter(descriptor: .prism(http, help: help), labels: [("outcome", "busy")])
        let all = "prism_commands_total"
        let allHelp = "Commands decided by the writer from every source (HTTP, the unix socket, the load generator)."
        writerAccepted = registry.makeCounter(descriptor: .prism(all, help: allHelp), labels: [("outcome", "accepted")])
        writerRejected = registry.makeCounter(descriptor: .prism(all, help: allHelp), labels: [("outcome", "rejected")])
        head = registry.makeGauge(descriptor: .prism("prism_log_head", help: "Position of the last durable event."))
        queueDepth = registry.makeGauge(descriptor: .prism("prism_writer_queue_depth", help: "Commands queued for the writer and not yet taken."))
        commitLatency = registry.makeDurationHistogram(
            descriptor: .prism("prism_group_commit_seconds", help: "Time of one group commit: the store's append of a round's batches, fsync included."),
            buckets: [.microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
                      .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                      .milliseconds(250), .seconds(1)])
        writer.onCommit { [commitLatency] nanos in commitLatency.recordNanoseconds(Int64(nanos)) }
    }

    /// Brings the gauges and the writer counters up to date and returns what they say.
    @discardableResult
    public func sample() -> Sample {
        let stats = writer.statistics
        let depth = writer.queuedCount
        let headNow = store.head
        let rate = seen.withLock { s -> Double in
            if stats.accepted > s.accepted { writerAccepted.increment(by: Int64(stats.accepted - s.accepted)) }
            if stats.rejected > s.rejected { writerRejected.increment(by: Int64(stats.rejected - s.rejected)) }
            s.accepted = max(s.accepted, stats.accepted)
            s.rejected = max(s.rejected, stats.rejected)
            s.meter.record(total: stats.accepted)
            return s.meter.rate()
        }
        head.set(Double(headNow))
        queueDepth.set(Double(depth))
        return Sample(
            head: headNow, rate: rate, p99Milliseconds: stats.appendP99Milliseconds, queueDepth: depth,
            accepted: stats.accepted, rejected: stats.rejected)
    }

    /// The `/metrics` page.
    public func exposition() -> ByteBuffer {
        sample()
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        return ByteBuffer(bytes: bytes)
    }
}

extension HTTPField.Name {
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let prismPosition = HTTPField.Name("Prism-Position")!
}

struct CommandRoutes: Sendable {
    let system: ShopSystem
    let writer: CommandWriter<ShopDomain>
    let metrics: CommandMetrics
    let limits: HTTPLimits

    /// The most events one `GET /events` returns.
    static let maxEventsPerPage: UInt64 = 10_000

    func register(on router: Router<BasicRequestContext>) {
        router.post("/commands") { request, context in try await postCommand(request, context) }
        router.get("/events") { request, _ in try await events(request) }
        router.get("/health") { _, _ in health() }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: metrics.exposition()))
        }
    }

    func postCommand(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: limits.maxBodyBytes)
        let bytes = Array(body.readableBytesView)
        var commandId: String?
        if let key = request.headers[.idempotencyKey] {
            guard !key.isEmpty, key.utf8.count <= 128, key.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
                metrics.httpInvalid.increment()
                return JSONResponse.error(.badRequest, "Idempotency-Key must be 1 to 128 visible ASCII characters")
            }
            commandId = key
        }
        let command: ShopCommand
        let type = request.headers[.contentType]?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        switch type {
        case "application/json":
            do {
                command = try CommandJSON.decode(bytes)
            } catch {
                metrics.httpInvalid.increment()
                let at = error.at.map { [("at", JSONResponse.quote($0))] } ?? []
                return JSONResponse.error(error.kind == .syntax ? .badRequest : .unprocessableContent, error.message, at)
            }
        case nil, "text/plain":
            guard let text = String(validating: bytes, as: UTF8.self) else {
                metrics.httpInvalid.increment()
                return JSONResponse.error(.badRequest, "the command text is not UTF-8")
            }
            var line = Substring(text)
            while line.last == "\n" || line.last == "\r" { line.removeLast() }
            if line.contains(where: { $0 == "\n" || $0 == "\r" }) {
                metrics.httpInvalid.increment()
                return JSONResponse.error(.badRequest, "one command per request: the text has more than one line")
            }
            do {
                command = try CommandParser.parse(String(line))
            } catch {
                metrics.httpInvalid.increment()
                var extra: [(String, String)] = []
                if let column = error.column { extra.append(("column", "\(column)")) }
                if let token = error.tokenIndex { extra.append(("token", "\(token)")) }
                return JSONResponse.error(.badRequest, error.message, extra)
            }
        case let other?:
            metrics.httpInvalid.increment()
            return JSONResponse.error(.unsupportedMediaType, "Content-Type \(other.prefix(60)) is not taken: send text/plain or application/json")
        }
        do {
            switch try await writer.submit(command, commandId: commandId, busyTimeout: .zero) {
            case .accepted(let first, let last):
                metrics.httpAccepted.increment()
                var fields = [("outcome", "\"accepted\""), ("first", "\(first)"), ("last", "\(last)")]
                if let commandId { fields.append(("commandId", JSONResponse.quote(commandId))) }
                var response = JSONResponse.ok(JSONResponse.object(fields))
                response.headers[.prismPosition] = "\(last)"
                return response
            case .rejected(let reason):
                metrics.httpRejected.increment()
                return JSONResponse.error(.conflict, reason, [("outcome", "\"rejected\"")])
            }
        } catch let error as StoreError where error.code == .busy {
            metrics.httpBusy.increment()
            var response = JSONResponse.error(.serviceUnavailable, "busy: the writer's queue is full; retry after a moment")
            response.headers[.retryAfter] = "1"
            return response
        } catch {
            return JSONResponse.error(.internalServerError, "the store failed: \(error)")
        }
    }

    func events(_ request: Request) async throws -> Response {
        let from = try queryNumber(request, "from", default: 1, range: 1...UInt64.max)
        let limit = try queryNumber(request, "limit", default: 1_000, range: 1...Self.maxEventsPerPage)
        let store = system.store
        // Reading the log is blocking file I/O: on a thread of its own, never the cooperative pool.
        let (bytes, last): ([UInt8], UInt64) = try await offPool {
            let head = store.head
            var buffer: [UInt8] = []
            var last = from - 1
            guard from <= head else { return (buffer, head) }
            let through = min(head, from + limit - 1)
            try store.read(from: from, through: through) { record in
                try ShopJSON.appendExportLine(record, to: &buffer)
                buffer.append(UInt8(ascii: "\n"))
                last = record.position
                return true
            }
            return (buffer, last)
        }
        var response = Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        response.headers[.prismPosition] = "\(last)"
        return response
    }

    func health() -> Response {
        let s = metrics.sample()
        let fields: [(String, String)] = [
            ("status", "\"ok\""), ("kind", "\"command\""), ("pid", "\(getpid())"),
            ("store", JSONResponse.quote(system.store.description)), ("head", "\(s.head)"),
            ("queueDepth", "\(s.queueDepth)"), ("accepted", "\(s.accepted)"), ("rejected", "\(s.rejected)"),
            ("ratePerSecond", String(format: "%.1f", s.rate)), ("p99Milliseconds", String(format: "%.3f", s.p99Milliseconds)),
        ]
        var response = JSONResponse.ok(JSONResponse.object(fields))
        response.headers[.prismPosition] = "\(s.head)"
        return response
    }
}

/// Runs blocking `body` on a thread of its own and awaits it, so the cooperative pool (two
/// threads here) never waits on a disk.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Result { try body() })
        }
    }
}

/// The process's swift-metrics backend: one Prometheus registry, installed once, so that what
/// libraries record through the swift-metrics API (Hummingbird's request counters and
/// durations, from its `MetricsMiddleware`) appears on the command service's `/metrics` page
/// beside Prism's own metrics.
public enum ProcessMetrics {
    public static let registry = PrometheusCollectorRegistry()
    private static let installed = Mutex(false)

    /// Installs ``registry`` as the swift-metrics backend, the first time only (the API allows
    /// one bootstrap per process).
    public static func bootstrap() {
        installed.withLock { done in
            guard !done else { return }
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            done = true
        }
    }
}

extension MetricNameDescriptor {
    /// A metric named in full (`prism_log_head`), with its help text. The whole name goes in
    /// `metricName` and the unit stays empty, so the exposition shows exactly `name`.
    static func prism(_ name: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
