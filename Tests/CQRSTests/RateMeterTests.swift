import CQRS
import Testing

/// The rates the dashboard shows: steady work must read as a steady rate, whatever the rhythm
/// of the records and of the reads.
@Suite struct RateMeterTests {
    /// A writer committing 44,000 commands a second, read by a dashboard at 10 frames a second
    /// whose ticks drift (95 ms, sometimes under the meter's spacing): every read after the
    /// first two seconds is within 10% of 44,000, never 0 and never double.
    @Test func steadyWorkReadsAsASteadyRate() {
        var meter = RateMeter()
        let ms: UInt64 = 1_000_000
        var now: UInt64 = 1_000 * ms
        var total: UInt64 = 0
        var reads: [Double] = []
        for tick in 0..<100 {
            let step: UInt64 = tick % 3 == 0 ? 60 * ms : 95 * ms
            now += step
            total += 44 * step / ms
            meter.record(total: total, now: now)
            if tick >= 30 { reads.append(meter.rate(now: now)) }
        }
        let off = reads.filter { abs($0 - 44_000) > 4_400 }
        #expect(off.isEmpty, "reads off by more than 10%: \(off.prefix(5))")
    }

    /// Recorded many times within the spacing (a projector's small batches): the rate is still
    /// right, because the newest sample carries the time its total was read at.
    @Test func manyRecordsWithinTheSpacingKeepTheirTime() {
        var meter = RateMeter()
        let ms: UInt64 = 1_000_000
        var now: UInt64 = 5_000 * ms
        var total: UInt64 = 0
        for _ in 0..<300 {
            now += 7 * ms
            total += 7 * 48
            meter.record(total: total, now: now)
        }
        let rate = meter.rate(now: now)
        #expect(abs(rate - 48_000) < 2_400, "\(rate)")
    }

    /// A loaded machine delays the dashboard's ticks past the meter's window (1.3 s and more
    /// apart): each read still spans the gap to the sample before, so 44,000 a second reads as
    /// 44,000 on every tick, not 0 on every other one.
    @Test func sparseRecordsStillGiveTheRate() {
        var meter = RateMeter()
        let ms: UInt64 = 1_000_000
        var now: UInt64 = 1_000 * ms
        var total: UInt64 = 0
        var reads: [Double] = []
        for tick in 0..<12 {
            let step: UInt64 = tick % 2 == 0 ? 1_300 * ms : 1_900 * ms
            now += step
            total += 44 * step / ms
            meter.record(total: total, now: now)
            if tick >= 1 { reads.append(meter.rate(now: now)) }
        }
        #expect(reads.allSatisfy { abs($0 - 44_000) < 4_400 }, "\(reads)")
    }

    @Test func idleReadsAsZero() {
        var meter = RateMeter()
        meter.record(total: 10, now: 1_000_000_000)
        meter.record(total: 20, now: 1_200_000_000)
        #expect(meter.rate(now: 1_200_000_000) > 0)
        #expect(meter.rate(now: 5_000_000_000) == 0)
    }
}
