import Dispatch
import Foundation
import Synchronization

/// A subscription owned by the store: an async sequence of batches from a start position on,
/// catch-up from storage and then live, with no gap and no duplicate.
///
/// Each iterator has a feeder thread of its own that reads batches from the store and puts them
/// into a bounded buffer (``EventStore/subscribe(from:bufferedBatches:)``, 4 batches by
/// default). Why a thread: catch-up reads block on the disk or the network, and the Swift
/// cooperative pool (two threads on a two-core machine) must never be held by blocking work.
/// Why bounded: a slow projector then slows only its own feeder, which stops reading when the
/// buffer is full; the writer never waits for a reader, and memory stays bounded whatever the
/// lag.
///
/// Why it cannot skip or repeat: positions, not sources, drive it. Each step asks the store for
/// "the batch holding position `next`, up to the head"; the store answers from memory or from
/// storage, as it likes.
public struct EventSubscription: AsyncSequence, Sendable {
    public typealias Element = EventBatch
    let store: any EventStore
    let start: UInt64
    let capacity: Int

    init(store: any EventStore, from start: UInt64, capacity: Int) {
        self.store = store
        self.start = Swift.max(start, 1)
        self.capacity = Swift.max(capacity, 1)
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(handle: FeedHandle(Feed.start(store: store, from: start, capacity: capacity)))
    }

    public struct Iterator: AsyncIteratorProtocol {
        let handle: FeedHandle

        /// The next batch; waits for new commits when caught up. Returns nil when the store
        /// closes or the task is cancelled; throws what the store threw (damage, a lost
        /// connection), after every batch read before it.
        public mutating func next() async throws -> EventBatch? {
            try await handle.feed.next()
        }

        /// Batches read ahead and not yet taken: never more than the capacity (for tests).
        var buffered: Int { handle.feed.buffered }
    }
}

/// Ends the feeder when the iterator goes away, however the consumer left the loop.
final class FeedHandle: Sendable {
    let feed: Feed
    init(_ feed: Feed) { self.feed = feed }
    deinit { feed.cancel() }
}

/// The bounded buffer between one feeder thread and one consumer.
final class Feed: Sendable {
    struct State {
        var buffer: [EventBatch] = []
        var consumer: CheckedContinuation<EventBatch?, Error>?
        var finished = false
        var error: Error?
        var cancelled = false
    }

    private let state = Mutex<State>(State())
    /// Signalled whenever the consumer takes a batch or cancels: the feeder waits on it when the
    /// buffer is full.
    private let space = DispatchSemaphore(value: 0)
    private let capacity: Int

    private init(capacity: Int) { self.capacity = capacity }

    static func start(store: any EventStore, from start: UInt64, capacity: Int) -> Feed {
        let feed = Feed(capacity: capacity)
        let thread = Thread { feed.produce(store: store, from: start) }
        thread.name = "prism-subscription"
        thread.start()
        return feed
    }

    private var isCancelled: Bool { state.withLock { $0.cancelled } }
    var buffered: Int { state.withLock { $0.buffer.count } }

    private func produce(store: any EventStore, from start: UInt64) {
        var next = start
        while !isCancelled {
            let head = store.head
            if next <= head {
                let batch: EventBatch
                do {
                    batch = try store.readBatch(from: next, through: head)
                } catch {
                    finish(error)
                    return
                }
                next = batch.last + 1
                deliver(batch)
            } else {
                if store.isClosed {
                    finish(nil)
                    return
                }
                _ = store.waitForHead(after: next - 1, timeout: .milliseconds(200))
            }
        }
    }

    /// Hands `batch` to a waiting consumer, or buffers it; waits while the buffer is full.
    private func deliver(_ batch: EventBatch) {
        while true {
            enum Step { case handed(CheckedContinuation<EventBatch?, Error>), buffered, full, cancelled }
            let step = state.withLock { s -> Step in
                if s.cancelled { return .cancelled }
                if let c = s.consumer {
                    s.consumer = nil
                    return .handed(c)
                }
                if s.buffer.count < capacity {
                    s.buffer.append(batch)
                    return .buffered
                }
                return .full
            }
            switch step {
            case .handed(let c): c.resume(returning: batch); return
            case .buffered, .cancelled: return
            case .full: _ = space.wait(timeout: .now() + .milliseconds(200))
            }
        }
    }

    private func finish(_ error: Error?) {
        let waiting = state.withLock { s -> CheckedContinuation<EventBatch?, Error>? in
            s.finished = true
            s.error = error
            if s.buffer.isEmpty, let c = s.consumer {
                s.consumer = nil
                return c
            }
            return nil
        }
        if let waiting {
            if let error { waiting.resume(throwing: error) } else { waiting.resume(returning: nil) }
        }
    }

    func cancel() {
        let waiting = state.withLock { s -> CheckedContinuation<EventBatch?, Error>? in
            s.cancelled = true
            s.buffer.removeAll()
            defer { s.consumer = nil }
            return s.consumer
        }
        space.signal()
        waiting?.resume(returning: nil)
    }

    func next() async throws -> EventBatch? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<EventBatch?, Error>) in
                enum Answer { case batch(EventBatch), end, failed(Error), wait }
                let answer = state.withLock { s -> Answer in
                    if s.cancelled || Task.isCancelled { return .end }
                    if !s.buffer.isEmpty { return .batch(s.buffer.removeFirst()) }
                    if s.finished { return s.error.map { .failed($0) } ?? .end }
                    s.consumer = c
                    return .wait
                }
                switch answer {
                case .batch(let b):
                    space.signal()
                    c.resume(returning: b)
                case .end: c.resume(returning: nil)
                case .failed(let e): c.resume(throwing: e)
                case .wait: break
                }
            }
        } onCancel: {
            cancel()
        }
    }
}
