import Foundation
import Testing
@testable import Walkthrough

@Suite struct ParserTests {
    func parse(_ text: String) throws -> Walkthrough {
        try WalkthroughParser.parse(text, file: "my.md", name: "my")
    }

    /// The error a malformed file gives: its file and line.
    func error(_ text: String) -> WalkthroughError? {
        do {
            _ = try parse(text)
            return nil
        } catch let e as WalkthroughError {
            return e
        } catch {
            return nil
        }
    }

    @Test func parsesTitleSummarySetupStepsNarrationAndActions() throws {
        let w = try parse("""
            # Title here
            The summary,
            on two lines.

            An introduction for readers of the file.

            > send register MUG 1299 Blue mug
            <!-- a comment -->
            ## First step
            Para one
            continues here.

            - a list item
            > send --id x-1 place alice MUG:2
            > expect warehouse.stock[MUG].reserved = 2
            > expect support.cancellationReasons[wrong size] >= 0

            ## Second
            Text.
            > travel 3
            > travel live
            > highlight projectors
            > delay finance 250
            > remember finance
            > expect finance unchanged
            > crash writer
            > restart writer
            """)
        #expect(w.title == "Title here")
        #expect(w.summary == "The summary, on two lines.")
        #expect(w.setup.map(\.kind) == [.send(command: "register MUG 1299 Blue mug", id: nil)])
        #expect(w.steps.count == 2)
        #expect(w.steps[0].title == "First step")
        #expect(w.steps[0].narration == ["Para one continues here.", "- a list item"])
        #expect(w.steps[0].line == 9)
        #expect(w.steps[0].actions[0].kind == .send(command: "place alice MUG:2", id: "x-1"))
        #expect(w.steps[0].actions[0].line == 14)
        #expect(w.steps[0].actions[1].kind == .expect(.init(path: "warehouse.stock[MUG].reserved", op: .equal, value: "2")))
        #expect(w.steps[0].actions[2].kind == .expect(.init(path: "support.cancellationReasons[wrong size]", op: .greaterOrEqual, value: "0")))
        #expect(w.steps[1].actions.map(\.kind) == [
            .travel(3), .travel(nil), .highlight(.projectors), .delay("finance", milliseconds: 250),
            .remember("finance"), .expect(.init(path: "finance", op: .unchanged, value: "")), .crashWriter, .restartWriter,
        ])
        #expect(w.needsChildWriter)
    }

    @Test(arguments: [
        ("no title\n", 1, "title"),
        ("# T\n\n## Step\ntext\n", 3, "summary"),
        ("# T\nsummary\n", 2, "no steps"),
        ("# T\nsummary\n## Empty\n## Next\ntext\n", 3, "no narration"),
        ("# T\nsummary\n## S\ntext\n> jump 3\n", 5, "unknown action \"jump\""),
        ("# T\nsummary\n## S\ntext\n\n> send fly alice MUG:2\n", 6, "bad command"),
        ("# T\nsummary\n## S\ntext\n> send place alice MUG\n", 5, "bad command"),
        ("# T\nsummary\n## S\ntext\n> stop accounting\n", 5, "unknown projector"),
        ("# T\nsummary\n## S\ntext\n> delay finance soon\n", 5, "whole number"),
        ("# T\nsummary\n## S\ntext\n> restart writer\n", 5, "crash writer"),
        ("# T\nsummary\n## S\ntext\n> crash writer\n> crash writer\n", 6, "already down"),
        ("# T\nsummary\n## S\ntext\n> expect finance.revenueCents == 3\n", 5, "expect PATH OP VALUE"),
        ("# T\nsummary\n## S\ntext\n> expect money = 3\n", 5, "unknown path"),
        ("# T\nsummary\n## S\ntext\n> expect head > many\n", 5, "not a whole number"),
        ("# T\nsummary\n## S\ntext\n> travel yesterday\n", 5, "position"),
        ("# T\nsummary\n## S\ntext\n> highlight sidebar\n", 5, "cannot highlight"),
        ("# T\nsummary\n### S\ntext\n", 3, "unexpected heading"),
        ("# T\nsummary\n## S\ntext\n<!-- open\n", 5, "comment"),
        ("# T\nsummary\n## S\ntext\n> send --id \(String(repeating: "x", count: 256)) restock MUG 1\n", 5, "at most 255 bytes"),
    ])
    func malformedFileNamesFileAndLine(text: String, line: Int, fragment: String) throws {
        let e = try #require(error(text))
        #expect(e.line == line)
        #expect(e.file == "my.md")
        #expect(e.message.contains(fragment), "\(e.message)")
        #expect(e.description.hasPrefix("my.md:\(line): "))
    }

    @Test func fileThatCannotBeReadNamesIt() {
        #expect(throws: WalkthroughError.self) { try WalkthroughLibrary.load(file: "/nonexistent/dir/w.md") }
    }

    @Test func atLeastFiveBuiltinsParseWithSummaries() throws {
        let all = try WalkthroughLibrary.builtins()
        #expect(all.map(\.name) == ["commands-vs-queries", "eventual-consistency", "rebuilding", "crash-recovery", "time-travel", "streams-and-versions"])
        for w in all {
            #expect(!w.summary.isEmpty)
            #expect(w.steps.count >= 4, "\(w.name)")
            // Every step checks something.
            for step in w.steps {
                #expect(step.actions.contains { if case .expect = $0.kind { true } else { false } }, "\(w.name): \(step.title)")
            }
        }
        #expect(all.filter(\.needsChildWriter).map(\.name) == ["crash-recovery"])
    }

    @Test func resolvesBuiltinNamesAndFiles() throws {
        #expect(try WalkthroughLibrary.resolve("time-travel")?.title == "Time travel and audit")
        #expect(try WalkthroughLibrary.resolve("no-such-walkthrough") == nil)
        let path = NSTemporaryDirectory() + "walk-\(UUID().uuidString.prefix(6)).md"
        try "# Mine\nMy own.\n## One\nHello.\n> expect head = 0\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let mine = try #require(try WalkthroughLibrary.resolve(path))
        #expect(mine.title == "Mine")
        #expect(mine.file == path)
    }

    @Test func pathsSplitOnDotsAndBrackets() {
        #expect(PathSegment.split("warehouse.stock[MUG].available") == ["warehouse", "stock", "[MUG]", "available"])
        #expect(PathSegment.split("support.cancellationReasons[wrong size.]") == ["support", "cancellationReasons", "[wrong size.]"])
    }
}
