import CQRS
import ArgumentParser
import Dispatch
import Foundation
import Synchronization

/// `--data DIR`, shared by every subcommand. Default: `$PRISM_DATA`, else
/// `$XDG_STATE_HOME/prism`, else `~/.local/state/prism`.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The data folder holding the log.", valueName: "DIR"))
    var data: String?

    var directory: String {
        let env = ProcessInfo.processInfo.environment
        let raw: String
        if let data, !data.isEmpty { raw = data }
        else if let d = env["PRISM_DATA"], !d.isEmpty { raw = d }
        else if let x = env["XDG_STATE_HOME"], !x.isEmpty { raw = x + "/prism" }
        else { raw = (env["HOME"] ?? NSHomeDirectory()) + "/.local/state/prism" }
        return Self.absolute(raw)
    }

    static func absolute(_ path: String) -> String {
        let expanded = (path as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return expanded }
        return FileManager.default.currentDirectoryPath + "/" + expanded
    }

    /// True when a log already exists there.
    var hasLog: Bool {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.contains { $0.hasPrefix("seg-") && $0.hasSuffix(".log") }
    }
}

/// Waits for SIGINT or SIGTERM (for `prism serve`).
func waitForTerminationSignal() -> Int32 {
    let done = DispatchSemaphore(value: 0)
    let received = Mutex<Int32?>(nil)
    var sources: [DispatchSourceSignal] = []
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        signal(sig, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        source.setEventHandler {
            received.withLock { if $0 == nil { $0 = sig } }
            done.signal()
        }
        source.resume()
        sources.append(source)
    }
    done.wait()
    for s in sources { s.cancel() }
    return received.withLock { $0 } ?? SIGTERM
}

func printError(_ line: String) {
    FileHandle.standardError.write(Data(("prism: " + line + "\n").utf8))
}
