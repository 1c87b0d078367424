import CQRS
import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Prometheus
import Shop
import Synchronization

/// A view that a query service keeps: one projector, seen through closures so that the four
/// projections' different view types serve through one set of routes.
public struct ServedView: Sendable {
    public let name: String
    let published: @Sendable () -> (checkpoint: UInt64, json: String)
    let checkpoint: @Sendable () -> UInt64
    let status: @Sendable () -> ProjectorStatus
    let waitUntil: @Sendable (UInt64, Duration) async -> Bool
    public let shutdown: @Sendable () async -> Void

    /// Serves `projector` (which the caller created and started). The JSON of the published
    /// view is made at most once per checkpoint, however many readers and streams ask.
    public init<P: Projection>(_ projector: Projector<P>, json: @escaping @Sendable (P.View) -> String) {
        name = projector.name
        let cache = Mutex<(checkpoint: UInt64, json: String)?>(nil)
        published = {
            let p = projector.current
            if let hit = cache.withLock({ $0 }), hit.checkpoint == p.checkpoint { return hit }
            let made = (p.checkpoint, json(p.view))
            cache.withLock { $0 = made }
            return made
        }
        checkpoint = { projector.checkpoint }
        status = { projector.status }
        waitUntil = { await projector.waitUntil(position: $0, timeout: $1) }
        shutdown = {
            projector.stop()
            await projector.shutdown()
        }
    }

    /// The shop's four views, by name.
    public static let names = ShopSystem.projectorNames

    /// Creates and starts the projector of the shop view called `name` on `store`; with
    /// `snapshots`, it starts from its newest usable snapshot and keeps taking them.
    public static func shop(_ name: String, store: any EventStore, snapshots: Snapshots? = nil) -> ServedView? {
        let view: ServedView
        switch name {
        case "shoppers":
            let p = Projector(ShoppersProjection(), store: store, snapshots: snapshots)
            p.start()
            view = ServedView(p) { $0.json }
        case "warehouse":
            let p = Projector(WarehouseProjection(), store: store, snapshots: snapshots)
            p.start()
            view = ServedView(p) { $0.json }
        case "finance":
            let p = Projector(FinanceProjection(), store: store, snapshots: snapshots)
            p.start()
            view = ServedView(p) { $0.json }
        case "support":
            let p = Projector(SupportProjection(), store: store, snapshots: snapshots)
            p.start()
            view = ServedView(p) { $0.json }
        default: return nil
        }
        return view
    }
}

/// A query microservice: `prism query --http ADDR [--views a,b]`. It follows the log with its
/// own projectors (its own checkpoints) and serves their views, with read-your-writes
/// (`?atLeast=P`) and live updates (Server-Sent Events). Several run at once on one log; each
/// is independent of the others and of the command service.
public final class QueryService: Sendable {
    public let server: RunningHTTPServer
    public let views: [ServedView]
    private let heartbeat: ServiceHeartbeat?

    public var address: ListenAddress { server.address }

    /// The most stream messages per second a client may ask for; see ``QueryRoutes``.
    public static let maxStreamRate = 100

    public static func start(
        views: [ServedView], store: any EventStore, dataDirectory: String?, address: ListenAddress,
        limits: HTTPLimits = HTTPLimits(), token: String? = nil, streamRate: Int = 10
    ) async throws -> QueryService {
        let metrics = QueryMetrics(views: views, store: store)
        let routes = QueryRoutes(views: views, store: store, metrics: metrics, streamRate: max(1, min(streamRate, maxStreamRate)))
        let router = Router()
        router.add(middleware: ErrorShapeMiddleware())
        if let token { router.add(middleware: BearerTokenMiddleware(token: token)) }
        router.add(middleware: PositionHeaderMiddleware(views: views))
        routes.register(on: router)
        let server = try await RunningHTTPServer.start(router: router, address: address, limits: limits, name: "prism-query")
        let url = "http://\(server.address)"
        let started = ServiceRegistry.nowMillis()
        let heartbeat = dataDirectory.map { directory in
            ServiceHeartbeat(dataDirectory: directory) {
                let h = Health(views: views, store: store)
                return ServiceRecord(
                    kind: "query", address: url, pid: getpid(), views: views.map(\.name), checkpoint: h.checkpoint,
                    lagEvents: h.lagEvents, lagMilliseconds: h.lagMilliseconds, ratePerSecond: h.eventsPerSecond,
                    startedMillis: started)
            }
        }
        return QueryService(server: server, views: views, heartbeat: heartbeat)
    }

