import Dispatch
import Foundation
import Synchronization

/// Turns SIGINT, SIGTERM and SIGHUP into a flag the dashboard loop polls, so the loop leaves
/// normally and `endwin` runs on the curses thread, instead of the process dying with the
/// terminal in raw mode. Signals are received through Dispatch sources (the default action is
/// set to ignore, as Dispatch requires), so no code runs in a signal handler.
///
/// `@unchecked Sendable`: the sources array is written once in `init` and only read in
/// `uninstall`, which is idempotent through an atomic; the received signal is an atomic.
public final class TerminalGuard: @unchecked Sendable {
    public static let defaultSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    private let signals: [Int32]
    private let sources: [any DispatchSourceSignal]
    private let received = Atomic<Int32>(0)
    private let uninstalled = Atomic<Bool>(false)

    /// Starts catching `signals`. `onSignal` runs on a Dispatch queue (never the curses thread):
    /// use it only to wake the loop, never to touch the screen.
    public init(signals: [Int32] = TerminalGuard.defaultSignals, onSignal: (@Sendable (Int32) -> Void)? = nil) {
        self.signals = signals
        let queue = DispatchQueue(label: "prism.terminal-guard")
        var sources: [any DispatchSourceSignal] = []
        for sig in signals {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            sources.append(source)
        }
        self.sources = sources
        for (sig, source) in zip(signals, sources) {
            source.setEventHandler { [weak self] in
                _ = self?.received.compareExchange(expected: 0, desired: sig, ordering: .sequentiallyConsistent)
                onSignal?(sig)
            }
            source.resume()
        }
    }

    deinit { uninstall() }

    /// The first signal caught, if any.
    public var receivedSignal: Int32? {
        let s = received.load(ordering: .sequentiallyConsistent)
        return s == 0 ? nil : s
    }

    /// Whether the loop should stop.
    public var stopRequested: Bool { receivedSignal != nil }

    /// Stops catching and restores the default actions. Idempotent.
    public func uninstall() {
        guard !uninstalled.exchange(true, ordering: .sequentiallyConsistent) else { return }
        for source in sources { source.cancel() }
        for sig in signals { signal(sig, SIG_DFL) }
    }
}
