import ArgumentParser
import CQRS
import Dashboard
import EventLog
import Foundation
import Shop
import Synchronization
import Terminal

/// `prism bench render`: the real dashboard, drawn by the real run loop into a pseudo-terminal,
/// over a real ``ShopSystem`` under load and then idle. It measures what a user's terminal (and
/// an SSH link) pays: bytes written per second, and the dashboard thread's CPU time per frame.
///
/// The pty's master side is drained by a reader thread that counts bytes; curses stays on this
/// thread, which runs ``DashboardApp/run(dataSource:options:)`` exactly as `prism` does. The
/// first second of each phase (the first, full-screen frame) is not counted in `bytes_per_s`.
struct BenchRender: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Bytes to the terminal per second and CPU per frame of the dashboard, under load and idle.")

    @Option(help: "Seconds measured in each phase (after one second of warm-up).") var seconds: Double = 10
    @Option(help: "Commands per second of the load phase.") var rate: Double = 1000
    @Option(help: "Frame cap, frames per second.") var fps: Int = 10
    @Option(help: "Terminal width.") var width: Int = 120
    @Option(help: "Terminal height.") var height: Int = 40
    @Option(help: "Terminal type of the pseudo-terminal.") var term: String = "xterm-256color"
    @Option(help: "A fresh folder for the log (default: a temporary one).") var dir: String?
    @Flag(help: "ASCII glyphs (as under LANG=C) instead of Unicode.") var ascii = false

    func validate() throws {
        guard seconds > 0, rate >= 0, (1...60).contains(fps), width > 0, height > 0 else {
            throw ValidationError("--seconds, --width and --height must be positive, --rate not negative, --fps 1-60")
        }
    }

    func run() throws {
        // The dashboard's glyphs follow the locale; pin it so runs compare. curses would let
        // LINES and COLUMNS override the pty's size; it must be the size asked for.
        setenv("LC_ALL", ascii ? "C" : "C.UTF-8", 1)
        unsetenv("LINES")
        unsetenv("COLUMNS")
        let directory = dir.map(DataOptions.absolute) ?? (NSTemporaryDirectory() + "prism-bench-render-\(getpid())")
        let cleanup = dir == nil
        defer { if cleanup { try? FileManager.default.removeItem(atPath: directory) } }
        let system: ShopSystem
        do {
            var options = LogOptions()
            options.durability = .relaxed
            let log = try EventLog.open(directory: directory, options: options)
            do {
                system = try ShopSystem(store: log, directory: directory, seed: 42, rate: rate)
            } catch {
                log.close()
                throw error
            }
        } catch { throw CLIFailure.opening(error, directory) }
        defer { _ = try? runBlocking { await system.close() } }

        if rate > 0 {
            system.load?.resume()
            let result = try phase(system, load: rate)
            print(result)
            system.load?.pause()
            // Let the rates settle to zero (they look back ~1.5 s) and the projectors catch up,
            // so the idle phase is truly idle.
            _ = try? runBlocking { await system.waitForViews(position: system.store.head) }
            Thread.sleep(forTimeInterval: 2)
        }
        print(try phase(system, load: 0))
    }

    /// Runs the dashboard for one second of warm-up plus `seconds` on a fresh pty of
    /// `width` x `height`, and returns the result line.
    private func phase(_ system: ShopSystem, load: Double) throws -> String {
        var master: Int32 = -1, slave: Int32 = -1
        var size = winsize(ws_row: UInt16(height), ws_col: UInt16(width), ws_xpixel: 0, ws_ypixel: 0)
        guard openpty(&master, &slave, nil, nil, &size) == 0 else {
            throw CLIFailure.unavailable("openpty failed: \(String(cString: strerror(errno)))")
        }
        let counter = PtyCounter(master: master)
        counter.start()

        var environment = ProcessInfo.processInfo.environment
        environment["TERM"] = term
        environment["NO_COLOR"] = nil
        let statistics = DashboardStatistics()
        let warmup = 1.0
        // The loop runs a little past the measured window, so that leaving (endwin's cursor and
        // screen restore, ~50 bytes) falls outside it.
        let options = DashboardOptions(
            framesPerSecond: fps, theme: "default", environment: environment,
            device: TerminalDevice(input: slave, output: slave),
            timeLimit: .milliseconds(Int64((warmup + seconds + 0.3) * 1000)), statistics: statistics)

        // The byte count once the warm-up (and the first, full frame) is over, and at the end
        // of the measured window.
        let warmBytes = Atomic<Int>(0)
        let endBytes = Atomic<Int>(0)
        let seconds = self.seconds
        let sampler = Thread {
            let t0 = Clock.monotonicNanos()
            Thread.sleep(forTimeInterval: warmup)
            warmBytes.store(counter.bytes, ordering: .relaxed)
            let end = t0 + UInt64((warmup + seconds) * 1e9)
            let now = Clock.monotonicNanos()
            if end > now { Thread.sleep(forTimeInterval: Double(end - now) / 1e9) }
            endBytes.store(counter.bytes, ordering: .relaxed)
        }
        sampler.start()

        let writerBefore = system.writer?.statistics.accepted ?? 0
        let cpuBefore = threadCPUNanos()
        let processBefore = processCPUNanos()
        let t0 = Clock.monotonicNanos()
        let exit: DashboardExit
        do {
            exit = try DashboardApp.run(dataSource: ShopDashboardSource(system: system), options: options)
        } catch {
            close(slave)
            _ = counter.finish()
            throw CLIFailure.unavailable("the dashboard could not run on a pseudo-terminal: \(error)")
        }
        let elapsed = Double(Clock.monotonicNanos() - t0) / 1e9
        let cpu = threadCPUNanos() - cpuBefore
        let processCPU = processCPUNanos() - processBefore
        let accepted = (system.writer?.statistics.accepted ?? 0) - writerBefore
        close(slave)
        _ = counter.finish()
        guard exit == .timeLimit else { throw CLIFailure.unavailable("the dashboard stopped early: \(exit)") }

        let first = warmBytes.load(ordering: .relaxed)
        let measuredBytes = endBytes.load(ordering: .relaxed) - first
        let ticks = statistics.ticks.load(ordering: .relaxed)
        return String(
            format: "render load=%.0f seconds=%.0f size=%dx%d fps=%d bytes_per_s=%.0f cpu_ms_per_frame=%.3f frames=%d drawn=%d first_s_bytes=%d commands_per_s=%.0f process_cpu_pct=%.0f",
            load, seconds, width, height, fps, Double(measuredBytes) / seconds, Double(cpu) / 1e6 / Double(max(1, ticks)),
            ticks, statistics.framesDrawn.load(ordering: .relaxed), first,
            Double(accepted) / elapsed, Double(processCPU) / 1e7 / elapsed)
    }

    /// CPU time (user + system) of the calling thread: the dashboard's own cost, without the
    /// writer, projectors and load generator running beside it. (getrusage's RUSAGE_THREAD says
    /// the same but is hidden behind _GNU_SOURCE; this clock is POSIX.)
    private func threadCPUNanos() -> Int {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return t.tv_sec * 1_000_000_000 + t.tv_nsec
    }

    /// CPU time (user + system) of the whole process, from getrusage(RUSAGE_SELF).
    private func processCPUNanos() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func ns(_ t: timeval) -> Int { t.tv_sec * 1_000_000_000 + Int(t.tv_usec) * 1000 }
        return ns(usage.ru_utime) + ns(usage.ru_stime)
    }
}

/// Drains a pty's master side on its own thread, counting the bytes: what the terminal would
/// have received. It must keep reading, or curses would block once the pty's buffer is full.
private final class PtyCounter: Sendable {
    private let master: Int32
    private let total = Atomic<Int>(0)
    private let done = DispatchSemaphore(value: 0)

    init(master: Int32) { self.master = master }

    var bytes: Int { total.load(ordering: .relaxed) }

    func start() {
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
                if n > 0 { total.add(n, ordering: .relaxed); continue }
                if n < 0 && errno == EINTR { continue }
                // EIO: every slave descriptor is closed; the phase is over.
                break
            }
            done.signal()
        }
        thread.start()
    }

    /// Waits for the reader to see the slave side closed, closes the master, returns the total.
    func finish() -> Int {
        done.wait()
        close(master)
        return bytes
    }
}
