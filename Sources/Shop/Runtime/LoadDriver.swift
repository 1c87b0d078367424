import CQRS
import Foundation
import Synchronization

/// Feeds the writer with commands from the ``LoadGenerator`` at a steady rate.
///
/// The generator reads the write model to pick plausible orders, and the write model belongs to
/// the writer thread, so the driver never runs the generator itself: it queues *generated*
/// submissions, and the writer calls the generator with its own state at decide time. The driver
/// only keeps time.
public final class LoadDriver: Sendable {
    private let writer: CommandWriter<ShopDomain>
    private let generator: GeneratorBox
    private let settings = Mutex<(rate: Double, paused: Bool, stopped: Bool)>((200, true, false))
    private let done = DispatchSemaphore(value: 0)

    public init(writer: CommandWriter<ShopDomain>, seed: UInt64, rate: Double) {
        self.writer = writer
        generator = GeneratorBox(LoadGenerator(seed: seed))
        settings.withLock { $0.rate = rate }
        let thread = Thread { [weak self, done] in
            var clock = Pacer()
            // Fast ticks at high rates, so that a small queue still feeds the writer fully.
            while let driver = self, driver.tick(&clock) { usleep(driver.rate >= 10_000 ? 1_000 : 5_000) }
            done.signal()
        }
        thread.name = "prism-load"
        thread.start()
    }

    public var rate: Double { settings.withLock { $0.rate } }
    public var isPaused: Bool { settings.withLock { $0.paused } }

    public func setRate(_ rate: Double) { settings.withLock { $0.rate = max(0, min(rate, 1_000_000)) } }
    public func pause() { settings.withLock { $0.paused = true } }
    public func resume() { settings.withLock { $0.paused = false } }

    /// Generated commands queued at the writer at most. A client command is taken before the
    /// queued generated ones, but it waits for the turn in progress and shares its own turn's
    /// commit with the generated commands taken with it: this bounds both, so that at any rate
    /// a client command waits behind at most two turns of this many generated commands (the
    /// writer's own cap, 2,000, let a full load make client commands wait hundreds of times as
    /// long as on an idle writer). Topped up every millisecond at high rates, it still offers
    /// about 256k commands/s.
    public static let queueCap = 256

    /// The rate steps of the dashboard's `+` and `-` keys.
    public static let rateSteps: [Double] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000]

    /// One step up (`+1`) or down (`-1`) the rate ladder.
    public func step(_ direction: Int) {
        settings.withLock { $0.rate = Self.rate(after: $0.rate, step: direction) }
    }

    /// The rate one step up or down the ladder from `rate`.
    public static func rate(after rate: Double, step direction: Int) -> Double {
        let index = rateSteps.lastIndex(where: { $0 <= rate }) ?? 0
        return rateSteps[max(0, min(rateSteps.count - 1, index + direction))]
    }

    public func stop() {
        let first = settings.withLock { s -> Bool in defer { s.stopped = true }; return !s.stopped }
        if first { done.wait() }
    }

    /// Time kept between ticks of the driver's thread.
    struct Pacer {
        var last = Clock.monotonicNanos()
        var due = 0.0
    }

    /// One tick: queue the commands that have come due. False once stopped.
    private func tick(_ pacer: inout Pacer) -> Bool {
        let (rate, paused, stopped) = settings.withLock { ($0.rate, $0.paused, $0.stopped) }
        if stopped { return false }
        let now = Clock.monotonicNanos()
        let elapsed = Double(now - pacer.last) / 1e9
        pacer.last = now
        if paused { pacer.due = 0; return true }
        pacer.due = min(pacer.due + rate * elapsed, max(1, rate))  // catch up at most one second
        // Never more than the writer's room for generated commands: a slow disk slows the load,
        // not memory, and a client command never waits behind more than one turn of load.
        let room = max(0, min(writer.generatedPerTurn, Self.queueCap) - writer.queuedGeneratedCount)
        var n = min(Int(pacer.due), room)
        if n == 0 { return true }
        pacer.due -= Double(n)
        let box = generator
        while n > 0 {
            writer.submitGenerated({ state in box.next(state) }, completion: { _ in })
            n -= 1
        }
        return true
    }
}

/// A load generator shared with the writer thread, which alone calls it (through
/// `CommandWriter.submitGenerated`), so that it can read the write model as it decides.
public final class GeneratorBox: @unchecked Sendable {
    // @unchecked: `next` is only ever called by the writer thread, one command at a time.
    private var generator: LoadGenerator
    public init(_ generator: LoadGenerator) { self.generator = generator }
    public func next(_ state: ShopState) -> ShopCommand { generator.next(state: state) }
}
