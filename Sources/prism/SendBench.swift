import ArgumentParser
import CQRS
import Foundation
import Histogram
import Shop

/// `prism bench send`: what a client of a running writer waits for, the way `prism send` waits
/// (connect, one command, the reply once durable), without the process start-up around it.
/// Run it against an idle `prism serve --rate 0` and against `prism serve --rate 1000000` to
/// see how long generated load makes a client command wait.
struct BenchSend: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Round-trip latency of client commands through a running writer's endpoint.")

    @OptionGroup var data: DataOptions
    @Option(help: "Commands to send, one after the other.") var count: Int = 500
    @Option(help: "Milliseconds to wait between commands.") var pause: Int = 5

    func run() throws {
        let directory = try data.folder(for: "`prism bench send`")
        // A SKU of its own, so every command is accepted whatever the load does to the catalog.
        let sku = "BENCH-\(getpid() % 100_000)"
        // A writer still reading its log answers "starting": wait for it.
        let deadline = Date().addingTimeInterval(120)
        while case .failed(let m)? = try CommandEndpoint.send("register \(sku) 100 Bench probe", commandId: nil, dataDirectory: directory) {
            guard Date() < deadline else { throw CLIFailure.unavailable(m) }
            usleep(100_000)
        }
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
        var accepted = 0
        for _ in 0..<count {
            let started = Clock.monotonicNanos()
            guard let reply = try CommandEndpoint.send("restock \(sku) 1", commandId: nil, dataDirectory: directory) else {
                throw CLIFailure.unavailable("no writer is running on \(directory): start `prism serve` first")
            }
            guard case .accepted = reply else { throw CLIFailure.unavailable("a command was not accepted: \(reply)") }
            histogram.record((Clock.monotonicNanos() - started) / 1000)
            accepted += 1
            usleep(useconds_t(pause * 1000))
        }
        func ms(_ p: Double) -> Double { Double(histogram.valueAtPercentile(p)) / 1000 }
        print(String(format: "send latency commands=%d accepted=%d p50_ms=%.3f p99_ms=%.3f max_ms=%.3f",
                     count, accepted, ms(50), ms(99), Double(histogram.max) / 1000))
    }
}
