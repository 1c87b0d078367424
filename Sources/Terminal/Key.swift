/// A key press as the dashboard sees it, decoded from curses' `wget_wch`.
public enum Key: Sendable, Hashable {
    /// A printable character (letters, digits, punctuation, any Unicode).
    case char(Character)
    /// Ctrl plus a letter, as its lowercase letter (`control("l")` is Ctrl-L).
    case control(Character)
    case tab, backTab, enter, escape, backspace, delete
    case left, right, up, down, pageUp, pageDown, home, end
    /// F1 is `function(1)`.
    case function(Int)
    /// The terminal changed size; curses has already updated its idea of the size.
    case resize
    /// A mouse click or wheel turn at a cell (column `x`, row `y`, from 0).
    case mouse(MouseEvent)
    /// A key code Prism has no use for; carried so it can be ignored rather than mistaken for a timeout.
    case unknown(UInt32)
}

/// What the mouse did, where.
public struct MouseEvent: Sendable, Hashable {
    public enum Kind: Sendable, Hashable { case click, wheelUp, wheelDown }
    public var kind: Kind
    public var x: Int
    public var y: Int
    public init(_ kind: Kind, x: Int, y: Int) {
        self.kind = kind
        self.x = x
        self.y = y
    }
}
