import CQRS
import EventStore
import Foundation

/// The running shop: the store, the writer with its write model, the four projectors and the
/// load generator, assembled once so that the dashboard, `serve`, `send`, the benchmarks and the
/// tests all run the same system. It takes a store that the composition root (the command line)
/// opened, and never knows which backend that is.
public final class ShopSystem: Sendable {
    /// The local folder of the store, where the command endpoint's socket lives; nil for a store
    /// without one (memory, a database).
    public let directory: String?
    public let store: any EventStore
    /// Nil when the store is read-only (`prism watch`).
    public let writer: CommandWriter<ShopDomain>?
    public let shoppers: Projector<ShoppersProjection>
    public let warehouse: Projector<WarehouseProjection>
    public let finance: Projector<FinanceProjection>
    public let support: Projector<SupportProjection>
    /// Nil when the store is read-only.
    public let load: LoadDriver?
    /// Where the writer and the projectors keep their snapshots; nil: none, every start folds
    /// the log from position 1.
    public let snapshots: Snapshots?

    /// Rebuilds the write model (unless the store is read-only) and starts the four projectors.
    /// The load generator is created paused at `rate` commands/s. On failure the store is left
    /// open: it is the caller's.
    public init(
        store: any EventStore, directory: String? = nil, seed: UInt64 = 42, rate: Double = 200,
        generatedPerTurn: Int = 2_000, snapshots: Snapshots? = nil
    ) throws {
        self.directory = directory
        self.store = store
        self.snapshots = snapshots
        if store.isReadOnly {
            writer = nil
            load = nil
        } else {
            let writer = try CommandWriter(domain: ShopDomain(), store: store, generatedPerTurn: generatedPerTurn, snapshots: snapshots)
            self.writer = writer
            load = LoadDriver(writer: writer, seed: seed, rate: rate)
        }
        shoppers = Projector(ShoppersProjection(), store: store, snapshots: snapshots)
        warehouse = Projector(WarehouseProjection(), store: store, snapshots: snapshots)
        finance = Projector(FinanceProjection(), store: store, snapshots: snapshots)
        support = Projector(SupportProjection(), store: store, snapshots: snapshots)
        for name in Self.projectorNames { start(projector: name) }
    }

    /// Where the shop's events live, for a status line: `file /path`, `memory`.
    public var storeDescription: String { store.description }

    public static let projectorNames = ["shoppers", "warehouse", "finance", "support"]

    /// The projectors' statuses, in pane order.
    public var statuses: [ProjectorStatus] { [shoppers.status, warehouse.status, finance.status, support.status] }

    /// The lowest checkpoint of the four projectors.
    public var minimumCheckpoint: UInt64 {
        min(shoppers.checkpoint, warehouse.checkpoint, finance.checkpoint, support.checkpoint)
    }

    public func start(projector name: String) { control(name) { $0.start() } }
    public func stop(projector name: String) { control(name) { $0.stop() } }
    public func rebuild(projector name: String) { control(name) { $0.rebuild() } }
    public func setDelay(projector name: String, milliseconds: Int) { control(name) { $0.setDelay(milliseconds: milliseconds) } }
    public func isStopped(projector name: String) -> Bool {
        statuses.first { $0.name == name }?.state == .stopped
    }

    /// Runs `body` on the projector called `name` (type-erased through a small protocol).
    private func control(_ name: String, _ body: (any ProjectorControl) -> Void) {
        switch name {
        case "shoppers": body(shoppers)
        case "warehouse": body(warehouse)
        case "finance": body(finance)
        case "support": body(support)
        default: break
        }
    }

    /// Waits until every projector's published view includes `position` (read-your-writes).
    public func waitForViews(position: UInt64, timeout: Duration = .seconds(5)) async -> Bool {
        async let a = shoppers.waitUntil(position: position, timeout: timeout)
        async let b = warehouse.waitUntil(position: position, timeout: timeout)
        async let c = finance.waitUntil(position: position, timeout: timeout)
        async let d = support.waitUntil(position: position, timeout: timeout)
        let all = await [a, b, c, d]
        return all.allSatisfy { $0 }
    }

    /// Parses a command in the text form and submits it; see ``CommandText/submit``.
    public func submit(text: String, commandId: String? = nil, busyTimeout: Duration = .seconds(30)) async -> CommandReply {
        await answer(text: text, commandId: commandId, busyTimeout: busyTimeout).reply
    }

    /// As ``submit(text:commandId:busyTimeout:)``, with the note on a repeated command id.
    public func answer(text: String, commandId: String? = nil, busyTimeout: Duration = .seconds(30)) async -> CommandAnswer {
        guard let writer else { return CommandAnswer(.failed("this dashboard is read-only; commands go to the writer's endpoint")) }
        return await CommandText.answer(text, commandId: commandId, to: writer, busyTimeout: busyTimeout)
    }

