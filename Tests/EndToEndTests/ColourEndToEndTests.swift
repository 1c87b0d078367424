import Foundation
import Testing

/// Colour as the terminal receives it: the real binary in tmux at 120x40, the screen captured
/// with its escapes (`capture-pane -e`), and the colour-setting SGR sequences read out of it.
/// Serialized: each session runs a writer with its load generator on a two-core machine.
@Suite(.serialized) struct ColourEndToEndTests {
    /// The colour settings in a captured screen, each written as the SGR parameters that set it
    /// (`38;5;67`, `31`, `48;5;255`, `38;2;1;2;3`). Resets (39, 49) and attributes are left out:
    /// tmux emits those for any styled capture, with or without colour.
    static func colourSettings(_ text: String) -> Set<String> {
        var found: Set<String> = []
        for chunk in text.components(separatedBy: "\u{1b}[").dropFirst() {
            guard let end = chunk.firstIndex(of: "m") else { continue }
            let params = chunk[..<end].split(separator: ";", omittingEmptySubsequences: false).map { Int($0) ?? 0 }
            var i = 0
            while i < params.count {
                let p = params[i]
                if (p == 38 || p == 48), i + 1 < params.count {
                    let n = params[i + 1] == 5 ? 3 : params[i + 1] == 2 ? 5 : 1
                    let end = min(params.count, i + 1 + n)
                    found.insert(params[i..<end].map(String.init).joined(separator: ";"))
                    i = end
                    continue
                }
                if (30...37).contains(p) || (40...47).contains(p) || (90...97).contains(p) || (100...107).contains(p) {
                    found.insert(String(p))
                }
                i += 1
            }
        }
        return found
    }

    /// Starts the dashboard with `theme`, waits for live views, returns the styled capture and
    /// quits (exit 0).
    ///
    /// The environment is pinned in the pane's command itself: tmux replaces a session's `TERM`
    /// with its `default-terminal` (tmux-256color), and `swift test` runs tests with
    /// `NO_COLOR=1`, which tmux passes on; either would decide the test, not the code.
    static func styledScreen(theme: String, noColor: Bool = false) async throws -> String {
        try await withTemporaryDirectory { dir in
            let env = "/usr/bin/env -u NO_COLOR TERM=xterm-256color" + (noColor ? " NO_COLOR=1" : "")
            let tmux = try TmuxSession(
                command: "\(env) \(prismBinary) --data \(dir)/data --rate 200 --relaxed --theme \(theme)",
                width: 120, height: 40, term: "xterm-256color")
            _ = try await DashboardEndToEndTests.waitForLiveViews(tmux)
            let styled = try tmuxCommand(["-L", tmux.socket, "capture-pane", "-e", "-p"]).stdout
            try tmux.keys("q")
            #expect(try await tmux.waitForExit() == 0)
            return styled
        }
    }

    @Test func themesDrawDifferentColoursAndNoColorDrawsNone() async throws {
        let dark = try await Self.styledScreen(theme: "default")
        let darkColours = Self.colourSettings(dark)
        #expect(darkColours.count >= 4, "the default theme draws in colour on xterm-256color; found \(darkColours.sorted())")
        // The default theme's colours are #rrggbb values: on 256 colours they arrive as 38;5;N.
        #expect(darkColours.contains { $0.hasPrefix("38;5;") }, "no 256-colour foreground in \(darkColours.sorted())")

        let light = try await Self.styledScreen(theme: "light")
        let lightColours = Self.colourSettings(light)
        #expect(!lightColours.isEmpty, "the light theme draws in colour")
        #expect(lightColours != darkColours, "default and light give the same colours: \(lightColours.sorted())")
        // The light theme paints its own background.
        #expect(lightColours.contains { $0.hasPrefix("48;") || $0.hasPrefix("4") || $0.hasPrefix("10") },
                "no background colour in the light theme: \(lightColours.sorted())")

        let none = try await Self.styledScreen(theme: "default", noColor: true)
        #expect(none.contains("\u{1b}["), "the capture carries attributes (bold, reverse)")
        #expect(Self.colourSettings(none).isEmpty, "colour escapes under NO_COLOR: \(Self.colourSettings(none).sorted())")
    }
}
