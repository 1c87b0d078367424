import Foundation
import Testing

/// The walking skeleton, end to end: the real binary in a real terminal (tmux).
@Suite(.serialized) struct DashboardSmokeTests {
    @Test func viewsGoLiveAndQQuitsWithExitZero() async throws {
        try await withTemporaryDirectory { dir in
            let tmux = try TmuxSession(command: "\(prismBinary) --data \(dir)/data --rate 500")
            // Wait until all four panes show a non-zero checkpoint and the finance pane has money.
            let screen = try await tmux.waitForScreen(timeout: 30) { s in
                ["Shoppers", "Warehouse", "Finance", "Support"].allSatisfy { (checkpoint(of: $0, in: s) ?? 0) > 0 }
                    && s.contains("Revenue") && !s.contains("Revenue          $0.00")
            }
            #expect(screen.contains("head #"))
            try tmux.keys("q")
            #expect(try await tmux.waitForExit() == 0)
            // Starting again shows the same state, rebuilt from the log on disk.
            let views = try await prism("views", "--data", "\(dir)/data", "--json")
            #expect(views.code == 0)
            #expect(views.stdout.contains("\"revenueCents\""))
        }
    }
}
