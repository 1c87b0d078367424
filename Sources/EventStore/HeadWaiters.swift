import Foundation
import Synchronization

/// The waiting half of a store's head: async waiters (``EventStore/waitForHead(after:)``) and
/// blocking ones (``EventStore/waitForHead(after:timeout:)``), woken when the head moves or the
/// store closes. Shared by the memory and the PostgreSQL stores, so the wake-up rules are written
/// once.
///
/// No wake-up is lost: ``headMoved(to:)`` records the head it announces under the same lock that
/// registers async waiters, and a waiter checks that recorded head as well as the store's, so one
/// that registers just after an announcement sees it; blocking waiters read the head under the
/// condition's lock that the announcement broadcasts under.
public final class HeadWaiters: Sendable {
    private struct Waiting {
        var list: [(id: UInt64, after: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
        var next: UInt64 = 0
        var announced: UInt64 = 0
        var closed = false
    }

    private let waiting = Mutex<Waiting>(Waiting())
    private let changed = NSCondition()

    public init() {}

    /// After the store's head moved to `head` (already visible through the store's `head`):
    /// resumes the async waiters below it and wakes the blocking ones.
    public func headMoved(to head: UInt64) {
        let ready = waiting.withLock { w -> [CheckedContinuation<Void, Never>] in
            w.announced = max(w.announced, head)
            var ready: [CheckedContinuation<Void, Never>] = []
            w.list.removeAll { entry in
                if entry.after < head { ready.append(entry.continuation); return true }
                return false
            }
            return ready
        }
        for c in ready { c.resume() }
        broadcast()
    }

    /// On close: every waiter returns, and later waits return at once.
    public func close() {
        let ready = waiting.withLock { w -> [CheckedContinuation<Void, Never>] in
            w.closed = true
            defer { w.list.removeAll() }
            return w.list.map(\.continuation)
        }
        for c in ready { c.resume() }
        broadcast()
    }

    /// Blocks until `head()` passes `position`, the store closes or `timeout` passes; returns
    /// whether the head passed it.
    public func wait(after position: UInt64, timeout: Duration, head: () -> UInt64) -> Bool {
        let deadline = Date().addingTimeInterval(
            Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18)
        changed.lock()
        defer { changed.unlock() }
        while head() <= position && !waiting.withLock({ $0.closed }) {
            if !changed.wait(until: deadline) { break }
        }
        return head() > position
    }

    /// Suspends until the head passes `position`, the store closes or the task is cancelled.
    public func wait(after position: UInt64, head: () -> UInt64) async {
        let id = waiting.withLock { w -> UInt64 in w.next += 1; return w.next }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = waiting.withLock { w -> Bool in
                    if w.closed || w.announced > position || head() > position || Task.isCancelled { return true }
                    w.list.append((id, position, c))
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            let c = waiting.withLock { w -> CheckedContinuation<Void, Never>? in
                guard let i = w.list.firstIndex(where: { $0.id == id }) else { return nil }
                return w.list.remove(at: i).continuation
            }
            c?.resume()
        }
    }

    private func broadcast() {
        changed.lock()
        changed.broadcast()
        changed.unlock()
    }
}
