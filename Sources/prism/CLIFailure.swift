import EventStore

/// A failure the command line reports with one clear line and an exit code of SPEC section 5.
struct CLIFailure: Error {
    enum Code: Int32 {
        case rejected = 1
        case usage = 2
        case unavailable = 3
    }

    var code: Code
    var message: String
    /// The store's reason, when a store failed (a locked log is asked again by `send`).
    var cause: StoreError.Code?

    static func rejected(_ m: String) -> CLIFailure { CLIFailure(code: .rejected, message: m) }
    static func usage(_ m: String) -> CLIFailure { CLIFailure(code: .usage, message: m) }
    static func unavailable(_ m: String) -> CLIFailure { CLIFailure(code: .unavailable, message: m) }

    /// A log that cannot be opened is exit 3, whatever the reason; the message says which.
    static func opening(_ error: Error, _ directory: String) -> CLIFailure {
        if let e = error as? StoreError {
            return CLIFailure(code: .unavailable, message: "cannot open the log in \(directory): \(e)", cause: e.code)
        }
        return .unavailable("cannot open the log in \(directory): \(error)")
    }
}
