import ArgumentParser
import CQRS
import EventLog
import EventStore
import Foundation
import HTTPServices
import PostgresStore
import Shop

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Headless writer + load generator + local command endpoint, until SIGINT or SIGTERM.",
        discussion: """
            With --http ADDR it is also the command microservice: POST /commands, GET /events, \
            GET /health and GET /metrics over HTTP/1.1 (see docs/openapi.json). Services bind to \
            127.0.0.1 unless told otherwise; binding any other address needs --token TOKEN (or \
            --token-file FILE), which every request must then send as 'Authorization: Bearer TOKEN' \
            (401 otherwise).
            """)

    @OptionGroup var data: DataOptions

    @Option(help: "Commands per second from the load generator (0: no load, commands only).")
    var rate: Double = 200

    @Option(help: "Seed of the load generator.")
    var seed: UInt64 = 42

    @Flag(help: "Relaxed durability: no fdatasync per commit.")
    var relaxed = false

    @Option(help: ArgumentHelp(
        "Folder for the command endpoint's socket (default: the file log's folder; a PostgreSQL store has none unless given).",
        valueName: "DIR"))
    var endpoint: String?

    @OptionGroup var http: HTTPOptions

    @Option(name: .customLong("query-http"), help: ArgumentHelp(
        "Also run a query service in this process at ADDR (the way to serve views of a memory store).", valueName: "ADDR"))
    var queryHTTP: String?

    @Option(help: ArgumentHelp("Views of the in-process query service (--query-http).", valueName: "NAMES"))
    var views: String?

    func validate() throws {
        if http.http == nil && queryHTTP != nil { throw ValidationError("--query-http needs --http") }
        if queryHTTP == nil && views != nil { throw ValidationError("--views needs --query-http") }
    }

    func run() throws {
        let address = try http.address()
        let queryAddress = try queryHTTP.map { try http.check(ListenAddress.parse($0)) }
        let token = try http.resolvedToken()
        let viewNames = try QueryCommand.viewNames(views)
        let (store, directory) = try data.openForWriting(relaxed ? .relaxed : .full, service: true)
        if let log = store as? EventLog, let cut = log.report.truncation {
            printError("recovered: cut \(cut.bytes) bytes at position \(cut.position) (\(cut.reason)) in \(cut.file)")
        }
        // The local endpoint lives in the data folder; a memory store has none, so such a
        // server takes only its own load (a demo of the write path). It listens from the
        // moment the lock is ours, so that while the writer reads the log a `send` hears that
        // this writer is starting (not that the log is locked by another).
        var endpoint: CommandEndpoint?
        let socketFolder = self.endpoint.map(DataOptions.absolute) ?? directory
        if let socketFolder {
            do {
                try FileManager.default.createDirectory(atPath: socketFolder, withIntermediateDirectories: true)
                endpoint = try CommandEndpoint(dataDirectory: socketFolder, onProblem: { printError($0) })
            } catch {
                store.close()
                throw CLIFailure.unavailable("\(error)")
            }
        }
        let system: ShopSystem
        do {
            system = try ShopSystem(store: store, directory: directory, seed: seed, rate: rate, snapshots: DataOptions.snapshots(folder: directory, echo: true))
        } catch {
            endpoint?.close()
            store.close()
            throw CLIFailure.opening(error, store.description)
        }
        // A failed write (a full disk) and the recovery from it are said on stderr as they happen.
        system.writer?.onNotice { printError("writer: \($0)") }
        endpoint?.serve(system)
        var service: CommandService?
        var query: QueryService?
        if let address {
            do {
                service = try runBlocking { try await CommandService.start(system: system, address: address, limits: http.limits, token: token) }
                if let queryAddress {
                    let views = viewNames.compactMap { ServedView.shop($0, store: store) }
                    query = try runBlocking {
                        try await QueryService.start(views: views, store: store, dataDirectory: directory, address: queryAddress, limits: http.limits, token: token)
                    }
                }
            } catch {
                endpoint?.close()
                if let service { _ = try? runBlocking { await service.stop() } }
                _ = try? runBlocking { await system.close() }
                throw CLIFailure.unavailable("\(error)")
            }
        }
        if rate > 0 { system.load?.resume() }
        let how: String
        if let socketFolder {
            how = directory == nil ? "commands: prism send --endpoint \(socketFolder) COMMAND" : "commands: prism send --data \(socketFolder) COMMAND"
        } else {
            how = "no endpoint: give --endpoint DIR for one"
        }
        let reporter = (store as? PostgresStore).map { CheckpointReporter(store: $0, system: system) }
        printError("serving \(store.description) (pid \(getpid()), head \(store.head), \(store.durabilityLabel)); \(how)")
        if let service { printError("http: command service listening on http://\(service.address)") }
        if let query { printError("http: query service listening on http://\(query.address) (views \(viewNames.joined(separator: ",")))") }
        let sig = waitForTerminationSignal()
        reporter?.stop()
        if let query { _ = try? runBlocking { await query.stop() } }
        if let service { _ = try? runBlocking { await service.stop() } }
        endpoint?.close()
        _ = try? runBlocking { await system.close() }
        printError("stopped on signal \(sig); head \(store.head)")
    }
}

