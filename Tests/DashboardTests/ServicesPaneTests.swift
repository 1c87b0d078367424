import Foundation
import Shop
import Terminal
import Testing
@testable import Dashboard

/// The Services pane (`m`): what the registry says, drawn, with a stale heartbeat as DOWN.
@Suite struct ServicesPaneTests {
    static let now: Int64 = 1_800_000_000_000

    static func snapshot() -> DashboardSnapshot {
        var s = DashboardSnapshot.sample
        s.servicesReadMillis = now
        s.services = [
            ServiceRecord(kind: "command", address: "http://127.0.0.1:8080", pid: getpid(), checkpoint: 12_345,
                          ratePerSecond: 2_000, p99Milliseconds: 1.5, heartbeatMillis: now - 400),
            ServiceRecord(kind: "query", address: "http://127.0.0.1:8081", pid: getpid(), views: ["finance", "support"],
                          checkpoint: 12_340, lagEvents: 5, lagMilliseconds: 3, heartbeatMillis: now - 900),
            // A heartbeat 30 s old: the service was killed or hangs.
            ServiceRecord(kind: "query", address: "http://127.0.0.1:8082", pid: getpid(), views: ["shoppers"],
                          checkpoint: 9_000, lagEvents: 3_345, heartbeatMillis: now - 30_000),
        ]
        return s
    }

    @Test func keyMOpensAndClosesThePaneAndZOnlyZoomsWhileOpen() {
        var ui = DashboardUI()
        _ = ui.handle(.char("m"), head: 10)
        #expect(ui.showServices)
        _ = ui.handle(.char("z"), head: 10)
        #expect(ui.zoomed)
        _ = ui.handle(.escape, head: 10)
        #expect(!ui.showServices && !ui.zoomed)
        _ = ui.handle(.char("m"), head: 10)
        _ = ui.handle(.char("m"), head: 10)
        #expect(!ui.showServices)
    }

    @Test func paneListsEachServiceWithCheckpointLagAndDown() {
        var ui = DashboardUI()
        ui.showServices = true
        let g = DashboardRenderer(glyphs: .unicode).render(Self.snapshot(), ui: ui, width: 120, height: 40)
        #expect(g.contains("Services  2 up, 1 down"))
        #expect(g.contains("command 127.0.0.1:8080"))
        #expect(g.contains("#12,345"))
        #expect(g.contains("finance,support"))
        let down = g.rows.first { $0.contains("127.0.0.1:8082") } ?? ""
        #expect(down.contains("DOWN"), "\(down)")
        let up = g.rows.first { $0.contains("127.0.0.1:8081") } ?? ""
        #expect(up.contains(" up "), "\(up)")
        // The panes still show above it.
        #expect(g.contains("Shoppers  #12,345"))
    }

    @Test func zoomedPaneFillsThePaneAreaAndFitsAt80x24() {
        var ui = DashboardUI()
        ui.showServices = true
        ui.zoomed = true
        let g = DashboardRenderer(glyphs: .unicode).render(Self.snapshot(), ui: ui, width: 80, height: 24)
        #expect(g.contains("Services  2 up, 1 down  [zoom]"))
        #expect(g.contains("127.0.0.1:8082"))
        #expect(g.rows.count == 24 && g.rows.allSatisfy { $0.count == 80 })
    }

    @Test func noServicesSaysHowToStartOne() {
        var ui = DashboardUI()
        ui.showServices = true
        var s = DashboardSnapshot.sample
        s.services = []
        let g = DashboardRenderer(glyphs: .unicode).render(s, ui: ui, width: 120, height: 40)
        #expect(g.contains("no services registered"))
    }
}
