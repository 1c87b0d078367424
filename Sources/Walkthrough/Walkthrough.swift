/// A guided lesson: a title, a one-line summary and numbered steps, each with narration and
/// actions. Parsed from a walkthrough file; see ``WalkthroughParser`` for the format.
///
/// # The walkthrough file format
///
/// A walkthrough is a Markdown file, readable as it stands:
///
/// ```markdown
/// # Commands vs queries
/// One command, the events it appends, and four views that change differently.
///
/// > send register MUG 1299 Blue mug
///
/// ## Place an order
/// A command asks the write side to change something. Watch the Warehouse pane.
///
/// > send place alice MUG:2
/// > highlight warehouse
/// > expect warehouse.stock[MUG].reserved = 2
/// ```
///
/// - The first non-blank line is `# Title`; the next paragraph is the one-line summary that
///   `prism walkthrough` lists.
/// - Action lines (`> ...`) before the first step are setup, run before step 1.
/// - Each `## Heading` starts a step. Its text lines are the narration: lines of one paragraph
///   are joined, a blank line starts a new paragraph, and a line starting with `- ` or `* `
///   stays a line of its own. Action lines may sit anywhere in the step and run in file order
///   when the step is entered. `<!-- ... -->` lines are comments.
/// - Actions:
///   - `send [--id ID] COMMAND...`: submit a command in the text form of SPEC section 2 (checked
///     when the file is read). Without `--id` the step runner gives it a command id of its own.
///     A rejection is not an error: it can be the lesson.
///   - `together COMMAND | COMMAND ...`: two (or more) commands reach the writer at the same
///     moment, queued in the order written before either is decided, as two clerks pressing
///     Enter at once (the writer in-process only). `last.reply` is the last one's.
///   - `pause`, `resume`, `rate N`: the load generator.
///   - `generate N`: N commands from the seeded load generator, as fast as the writer takes them
///     (the same N commands every run; not in walkthroughs that crash the writer).
///   - `stop P`, `start P`, `rebuild P`, `delay P MS`: projector P (`shoppers`, `warehouse`,
///     `finance`, `support`); the delay is slept after each batch the projector applies.
///   - `wait [P]`: read-your-writes: wait until projector P (or every running projector) has
///     applied everything up to the head of the log and is not rebuilding.
///   - `sleep MS`: let time pass (the load runs on).
///   - `travel P`, `travel live`: time travel the views to position P, or back to live.
///   - `crash writer`: SIGKILL the process that writes; `restart writer`: start it again from
///     the log. A walkthrough using these runs the writer as a child `prism serve` and the
///     dashboard as a read-only watcher whose commands go to the writer's endpoint.
///   - `tear tail` (after `crash writer`): leave at the log's end what a crash in the middle of
///     a write leaves, a commit that never became data, for `restart writer` to cut.
///   - `highlight P|projectors|events|none`: what the narration is about.
///   - `remember PATH`: keep the value at PATH for a later `expect PATH unchanged`.
///   - `expect PATH OP VALUE`: a checked statement about the state; OP is `=`, `!=`, `<`,
///     `<=`, `>`, `>=`, `contains` or `excludes`; `expect PATH unchanged` compares with what
///     `remember PATH` kept. A view that has not caught up yet is given up to 10 s, as an
///     eventually consistent reader would.
///   - `see [REGION] TEXT`: the learner can see TEXT on the screen: the dashboard is rendered
///     at the walkthrough's size (the terminal's; 120x40 headless) and TEXT must be on one row
///     of REGION (`shoppers`, `warehouse`, `finance`, `support`, `events`, `projectors`,
///     `status`, `message`, `narration`), or of the whole screen; runs of spaces count as one,
///     so `see finance Revenue $50.97` matches the padded row. `see` lines are checked when the
///     step's other actions are done and its text is on screen, as the learner then sees it;
///     a pane the small screen's tabs do not show is looked at as the learner would, by its
///     number key. Like `expect`, a `see` is given up to 10 s.
/// - Paths: `head`; `writer` (`running`, `down`, `embedded`); `load` (`live`, `paused`),
///   `load.rate`; `last.reply` (`accepted`, `rejected`, `error`), `last.position`,
///   `last.repeat` (`yes` when the last send repeated a command id and got the first outcome
///   back); `acked` (commands the writer acknowledged), `acked.missing` (acknowledged commands
///   whose event is not in the log: must be 0); `P.checkpoint`, `P.lag`, `P.state` of a
///   projector; and any field of a view by its `prism views --json` name: `finance.revenueCents`,
///   `warehouse.pickQueue.count`, `warehouse.stock[MUG].available`,
///   `support.cancellationReasons[wrong size]`. `[KEY]` picks the element of a list whose id
///   (SKU, customer, order) is KEY. While time travelling, view fields are read as of the
///   travel position, as the dashboard shows them.
public struct Walkthrough: Sendable, Equatable {
    /// The name `prism walkthrough NAME` knows it by (the file name without `.md`).
    public var name: String
    public var title: String
    public var summary: String
    /// Where it was read from, for messages.
    public var file: String
    /// Run before step 1.
    public var setup: [Action]
    public var steps: [Step]