    private init(server: RunningHTTPServer, views: [ServedView], heartbeat: ServiceHeartbeat?) {
        self.server = server
        self.views = views
        self.heartbeat = heartbeat
    }

    /// Stops serving, the heartbeat (withdrawing the record) and the projectors. Blocks on the
    /// heartbeat thread: call it from a thread of the caller's.
    public func stop() async {
        await server.stop()
        if let heartbeat { _ = try? await offPool { heartbeat.stop() } }
        for view in views { await view.shutdown() }
    }
}

/// The lag of a query service: its slowest view against the head.
struct Health {
    var checkpoint: UInt64
    var head: UInt64
    var lagEvents: UInt64
    var lagMilliseconds: Double
    var eventsPerSecond: Double
    var statuses: [ProjectorStatus]

    init(views: [ServedView], store: any EventStore) {
        statuses = views.map { $0.status() }
        head = store.head
        checkpoint = statuses.map(\.checkpoint).min() ?? head
        lagEvents = head > checkpoint ? head - checkpoint : 0
        lagMilliseconds = statuses.map(\.lagMilliseconds).max() ?? 0
        eventsPerSecond = statuses.map(\.eventsPerSecond).max() ?? 0
    }
}

/// `Prism-Position` on every answer of a query service: the lowest checkpoint of its views (a
/// route about one view sets that view's checkpoint itself).
struct PositionHeaderMiddleware<Context: RequestContext>: RouterMiddleware {
    let views: [ServedView]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        if response.headers[.prismPosition] == nil {
            response.headers[.prismPosition] = "\(views.map { $0.checkpoint() }.min() ?? 0)"
        }
        return response
    }
}

final class QueryMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let checkpoints: [(ServedView, Prometheus.Gauge, Prometheus.Gauge)]
    let headGauge: Prometheus.Gauge
    let lagMs: Prometheus.Gauge
    let reads: Prometheus.Counter
    let timeouts: Prometheus.Counter
    let streams: Prometheus.Gauge
    let store: any EventStore

    init(views: [ServedView], store: any EventStore) {
        self.store = store
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        checkpoints = views.map { view in
            (view,
             registry.makeGauge(descriptor: .prism("prism_view_checkpoint", help: "Last position applied to the published view."), labels: [("view", view.name)]),
             registry.makeGauge(descriptor: .prism("prism_view_lag_events", help: "Events the view is behind the head."), labels: [("view", view.name)]))
        }
        headGauge = registry.makeGauge(descriptor: .prism("prism_log_head", help: "Position of the last event this service has seen in the log."))
        lagMs = registry.makeGauge(descriptor: .prism("prism_query_lag_milliseconds", help: "Age of the oldest event not yet in every view."))
        reads = registry.makeCounter(descriptor: .prism("prism_view_reads_total", help: "View reads answered (GET /views and /views/{name})."))
        timeouts = registry.makeCounter(descriptor: .prism("prism_view_read_timeouts_total", help: "Reads with atLeast that timed out (504)."))
        streams = registry.makeGauge(descriptor: .prism("prism_view_streams", help: "Open Server-Sent Events streams."))
    }

    func exposition() -> ByteBuffer {
        let head = store.head
        headGauge.set(Double(head))
        var worst = 0.0
        for (view, checkpoint, lag) in checkpoints {
            let s = view.status()
            checkpoint.set(Double(s.checkpoint))
            lag.set(Double(head > s.checkpoint ? head - s.checkpoint : 0))
            worst = max(worst, s.lagMilliseconds)
        }
        lagMs.set(worst)
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        return ByteBuffer(bytes: bytes)
    }
}

struct QueryRoutes: Sendable {
    let views: [ServedView]
    let store: any EventStore
    let metrics: QueryMetrics
    /// Stream messages per second at most (the default of `maxPerSecond`).
    let streamRate: Int

    /// The longest `timeoutMs` a read may wait.
    static let maxWaitMilliseconds: UInt64 = 60_000

