import CQRS
import Foundation
import Shop

/// Reads the walkthrough file format documented on ``Walkthrough``. Every problem is reported
/// with the file and the line, and everything that can be checked without running is checked
/// here: verbs, argument counts, numbers, projector names, command syntax, expectation paths,
/// and that the writer is crashed before it is restarted.
public enum WalkthroughParser {
    public static let projectors = ["shoppers", "warehouse", "finance", "support"]

    public static func parse(_ text: String, file: String, name: String) throws -> Walkthrough {
        var title: String?
        var summary: String?
        var setup: [Walkthrough.Action] = []
        var steps: [Walkthrough.Step] = []
        var paragraph: [String] = []
        var writerDown = false

        func fail(_ line: Int, _ message: String) -> WalkthroughError {
            WalkthroughError(file: file, line: line, message: message)
        }
        func flush() {
            guard !paragraph.isEmpty else { return }
            let joined = paragraph.joined(separator: " ")
            paragraph = []
            if steps.isEmpty {
                if summary == nil { summary = joined }
                // Further header paragraphs are an introduction for readers of the file.
            } else {
                steps[steps.count - 1].narration.append(joined)
            }
        }

        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            String($0).trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
        }
        for (index, raw) in lines.enumerated() {
            let number = index + 1
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { flush(); continue }
            if line.hasPrefix("<!--") {
                guard line.hasSuffix("-->") else { throw fail(number, "a comment must open and close on one line: <!-- ... -->") }
                continue
            }
            if title == nil {
                guard line.hasPrefix("# "), line.count > 2 else {
                    throw fail(number, "a walkthrough starts with its title: `# Title`")
                }
                title = String(line.dropFirst(2)).trimmingCharacters(in: .whitespaces)
                continue
            }
            if line.hasPrefix("## ") {
                flush()
                guard summary != nil else { throw fail(number, "missing the one-line summary after the title") }
                if let previous = steps.last, previous.narration.isEmpty {
                    throw fail(previous.line, "step \"\(previous.title)\" has no narration")
                }
                let heading = String(line.dropFirst(3)).trimmingCharacters(in: .whitespaces)
                guard !heading.isEmpty else { throw fail(number, "a step needs a title after `## `") }
                steps.append(Walkthrough.Step(title: heading, narration: [], actions: [], line: number))
                continue
            }
            if line.hasPrefix("#") {
                throw fail(number, "unexpected heading: use `# Title` once, then `## Step title` for each step")
            }
            if line.hasPrefix(">") {
                flush()
                if summary == nil { throw fail(number, "missing the one-line summary after the title") }
                let body = String(line.dropFirst()).trimmingCharacters(in: .whitespaces)
                let action = try parseAction(body, line: number, file: file, writerDown: &writerDown)
                if steps.isEmpty { setup.append(action) } else { steps[steps.count - 1].actions.append(action) }
                continue
            }
            if line.hasPrefix("- ") || line.hasPrefix("* ") {
                flush()
                paragraph = ["- " + line.dropFirst(2).trimmingCharacters(in: .whitespaces)]
                flush()
                continue
            }
            paragraph.append(line)
        }
        flush()
        let end = max(1, (lines.lastIndex { !$0.trimmingCharacters(in: .whitespaces).isEmpty } ?? 0) + 1)
        guard let title else { throw fail(end, "the file is empty: a walkthrough starts with `# Title`") }
        guard let summary else { throw fail(end, "missing the one-line summary after the title") }
        guard let last = steps.last else { throw fail(end, "no steps: each step starts with `## Step title`") }
        if last.narration.isEmpty { throw fail(last.line, "step \"\(last.title)\" has no narration") }
        return Walkthrough(name: name, title: title, summary: summary, file: file, setup: setup, steps: steps)
    }

    static func parseAction(_ body: String, line: Int, file: String, writerDown: inout Bool) throws -> Walkthrough.Action {
        func fail(_ message: String) -> WalkthroughError { WalkthroughError(file: file, line: line, message: message) }
        let words = body.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard let verb = words.first else { throw fail("empty action line: write an action after `>`") }
        let args = Array(words.dropFirst())

        func count(_ n: Int, _ usage: String) throws {
            guard args.count == n else { throw fail("`\(verb)` expects: \(usage)") }
        }
        func projector(_ word: String) throws -> String {
            guard projectors.contains(word) else {
                throw fail("unknown projector \"\(word)\": one of \(projectors.joined(separator: ", "))")
            }
            return word
        }
        func integer(_ word: String, _ what: String, in range: ClosedRange<Int>) throws -> Int {
            guard let n = Int(word), range.contains(n) else {
                throw fail("\(what) must be a whole number in \(range.lowerBound)...\(range.upperBound), got \"\(word)\"")
            }
            return n
        }

        let kind: Walkthrough.Kind
        switch verb {
        case "send":
            var rest = args
            var id: String?
            if rest.first == "--id" {
                guard rest.count >= 2 else { throw fail("`send --id` needs an id and a command") }
                if let problem = CommandId.problem(rest[1]) { throw fail("`send --id`: \(problem)") }
                id = rest[1]
                rest = Array(rest.dropFirst(2))
            }
            let command = rest.joined(separator: " ")
            guard !command.isEmpty else { throw fail("`send` expects a command, e.g. `send place alice MUG:2`") }
            do {
                _ = try CommandParser.parse(command)
            } catch {
                throw fail("bad command \"\(command)\": \(error)")
            }
            kind = .send(command: command, id: id)
        case "together":
            let commands = args.joined(separator: " ").components(separatedBy: " | ").map { $0.trimmingCharacters(in: .whitespaces) }
            guard commands.count >= 2, !commands.contains(where: \.isEmpty) else {
                throw fail("`together` expects two or more commands split by ` | `, e.g. `together ship o-1 | cancel o-1 changed mind`")
            }
            for command in commands {
                do {
                    _ = try CommandParser.parse(command)
                } catch {
                    throw fail("bad command \"\(command)\": \(error)")
                }
            }
            kind = .together(commands)
        case "pause":
            try count(0, "pause")
            kind = .pause
        case "resume":
            try count(0, "resume")
            kind = .resume
        case "rate":
            try count(1, "rate N (commands per second)")
            guard let r = Double(args[0]), r >= 0, r <= 1_000_000 else {
                throw fail("rate must be a number of commands per second in 0...1000000, got \"\(args[0])\"")
            }
            kind = .rate(r)
        case "generate":
            try count(1, "generate N (commands from the load generator)")
            kind = .generate(try integer(args[0], "the number of commands", in: 1...1_000_000))
        case "stop":
            try count(1, "stop PROJECTOR")
            kind = .stop(try projector(args[0]))
        case "start":
            try count(1, "start PROJECTOR")
            kind = .start(try projector(args[0]))
        case "rebuild":
            try count(1, "rebuild PROJECTOR")
            kind = .rebuild(try projector(args[0]))
        case "delay":
            try count(2, "delay PROJECTOR MILLISECONDS")
            kind = .delay(try projector(args[0]), milliseconds: try integer(args[1], "the delay", in: 0...60_000))
        case "wait":
            guard args.count <= 1 else { throw fail("`wait` expects: wait [PROJECTOR]") }
            kind = .wait(try args.first.map(projector))
        case "sleep":
            try count(1, "sleep MILLISECONDS")
            kind = .sleep(milliseconds: try integer(args[0], "the time to sleep", in: 0...60_000))
        case "travel":
            try count(1, "travel POSITION or travel live")
            if args[0] == "live" {
                kind = .travel(nil)
            } else {
                guard let p = UInt64(args[0]), p >= 1 else {
                    throw fail("travel needs a position (1, 2, ...) or `live`, got \"\(args[0])\"")
                }
                kind = .travel(p)
            }
        case "crash", "restart":
            guard args == ["writer"] else { throw fail("`\(verb)` expects: \(verb) writer") }
            if verb == "crash" {
                if writerDown { throw fail("the writer is already down here: `restart writer` first") }
                writerDown = true
                kind = .crashWriter
            } else {
                if !writerDown { throw fail("the writer is running here: `crash writer` before `restart writer`") }
                writerDown = false
                kind = .restartWriter
            }
        case "tear":
            guard args == ["tail"] else { throw fail("`tear` expects: tear tail") }
            if !writerDown { throw fail("`tear tail` needs the writer down: `crash writer` first") }
            kind = .tearTail
        case "highlight":
            try count(1, "highlight shoppers|warehouse|finance|support|projectors|events|none")
            switch args[0] {
            case "projectors": kind = .highlight(.projectors)
            case "events": kind = .highlight(.events)
            case "none": kind = .highlight(.none)
            case let p where projectors.contains(p): kind = .highlight(.pane(p))
            default:
                throw fail("cannot highlight \"\(args[0])\": one of \((projectors + ["projectors", "events", "none"]).joined(separator: ", "))")
            }
        case "remember":
            try count(1, "remember PATH")
            try checkPath(args[0], fail: fail)
            kind = .remember(args[0])
        case "see":
            var rest = args
            var region: String?
            if rest.count >= 2, Walkthrough.screenRegions.contains(rest[0]) {
                region = rest[0]
                rest.removeFirst()
            }
            var text = rest.joined(separator: " ")
            if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") { text = String(text.dropFirst().dropLast()) }
            guard !text.isEmpty else {
                throw fail("`see` expects: see [REGION] TEXT, REGION one of \(Walkthrough.screenRegions.joined(separator: ", "))")
            }
            kind = .see(region: region, text: text)
        case "expect":
            kind = .expect(try parseExpectation(body.dropFirst("expect".count).trimmingCharacters(in: .whitespaces), fail: fail))
        default:
            throw fail("unknown action \"\(verb)\": one of send, together, pause, resume, rate, generate, stop, start, rebuild, delay, wait, sleep, travel, crash, tear, restart, highlight, remember, expect, see")
        }
        return Walkthrough.Action(kind: kind, line: line, text: body)
    }

    /// `PATH OP VALUE` or `PATH unchanged`. The path may hold spaces inside `[...]`; the value is
    /// the rest of the line.
    static func parseExpectation(_ text: String, fail: (String) -> WalkthroughError) throws -> Walkthrough.Expectation {
        let usage = "`expect` expects: expect PATH OP VALUE (OP: = != < <= > >= contains excludes) or expect PATH unchanged"
        var depth = 0
        var end = text.endIndex
        for i in text.indices {
            let c = text[i]
            if c == "[" { depth += 1 } else if c == "]" { depth -= 1 } else if c == " " && depth == 0 { end = i; break }
        }
        let path = String(text[..<end])
        guard !path.isEmpty, depth == 0 else { throw fail(usage) }
        try checkPath(path, fail: fail)
        let rest = text[end...].trimmingCharacters(in: .whitespaces)
        let words = rest.split(separator: " ", maxSplits: 1).map(String.init)
        guard let opWord = words.first, let op = Walkthrough.Operator(rawValue: opWord) else { throw fail(usage) }
        if op == .unchanged {
            guard words.count == 1 else { throw fail("`expect PATH unchanged` takes no value") }
            return Walkthrough.Expectation(path: path, op: op, value: "")
        }
        guard words.count == 2 else { throw fail(usage) }
        let value = words[1].trimmingCharacters(in: .whitespaces)
        if [.less, .lessOrEqual, .greater, .greaterOrEqual].contains(op), Int64(value) == nil {
            throw fail("`\(op.rawValue)` compares numbers; \"\(value)\" is not a whole number")
        }
        return Walkthrough.Expectation(path: path, op: op, value: value)
    }

    static let viewRoots = ["shoppers", "warehouse", "finance", "support"]
    static let projectorFields = ["checkpoint", "lag", "state"]

    /// Checks that a path starts somewhere the runner knows; fields inside a view are checked
    /// when it runs (a misspelt field fails its expectation, naming the path).
    static func checkPath(_ path: String, fail: (String) -> WalkthroughError) throws {
        let parts = PathSegment.split(path)
        guard let root = parts.first else { throw fail("empty path") }
        switch root {
        case "head", "writer":
            guard parts.count == 1 else { throw fail("`\(root)` has no fields") }
        case "load":
            guard parts.count == 1 || parts == ["load", "rate"] else { throw fail("`load` has one field: load.rate") }
        case "last":
            guard parts.count == 2, ["reply", "position", "repeat"].contains(parts[1]) else {
                throw fail("`last` fields: last.reply, last.position, last.repeat")
            }
        case "acked":
            guard parts.count == 1 || parts == ["acked", "missing"] else { throw fail("`acked` has one field: acked.missing") }
        case let v where viewRoots.contains(v):
            break
        default:
            throw fail("unknown path \"\(path)\": it starts with head, writer, load, last, acked, or a view (shoppers, warehouse, finance, support)")
        }
    }
}

/// Splits `warehouse.stock[MUG].available` into `warehouse`, `stock`, `[MUG]`, `available`.
enum PathSegment {
    static func split(_ path: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var inBracket = false
        for c in path {
            if inBracket {
                current.append(c)
                if c == "]" { inBracket = false; parts.append(current); current = "" }
            } else if c == "[" {
                if !current.isEmpty { parts.append(current) }
                current = "["
                inBracket = true
            } else if c == "." {
                if !current.isEmpty { parts.append(current) }
                current = ""
            } else {
                current.append(c)
            }
        }
        if !current.isEmpty { parts.append(current) }
        return parts
    }
}
