import Foundation
import Testing
@testable import Dashboard

/// A manual demo, not an automated test: runs the real dashboard against ``SampleDataSource``
/// when asked, in whatever terminal `swift test` runs in:
///
///     PRISM_MANUAL_DEMO=1 swift test --scratch-path .build-ui --filter manualDemo
///
/// Press keys to try them; `q` quits. Skipped otherwise (tests have no terminal).
@Test(.enabled(if: ProcessInfo.processInfo.environment["PRISM_MANUAL_DEMO"] == "1"))
func manualDemo() throws {
    let exit = try DashboardApp.run(dataSource: SampleDataSource())
    #expect(exit == .quit)
}
