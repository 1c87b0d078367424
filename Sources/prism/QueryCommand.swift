import ArgumentParser
import CQRS
import EventStore
import Foundation
import HTTPServices
import Shop

/// `--http ADDR` and the token that any address but loopback needs, for `serve` and `query`.
struct HTTPOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Serve HTTP at HOST:PORT (port 0: any free port, printed once bound). Default host 127.0.0.1.",
        valueName: "ADDR"))
    var http: String?

    @Option(help: ArgumentHelp(
        "Require 'Authorization: Bearer TOKEN' on every request (401 otherwise); needed to bind beyond 127.0.0.1.",
        valueName: "TOKEN"))
    var token: String?

    @Option(name: .customLong("token-file"), help: ArgumentHelp("Read the token from FILE (first line).", valueName: "FILE"))
    var tokenFile: String?

    @Option(name: .customLong("max-connections"), help: "Open HTTP connections at most; more wait in the kernel's backlog.")
    var maxConnections: Int = 512

    @Option(name: .customLong("request-timeout-ms"), help: ArgumentHelp(
        "A request must arrive whole within this many ms (slow clients are cut off).", visibility: .hidden))
    var requestTimeoutMs: Int = 10_000

    /// The limits of `HTTPLimits`, with the command line's overrides.
    var limits: HTTPLimits {
        var limits = HTTPLimits()
        limits.maxConnections = max(1, maxConnections)
        limits.requestTimeout = .milliseconds(max(100, requestTimeoutMs))
        return limits
    }

    /// The parsed `--http` address, checked against the token rule; nil without `--http`.
    func address() throws -> ListenAddress? {
        guard let http else { return nil }
        return try check(parse(http))
    }

    func parse(_ text: String) throws -> ListenAddress {
        do { return try ListenAddress.parse(text) } catch { throw CLIFailure.usage("--http: \(error)") }
    }

    /// Refuses an address beyond loopback without a token.
    func check(_ address: ListenAddress) throws -> ListenAddress {
        if !address.isLoopback, try resolvedToken() == nil {
            throw CLIFailure.usage("binding \(address) (beyond 127.0.0.1) needs --token TOKEN or --token-file FILE")
        }
        return address
    }

    func resolvedToken() throws -> String? {
        if token != nil && tokenFile != nil { throw CLIFailure.usage("give either --token or --token-file, not both") }
        if let token {
            guard !token.isEmpty else { throw CLIFailure.usage("--token must not be empty") }
            return token
        }
        guard let tokenFile else { return nil }
        guard let text = try? String(contentsOfFile: DataOptions.absolute(tokenFile), encoding: .utf8),
              let line = text.split(whereSeparator: \.isNewline).first, !line.isEmpty else {
            throw CLIFailure.usage("--token-file \(tokenFile): cannot read a token from it")
        }
        return String(line)
    }
}

struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "A query microservice: follows the log and serves its views over HTTP, until SIGINT or SIGTERM.",
        discussion: """
            GET /views, GET /views/NAME[?atLeast=P&timeoutMs=T], GET /views/NAME/stream (Server-Sent \
            Events), GET /health, GET /metrics; every answer carries a Prism-Position header (see \
            docs/openapi.json). It keeps its own projectors and checkpoints: run several at once on \
            one log. Services bind to 127.0.0.1 unless told otherwise; binding any other address \
            needs --token TOKEN (or --token-file FILE), which every request must then send as \
            'Authorization: Bearer TOKEN' (401 otherwise). A memory store lives inside one process: \
            serve its views with `prism serve --store memory --http A --query-http B`.
            """)

    @OptionGroup var data: DataOptions
    @OptionGroup var http: HTTPOptions

    @Option(help: ArgumentHelp("The views to keep, comma-separated (default: all four: shoppers,warehouse,finance,support).", valueName: "NAMES"))
    var views: String?

    @Option(name: .customLong("stream-rate"), help: "Stream messages per second at most, per client (1...100).")
    var streamRate: Int = 10

    @Option(help: ArgumentHelp(
        "This service's name: its snapshots live in DATA/query/NAME/snapshots, so a restart resumes from them (default: its views, e.g. finance+support).",
        valueName: "NAME"))
    var name: String?

    func validate() throws {
        guard http.http != nil else { throw ValidationError("--http ADDR is required, e.g. --http 127.0.0.1:8081") }
        guard (1...QueryService.maxStreamRate).contains(streamRate) else { throw ValidationError("--stream-rate must be in 1...\(QueryService.maxStreamRate)") }
    }

    /// `--views a,b` as names, checked; all four without it.
    static func viewNames(_ text: String?) throws -> [String] {
        guard let text else { return ServedView.names }
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for name in names where !ServedView.names.contains(name) {
            throw CLIFailure.usage("--views: no view '\(name)'; views: \(ServedView.names.joined(separator: ", "))")
        }
        guard !names.isEmpty else { throw CLIFailure.usage("--views: name at least one of \(ServedView.names.joined(separator: ", "))") }
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }

    func run() throws {
        guard let address = try http.address() else { throw CLIFailure.usage("--http ADDR is required") }
        let token = try http.resolvedToken()
        let names = try Self.viewNames(views)
        if case .memory = try data.location {
            throw CLIFailure.usage("a memory store lives inside one process and cannot be followed; use `prism serve --store memory --http A --query-http B`")
        }
        let serviceName = name ?? names.joined(separator: "+")
        guard !serviceName.isEmpty, serviceName.count <= 64,
              serviceName.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || "+-_.".unicodeScalars.contains($0) }),
              !serviceName.hasPrefix(".") else {
            throw CLIFailure.usage("--name: 1 to 64 letters, digits and + - _ . (not starting with .)")
        }
        let (store, directory) = try data.openForReading("`prism query`")
        // Snapshots of its own: two query services never share (or race on) a snapshot file,
        // and the writer's snapshots in DATA/snapshots stay the writer's.
        let snapshots = directory.map { folder -> Snapshots in
            try? FileManager.default.createDirectory(atPath: folder + "/query/" + serviceName, withIntermediateDirectories: true)
            return DataOptions.snapshots(folder: folder + "/query/" + serviceName, echo: true)
        }
        let views = names.compactMap { ServedView.shop($0, store: store, snapshots: snapshots) }
        let service: QueryService
        do {
            service = try runBlocking {
                try await QueryService.start(
                    views: views, store: store, dataDirectory: directory, address: address, limits: http.limits, token: token,
                    streamRate: streamRate)
            }
        } catch {
            _ = try? runBlocking { for v in views { await v.shutdown() } }
            store.close()
            throw CLIFailure.unavailable("\(error)")
        }
        printError("http: query service listening on http://\(service.address) (views \(names.joined(separator: ",")); \(store.description), pid \(getpid()))")
        let sig = waitForTerminationSignal()
        _ = try? runBlocking { await service.stop() }
        store.close()
        printError("stopped on signal \(sig)")
    }
}
