import Dispatch
import Foundation
import Synchronization

/// Runs async work from a thread that must wait for it: the dashboard's curses thread, a
/// connection thread of the command endpoint, the command line's synchronous commands. Those
/// threads are not the cooperative pool's, so blocking them costs the pool nothing.
public func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let done = DispatchSemaphore(value: 0)
    let result = Mutex<Result<T, Error>?>(nil)
    Task.detached {
        let r: Result<T, Error>
        do { r = .success(try await body()) } catch { r = .failure(error) }
        result.withLock { $0 = r }
        done.signal()
    }
    done.wait()
    return try result.withLock { $0 }!.get()
}

/// The other direction: runs blocking work (a socket wait, a sleep loop, a child process, a
/// catch-up read) on a thread of its own and suspends until it is done, so that the Swift
/// cooperative pool, two threads on a two-core machine, is never held by it.
public func onOwnThread<T: Sendable>(
    _ name: String = "prism-blocking", _ body: @escaping @Sendable () throws -> T
) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.name = name
        thread.start()
    }
}
