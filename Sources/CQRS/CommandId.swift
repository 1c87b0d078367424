import EventStore

/// The rule for a command id, checked where the id enters (the command line, the endpoint, a
/// walkthrough file), so that a bad id is that command's usage error and never reaches the
/// store, where it would fail a whole commit.
public enum CommandId {
    /// The store keeps at most this many bytes of an id (a `UInt8` length in the file log).
    public static let maxBytes = 255

    /// Nil when `id` can be used; else why not, in one line that never echoes raw control
    /// characters.
    public static func problem(_ id: String) -> String? {
        if id.isEmpty { return "a command id cannot be empty (leave out --id for a command without one)" }
        let bytes = id.utf8.count
        if bytes > maxBytes { return "a command id is at most \(maxBytes) bytes of UTF-8; this one has \(bytes)" }
        if let bad = id.unicodeScalars.first(where: isUnsafeForTerminal) {
            let hex = String(bad.value, radix: 16, uppercase: true)
            return "a command id cannot hold control characters; '\(escapeControlCharacters(id))' holds U+\(hex)"
        }
        return nil
    }
}
