import ArgumentParser
import EventStore
import Foundation
import PostgresStore

/// `prism db init|status`: the PostgreSQL store's schema and state.
struct DbCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "The PostgreSQL store: create its schema, or show its state.",
        subcommands: [DbInitCommand.self, DbStatusCommand.self])
}

struct DbInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create Prism's tables in the database (idempotent; a schema from a newer Prism is refused).")

    @OptionGroup var data: DataOptions

    func run() throws {
        let url = try data.postgresURL(for: "`prism db init`")
        do {
            switch try PostgresSchema.initialize(url) {
            case .created: print("created Prism schema version \(PostgresSchema.version) in \(url)")
            case .alreadyCurrent: print("\(url) already has Prism schema version \(PostgresSchema.version); nothing to do")
            }
        } catch let e as StoreError {
            throw CLIFailure.unavailable(e.message)
        }
    }
}

struct DbStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Schema version, head, and each running projector's checkpoint and lag.")

    @OptionGroup var data: DataOptions

    func run() throws {
        let url = try data.postgresURL(for: "`prism db status`")
        let status: PostgresAdmin.Status
        do {
            status = try PostgresAdmin.status(of: url)
        } catch let e as StoreError {
            throw CLIFailure.unavailable(e.message)
        }
        guard let version = status.schemaVersion else {
            throw CLIFailure.unavailable("\(url) has no Prism schema; run `prism db init --store \(url)`")
        }
        print("database    \(url)")
        print("schema      version \(version)")
        print("head        \(status.head)")
        print("events      \(status.events)")
        print("command ids \(status.commands)")
        if status.checkpoints.isEmpty {
            print("projectors  none reported (a running `prism serve` reports its projectors every second)")
        } else {
            print("projectors  (as reported by running processes)")
            for c in status.checkpoints {
                let lag = status.head >= c.position ? status.head - c.position : 0
                let name = c.projector.padding(toLength: 10, withPad: " ", startingAt: 0)
                print("  \(name) checkpoint \(c.position), lag \(lag) events, \(c.process), reported \(String(format: "%.0f", c.secondsAgo)) s ago")
            }
        }
    }
}
