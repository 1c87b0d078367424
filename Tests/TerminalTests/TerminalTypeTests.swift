import Testing
@testable import Terminal
#if canImport(Glibc)
import Glibc
#endif

@Suite struct TerminalTypeTests {
    @Test func cursorAddressingComesFromTerminfo() {
        #expect(!CursesScreen.hasCursorAddressing("dumb", fd: STDERR_FILENO))
        for term in ["xterm-256color", "vt100", "linux", "screen"] {
            #expect(CursesScreen.hasCursorAddressing(term, fd: STDERR_FILENO), "\(term)")
        }
        #expect(!CursesScreen.hasCursorAddressing("nonexistent-term", fd: STDERR_FILENO))
    }

    @Test func dumbIsRefusedBeforeTheTerminalIsChecked() {
        // Refused for what it is, even when standard input is no terminal at all.
        #expect(throws: TerminalError.self) { try CursesScreen.checkTerminal(environment: ["TERM": "dumb"]) }
        do {
            try CursesScreen.checkTerminal(environment: ["TERM": "dumb"])
        } catch let error as TerminalError {
            #expect(error.code == .noCursorAddressing)
            #expect(error.message.contains("'dumb'"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
