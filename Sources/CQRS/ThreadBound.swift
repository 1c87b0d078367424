#if canImport(Glibc)
import Glibc
#endif

/// A value that belongs to one thread, checked on every access: the engine's answer to a
/// comment that claims "touched only by the writer thread" (the idea of swift-nio's
/// `NIOLoopBound`). The owning thread calls ``bind()`` once; any access from another thread
/// stops the process with a message naming the value, instead of racing silently.
public final class ThreadBound<Value>: @unchecked Sendable {
    // @unchecked: `value` is reachable only through `withValue`, which checks that the caller is
    // the owning thread; `owner` is written once, by that thread, before any access.
    private var value: Value
    private var owner: pthread_t?
    private let name: StaticString

    public init(_ value: Value, name: StaticString) {
        self.value = value
        self.name = name
    }

    /// Makes the calling thread the owner. Call it once, first thing on that thread.
    public func bind() {
        precondition(owner == nil, "\(name) is bound to a thread already")
        owner = pthread_self()
    }

    /// Runs `body` with the value; only on the owning thread.
    @inline(__always)
    public func withValue<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        guard let owner, pthread_equal(owner, pthread_self()) != 0 else {
            preconditionFailure("\(name) was touched off the thread that owns it")
        }
        return try body(&value)
    }

    /// True on the owning thread.
    public var isOwnedByCurrentThread: Bool {
        guard let owner else { return false }
        return pthread_equal(owner, pthread_self()) != 0
    }
}
