import ArgumentParser
import Dashboard
import EventLog
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

    /// Loads the theme before anything touches the terminal or the log: a bad theme file is a
    /// usage error (exit 2) that names the file, line and key.
    func dashboardOptions() throws -> DashboardOptions {
        let options = DashboardOptions(framesPerSecond: fps, theme: theme, asciiOnly: ascii)
        do {
            _ = try options.themeLocator.load(theme)
        } catch {
            throw CLIFailure.usage("\(error)")
        }
        return options
    }
}

/// Runs the dashboard and maps how it ended to an exit code.
func runDashboard(_ source: ShopDashboardSource, _ options: DashboardOptions) throws {
    let exit: DashboardExit
    do {
        exit = try DashboardApp.run(dataSource: source, options: options)
    } catch let error as TerminalError {
        throw CLIFailure.unavailable("\(error)")
    } catch let error as ThemeError {
        throw CLIFailure.usage("\(error)")
    }
    if case .signal(let sig) = exit {
        // The terminal is already restored; exit as a signalled process conventionally does.
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
        let env = ProcessInfo.processInfo.environment
        if (env["TERM"] ?? "").isEmpty {
            throw CLIFailure.unavailable("TERM is not set: the dashboard needs a terminal type (for example TERM=xterm-256color)")
        }
        let directory = data.directory
        let system: ShopSystem
        do {
            system = try ShopSystem(directory: directory, mode: .write(relaxed ? .relaxed : .full), seed: seed, rate: rate)
        } catch {
            throw CLIFailure.opening(error, directory)
        }
        let endpoint = try? CommandEndpoint(dataDirectory: directory, system: system)
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
        if (ProcessInfo.processInfo.environment["TERM"] ?? "").isEmpty {
            throw CLIFailure.unavailable("TERM is not set: the dashboard needs a terminal type (for example TERM=xterm-256color)")
        }
        let directory = data.directory
        let system: ShopSystem
        do {
            system = try ShopSystem(directory: directory, mode: .readOnly)
        } catch {
            throw CLIFailure.opening(error, directory)
        }
        defer { _ = try? runBlocking { await system.close() } }
        try runDashboard(ShopDashboardSource(system: system), options)
    }
}
