import Foundation
import Terminal

/// The dashboard's interaction state and its key handling, with no terminal attached: a key
/// goes in, the state changes, and at most one ``DashboardAction`` comes out. Keeping it pure is
/// what lets tests drive every key without curses.
public struct DashboardUI: Sendable, Equatable {
    /// The pane that has focus (and the tab shown on small terminals).
    public var focus: DashboardPane = .shoppers
    /// The focused pane fills the pane area.
    public var zoomed = false
    public var showHelp = false
    /// The command palette's input while it is open.
    public var palette: String?
    public var inspector: Inspector?
    /// The position shown while time travelling; nil is live.
    public var timeTravel: UInt64?
    /// A one-line note shown until the next key (results of actions, refusals).
    public var message: String?
    /// The first line of a walkthrough's narration shown; it pages with Up/Down, PgUp/PgDn.
    public var narrationOffset = 0
    /// Rows scrolled past in the zoomed pane's lists (Up/Down, PgUp/PgDn, Home); the session
    /// keeps it within the pane's longest list.
    public var zoomOffset = 0
    public static let zoomPage = 10
    /// The `/` filter: the event tail and the zoomed pane's rows show only what contains it
    /// (any case); nil shows everything. `filterInput` is the text while it is typed.
    public var filter: String?
    public var filterInput: String?

    /// Whether `text` passes the filter.
    public static func matches(_ text: String, _ filter: String?) -> Bool {
        guard let filter, !filter.isEmpty else { return true }
        return text.range(of: filter, options: .caseInsensitive) != nil
    }

    /// The event inspector: a selected position and, while typing after `g`, the position input.
    public struct Inspector: Sendable, Equatable {
        public var cursor: UInt64
        public var gotoInput: String?
        public init(cursor: UInt64, gotoInput: String? = nil) {
            self.cursor = cursor
            self.gotoInput = gotoInput
        }
    }

    /// Steps for time travel and the inspector.
    public static let bigStep: UInt64 = 100
    public static let inspectorPage: UInt64 = 20

    public init() {}

    /// Applies `key`. `head` is the log's last position (bounds time travel and the inspector);
    public mutating func handle(_ key: Key, head: UInt64) -> DashboardAction? {
        message = nil
        if key == .resize { return nil }
        if key == .control("l") { return .redraw }
        if showHelp {
            // Any key closes help; `q` there means "close", not "quit", so nobody quits by accident.
            showHelp = false
            return nil
        }
        if palette != nil { return handlePalette(key) }
        if filterInput != nil { return handleFilterInput(key) }
        if inspector != nil { return handleInspector(key, head: head) }
        if timeTravel != nil, let action = handleTimeTravel(key, head: head) { return action }
        return handleNormal(key, head: head)
    }

    private mutating func handleNormal(_ key: Key, head: UInt64) -> DashboardAction? {
        let action: DashboardAction?
        switch key {
        case .char("q"), .control("c"): return .quit
        case .tab, .right:
            focus = DashboardPane(rawValue: (focus.rawValue + 1) % 4)!
            zoomOffset = 0
            return nil
        case .backTab, .left:
            focus = DashboardPane(rawValue: (focus.rawValue + 3) % 4)!
            zoomOffset = 0
            return nil
        case .char("1"), .char("2"), .char("3"), .char("4"):
            if case .char(let c) = key, let n = c.wholeNumberValue { focus = DashboardPane(rawValue: n - 1)! }
            zoomOffset = 0
            return nil
        case .char("z"), .enter:
            zoomed.toggle()
            zoomOffset = 0
            return nil
        case .escape:
            // Esc takes back the last thing done: first the filter, then the zoom.
            if filter != nil { filter = nil; return nil }
            zoomed = false
            zoomOffset = 0
            return nil
        case .char("/"):
            filterInput = filter ?? ""
            return nil
        case .up where zoomed: zoomOffset = max(0, zoomOffset - 1); return nil
        case .down where zoomed: zoomOffset += 1; return nil
        case .pageUp where zoomed: zoomOffset = max(0, zoomOffset - DashboardUI.zoomPage); return nil
        case .pageDown where zoomed: zoomOffset += DashboardUI.zoomPage; return nil
        case .home where zoomed: zoomOffset = 0; return nil
        case .char("?"), .char("h"), .function(1):
            showHelp = true
            return nil
        case .char(":"):
            // In watch mode the palette still works: commands go to the writer's endpoint.
            palette = ""
            return nil
        case .char("e"):
            let start = timeTravel ?? head
            inspector = Inspector(cursor: max(1, start))
            return .inspect(from: max(1, start))
        case .char("t"):
            guard head > 0 else { message = "time travel: the log is empty"; return nil }
            timeTravel = head
            return .timeTravel(to: head)
        case .char("T"): return .cycleTheme
        // In watch mode too: the data source sends these to the writer's endpoint.
        case .char("p"): action = .togglePause
        case .char("+"), .char("="): action = .changeRate(+1)
        case .char("-"), .char("_"): action = .changeRate(-1)
        case .char("s"): return .toggleProjector(focus.projectorName)
        case .char("r"): return .rebuildProjector(focus.projectorName)
        default: return nil
        }
        return action
    }

