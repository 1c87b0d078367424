/// What a cell's colour *means*, not which colour it is. Widgets speak in roles; a ``Theme``
/// turns roles into colours, and ``CursesScreen`` turns those into whatever the terminal can
/// show. That keeps every renderer testable without a terminal and every theme swappable.
public enum ColorRole: String, Sendable, Hashable, CaseIterable {
    /// The screen's background; `default` lets the terminal's own background show through.
    case background
    case text
    case dim
    case title
    case border
    case focus
    case accent
    case good
    case warn
    case bad
    // One role per shop event type, so the event tail reads by colour at a glance.
    case registered
    case restocked
    case priceChanged
    case placed
    case paid
    case shipped
    case cancelled
}

/// Text attributes that survive on a terminal without colour; renderers use them so that focus,
/// staleness and alerts stay visible under `NO_COLOR` and the mono theme.
public struct TextAttributes: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let bold = TextAttributes(rawValue: 1 << 0)
    public static let reverse = TextAttributes(rawValue: 1 << 1)
    public static let dim = TextAttributes(rawValue: 1 << 2)
    public static let underline = TextAttributes(rawValue: 1 << 3)
}

/// A cell's look: foreground and background roles plus attributes.
public struct CellStyle: Sendable, Hashable {
    public var foreground: ColorRole
    public var background: ColorRole
    public var attributes: TextAttributes

    public init(
        _ foreground: ColorRole = .text, background: ColorRole = .background,
        attributes: TextAttributes = []
    ) {
        self.foreground = foreground
        self.background = background
        self.attributes = attributes
    }

    public static let plain = CellStyle()

    /// The same style with extra attributes.
    public func with(_ extra: TextAttributes) -> CellStyle {
        var copy = self
        copy.attributes.formUnion(extra)
        return copy
    }

    public var bold: CellStyle { with(.bold) }
    public var reversed: CellStyle { with(.reverse) }
    public var dimmed: CellStyle { with(.dim) }
}
