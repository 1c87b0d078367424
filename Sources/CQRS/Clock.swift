#if canImport(Glibc)
import Glibc
#endif

/// Time sources, in one place so tests and rate meters agree on units.
public enum Clock {
    /// Monotonic nanoseconds: for durations and rates.
    @inline(__always)
    public static func monotonicNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Wall-clock nanoseconds since the epoch: comparable with the log's timestamps.
    @inline(__always)
    public static func wallNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}

/// A per-second rate over a sliding window of about one second, fed with running totals.
public struct RateMeter: Sendable {
    private var samples: [(time: UInt64, total: UInt64)] = []
    public init() {}

    /// Records the running total at `now` (monotonic ns); keeps samples 100 ms apart at least.
    public mutating func record(total: UInt64, now: UInt64 = Clock.monotonicNanos()) {
        if let last = samples.last, now - last.time < 100_000_000 {
            samples[samples.count - 1].total = total
            return
        }
        samples.append((now, total))
        if samples.count > 12 { samples.removeFirst(samples.count - 12) }
    }

    /// Events per second over the last second or so, as of `now`.
    public func rate(now: UInt64 = Clock.monotonicNanos()) -> Double {
        guard let last = samples.last else { return 0 }
        // Nothing recorded lately means nothing happened lately.
        if now > last.time, now - last.time > 1_500_000_000 { return 0 }
        guard let first = samples.first(where: { now - $0.time <= 1_200_000_000 }) ?? samples.first,
              last.time > first.time else { return 0 }
        return Double(last.total - first.total) / (Double(last.time - first.time) / 1e9)
    }
}
