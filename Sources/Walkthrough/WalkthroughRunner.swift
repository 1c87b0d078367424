import CQRS
import Dashboard
import EventStore
import Foundation
import Shop
import Synchronization

/// What the dashboard shows of a walkthrough, shared between the step runner (which writes it)
/// and the dashboard thread (which reads it every frame).
public final class WalkthroughDisplay: Sendable {
    public struct State: Sendable {
        /// The shop being shown; nil while a fresh one is being set up.
        public var source: ShopDashboardSource?
        /// The backend's load and writer, for a child writer the watcher cannot see itself.
        public var childLoad: (paused: Bool, rate: Double)?
        public var writerDown = false
        public var title = ""
        /// Paragraphs, unwrapped.
        public var paragraphs: [String] = []
        public var target: Narration.Target = .none
        public var message: String?
        public var busy = false
        /// Where the walkthrough wants the views: a position, or nil for live. Applied by the
        /// dashboard once per `travelGeneration`.
        public var travel: UInt64?
        public var travelGeneration = 0
        /// The screen the walkthrough is shown on, which `see` renders at: the terminal's size
        /// (the dashboard sets it), or the runner's option when headless.
        public var width = 120
        public var height = 40
    }

    public enum Move: Sendable, Equatable { case next, back }

    let state = Mutex(State())
    public init() {}

    public var current: State { state.withLock { $0 } }
    func update(_ body: (inout State) -> Void) { state.withLock { body(&$0) } }
}

