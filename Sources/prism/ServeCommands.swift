import ArgumentParser
import CQRS
import EventLog
import EventStore
import Foundation
import Shop

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Headless writer + load generator + local command endpoint, until SIGINT or SIGTERM.")

    @OptionGroup var data: DataOptions

    @Option(help: "Commands per second from the load generator (0: no load, commands only).")
    var rate: Double = 200

    @Option(help: "Seed of the load generator.")
    var seed: UInt64 = 42

    @Flag(help: "Relaxed durability: no fdatasync per commit.")
    var relaxed = false

    func run() throws {
        let (store, directory) = try data.openForWriting(relaxed ? .relaxed : .full)
        if let log = store as? EventLog, let cut = log.report.truncation {
            printError("recovered: cut \(cut.bytes) bytes at position \(cut.position) (\(cut.reason)) in \(cut.file)")
        }
        // The local endpoint lives in the data folder; a memory store has none, so such a
        // server takes only its own load (a demo of the write path). It listens from the
        // moment the lock is ours, so that while the writer reads the log a `send` hears that
        // this writer is starting (not that the log is locked by another).
        var endpoint: CommandEndpoint?
        if let directory {
            do {
                endpoint = try CommandEndpoint(dataDirectory: directory, onProblem: { printError($0) })
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
        if rate > 0 { system.load?.resume() }
        let how = directory.map { "commands: prism send --data \($0) COMMAND" } ?? "no endpoint: a memory store has no folder"
        printError("serving \(store.description) (pid \(getpid()), head \(store.head), \(store.durabilityLabel)); \(how)")
        let sig = waitForTerminationSignal()
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
        let directory = try data.folder(for: "`prism send`")
        if !create && !DataOptions.hasLog(directory) && access(CommandEndpoint.socketPath(dataDirectory: directory), F_OK) != 0 {
            throw CLIFailure.unavailable(
                "no event log in \(directory): pass --create to start a new one there, or --data DIR for the folder that holds it")
        }
        let answer: CommandAnswer
        do {
            answer = try submit(text, directory: directory)
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
