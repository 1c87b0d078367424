import Foundation
import Terminal
import Testing

@Suite struct DashboardConfigTests {
    @Test func readsTheFourKeysInTheThemesFormat() throws {
        let c = try DashboardConfig.parse("""
            # my settings
            theme = "light"
            fps = "30"

            rate = "50"
            mouse = "off"
            """, file: "config")
        #expect(c == DashboardConfig(theme: "light", fps: 30, rate: 50, mouse: false))
    }

    @Test(arguments: [
        ("fps = \"0\"", 1, "fps"),
        ("theme = \"light\"\nmouse = \"maybe\"", 2, "mouse"),
        ("colour = \"red\"", 1, "colour"),
        ("fps = 30", 1, "fps"),
        ("rate = \"1\"\nrate = \"2\"", 2, "rate"),
    ])
    func badLinesAreNamedByFileAndLine(text: String, line: Int, key: String) {
        do {
            _ = try DashboardConfig.parse(text, file: "/home/u/.config/prism/config")
            Issue.record("accepted \(text)")
        } catch {
            #expect("\(error)".hasPrefix("/home/u/.config/prism/config:\(line): key '\(key)'"), "\(error)")
        }
    }

    @Test func lookedForUnderXDGConfigHomeElseHome() {
        #expect(DashboardConfig.path(environment: ["XDG_CONFIG_HOME": "/x", "HOME": "/h"]) == "/x/prism/config")
        #expect(DashboardConfig.path(environment: ["HOME": "/h"]) == "/h/.config/prism/config")
    }
}
