import ArgumentParser
import EventLog
import EventStore
import Foundation
import Shop


/// A position given on the command line, with a reason when it is not one.
enum LogPosition {
    static func parse(_ text: String, option: String) throws -> UInt64 {
        if let value = UInt64(text) { return value }
        let shown = escapeControlCharacters(text)
        if let signed = Int64(text), signed < 0 {
            throw ValidationError("\(option) \(shown): positions count from 1 (0 is the empty log before the first event); there are no negative positions")
        }
        throw ValidationError("\(option) '\(shown)': expected a position, a whole number such as 42")
    }
}

struct ViewsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "views", abstract: "The four views, as of the head or of position P.")

    @OptionGroup var data: DataOptions

    // `.unconditional`: `--at -1` is taken as a value, so the error can say what is wrong with
    // it instead of "missing value".
    @Option(name: .customLong("at"), parsing: .unconditional, help: ArgumentHelp("Show the views as of this position (time travel), 0 to the head.", valueName: "P"))
    var atText: String?

    var at: UInt64? { atText.flatMap { try? LogPosition.parse($0, option: "--at") } }

    func validate() throws {
        if let atText { _ = try LogPosition.parse(atText, option: "--at") }
    }

    @Flag(help: "Print one JSON object (SPEC section 3).")
    var json = false

    func run() throws {
        let (log, folder) = try data.openForReading("`prism views`")
        defer { log.close() }
        let head = log.head
        if let at, at > head {
            throw CLIFailure.usage("--at \(at) is past the head of the log (\(head))")
        }
        let views: ShopViews
        do {
            views = try ShopSystem.views(of: log, asOf: at ?? head, snapshots: DataOptions.snapshots(folder: folder, echo: true))
        } catch {
            throw CLIFailure.unavailable("cannot fold the log: \(error)")
        }
        if json {
            print(views.json)
        } else {
            print(ViewsText.render(views))
        }
    }
}

/// A plain-text rendering of the four views for `prism views`.
enum ViewsText {
    static func money(_ cents: Int64) -> String {
        String(format: "%@$%lld.%02lld", cents < 0 ? "-" : "", abs(cents) / 100, abs(cents) % 100)
    }

    static func render(_ v: ShopViews) -> String {
        var out: [String] = ["as of position \(v.position)", "", "SHOPPERS"]
        for item in v.shoppers.catalog {
            out.append("  \(item.sku.padding(toLength: 10, withPad: " ", startingAt: 0)) \(item.name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(money(item.priceCents)) available \(item.available)")
        }
        for c in v.shoppers.customers {
            out.append("  \(c.customer): \(c.orders) orders, \(c.open) open, spent \(money(c.spentCents))")
        }
        out += ["", "WAREHOUSE"]
        for s in v.warehouse.stock {
            out.append("  \(s.sku.padding(toLength: 10, withPad: " ", startingAt: 0)) on hand \(s.onHand), reserved \(s.reserved), available \(s.available)")
        }
        out.append("  pick queue: \(v.warehouse.pickQueue.isEmpty ? "empty" : v.warehouse.pickQueue.joined(separator: " "))")
        out.append("  low stock: \(v.warehouse.lowStock.isEmpty ? "none" : v.warehouse.lowStock.joined(separator: " "))")
        let f = v.finance
        out += ["", "FINANCE",
                "  revenue \(money(f.revenueCents)), refunds \(money(f.refundsCents)), net \(money(f.netCents))",
                "  outstanding \(money(f.outstandingCents)), paid orders \(f.paidOrders), average \(money(f.averageOrderCents))",
                "  top SKUs: " + (f.topSkus.isEmpty ? "none" : f.topSkus.map { "\($0.sku) \(money($0.revenueCents))" }.joined(separator: ", "))]
        let s = v.support
        out += ["", "SUPPORT",
                "  placed \(s.statusCounts.placed), paid \(s.statusCounts.paid), shipped \(s.statusCounts.shipped), cancelled \(s.statusCounts.cancelled)",
                "  oldest unpaid: " + (s.oldestUnpaid.isEmpty ? "none" : s.oldestUnpaid.map { "\($0.orderId) (\($0.customer), #\($0.placedAt))" }.joined(separator: ", ")),
                "  cancellation reasons: " + (s.cancellationReasons.isEmpty ? "none" : s.cancellationReasons.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))]
        return out.joined(separator: "\n")
    }
}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Events as JSON Lines, in position order (SPEC section 4).")

    @OptionGroup var data: DataOptions

    @Option(name: .customLong("from"), parsing: .unconditional, help: ArgumentHelp("First position to export (default 1).", valueName: "P"))
    var fromText: String?

    @Option(name: .customLong("to"), parsing: .unconditional, help: ArgumentHelp("Last position to export (default: the head).", valueName: "P"))
    var toText: String?

    var from: UInt64 { fromText.flatMap { try? LogPosition.parse($0, option: "--from") } ?? 1 }
    var to: UInt64? { toText.flatMap { try? LogPosition.parse($0, option: "--to") } }

    func validate() throws {
        let from = try fromText.map { try LogPosition.parse($0, option: "--from") }
        let to = try toText.map { try LogPosition.parse($0, option: "--to") }
        if let from, let to, from > to {
            throw ValidationError("--from \(from) is after --to \(to): nothing lies between them; give --from P1 --to P2 with P1 <= P2")
        }
    }

    func run() throws {
        let (log, _) = try data.openForReading("`prism export`")
        defer { log.close() }
        do {
            _ = try Self.export(log, from: from, through: to ?? log.head) { FileHandle.standardOutput.write(Data($0)) }
        } catch {
            throw CLIFailure.unavailable("export stopped: \(error)")
        }
    }

    /// Writes the JSON lines of `from...through` through `write`, a megabyte at a time, and
    /// what was read before a failure; returns the bytes written. `prism bench export` runs
    /// this very path.
    static func export(
        _ log: any EventStore, from: UInt64, through: UInt64, write: (UnsafeRawBufferPointer) -> Void
    ) throws -> Int {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20 + 4096)
        var total = 0
        func flush() {
            buffer.withUnsafeBytes { write($0) }
            total += buffer.count
            buffer.removeAll(keepingCapacity: true)
        }
        defer { flush() }
        try log.read(from: from, through: through) { record in
            try ShopJSON.appendExportLine(record, to: &buffer)
            buffer.append(UInt8(ascii: "\n"))
            if buffer.count >= 1 << 20 { flush() }
            return true
        }
        return total + buffer.count
    }
}

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every record of every segment; report every problem with file, offset and position.")

    @OptionGroup var data: DataOptions

    func run() throws {
        let directory = try data.folder(for: "`prism verify`")
        guard DataOptions.hasLog(directory) else { throw CLIFailure.unavailable("no event log in \(directory)") }
        let summary: LogVerifier.Summary
        do {
            summary = try LogVerifier.verify(directory: directory)
        } catch {
            throw CLIFailure.unavailable("cannot verify \(directory): \(error)")
        }
        for problem in summary.problems { print("problem: \(problem)") }
        print("verified \(summary.records) records in \(summary.segments) segments, \(summary.streams) streams, \(summary.bytes) bytes: \(summary.problems.isEmpty ? "clean" : "\(summary.problems.count) problem(s)")")
        if !summary.problems.isEmpty { throw ExitCode(1) }
    }
}
