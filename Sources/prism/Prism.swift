import ArgumentParser

struct Prism: ParsableCommand {
    /// What `prism --version` prints after the name.
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "prism",
        abstract: "A live, event-sourced shop in your terminal: commands, events, four views.",
        discussion: """
            Run with no subcommand for the dashboard with the demo load. Exit codes: 0 success, \
            1 command rejected or log check failed, 2 usage error, 3 log or writer unavailable.
            """,
        version: "prism \(Prism.version)",
        subcommands: [
            DashboardCommand.self, WatchCommand.self, ServeCommand.self, SendCommand.self, ViewsCommand.self,
            ExportCommand.self, VerifyCommand.self, DbCommand.self, QueryCommand.self, BenchCommand.self, DebugCommand.self, WalkthroughCommand.self,
        ],
        defaultSubcommand: DashboardCommand.self
    )
}
