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
    /// Samples at least this far apart are kept; the newest one moves with each record.
    static let spacing: UInt64 = 100_000_000
    /// The sliding window the rate is taken over: long enough that a writer's bursts (a group
    /// commit every few milliseconds, a projector's batch) and the dashboard's frame ticks
    /// average out, short enough that a change shows within a couple of seconds.
    static let window: UInt64 = 2_000_000_000
    public init() {}

    /// Records the running total at `now` (monotonic ns). The newest sample is moved to `now`
    /// while it is younger than ``spacing`` past the one before it, so it always carries the
    /// time its total was read at; older samples stay at least ``spacing`` apart.
    public mutating func record(total: UInt64, now: UInt64 = Clock.monotonicNanos()) {
        if samples.count >= 2, now >= samples[samples.count - 2].time, now - samples[samples.count - 2].time < Self.spacing {
            samples[samples.count - 1] = (now, total)
            return
        }
        samples.append((now, total))
        let keep = Int(Self.window / Self.spacing) + 3
        if samples.count > keep { samples.removeFirst(samples.count - keep) }
    }

    /// Per second over the sliding window ending at `now`: from the oldest sample inside the
    /// window to the newest. Nothing recorded for longer than the window means nothing
    /// happened lately (0).
    public func rate(now: UInt64 = Clock.monotonicNanos()) -> Double {
        guard let last = samples.last else { return 0 }
        if now > last.time, now - last.time > Self.window { return 0 }
        let start = now > Self.window ? now - Self.window : 0
        // The oldest sample inside the window; when that is the newest one (records sparser
        // than the window: a busy machine delays the dashboard's ticks), the one before it, so
        // the rate spans the gap instead of reading 0 every other tick.
        guard var from = samples.firstIndex(where: { $0.time >= start }) else { return 0 }
        if from == samples.count - 1 && from > 0 { from -= 1 }
        let first = samples[from]
        guard last.time > first.time, last.total >= first.total else { return 0 }
        return Double(last.total - first.total) / (Double(last.time - first.time) / 1e9)
    }
}