struct SendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Submit one command in the text form, to the running writer or by opening the log.",
        usage: "prism send [--data DIR | --store STORE] [--id ID] [--create] [--connect-timeout S] COMMAND...",
        discussion: """
            Commands: register SKU PRICE NAME... | restock SKU QTY | price SKU PRICE | \
            place CUSTOMER SKU:QTY... [as ORDER] | pay ORDER AMOUNT | ship ORDER | cancel ORDER REASON... \
            Money is in cents (1299) or dollars with two decimals (12.99). Prints `accepted position=P` once \
            the events are durable (exit 0) or `rejected: REASON` (exit 1); a syntax error is exit 2, a log \
            or writer that cannot be reached exit 3. Options go before the command.
            """)

    @OptionGroup var data: DataOptions

    @Option(help: ArgumentHelp(
        "A command id (1-255 bytes, no control characters): sending the same id again returns the first outcome and appends nothing.",
        valueName: "ID"))
    var id: String?

    @Option(help: ArgumentHelp("The folder of a running `prism serve --endpoint DIR` to send to.", valueName: "DIR"))
    var endpoint: String?

    @Flag(help: "Start a new log when the folder holds none (without it, a folder with no log is refused: a typo never makes a log).")
    var create = false

    @Option(name: .customLong("connect-timeout"), help: ArgumentHelp("Seconds to wait for a running writer to accept the connection.", valueName: "S"))
    var connectTimeout: Double = CommandEndpoint.defaultConnectTimeout

    @Argument(parsing: .captureForPassthrough, help: "The command, e.g. place alice MUG:2")
    var words: [String] = []

    func validate() throws {
        if let id, let problem = CommandId.problem(id) { throw ValidationError("--id: \(problem)") }
        guard connectTimeout > 0, connectTimeout <= 3600 else {
            throw ValidationError("--connect-timeout \(connectTimeout): give seconds from more than 0 to 3600")
        }
    }

    func run() throws {
        // The command's words are taken as they are (`cancel o-1 --late` is a reason), so help
        // is asked for by the first word alone.
        if let first = words.first, ["--help", "-h", "help"].contains(first), words.count == 1 {
            print(SendCommand.helpMessage())
            return
        }
        let text = words.joined(separator: " ")
        if text.trimmingCharacters(in: .whitespaces).isEmpty {
            throw CLIFailure.usage("no command given; try: prism send place alice MUG:2 (prism send --help for more)")
        }
        // Syntax first, so a typo is a usage error whether or not a writer runs.
        do { _ = try CommandParser.parse(text) } catch { throw CLIFailure.usage("\(error)") }
        // The endpoint's folder: given, or the file log's own. A database has none, so without
        // --endpoint the command goes straight to the store (several writers may share it).
        let location = try data.location
        var directory: String?
        if case .file(let d) = location { directory = d }
        if case .memory = location { _ = try data.folder(for: "`prism send`") }
        if let directory, endpoint == nil, !create, !DataOptions.hasLog(directory),
           access(CommandEndpoint.socketPath(dataDirectory: directory), F_OK) != 0 {
            throw CLIFailure.unavailable(
                "no event log in \(directory): pass --create to start a new one there, or --data DIR for the folder that holds it")
        }
        let socketFolder = endpoint.map(DataOptions.absolute) ?? directory
        let answer: CommandAnswer
        do {
            if let socketFolder, directory == nil {
                // A database's server: only through its endpoint.
                guard let viaEndpoint = try CommandEndpoint.answer(
                    text, commandId: id, dataDirectory: socketFolder, connectTimeoutSeconds: connectTimeout)
                else {
                    throw CLIFailure.unavailable("no writer listens in \(socketFolder) (is `prism serve --endpoint \(socketFolder)` running?)")
                }
                answer = viaEndpoint
            } else if let socketFolder {
                answer = try submit(text, directory: socketFolder)
            } else {
                answer = try sendDirectly(text, directory: location.description)
            }
        } catch let failure as CLIFailure {
            throw failure
        } catch {
            throw CLIFailure.unavailable("\(error)")
        }
        if let note = answer.note { printError(note) }
        let reply = answer.reply
        switch reply {
        case .accepted: print(reply.description)
        case .rejected: print(reply.description); throw ExitCode(1)
        case .badSyntax(let m): throw CLIFailure.usage(m)
        case .failed(let m): throw CLIFailure.unavailable(m)
        }
    }

    /// Through the running writer's endpoint, else by opening the log. A log locked by a writer
    /// whose endpoint is not up yet (it is opening the log) is asked again for a few seconds, so
    /// `send` reaches it once it listens rather than calling it "another writer".
    private func submit(_ text: String, directory: String) throws -> CommandAnswer {
        let deadline = Date().addingTimeInterval(max(3, connectTimeout))
        while true {
            if let viaEndpoint = try CommandEndpoint.answer(
                text, commandId: id, dataDirectory: directory, connectTimeoutSeconds: connectTimeout)
            {
                return viaEndpoint
            }
            do {
                return try sendDirectly(text, directory: directory)
            } catch let failure as CLIFailure where failure.cause == .locked && Date() < deadline {
                usleep(50_000)
            }
        }
    }

    /// No writer is listening: open the log ourselves (taking the writer lock) for one command.
    private func sendDirectly(_ text: String, directory: String) throws -> CommandAnswer {
        let (log, _) = try data.openForWriting(.full)
        defer { log.close() }
        let writer: CommandWriter<ShopDomain>
        do {
            writer = try CommandWriter(domain: ShopDomain(), store: log)
        } catch {
            throw CLIFailure.opening(error, directory)
        }
        defer { writer.stop() }
        let id = self.id
        return try runBlocking { await CommandText.answer(text, commandId: id, to: writer) }
    }
}

/// Writes the projectors' checkpoints of a running `prism serve` into the database once a second,
/// for `prism db status` (the projectors themselves fold in memory).
final class CheckpointReporter: Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    init(store: PostgresStore, system: ShopSystem) {
        let process = "\(ProcessInfo.processInfo.hostName):\(getpid())"
        let thread = Thread { [done, finished] in
            repeat {
                _ = try? store.reportCheckpoints(system.statuses.map { ($0.name, $0.checkpoint) }, process: process)
            } while done.wait(timeout: .now() + 1) == .timedOut
            finished.signal()
        }
        thread.name = "prism-checkpoints"
        thread.start()
    }

    func stop() {
        done.signal()
        finished.wait()
    }
}
