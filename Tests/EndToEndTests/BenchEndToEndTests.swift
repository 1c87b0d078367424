import Foundation
import Testing

/// The benchmarks of the command line, run for real on small inputs.
@Suite struct BenchEndToEndTests {
    /// Every file of a folder, by name, with its bytes.
    func contents(_ dir: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) {
            files[name] = FileManager.default.contents(atPath: dir + "/" + name)
        }
        return files
    }

    /// `bench open` measures a log it did not create, so it must leave it exactly as it was
    /// (it used to append a `Probe` event, which no shop reader can decode).
    @Test(.timeLimit(.minutes(1)))
    func benchOpenLeavesTheLogItMeasuresUntouched() async throws {
        try await withTemporaryDirectory { dir in
            let data = dir + "/log"
            #expect(try await prism("send", "--data", data, "--create", "register MUG 1299 Blue mug").code == 0)
            #expect(try await prism("send", "--data", data, "restock MUG 5").code == 0)
            let before = try contents(data)
            let bench = try await prism("bench", "open", "--dir", data)
            #expect(bench.code == 0, "\(bench)")
            #expect(bench.stdout.hasPrefix("open events=2 "), "\(bench.stdout)")
            #expect(try contents(data) == before, "bench open changed the log it measured")
            // No copy is left beside it, and every reader still decodes the log.
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["log"])
            let export = try await prism("export", "--data", data)
            #expect(export.code == 0, "\(export)")
            #expect(export.stdout.split(separator: "\n").count == 2)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func benchExportPrintsEventsPerSecondBesideReplay() async throws {
        let bench = try await prism("bench", "export", "--events", "20000")
        #expect(bench.code == 0, "\(bench)")
        #expect(bench.stdout.hasPrefix("export events=20000 "), "\(bench.stdout)")
        #expect(bench.stdout.contains("events_per_s="))
        #expect(bench.stdout.contains("replay_events_per_s="))
    }
}