    /// Stops the load, the projectors and the writer, then closes the store. The blocking parts
    /// (joining the load's and the writer's threads, the store's last commit) run on a thread of
    /// their own, never on the cooperative pool.
    public func close() async {
        for name in Self.projectorNames { stop(projector: name) }
        await shoppers.shutdown()
        await warehouse.shutdown()
        await finance.shutdown()
        await support.shutdown()
        let (load, writer, store) = (self.load, self.writer, self.store)
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let thread = Thread { [snapshots] in
                load?.stop()
                writer?.stop()
                snapshots?.flush()
                store.close()
                done.resume()
            }
            thread.name = "prism-close"
            thread.start()
        }
    }

    /// The four views folded from the store as of `position` (time travel), in one pass: from
    /// the nearest usable snapshots at or before it when `snapshots` is given, else from 1.
    public static func views(of store: any EventStore, asOf position: UInt64, snapshots: Snapshots? = nil, quiet: Bool = false) throws -> ShopViews {
        var fold = ShopFold()
        let from = snapshots.map { fold.resume(from: $0, store: store, atOrBefore: position, quiet: quiet) } ?? 1
        guard from <= position else { return fold.views }
        try store.read(from: from, through: position) { record in
            try fold.apply(record)
            return true
        }
        return fold.views
    }

    /// The published views of the four projectors, each at its own checkpoint.
    public var liveViews: (ShoppersView, WarehouseView, FinanceView, SupportView) {
        (shoppers.view, warehouse.view, finance.view, support.view)
    }
}

/// What the dashboard and the command line need of any projector, whatever its projection.
protocol ProjectorControl {
    func start()
    func stop()
    func rebuild()
    func setDelay(milliseconds: Int)
}

extension Projector: ProjectorControl {}

/// The reply to a command in the text form, as `prism send` prints it.
public enum CommandReply: Sendable, Equatable, CustomStringConvertible {
    case accepted(position: UInt64)
    case rejected(String)
    /// The text did not parse (exit code 2).
    case badSyntax(String)
    /// The writer could not be reached or failed (exit code 3).
    case failed(String)

    public var description: String {
        switch self {
        case .accepted(let p): "accepted position=\(p)"
        case .rejected(let r): "rejected: \(escapeControlCharacters(r))"
        case .badSyntax(let m): "error: \(escapeControlCharacters(m))"
        case .failed(let m): "error: \(escapeControlCharacters(m))"
        }
    }

    /// Parses a reply line as the endpoint sends it.
    public init(line: String) {
        if line.hasPrefix("accepted position="), let p = UInt64(line.dropFirst("accepted position=".count)) {
            self = .accepted(position: p)
        } else if line.hasPrefix("rejected: ") {
            self = .rejected(String(line.dropFirst("rejected: ".count)))
        } else if line.hasPrefix("syntax: ") {
            self = .badSyntax(String(line.dropFirst("syntax: ".count)))
        } else {
            self = .failed(line.hasPrefix("error: ") ? String(line.dropFirst(7)) : line)
        }
    }

    /// The line the endpoint sends for this reply.
    public var wireLine: String {
        switch self {
        case .badSyntax(let m): "syntax: \(escapeControlCharacters(m))"
        default: description
        }
    }
}

/// A reply and what else the person who sent the command should know (a repeated id).
public struct CommandAnswer: Sendable, Equatable {
    public var reply: CommandReply
    /// One line, e.g. that the command id was used before; nil when there is nothing to add.
    public var note: String?

    public init(_ reply: CommandReply, note: String? = nil) {
        self.reply = reply
        self.note = note.map(escapeControlCharacters)
    }
}

/// The one path from a line of text to the writer, shared by the palette, `send` and the endpoint.
public enum CommandText {
    public static func submit(
        _ text: String, commandId: String?, to writer: CommandWriter<ShopDomain>, busyTimeout: Duration = .seconds(30)
    ) async -> CommandReply {
        await answer(text, commandId: commandId, to: writer, busyTimeout: busyTimeout).reply
    }

    /// Checks the id and the text, submits the command, and says whether the id was a repeat.
    public static func answer(
        _ text: String, commandId: String?, to writer: CommandWriter<ShopDomain>, busyTimeout: Duration = .seconds(30)
    ) async -> CommandAnswer {
        if let commandId, let problem = CommandId.problem(commandId) {
            return CommandAnswer(.badSyntax(problem))
        }
        let command: ShopCommand
        do {
            command = try CommandParser.parse(text)
        } catch {
            return CommandAnswer(.badSyntax(error.description))
        }
        do {
            let receipt = try await writer.submitForReceipt(command, commandId: commandId, busyTimeout: busyTimeout)
            let reply: CommandReply
            switch receipt.outcome {
            case .accepted(_, let last): reply = .accepted(position: last)
            case .rejected(let reason): reply = .rejected(reason)
            }
            return CommandAnswer(reply, note: receipt.repeatOf.map { repeatNote($0, id: commandId ?? "") })
        } catch {
            return CommandAnswer(.failed("\(error)"))
        }
    }

    /// What a repeated command id means for the person who sent it.
    static func repeatNote(_ kind: CommandReceipt.Repeat, id: String) -> String {
        let head = "command id '\(id)' was used before: this is its first outcome, and nothing new was done"
        switch kind {
        case .same: return head + " (a repeat of the same command)"
        case .differed: return head + "; this command differs from the first one with this id, so it was not run (use a new id to run it)"
        case .unknown: return head
        }
    }
}