/// Runs a walkthrough's steps against a real shop in a fresh data folder: entering step k runs
/// its actions; going back starts again in a new folder and replays steps 1..k-1, which the log
/// makes exact (same seed, same commands, same events).
///
/// Used headless by the tests (``start()``, ``next()``, ``back()``, ``failures``) and by the
/// dashboard through ``WalkthroughDisplay``.
public actor WalkthroughRunner {
    public struct Options: Sendable {
        /// Each run gets a fresh folder inside this one.
        public var rootDirectory: String
        /// The `prism` executable, for walkthroughs that run the writer as a child.
        public var prismBinary: String?
        public var seed: UInt64
        /// How long an `expect` waits for an eventually consistent view to agree.
        public var expectTimeout: Duration
        /// How long a `wait` waits.
        public var waitTimeout: Duration
        /// Opens the store of each run's fresh folder (the command line says which backend).
        public var opener: StoreOpener
        /// Leaves a torn write at the end of the log in a folder (`tear tail`); the command line
        /// gives the file log's, which knows its own files.
        public var tearTail: (@Sendable (_ directory: String) throws -> Void)?
        /// The screen `see` renders at until a dashboard reports its own.
        public var screenWidth: Int
        public var screenHeight: Int

        public init(rootDirectory: String, opener: StoreOpener, prismBinary: String? = nil, seed: UInt64 = 42,
                    expectTimeout: Duration = .seconds(10), waitTimeout: Duration = .seconds(30),
                    screenWidth: Int = 120, screenHeight: Int = 40,
                    tearTail: (@Sendable (_ directory: String) throws -> Void)? = nil) {
            self.tearTail = tearTail
            self.screenWidth = screenWidth
            self.screenHeight = screenHeight
            self.rootDirectory = rootDirectory
            self.opener = opener
            self.prismBinary = prismBinary
            self.seed = seed
            self.expectTimeout = expectTimeout
            self.waitTimeout = waitTimeout
        }
    }

    public nonisolated let walkthrough: Walkthrough
    public nonisolated let display: WalkthroughDisplay
    let options: Options

    private var backend: (any WalkthroughBackend)?
    private var runs = 0
    /// The step shown (0-based); -1 before the start.
    public private(set) var stepIndex = -1
    /// Every failed expectation and failed action, `file:line: message`, since the start.
    public private(set) var failures: [String] = []
    /// Failures of the current step only.
    public private(set) var stepFailures: [String] = []

    // The state of the current run, rebuilt by a replay.
    private var lastReply: CommandReply?
    private var lastRepeat = false
    private var firstReplies: [String: CommandReply] = [:]
    private var acknowledged: [(position: UInt64, id: String)] = []
    private var remembered: [String: String] = [:]
    private var travel: UInt64?
    private var sends = 0
    /// What the step's last command got back, shown on the message line when the step is done.
    private var stepMessage: String?

    public init(walkthrough: Walkthrough, options: Options) {
        self.walkthrough = walkthrough
        self.options = options
        self.display = WalkthroughDisplay()
        display.update { $0.width = options.screenWidth; $0.height = options.screenHeight }
    }

    public var stepCount: Int { walkthrough.steps.count }
    public var dataDirectory: String? { backend?.system.directory }
    public var system: ShopSystem? { backend?.system }

    /// Sets up a fresh shop and enters step 1.
    public func start() async throws {
        try await fresh()
        await runSetup()
        await enter(0)
    }

    /// Enters the next step; false at the end.
    @discardableResult
    public func next() async -> Bool {
        guard stepIndex + 1 < walkthrough.steps.count else {
            display.update { $0.message = "end of the walkthrough: b goes back a step, q quits" }
            return false
        }
        await enter(stepIndex + 1)
        return true
    }

    /// Goes back one step: a fresh shop, steps 1..k-1 replayed, step k-1 shown.
    @discardableResult
    public func back() async -> Bool {
        guard stepIndex > 0 else {
            display.update { $0.message = "this is the first step" }
            return false
        }
        let target = stepIndex - 1
        display.update { d in
            d.busy = true
            d.message = "going back: replaying steps 1-\(target + 1) on a fresh log..."
        }
        do {
            try await fresh()
        } catch {
            record("\(walkthrough.file): cannot start a fresh shop: \(error)")
            display.update { $0.busy = false; $0.message = "cannot start a fresh shop: \(error)" }
            return false
        }
        await runSetup()
        for i in 0..<target {
            stepIndex = i
            await run(walkthrough.steps[i].actions.filter { !$0.isSee })
        }
        await enter(target)
        return true
    }

    /// Stops the shop (and a child writer) and removes the data folders.
    public func close() async {
        if let b = backend {
            backend = nil
            display.update { $0.source = nil }
            await b.close()
        }
        try? FileManager.default.removeItem(atPath: options.rootDirectory)
    }

    // MARK: - Steps

    private func fresh() async throws {
        if let old = backend {
            backend = nil
            display.update { $0.source = nil; $0.childLoad = nil }
            await old.close()
            if let folder = old.system.directory { try? FileManager.default.removeItem(atPath: folder) }
        }
        runs += 1
        let dir = options.rootDirectory + "/run-\(runs)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let b: any WalkthroughBackend
        if walkthrough.needsChildWriter {
            guard let binary = options.prismBinary else {
                throw BackendError("this walkthrough crashes the writer, so it needs the prism executable to run one")
            }
            let (seed, opener) = (options.seed, options.opener)
            b = try await onOwnThread("prism-walkthrough-start") {
                try ChildWriterBackend(directory: dir, seed: seed, prismBinary: binary, opener: opener)
            }
        } else {
            let (seed, opener) = (options.seed, options.opener)
            b = try await onOwnThread("prism-walkthrough-start") {
                try EmbeddedBackend(directory: dir, seed: seed, opener: opener)
            }
        }
        backend = b
        lastReply = nil
        lastRepeat = false
        firstReplies = [:]
        acknowledged = []
        remembered = [:]
        travel = nil
        sends = 0
        stepIndex = -1
        let child = walkthrough.needsChildWriter
        display.update { d in
            d.source = ShopDashboardSource(system: b.system)
            d.childLoad = child ? b.load : nil
            d.writerDown = false
            d.target = .none
            // A fresh shop is live: the dashboard leaves any time travel of the run before.
            d.travel = nil
            d.travelGeneration += 1
        }
    }

    private func runSetup() async {
        display.update { $0.busy = true }
        await run(walkthrough.setup)
    }

    /// Runs the step's actions, then shows its text (so the text never describes what has not
    /// happened yet), then checks its `see` lines against the screen as the learner sees it.
    private func enter(_ index: Int) async {
        stepIndex = index
        stepFailures = []
        stepMessage = nil
        let step = walkthrough.steps[index]
        let title = "\(walkthrough.title) - step \(index + 1) of \(walkthrough.steps.count): \(step.title)"
        display.update { d in
            d.busy = true
            d.title = title + " (running...)"
            d.paragraphs = []
            d.target = .none
            d.message = "running step \(index + 1)..."
        }
        await run(step.actions.filter { !$0.isSee })
        let shown = stepMessage
        display.update { d in
            d.title = title
            d.paragraphs = step.narration
            d.message = shown
        }
        await run(step.actions.filter(\.isSee))
        let failed = stepFailures
        display.update { d in
            d.busy = false
            d.message = failed.isEmpty ? shown : "check failed: \(failed[0])"
        }
    }

    private func run(_ actions: [Walkthrough.Action]) async {
        for action in actions {
            do {
                try await perform(action)
            } catch {
                record("\(walkthrough.file):\(action.line): \(action.text): \(error)")
                return
            }
        }
    }

    private func record(_ failure: String) {
        failures.append(failure)
        stepFailures.append(failure)
    }

    // MARK: - Actions

    private func perform(_ action: Walkthrough.Action) async throws {
        guard let backend else { throw BackendError("no shop is running") }
        let system = backend.system
        switch action.kind {
        case .send(let command, let id):
            sends += 1
            let commandId = id ?? "walk-\(max(0, stepIndex) + 1)-\(sends)"
            let sentBefore = firstReplies[commandId] != nil
            let reply = await backend.submit(command, commandId: commandId)
            if let first = firstReplies[commandId] {
                lastRepeat = first == reply
            } else {
                lastRepeat = false
                firstReplies[commandId] = reply
                if case .accepted(let p) = reply { acknowledged.append((p, commandId)) }
            }
            lastReply = reply
            var text = "\(reply)"
            if sentBefore && lastRepeat {
                text += ", a repeat: nothing appended (command id \(commandId))"
            }
            text += "  [\(command)]"
            stepMessage = text
            display.update { $0.message = text }
        case .together(let commands):
            let ids = commands.map { _ in
                sends += 1
                return "walk-\(max(0, stepIndex) + 1)-\(sends)"
            }
            let replies = try await backend.submitTogether(Array(zip(commands, ids)).map { (text: $0.0, commandId: $0.1) })
            for (id, reply) in zip(ids, replies) {
                firstReplies[id] = reply
                if case .accepted(let p) = reply { acknowledged.append((p, id)) }
            }
            lastReply = replies.last
            lastRepeat = false
            let text = zip(commands, replies).map { "\($0.0): \($0.1)" }.joined(separator: " | ")
            stepMessage = text
            display.update { $0.message = text }
        case .pause:
            try await backend.pauseLoad()
            syncLoad()
        case .resume:
            try await backend.resumeLoad()
            syncLoad()
        case .rate(let r):
            try await backend.setRate(r)
            syncLoad()
        case .generate(let n):
            try await backend.generate(n)
        case .stop(let p): system.stop(projector: p)
        case .start(let p): system.start(projector: p)
        case .rebuild(let p): system.rebuild(projector: p)
        case .delay(let p, let ms): system.setDelay(projector: p, milliseconds: ms)
        case .wait(let p):
            try await wait(for: p, system: system)
        case .sleep(let ms):
            try? await Task.sleep(for: .milliseconds(ms))
        case .travel(let p):
            travel = p.map { min($0, max(1, system.store.head)) }
            let t = travel
            display.update { $0.travel = t; $0.travelGeneration += 1 }
        case .crashWriter:
            try await backend.crashWriter()
            display.update { $0.writerDown = true }
        case .tearTail:
            guard let tear = options.tearTail, let dir = system.directory else {
                throw BackendError("this store cannot be torn: `tear tail` needs the file log")
            }
            try await onOwnThread("prism-walkthrough-tear") { try tear(dir) }
        case .restartWriter:
            let recovery = try await backend.restartWriter()
            stepMessage = "writer restarted: " + recovery
            display.update { $0.writerDown = false; $0.message = "writer restarted: " + recovery }
        case .highlight(let h):
            let target: Narration.Target
            switch h {
            case .pane(let name): target = DashboardPane.allCases.first { $0.projectorName == name }.map { .pane($0) } ?? .none
            case .projectors: target = .projectors
            case .events: target = .eventTail
            case .none: target = .none
            }
            display.update { $0.target = target }
        case .remember(let path):
            remembered[path] = try resolve(path, backend: backend)
        case .expect(let e):
            if let failure = await check(e, backend: backend) {
                record("\(walkthrough.file):\(action.line): expect \(e.path) \(e.op.rawValue)\(e.value.isEmpty ? "" : " " + e.value): \(failure)")
            }
        case .see(let region, let text):
            if let failure = await see(text, in: region) {
                record("\(walkthrough.file):\(action.line): \(action.text): \(failure)")
            }
        }
    }

    private func syncLoad() {
        guard walkthrough.needsChildWriter, let backend else { return }
        let load = backend.load
        display.update { $0.childLoad = load }
    }

    /// Read-your-writes: until the projector (or all running ones) has applied everything up to
    /// the head as of now (and the last acknowledged command), and is not rebuilding.
    private func wait(for projector: String?, system: ShopSystem) async throws {
        var target = system.store.head
        if case .accepted(let p) = lastReply { target = max(target, p) }
        let names = projector.map { [$0] } ?? ShopSystem.projectorNames.filter { !system.isStopped(projector: $0) }
        if let p = projector, system.isStopped(projector: p) {
            throw BackendError("\(p) is stopped: it would never catch up")
        }
        let clock = ContinuousClock()
        let deadline = clock.now + options.waitTimeout
        while true {
            let statuses = system.statuses.filter { names.contains($0.name) }
            if statuses.allSatisfy({ $0.checkpoint >= target && $0.state != .rebuilding }) { return }
            if clock.now >= deadline {
                let behind = statuses.filter { $0.checkpoint < target || $0.state == .rebuilding }
                    .map { "\($0.name) at #\($0.checkpoint) (\($0.state.rawValue))" }
                throw BackendError("timed out waiting for position \(target): \(behind.joined(separator: ", "))")
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    // MARK: - What the learner sees

    /// Nil when the screen shows `text` in `region` (now, or within the timeout); else what the
    /// region shows instead.
    private func see(_ text: String, in region: String?) async -> String? {
        let clock = ContinuousClock()
        let deadline = clock.now + options.expectTimeout
        let needle = ScreenCheck.squeeze(text)
        while true {
            let d = display.current
            let screen = ScreenCheck.render(display: display, travel: travel, width: d.width, height: d.height, region: region)
            if screen.rows.contains(where: { ScreenCheck.squeeze($0).contains(needle) }) { return nil }
            if clock.now >= deadline {
                let shown = screen.rows.map { ScreenCheck.squeeze($0) }.filter { !$0.isEmpty }
                return "not on \(region.map { "the \($0) part of " } ?? "")the \(d.width)x\(d.height) screen, which shows: "
                    + (shown.isEmpty ? "(nothing)" : shown.joined(separator: " | "))
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    // MARK: - Expectations

    /// Nil when it holds (now, or within the timeout); else what was found.
    private func check(_ e: Walkthrough.Expectation, backend: any WalkthroughBackend) async -> String? {
        let clock = ContinuousClock()
        let deadline = clock.now + options.expectTimeout
        var last = ""
        while true {
            do {
                let actual = try resolve(e.path, backend: backend)
                if holds(e, actual) { return nil }
                last = "got \(actual)"
            } catch {
                last = "\(error)"
            }
            if clock.now >= deadline { return last }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    private func holds(_ e: Walkthrough.Expectation, _ actual: String) -> Bool {
        switch e.op {
        case .equal: return actual == e.value
        case .notEqual: return actual != e.value
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            guard let a = Int64(actual), let b = Int64(e.value) else { return false }
            switch e.op {
            case .less: return a < b
            case .lessOrEqual: return a <= b
            case .greater: return a > b
            default: return a >= b
            }
        case .contains: return Self.elements(actual).contains(e.value)
        case .excludes: return !Self.elements(actual).contains(e.value)
        case .unchanged: return remembered[e.path] == actual
        }
    }

    /// The elements of a list value as `resolve` renders it (`["o-1","o-2"]`), objects by their id.
    static func elements(_ rendered: String) -> [String] {
        guard let data = rendered.data(using: .utf8),
              let list = try? JSONSerialization.jsonObject(with: data) as? [Any] else { return [] }
        // A list of objects (customers, stock lines, orders) is matched by each one's id.
        return list.map { element in
            if let o = element as? [String: Any], let id = idKeys.lazy.compactMap({ o[$0] as? String }).first { return id }
            return render(element)
        }
    }

    /// The value at `path`, rendered as text: numbers and strings as they are, lists and
    /// objects as canonical JSON.
    func resolve(_ path: String, backend: any WalkthroughBackend) throws -> String {
        let system = backend.system
        let parts = PathSegment.split(path)
        switch parts.first {
        case "head": return "\(system.store.head)"
        case "writer": return backend.writerState
        case "load":
            let load = backend.load
            return parts.count == 2 ? "\(Int(load.rate))" : (load.paused ? "paused" : "live")
        case "last":
            guard let reply = lastReply else { throw BackendError("nothing was sent yet") }
            switch parts[1] {
            case "reply":
                switch reply {
                case .accepted: return "accepted"
                case .rejected: return "rejected"
                case .badSyntax, .failed: return "error"
                }
            case "position":
                if case .accepted(let p) = reply { return "\(p)" }
                throw BackendError("the last command was not accepted: \(reply)")
            default: return lastRepeat ? "yes" : "no"
            }
        case "acked":
            if parts.count == 1 { return "\(acknowledged.count)" }
            return "\(try missingAcknowledged(system.store))"
        default:
            break
        }
        let view = parts[0]
        if parts.count == 2, WalkthroughParser.projectorFields.contains(parts[1]),
           let status = system.statuses.first(where: { $0.name == view }) {
            switch parts[1] {
            case "checkpoint": return "\(status.checkpoint)"
            case "lag": return "\(status.lagEvents)"
            default: return status.state.rawValue
            }
        }
        let json: String
        if let at = travel {
            let views = try ShopSystem.views(of: system.store, asOf: at)
            switch view {
            case "shoppers": json = views.shoppers.json
            case "warehouse": json = views.warehouse.json
            case "finance": json = views.finance.json
            default: json = views.support.json
            }
        } else {
            switch view {
            case "shoppers": json = system.shoppers.view.json
            case "warehouse": json = system.warehouse.view.json
            case "finance": json = system.finance.view.json
            default: json = system.support.view.json
            }
        }
        var value: Any = try JSONSerialization.jsonObject(with: Data(json.utf8))
        var walked = view
        for part in parts.dropFirst() {
            value = try Self.step(value, part, walked: walked)
            walked += part.hasPrefix("[") ? part : "." + part
        }
        return Self.render(value)
    }

    private static let idKeys = ["sku", "customer", "orderId"]

    private static func step(_ value: Any, _ part: String, walked: String) throws -> Any {
        if part.hasPrefix("[") {
            let key = String(part.dropFirst().dropLast())
            if let object = value as? [String: Any] {
                guard let v = object[key] else { throw BackendError("\(walked) has no [\(key)]") }
                return v
            }
            if let list = value as? [Any] {
                for element in list {
                    if let o = element as? [String: Any], idKeys.contains(where: { (o[$0] as? String) == key }) { return o }
                    if let s = element as? String, s == key { return s }
                }
                throw BackendError("\(walked) has no element \(key)")
            }
            throw BackendError("\(walked) is not a list or object")
        }
        if part == "count" {
            if let list = value as? [Any] { return list.count }
            if let object = value as? [String: Any] { return object.count }
        }
        guard let object = value as? [String: Any], let v = object[part] else {
            throw BackendError("\(walked) has no field \(part)")
        }
        return v
    }

    static func render(_ value: Any) -> String {
        if let s = value as? String { return s }
        if let n = value as? NSNumber { return n.stringValue }
        if let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]) {
            return String(decoding: data, as: UTF8.self)
        }
        return "\(value)"
    }

    /// Acknowledged commands whose event is not at the position the writer gave, with the
    /// command id it was sent with.
    private func missingAcknowledged(_ log: any EventStore) throws -> Int {
        var missing = 0
        for (position, id) in acknowledged {
            var found = false
            if position <= log.head {
                try log.read(from: position, through: position) { record in
                    found = record.commandId == id
                    return false
                }
            }
            if !found { missing += 1 }
        }
        return missing
    }
}
