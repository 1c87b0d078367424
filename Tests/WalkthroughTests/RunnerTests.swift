import Dashboard
import EventLog
import Foundation
import Terminal
import Testing
@testable import Walkthrough

/// The built `prism` executable, for the walkthrough that runs the writer as a child process:
/// `PRISM_BINARY`, else next to this test bundle (the same build), else the default build.
let prismBinary: String = {
    if let explicit = ProcessInfo.processInfo.environment["PRISM_BINARY"] { return explicit }
    if let me = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
        var dir = URL(fileURLWithPath: me).deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("prism").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
    }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return root.appendingPathComponent(".build/debug/prism").path
}()

func temporaryRoot() -> String {
    NSTemporaryDirectory() + "prism-walk-test-" + UUID().uuidString.prefix(8).lowercased()
}

/// Every built-in by name, in teaching order.
let builtinNames: [String] = (try? WalkthroughLibrary.builtins().map(\.name)) ?? []

/// The file log for every run, as the command line opens it.
let fileOpener = StoreOpener.fileLog

func runner(_ w: Walkthrough, expectTimeout: Duration = .seconds(10), width: Int = 120, height: Int = 40) -> WalkthroughRunner {
    WalkthroughRunner(
        walkthrough: w,
        options: .init(rootDirectory: temporaryRoot(), opener: fileOpener, prismBinary: prismBinary, expectTimeout: expectTimeout,
                       screenWidth: width, screenHeight: height, tearTail: { try EventLog.leaveTornTail(directory: $0) }))
}

@Suite(.serialized) struct BuiltinRunTests {
    static let sizes = [(120, 40), (80, 24)]

    /// Each built-in, headless against a real shop in a fresh folder, to its last step, with
    /// every `expect` and every `see` of every step holding on a 120x40 and an 80x24 screen.
    @Test(arguments: builtinNames, [0, 1])
    func builtinRunsToTheEndWithEveryExpectationHolding(name: String, size: Int) async throws {
        let (width, height) = Self.sizes[size]
        let w = try #require(try WalkthroughLibrary.resolve(name))
        if w.needsChildWriter {
            try #require(FileManager.default.isExecutableFile(atPath: prismBinary), "no prism executable at \(prismBinary); set PRISM_BINARY")
        }
        let r = runner(w, width: width, height: height)
        try await r.start()
        var stepsRun = 1
        var failed = await r.stepFailures
        #expect(failed.isEmpty, "step 1 at \(width)x\(height): \(failed)")
        while await r.next() {
            stepsRun += 1
            failed = await r.stepFailures
            #expect(failed.isEmpty, "step \(stepsRun) at \(width)x\(height): \(failed)")
        }
        #expect(stepsRun == w.steps.count)
        #expect(await r.stepIndex == w.steps.count - 1)
        if w.needsChildWriter {
            #expect(await r.dataDirectory.map { FileManager.default.fileExists(atPath: $0 + "/prism.sock") } == true)
        }
        await r.close()
    }
}

@Suite struct BuiltinTextTests {
    /// Every built-in step says what the learner must see, as a `see` the runs above check.
    @Test(arguments: builtinNames)
    func everyStepHasASee(name: String) throws {
        let w = try #require(try WalkthroughLibrary.resolve(name))
        for step in w.steps {
            let hasSee = step.actions.contains { $0.isSee }
            #expect(hasSee, "\(name): step \"\(step.title)\" has no `see`")
        }
    }
}

@Suite struct RunnerTests {
    @Test func backReplaysEarlierStepsOnAFreshLog() async throws {
        let w = try #require(try WalkthroughLibrary.resolve("commands-vs-queries"))
        let r = runner(w)
        try await r.start()
        await r.next()
        await r.next()
        let third = try #require(await r.system)
        #expect(third.store.head == 6)
        let firstFolder = try #require(await r.dataDirectory)
        #expect(await r.back())
        #expect(await r.stepIndex == 1)
        let second = try #require(await r.system)
        #expect(second.store.head == 5)
        #expect(await r.dataDirectory != firstFolder)
        #expect(!FileManager.default.fileExists(atPath: firstFolder))
        #expect(await r.failures == [])
        // And forward again: the same step, the same state.
        await r.next()
        #expect(await r.system?.store.head == 6)
        #expect(await r.failures == [])
        #expect(r.display.current.title.contains("step 3 of 6"))
        await r.close()
    }

    @Test func aFailingExpectationIsReportedWithItsLine() async throws {
        let w = try WalkthroughParser.parse("""
            # Wrong
            A walkthrough whose author miscounted.
            ## One
            Register a mug.
            > send register MUG 1299 Blue mug
            > expect head = 1
            > expect shoppers.catalog[MUG].priceCents = 1300
            > expect shoppers.catalog[CUP].priceCents = 1299
            """, file: "wrong.md", name: "wrong")
        let r = runner(w, expectTimeout: .milliseconds(200))
        try await r.start()
        let failures = await r.failures
        #expect(failures.count == 2)
        #expect(failures.first?.hasPrefix("wrong.md:7: expect shoppers.catalog[MUG].priceCents = 1300: got 1299") == true, "\(failures)")
        #expect(failures.last?.contains("wrong.md:8:") == true)
        #expect(failures.last?.contains("no element CUP") == true)
        #expect(r.display.current.message?.hasPrefix("check failed") == true)
        await r.close()
    }