    /// Keys that mean something only while time travelling; nil lets the normal keys apply.
    private mutating func handleTimeTravel(_ key: Key, head: UInt64) -> DashboardAction? {
        guard let at = timeTravel else { return nil }
        let target: UInt64
        switch key {
        case .left: target = at > 1 ? at - 1 : 1
        case .right: target = at + 1
        case .pageUp: target = at > DashboardUI.bigStep ? at - DashboardUI.bigStep : 1
        case .pageDown: target = at + DashboardUI.bigStep
        case .home: target = 1
        case .end: target = head
        case .escape, .char("t"):
            timeTravel = nil
            return .timeTravel(to: nil)
        default: return nil
        }
        let clamped = min(max(1, target), max(1, head))
        timeTravel = clamped
        return .timeTravel(to: clamped)
    }

    private mutating func handleFilterInput(_ key: Key) -> DashboardAction? {
        guard var text = filterInput else { return nil }
        switch key {
        case .escape:
            filterInput = nil
            return nil
        case .enter:
            filterInput = nil
            filter = text.isEmpty ? nil : text
            zoomOffset = 0
            message = filter.map { "filter \"\($0)\": the event tail and the zoomed pane show what contains it (Esc clears)" } ?? "filter cleared"
            return nil
        case .backspace, .delete:
            if !text.isEmpty { text.removeLast() }
        case .char(let c):
            let control = c.unicodeScalars.contains { $0.properties.generalCategory == .control }
            if !control && text.count < 64 { text.append(c) }
        default:
            break
        }
        filterInput = text
        return nil
    }

    private mutating func handlePalette(_ key: Key) -> DashboardAction? {
        guard var text = palette else { return nil }
        switch key {
        case .function(1):
            // Help over the palette: the typed text stays for when help closes.
            showHelp = true
            return nil
        case .escape:
            palette = nil
            return nil
        case .enter:
            palette = nil
            let command = String(text.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
            return command.isEmpty ? nil : .submitCommand(command)
        case .backspace, .delete:
            if !text.isEmpty { text.removeLast() }
        case .control("u"):
            text = ""
        case .char(let c):
            // Control characters (C0 ones curses passes through, C1 ones) are never text.
            let control = c.unicodeScalars.contains { $0.properties.generalCategory == .control }
            if !control && text.count < 256 { text.append(c) }
        default:
            break
        }
        palette = text
        return nil
    }

    private mutating func handleInspector(_ key: Key, head: UInt64) -> DashboardAction? {
        guard var state = inspector else { return nil }
        if var input = state.gotoInput {
            switch key {
            case .escape: state.gotoInput = nil
            case .backspace, .delete:
                if !input.isEmpty { input.removeLast() }
                state.gotoInput = input
            case .char(let c) where c.isASCII && c.isNumber:
                if input.count < 20 { input.append(c) }
                state.gotoInput = input
            case .enter:
                state.gotoInput = nil
                if let p = UInt64(input) {
                    state.cursor = DashboardUI.clamp(p, head: head)
                    inspector = state
                    return .inspect(from: state.cursor)
                }
            default: break
            }
            inspector = state
            return nil
        }
        let cursor = state.cursor
        let moved: UInt64
        switch key {
        case .char("?"), .char("h"), .function(1):
            showHelp = true
            return nil
        case .escape, .char("e"), .char("q"):
            inspector = nil
            return nil
        case .char("g"):
            state.gotoInput = ""
            inspector = state
            return nil
        case .up, .char("k"): moved = cursor > 1 ? cursor - 1 : 1
        case .down, .char("j"): moved = cursor + 1
        case .pageUp: moved = cursor > DashboardUI.inspectorPage ? cursor - DashboardUI.inspectorPage : 1
        case .pageDown: moved = cursor + DashboardUI.inspectorPage
        case .home: moved = 1
        case .end: moved = head
        default: return nil
        }
        state.cursor = DashboardUI.clamp(moved, head: head)
        inspector = state
        return state.cursor == cursor ? nil : .inspect(from: state.cursor)
    }

    static func clamp(_ p: UInt64, head: UInt64) -> UInt64 { min(max(1, p), max(1, head)) }
}
