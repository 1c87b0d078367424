/// Why the terminal could not be used. The command line maps every one of these to exit code 3
/// ("could not be opened"), printing `message` as its one line.
public struct TerminalError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// `TERM` is unset or empty.
        case noTerminalType
        /// `TERM` names a terminal the terminfo database does not know.
        case unknownTerminalType
        /// The terminal cannot move its cursor to any cell (no `cup`: `TERM=dumb`, a printing
        /// terminal), so a full-screen dashboard would come out as garbage.
        case noCursorAddressing
        /// Standard input or output is not a terminal (a pipe, a file).
        case notATerminal
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