    /// A `see` looks at the rendered screen: text that is not drawn fails with its line and
    /// what the region shows instead; text that is drawn holds.
    @Test func aSeeThatIsNotOnScreenFailsWithWhatIsThere() async throws {
        let w = try WalkthroughParser.parse("""
            # Looking
            A walkthrough whose author looked at the wrong pane.
            ## One
            Register a mug.
            > send register MUG 1299 Blue mug
            > see shoppers MUG Blue mug $12.99
            > see finance Blue mug
            > see status head #1
            """, file: "looking.md", name: "looking")
        let r = runner(w, expectTimeout: .milliseconds(200), width: 80, height: 24)
        try await r.start()
        let failures = await r.failures
        #expect(failures.count == 1, "\(failures)")
        #expect(failures.first?.hasPrefix("looking.md:7: see finance Blue mug: not on the finance part of the 80x24 screen, which shows:") == true, "\(failures)")
        #expect(failures.first?.contains("Revenue") == true)
        await r.close()
    }

    /// `together` queues both commands before either is decided: the second is decided against
    /// the stream as the first left it.
    @Test func togetherDecidesTheSecondAgainstTheFirstsResult() async throws {
        let w = try WalkthroughParser.parse("""
            # Race
            Two clerks.
            > send register MUG 1299 Blue mug
            > send restock MUG 5
            > send place alice MUG:1
            > send pay o-1 1299
            ## One
            Ship and cancel at once.
            > together ship o-1 | cancel o-1 changed mind
            > expect last.reply = rejected
            > expect head = 5
            > see message ship o-1: accepted position=5 | cancel o-1 changed mind: rejected
            """, file: "race.md", name: "race")
        let r = runner(w, expectTimeout: .milliseconds(500))
        try await r.start()
        #expect(await r.failures == [])
        await r.close()
    }

    @Test func anActionThatCannotRunStopsTheStepAndIsReported() async throws {
        let w = try WalkthroughParser.parse("""
            # Stopped
            Waiting on a stopped projector never ends.
            ## One
            Stop and wait.
            > stop finance
            > wait finance
            > expect head = 999
            """, file: "stopped.md", name: "stopped")
        let r = runner(w, expectTimeout: .milliseconds(100))
        try await r.start()
        let failures = await r.failures
        #expect(failures.count == 1)
        #expect(failures.first?.contains("stopped.md:6: wait finance: finance is stopped") == true, "\(failures)")
        await r.close()
    }

    @Test func dataSourceShowsNarrationWrappedWithItsHighlightAndTheShop() async throws {
        let w = try #require(try WalkthroughLibrary.resolve("commands-vs-queries"))
        let r = runner(w)
        try await r.start()
        await r.next()
        let source = WalkthroughDataSource(display: r.display)
        source.wrapWidth.store(60, ordering: .relaxed)
        let s = source.snapshot()
        let narration = try #require(s.narration)
        #expect(narration.title.contains("step 2 of 6: A command: place an order"))
        #expect(narration.target == .pane(.warehouse))
        #expect(narration.lines.count > 2)
        #expect(narration.lines.allSatisfy { $0.count <= 60 })
        #expect(s.head == 5)
        #expect(s.message?.contains("accepted position=5") == true)
        #expect(s.finance?.outstandingCents == 5097)
        await r.close()
    }

    @Test func walkthroughTravelDrivesTheDashboardSession() async throws {
        let w = try #require(try WalkthroughLibrary.resolve("time-travel"))
        let r = runner(w)
        try await r.start()
        await r.next()
        let source = WalkthroughDataSource(display: r.display)
        let session = DashboardSession(dataSource: source, theme: Theme.fallback, glyphs: .unicode, themeLocator: ThemeLocator(searchDirectories: []))
        let travel = r.display.current.travel
        #expect(travel == 8)
        WalkthroughApp.apply(travel: travel, to: session)
        #expect(session.ui.timeTravel == 8)
        WalkthroughApp.apply(travel: 3, to: session)
        #expect(session.ui.timeTravel == 3)
        WalkthroughApp.apply(travel: 11, to: session)
        #expect(session.ui.timeTravel == 11)
        let grid = try #require(session.frame(width: 120, height: 40))
        #expect(grid.text.contains("step 2 of 5"))
        WalkthroughApp.apply(travel: nil, to: session)
        #expect(session.ui.timeTravel == nil)
        await r.close()
    }
}

@Suite struct KeyTests {
    @Test func nextAndBackKeysGiveWayToPaletteInspectorHelpAndTimeTravel() {
        var ui = DashboardUI()
        #expect(WalkthroughKeys.move(for: .char("n"), ui: ui) == .next)
        #expect(WalkthroughKeys.move(for: .right, ui: ui) == .next)
        #expect(WalkthroughKeys.move(for: .char("b"), ui: ui) == .back)
        #expect(WalkthroughKeys.move(for: .left, ui: ui) == .back)
        #expect(WalkthroughKeys.move(for: .char("q"), ui: ui) == nil)
        #expect(WalkthroughKeys.move(for: .tab, ui: ui) == nil)
        ui.timeTravel = 5
        #expect(WalkthroughKeys.move(for: .left, ui: ui) == nil)
        #expect(WalkthroughKeys.move(for: .right, ui: ui) == nil)
        #expect(WalkthroughKeys.move(for: .char("n"), ui: ui) == .next)
        ui.timeTravel = nil
        ui.palette = "place bob"
        #expect(WalkthroughKeys.move(for: .char("n"), ui: ui) == nil)
        ui.palette = nil
        ui.inspector = .init(cursor: 3)
        #expect(WalkthroughKeys.move(for: .char("b"), ui: ui) == nil)
        ui.inspector = nil
        ui.showHelp = true
        #expect(WalkthroughKeys.move(for: .char("n"), ui: ui) == nil)
    }
}
