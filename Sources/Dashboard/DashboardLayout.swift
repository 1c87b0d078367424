import Terminal

/// Where everything goes for one screen size and UI state. Computed fresh every frame (it is
/// arithmetic on a handful of integers), so any size, any time, just works.
///
/// - At least 120x36: status line, sparkline row, the four panes in a 2x2 grid, the projector
///   strip, the event tail, a message line and a key-hint line.
/// - Smaller, down to 60x16: the panes become tabs 1-4 (one shown); the status line and the
///   projector strip stay (zoom hides the strip), and the event tail only if there is room.
/// - Below 60x16: one message saying so.
public struct DashboardLayout: Sendable, Equatable {
    public enum Mode: Sendable, Equatable {
        case tooSmall
        case tabs
        case grid
    }

    public static let minimumWidth = 60
    public static let minimumHeight = 16
    public static let gridWidth = 120
    public static let gridHeight = 36

    public var mode: Mode
    public var width: Int
    public var height: Int
    public var status = Rect(x: 0, y: 0, width: 0, height: 0)
    /// Sparklines (grid) or the tab bar (tabs).
    public var secondRow = Rect(x: 0, y: 0, width: 0, height: 0)
    /// The panes drawn and where.
    public var panes: [(DashboardPane, Rect)] = []
    public var narration: Rect?
    /// Replaces the panes and the event tail while the inspector is open.
    public var inspector: Rect?
    public var projectors: Rect?
    public var eventTail: Rect?
    public var message = Rect(x: 0, y: 0, width: 0, height: 0)
    public var hints = Rect(x: 0, y: 0, width: 0, height: 0)

    public static func == (a: DashboardLayout, b: DashboardLayout) -> Bool {
        a.mode == b.mode && a.width == b.width && a.height == b.height && a.status == b.status
            && a.secondRow == b.secondRow && a.panes.map(\.0) == b.panes.map(\.0) && a.panes.map(\.1) == b.panes.map(\.1)
            && a.narration == b.narration && a.inspector == b.inspector && a.projectors == b.projectors
            && a.eventTail == b.eventTail && a.message == b.message && a.hints == b.hints
    }

    /// Rows of text the narration box shows at most; longer narration pages (Up/Down, PgUp/PgDn)
    /// with a "more" marker. Kept small so that the panes it talks about keep their rows.
    public static func narrationRows(height: Int, grid: Bool) -> Int {
        grid ? (height >= 40 ? 5 : 4) : (height >= 30 ? 5 : 4)
    }

    public init(width: Int, height: Int, ui: DashboardUI, projectorCount: Int, narrationLines: Int?,
                narrationTarget: Narration.Target = .none) {
        self.width = width
        self.height = height
        if width < DashboardLayout.minimumWidth || height < DashboardLayout.minimumHeight {
            mode = .tooSmall
            return
        }
        mode = width >= DashboardLayout.gridWidth && height >= DashboardLayout.gridHeight ? .grid : .tabs
        let screen = Rect(x: 0, y: 0, width: width, height: height)
        var (top, body) = screen.splitTop(1)
        status = top
        (secondRow, body) = body.splitTop(1)
        var bottom: Rect
        (body, bottom) = body.splitBottom(2)
        (message, hints) = bottom.splitTop(1)

        // On a small screen, zoom is how to see more of a pane: it takes the strip's rows too.
        // A walkthrough on a small screen shows the strip only while the step is about it,
        // and the event tail instead when the step is about the events.
        let walkthroughTabs = mode == .tabs && narrationLines != nil && ui.inspector == nil
        // The inspector on a small screen takes the strip's rows too, so that the selected
        // event's fields fit.
        let hideStrip = (mode == .tabs && ui.zoomed && ui.inspector == nil)
            || (walkthroughTabs && narrationTarget != .projectors)
            || (mode == .tabs && ui.inspector != nil)
        if !hideStrip {
            var strip: Rect
            (body, strip) = body.splitBottom(max(3, projectorCount + 2))
            projectors = strip
        }

        // On a small screen the inspector takes the narration's rows too: it is opened to be read.
        if let lines = narrationLines, !(mode == .tabs && ui.inspector != nil) {
            var box: Rect
            let rows = DashboardLayout.narrationRows(height: height, grid: mode == .grid)
            (body, box) = body.splitBottom(min(max(1, lines) + 2, rows + 2, max(0, body.height - 4)))
            if !box.isEmpty { narration = box }
        }
        if walkthroughTabs && narrationTarget == .eventTail && !ui.zoomed {
            var tail: Rect
            (body, tail) = body.splitBottom(min(6, max(3, body.height / 2)))
            eventTail = tail
            panes = [(ui.focus, body)]
            return
        }

        if ui.inspector != nil {
            inspector = body
            return
        }
        if ui.zoomed {
            panes = [(ui.focus, body)]
            return
        }
        switch mode {
        case .grid:
            var tail: Rect
            // A walkthrough step about the events gets four of them in the tail.
            (body, tail) = body.splitBottom(max(3, body.height / 4, narrationTarget == .eventTail ? 6 : 0))
            eventTail = tail
            let topHeight = body.height / 2
            let (upper, lower) = body.splitTop(topHeight)
            let (ul, ur) = upper.splitLeft(width / 2)
            let (ll, lr) = lower.splitLeft(width / 2)
            panes = [(.shoppers, ul), (.warehouse, ur), (.finance, ll), (.support, lr)]
        case .tabs:
            if body.height >= 24 && !walkthroughTabs {
                var tail: Rect
                (body, tail) = body.splitBottom(body.height / 4)
                eventTail = tail
            }
            panes = [(ui.focus, body)]
        case .tooSmall:
            break
        }
    }

    /// The inspector's list: how many rows it shows, and which positions, centred on the cursor.
    public func inspectorWindow(cursor: UInt64, head: UInt64) -> (from: UInt64, count: Int) {
        guard let box = inspector else { return (max(1, cursor), 0) }
        let rows = max(1, DashboardLayout.inspectorListHeight(box) - 2)
        let half = UInt64(rows / 2)
        var from = cursor > half ? cursor - half : 1
        // Near the head, keep the list full rather than centred.
        if head >= UInt64(rows), from + UInt64(rows) - 1 > head { from = head - UInt64(rows) + 1 }
        return (max(1, from), rows)
    }

    /// Rows of the inspector given to the list box; the rest show the selected event.
    static func inspectorListHeight(_ box: Rect) -> Int {
        max(3, box.height - min(10, box.height / 2))
    }
}
