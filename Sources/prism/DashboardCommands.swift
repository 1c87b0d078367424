import CQRS
import ArgumentParser
import Dashboard
import EventStore
import Foundation
import Shop
import Terminal

/// Options every dashboard shares.
struct ScreenOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A theme name (default, light, high-contrast, mono) or a .theme file.", valueName: "NAME|PATH"))
    var theme: String = "default"

    @Option(help: "Frame cap, frames per second (1-60).")
    var fps: Int = 10

    @Flag(help: "Draw with ASCII only, whatever the locale.")
    var ascii = false

    func validate() throws {
        guard (1...60).contains(fps) else { throw ValidationError("--fps must be between 1 and 60, got \(fps)") }
    }

    /// Loads the theme and checks the terminal before anything touches the terminal or the log:
    /// a bad theme file is a usage error (exit 2) that names the file, line and key; an unset or
    /// unknown `TERM`, or no terminal at all, is exit 3 naming the `TERM`. Neither leaves a log
    /// behind or a terminal in a strange mode.
    func dashboardOptions() throws -> DashboardOptions {
        let options = DashboardOptions(framesPerSecond: fps, theme: theme, asciiOnly: ascii)
        do {
            _ = try options.themeLocator.load(theme)
        } catch {
            throw CLIFailure.usage("\(error)")
        }
        do {
            try CursesScreen.checkTerminal(environment: options.environment)
        } catch {
            throw CLIFailure.unavailable("\(error)")
        }
        return options
    }
}

/// Runs the dashboard and maps how it ended to an exit code.
func runDashboard(_ source: ShopDashboardSource, _ options: DashboardOptions) throws {
    try mapDashboardExit { try DashboardApp.run(dataSource: source, options: options) }
}

/// Runs a dashboard loop (the plain one or a walkthrough's) and maps how it ended to an exit code.
func mapDashboardExit(_ body: () throws -> DashboardExit) throws {
    let exit: DashboardExit
    do {
        exit = try body()
    } catch let error as TerminalError {
        throw CLIFailure.unavailable("\(error)")
    } catch let error as ThemeError {
        throw CLIFailure.usage("\(error)")
    }
    // The terminal is already restored whichever way the dashboard ended.
    //
    // SIGTERM is how `kill`, `timeout`, process managers and container runtimes ask a program to
    // stop; the dashboard stops in good order (terminal restored, queued commands committed, log
    // closed), so that is a success, exit 0, as after `q` and as for `prism serve`. SIGINT
    // (Ctrl-C) and SIGHUP (the terminal went away) interrupt the session: exit 128 + signal
    // (130, 129), the shell's convention, so that `prism && next-step` does not carry on.
    if case .signal(let sig) = exit, sig != SIGTERM {
        throw ExitCode(128 + sig)
    }
}

struct DashboardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "The live dashboard with the demo load (the default when no subcommand is given).")

    @OptionGroup var data: DataOptions
    @OptionGroup var screen: ScreenOptions

    @Option(help: "Commands per second from the load generator.")
    var rate: Double = 200

    @Option(help: "Seed of the load generator: one seed, one sequence of commands.")
    var seed: UInt64 = 42

    @Flag(help: "Start with the load paused.")
    var paused = false

    @Flag(help: "Relaxed durability: no fdatasync per commit (survives a crash of Prism, not of the machine).")
    var relaxed = false

    func run() throws {
        let options = try screen.dashboardOptions()
        let (store, directory) = try data.openForWriting(relaxed ? .relaxed : .full)
        // Listening from the moment the lock is ours: while the writer reads the log, a `send`
        // hears that this writer is starting (see `prism serve`).
        let endpoint = directory.flatMap { try? CommandEndpoint(dataDirectory: $0) }
        let system: ShopSystem
        do {
            system = try ShopSystem(store: store, directory: directory, seed: seed, rate: rate, snapshots: DataOptions.snapshots(folder: directory, echo: false))
        } catch {
            endpoint?.close()
            store.close()
            throw CLIFailure.opening(error, store.description)
        }
        endpoint?.serve(system)
        if !paused { system.load?.resume() }
        defer {
            endpoint?.close()
            _ = try? runBlocking { await system.close() }
        }
        try runDashboard(ShopDashboardSource(system: system), options)
    }
}

struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "The dashboard, attached read-only to a log that another process (prism serve) writes.")

    @OptionGroup var data: DataOptions
    @OptionGroup var screen: ScreenOptions

    func run() throws {
        let options = try screen.dashboardOptions()
        let (store, directory) = try data.openForReading("`prism watch`")
        let system: ShopSystem
        do {
            system = try ShopSystem(store: store, directory: directory, snapshots: DataOptions.snapshots(folder: directory, echo: false))
        } catch {
            store.close()
            throw CLIFailure.opening(error, store.description)
        }
        defer { _ = try? runBlocking { await system.close() } }
        try runDashboard(ShopDashboardSource(system: system), options)
    }
}
