/// A live subscription: an async sequence of batches from a start position on, with no gap and
/// no duplicate.
///
/// Why it cannot skip or repeat at the switch from disk to memory: it never switches modes. Each
/// step asks the log for "the chunk holding position `next`, up to the head", and the log answers
/// from memory when the tail still holds `next`, from disk otherwise. Positions, not sources,
/// drive it. A slow subscriber holds one chunk at a time and the tail never waits for it: when
/// the tail has moved past `next`, the next step simply reads the disk.
public struct LogSubscription: AsyncSequence, Sendable {
    public typealias Element = LogBatch
    let log: EventLog
    let start: UInt64

    public func makeAsyncIterator() -> Iterator { Iterator(log: log, next: Swift.max(start, 1)) }

    public struct Iterator: AsyncIteratorProtocol {
        let log: EventLog
        /// The next position to hand out.
        public private(set) var next: UInt64

        /// The next batch; waits for new commits when caught up. Returns nil when the log closes
        /// or the task is cancelled.
        public mutating func next() async throws -> LogBatch? {
            while true {
                if Task.isCancelled { return nil }
                let head = log.head
                if next <= head {
                    let chunk = try log.chunk(from: next, limit: head)
                    let last = Swift.min(chunk.lastPosition, head)
                    let batch = LogBatch(chunk: chunk, first: next, last: last)
                    next = last + 1
                    return batch
                }
                if log.isClosed { return nil }
                await log.waitForHead(after: next - 1)
            }
        }
    }
}

extension EventLog {
    /// Subscribes from `position` (1 = the beginning): catch-up from disk, then live appends
    /// from memory.
    public func subscribe(from position: UInt64) -> LogSubscription {
        LogSubscription(log: self, start: position)
    }

    public var isClosed: Bool { shared.withLock { $0.closed } }
}