    func register(on router: Router<BasicRequestContext>) {
        router.get("/views") { _, _ in allViews() }
        router.get("/views/:name") { request, context in try await oneView(request, context) }
        router.get("/views/:name/stream") { request, context in try stream(request, context) }
        router.get("/health") { _, _ in health() }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: metrics.exposition()))
        }
    }

    func view(_ context: BasicRequestContext) throws -> ServedView {
        let name = context.parameters.get("name") ?? ""
        guard let view = views.first(where: { $0.name == name }) else {
            let known = ServedView.names.contains(name)
            throw HTTPError(.notFound, message: known
                ? "this query service does not keep the view \(name); it keeps \(views.map(\.name).joined(separator: ", "))"
                : "no view \(JSONResponse.quote(String(name.prefix(40)))); views: \(ServedView.names.joined(separator: ", "))")
        }
        return view
    }

    func allViews() -> Response {
        metrics.reads.increment()
        let parts = views.map { v -> String in
            let p = v.published()
            return JSONResponse.object([("name", JSONResponse.quote(v.name)), ("checkpoint", "\(p.checkpoint)"), ("view", p.json)])
        }
        return JSONResponse.ok(JSONResponse.object([("views", "[" + parts.joined(separator: ",") + "]")]))
    }

    func oneView(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let view = try view(context)
        let atLeast = try queryNumber(request, "atLeast", default: 0, range: 0...UInt64.max)
        let timeout = try queryNumber(request, "timeoutMs", default: 5_000, range: 0...Self.maxWaitMilliseconds)
        if atLeast > 0, view.checkpoint() < atLeast {
            let reached = await view.waitUntil(atLeast, .milliseconds(Int64(timeout)))
            if !reached {
                metrics.timeouts.increment()
                let checkpoint = view.checkpoint()
                var response = JSONResponse.error(
                    .gatewayTimeout, "the view \(view.name) did not reach position \(atLeast) within \(timeout) ms",
                    [("checkpoint", "\(checkpoint)"), ("atLeast", "\(atLeast)")])
                response.headers[.prismPosition] = "\(checkpoint)"
                return response
            }
        }
        metrics.reads.increment()
        let p = view.published()
        var response = JSONResponse.ok(JSONResponse.object([("name", JSONResponse.quote(view.name)), ("checkpoint", "\(p.checkpoint)"), ("view", p.json)]))
        response.headers[.prismPosition] = "\(p.checkpoint)"
        return response
    }

    /// `text/event-stream`: one `view` message with the whole view at once, then one each time
    /// the published checkpoint moved, at most `maxPerSecond` a second (changes in between are
    /// coalesced into the next message), and a comment every 15 s so proxies keep it open.
    func stream(_ request: Request, _ context: BasicRequestContext) throws -> Response {
        let view = try view(context)
        let rate = try queryNumber(request, "maxPerSecond", default: UInt64(streamRate), range: 1...UInt64(QueryService.maxStreamRate))
        let interval = Duration.nanoseconds(1_000_000_000 / Int64(rate))
        let streams = metrics.streams
        let start = view.checkpoint()
        var response = Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                streams.increment()
                defer { streams.decrement() }
                var sent: UInt64?
                var quiet = ContinuousClock.now
                while !Task.isCancelled {
                    let p = view.published()
                    if p.checkpoint != sent {
                        var buffer = ByteBuffer()
                        buffer.writeString("id: \(p.checkpoint)\nevent: view\ndata: ")
                        buffer.writeString(JSONResponse.object([("name", JSONResponse.quote(view.name)), ("checkpoint", "\(p.checkpoint)"), ("view", p.json)]))
                        buffer.writeString("\n\n")
                        try await writer.write(buffer)
                        sent = p.checkpoint
                        quiet = .now
                    } else if ContinuousClock.now - quiet > .seconds(15) {
                        try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                        quiet = .now
                    }
                    try await Task.sleep(for: interval)
                }
                try await writer.finish(nil)
            })
        response.headers[.prismPosition] = "\(start)"
        return response
    }

    func health() -> Response {
        let h = Health(views: views, store: store)
        let statuses = h.statuses.map { s in
            JSONResponse.object([
                ("name", JSONResponse.quote(s.name)), ("state", JSONResponse.quote("\(s.state)")),
                ("checkpoint", "\(s.checkpoint)"), ("lagEvents", "\(s.head > s.checkpoint ? s.head - s.checkpoint : 0)"),
                ("lagMilliseconds", String(format: "%.1f", s.lagMilliseconds)),
            ])
        }
        return JSONResponse.ok(JSONResponse.object([
            ("status", "\"ok\""), ("kind", "\"query\""), ("pid", "\(getpid())"), ("head", "\(h.head)"),
            ("checkpoint", "\(h.checkpoint)"), ("lagEvents", "\(h.lagEvents)"),
            ("lagMilliseconds", String(format: "%.1f", h.lagMilliseconds)), ("views", "[" + statuses.joined(separator: ",") + "]"),
        ]))
    }
}
