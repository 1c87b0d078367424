import ArgumentParser
import EventStore
import Foundation

// The entry point maps every failure to SPEC section 5's exit codes in one place:
// 0 success, 1 command rejected or log check failed, 2 usage error, 3 log or writer unreachable.
// A parent may hand us blocked signals (some job runners block SIGCHLD and others, and a
// blocked mask survives fork and exec). Unblock the ones Prism relies on before any thread
// starts: SIGWINCH for resizing, SIGINT/SIGTERM/SIGHUP to restore the terminal and stop cleanly.
var wanted = sigset_t()
sigemptyset(&wanted)
for sig in [SIGWINCH, SIGINT, SIGTERM, SIGHUP, SIGCHLD] { sigaddset(&wanted, sig) }
pthread_sigmask(SIG_UNBLOCK, &wanted, nil)
// A peer that closes a socket early (a writer refusing an overlong request, a client gone)
// must give a write error to handle, not kill the process with SIGPIPE.
signal(SIGPIPE, SIG_IGN)

do {
    var command = try Prism.parseAsRoot()
    try command.run()
    exit(0)
} catch let failure as CLIFailure {
    if !failure.message.isEmpty { printError(failure.message) }
    exit(failure.code.rawValue)
} catch {
    let code = Prism.exitCode(for: error)
    if code == .success {
        print(Prism.fullMessage(for: error))
        exit(0)
    }
    if let exitCode = error as? ExitCode { exit(exitCode.rawValue) }
    // Parse and validation errors: usage, exit 2 (not ArgumentParser's 64). They quote the
    // arguments, so each line is escaped like every other message that quotes input.
    let lines = Prism.fullMessage(for: error).split(separator: "\n", omittingEmptySubsequences: false)
    FileHandle.standardError.write(Data((lines.map(escapeControlCharacters).joined(separator: "\n") + "\n").utf8))
    exit(2)
}
