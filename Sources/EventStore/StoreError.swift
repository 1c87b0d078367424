/// Every way a store can fail, each with the context a person needs to act: which file (or
/// table), which byte offset, which position, which stream. One type for every backend, so the
/// engine above the seam handles failures without knowing where events live.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        /// Bytes on disk that fail their checksum or framing before the tail: real damage.
        case corruption
        /// Another process holds the writer lock on the data folder.
        case locked
        /// An expected stream version did not match; nothing of the batch was appended.
        case versionConflict
        /// A system call failed (ENOSPC, EIO, EACCES, ...).
        case io
        /// The writer failed earlier and refuses appends until the log is reopened.
        case writerFailed
        /// The caller asked for something the log cannot do (empty batch, oversized record).
        case invalidArgument
        /// A batch expected the store's head to be somewhere it was not (another writer
        /// appended first); nothing of the batch was appended.
        case headMoved
        /// The store cannot be reached (a database connection refused or dropped).
        case unavailable
        /// No room for more work now (a full writer queue); nothing was done, retry later.
        case busy
        /// The log was closed.
        case closed
    }

    public var code: Code
    public var message: String
    public var file: String?
    public var offset: Int64?
    public var position: UInt64?
    /// The errno of a failed system call.
    public var errno: Int32?

    public init(
        _ code: Code, _ message: String, file: String? = nil, offset: Int64? = nil,
        position: UInt64? = nil, errno: Int32? = nil
    ) {
        self.code = code
        self.message = message
        self.file = file
        self.offset = offset
        self.position = position
        self.errno = errno
    }

    public var description: String {
        var parts: [String] = []
        if let file { parts.append(file) }
        if let offset { parts.append("offset \(offset)") }
        if let position { parts.append("position \(position)") }
        return parts.isEmpty ? message : "\(parts.joined(separator: ", ")): \(message)"
    }
}
