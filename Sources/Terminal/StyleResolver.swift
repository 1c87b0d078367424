/// A cell style made concrete for one terminal: colour numbers (-1 = the terminal's default)
/// and the attributes to set.
public struct ResolvedStyle: Sendable, Hashable {
    public var foreground: Int
    public var background: Int
    public var attributes: TextAttributes
}

/// Turns role-based ``CellStyle``s into colours a terminal can show, given a ``Theme`` and the
/// terminal's ``ColorSupport``. Pure and separate from ``CursesScreen`` so the mapping (and the
/// no-colour fallbacks) can be tested without a terminal.
public struct StyleResolver: Sendable {
    public let theme: Theme
    public let support: ColorSupport

    public init(theme: Theme, support: ColorSupport) {
        self.theme = theme
        self.support = support
    }

    public func resolve(_ style: CellStyle) -> ResolvedStyle {
        let fgColor = theme[style.foreground]
        var fg = fgColor.index(for: support)
        let bg = theme[style.background].index(for: support)
        var attributes = style.attributes
        if fg == -1 {
            // No colour for this role (NO_COLOR, a monochrome terminal, or the mono theme): keep
            // the roles that carry meaning visible through attributes instead.
            switch style.foreground {
            case .title, .focus, .bad, .warn: attributes.insert(.bold)
            // Plain borders recede so that the focused one (bold, heavy) stands out.
            case .dim, .border: attributes.insert(.dim)
            default: break
            }
        }
        if support == .eight, case .basic(let n) = fgColor, n >= 8 {
            // An 8-colour terminal has no bright colours; bold is how such terminals show them.
            attributes.insert(.bold)
        }
        if fg != -1 && fg == bg {
            // A theme mistake (or a mapping collision on a small palette) must not hide text.
            fg = -1
        }
        return ResolvedStyle(foreground: fg, background: bg, attributes: attributes)
    }
}