    /// True when some step crashes the writer: the writer then runs as a child process.
    public var needsChildWriter: Bool {
        (setup + steps.flatMap(\.actions)).contains { a in
            if case .crashWriter = a.kind { return true }
            if case .restartWriter = a.kind { return true }
            return false
        }
    }

    public init(name: String, title: String, summary: String, file: String, setup: [Action], steps: [Step]) {
        self.name = name
        self.title = title
        self.summary = summary
        self.file = file
        self.setup = setup
        self.steps = steps
    }

    public struct Step: Sendable, Equatable {
        public var title: String
        /// Paragraphs (and list items), unwrapped.
        public var narration: [String]
        public var actions: [Action]
        /// The line of the `##` heading.
        public var line: Int
    }

    public struct Action: Sendable, Equatable {
        /// `see` lines are checked once the step's other actions are done (see the format).
        public var isSee: Bool {
            if case .see = kind { return true }
            return false
        }
        public var kind: Kind
        /// The line it came from, for messages.
        public var line: Int
        /// The action as written, without `> `.
        public var text: String
    }

    public enum Kind: Sendable, Equatable {
        case send(command: String, id: String?)
        /// Commands queued to the writer at the same moment, in order, before any is decided.
        case together([String])
        case pause
        case resume
        case rate(Double)
        case generate(Int)
        case stop(String)
        case start(String)
        case rebuild(String)
        case delay(String, milliseconds: Int)
        case wait(String?)
        case sleep(milliseconds: Int)
        case travel(UInt64?)
        case crashWriter
        case tearTail
        case restartWriter
        case highlight(Highlight)
        case remember(String)
        case expect(Expectation)
        /// The rendered screen shows `text` (in `region`, or anywhere).
        case see(region: String?, text: String)
    }

    /// The parts of the screen a `see` can name.
    public static let screenRegions = ["shoppers", "warehouse", "finance", "support", "events", "projectors", "status", "message", "narration"]

    public enum Highlight: Sendable, Equatable {
        case pane(String)
        case projectors
        case events
        case none
    }

    public struct Expectation: Sendable, Equatable {
        public var path: String
        public var op: Operator
        /// Empty for `unchanged`.
        public var value: String
    }

    public enum Operator: String, Sendable, Equatable, CaseIterable {
        case equal = "="
        case notEqual = "!="
        case less = "<"
        case lessOrEqual = "<="
        case greater = ">"
        case greaterOrEqual = ">="
        case contains
        case excludes
        case unchanged
    }
}

/// A walkthrough file that cannot be used: the message names the file and the line.
public struct WalkthroughError: Error, CustomStringConvertible, Sendable, Equatable {
    public var file: String
    /// 1-based; 0 when the problem is not on one line (the file cannot be read).
    public var line: Int
    public var message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String {
        line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)"
    }
}
