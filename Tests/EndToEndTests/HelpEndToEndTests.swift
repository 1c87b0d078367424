import Foundation
import Testing

/// Help through the real binary: F1 and `h` open it as `?` does, it shows the keys of the mode
/// the user is in and the command syntax itself.
@Suite(.serialized) struct HelpEndToEndTests {
    @Test func f1AndHOpenHelpForTheCurrentMode() async throws {
        try await withTemporaryDirectory { dir in
            let tmux = try TmuxSession(command: "\(prismBinary) --data \(dir)/data --rate 100 --relaxed", width: 80, height: 24)
            _ = try await tmux.waitForScreen(timeout: 30) { $0.contains("Shoppers  #") && $0.contains("shoppers  live") }

            try tmux.keys("F1")
            var screen = try await tmux.waitForScreen { $0.contains("Help: live") }
            #expect(screen.contains("place CUSTOMER SKU:QTY... [as ORDER]") && screen.contains("cancel ORDER REASON..."))
            #expect(!screen.contains("SPEC"))
            try tmux.keys("x")
            _ = try await tmux.waitForScreen { !$0.contains("Help: live") }

            try tmux.keys("t")
            _ = try await tmux.waitForScreen { $0.contains("AS OF #") }
            try tmux.keys("h")
            screen = try await tmux.waitForScreen { $0.contains("Help: time travel") }
            #expect(screen.contains("back to live"))
            // q closes help (it does not quit), and time travel goes on.
            try tmux.keys("q")
            screen = try await tmux.waitForScreen { !$0.contains("Help: time travel") }
            #expect(screen.contains("AS OF #"))
            try tmux.keys("Escape")

            try tmux.keys("e")
            _ = try await tmux.waitForScreen { $0.contains("Event inspector") }
            try tmux.keys("h")
            screen = try await tmux.waitForScreen { $0.contains("Help: inspector") }
            #expect(screen.contains("go to a position"))
            try tmux.keys("x")
            _ = try await tmux.waitForScreen { !$0.contains("Help: inspector") && $0.contains("Event inspector") }
            try tmux.keys("Escape")
            try tmux.keys("q")
            #expect(try await tmux.waitForExit() == 0)
        }
    }
}
