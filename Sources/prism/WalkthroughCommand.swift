import CQRS
import ArgumentParser
import Dashboard
import Foundation
import Terminal
import Walkthrough

struct WalkthroughCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "walkthrough",
        abstract: "A guided training walkthrough in the dashboard; without a name, lists the built-in ones.",
        discussion: """
            Each walkthrough runs on a fresh, throwaway log with a fixed seed, so every run is the \
            same. Keys: n or Right next step, b or Left back a step, q quit; all dashboard keys work \
            too. NAME is a built-in (see the list) or the path of your own walkthrough file (Markdown; \
            the format is described in the README). A file that cannot be used is exit 2 with its \
            file and line. --check runs every step without a terminal and reports failed expectations \
            (exit 1).
            """)

    @Argument(help: ArgumentHelp("A built-in walkthrough's name, or a walkthrough file.", valueName: "NAME|FILE"))
    var walkthrough: String?

    @Flag(help: "Run every step without the dashboard, checking each `expect`; exit 1 if one fails.")
    var check = false

    @Option(help: ArgumentHelp("Make the walkthrough's throwaway logs inside DIR (default: a temporary folder).", valueName: "DIR"))
    var data: String?

    @OptionGroup var screen: ScreenOptions

    func run() throws {
        guard let argument = walkthrough else {
            try list()
            return
        }
        let walk: Walkthrough
        do {
            guard let found = try WalkthroughLibrary.resolve(argument) else {
                let names = ((try? WalkthroughLibrary.builtins()) ?? []).map(\.name)
                throw CLIFailure.usage("no walkthrough named \"\(argument)\"; built-in: \(names.joined(separator: ", ")), or give a file path")
            }
            walk = found
        } catch let error as WalkthroughError {
            throw CLIFailure.usage("\(error)")
        }
        let options = check ? nil : try screen.dashboardOptions()

        let parent = data.map(DataOptions.absolute) ?? NSTemporaryDirectory()
        let root = (parent.hasSuffix("/") ? parent : parent + "/") + "prism-walkthrough-" + String(UUID().uuidString.prefix(8)).lowercased()
        let runner = WalkthroughRunner(
            walkthrough: walk,
            options: WalkthroughRunner.Options(rootDirectory: root, opener: DataOptions.fileOpener, prismBinary: Self.ownExecutable(),
                                               tearTail: DataOptions.tearTail))
        defer { _ = try? runBlocking { await runner.close() } }
        do {
            try runBlocking { try await runner.start() }
        } catch {
            throw CLIFailure.unavailable("cannot start the walkthrough: \(error)")
        }
        if let options {
            try runWalkthroughDashboard(runner, options)
        } else {
            try runChecks(runner, walk)
        }
    }

    private func list() throws {
        let all: [Walkthrough]
        do {
            all = try WalkthroughLibrary.builtins()
        } catch {
            throw CLIFailure.unavailable("\(error)")
        }
        let width = all.map(\.name.count).max() ?? 0
        for w in all {
            print(w.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + w.summary)
        }
    }

    /// Every step in turn, without a terminal: one line per step, then the failures.
    private func runChecks(_ runner: WalkthroughRunner, _ walk: Walkthrough) throws {
        var index = 0
        while true {
            let stepFailures = try runBlocking { await runner.stepFailures }
            let title = walk.steps[index].title
            print("step \(index + 1)/\(walk.steps.count) \(title): \(stepFailures.isEmpty ? "ok" : "FAILED")")
            for f in stepFailures { print("  " + f) }
            let moved = try runBlocking { await runner.next() }
            if !moved { break }
            index += 1
        }
        let failures = try runBlocking { await runner.failures }
        if !failures.isEmpty {
            throw CLIFailure.rejected("\(walk.name): \(failures.count) check(s) failed")
        }
        print("\(walk.name): all \(walk.steps.count) steps ran, every expectation held")
    }

    /// The running executable, for walkthroughs that start `prism serve` as the writer.
    static func ownExecutable() -> String? {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        return Bundle.main.executablePath
    }
}

/// Runs the walkthrough dashboard and maps how it ended to an exit code, as `runDashboard` does.
func runWalkthroughDashboard(_ runner: WalkthroughRunner, _ options: DashboardOptions) throws {
    try mapDashboardExit { try WalkthroughApp.run(runner: runner, options: options) }
}
