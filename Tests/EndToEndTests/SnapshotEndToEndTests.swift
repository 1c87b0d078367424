import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Snapshots where a user meets them: a `serve` killed with SIGKILL (once while a snapshot was
/// between its temporary file and its rename), a damaged snapshot file, a log cut back behind
/// the snapshots. Each time the views (`views --json`) equal an independent fold of `export`.
@Suite(.serialized) struct SnapshotEndToEndTests {
    static func environment(_ extra: [String: String]) -> [String: String] {
        ProcessInfo.processInfo.environment.merging(["PRISM_SNAPSHOT_EVERY_EVENTS": "300"].merging(extra) { $1 }) { $1 }
    }

    static func files(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir + "/snapshots")) ?? []).sorted()
    }

    /// `views --json` equals the fold of `export` written in CommandLineTests from the spec.
    static func expectViewsEqualAnIndependentFold(_ data: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let export = try await prism("export", "--data", data)
        #expect(export.code == 0, sourceLocation: sourceLocation)
        let events = try export.stdout.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        let views = try await prism("views", "--data", data, "--json")
        #expect(views.code == 0, "\(views.stderr)", sourceLocation: sourceLocation)
        let actual = try JSONSerialization.jsonObject(with: Data(views.stdout.utf8)) as! [String: Any]
        let expected = SpecFold.views(of: events)
        for key in ["position", "shoppers", "warehouse", "finance", "support"] {
            #expect(NSDictionary(dictionary: ["v": expected[key]!]).isEqual(to: ["v": actual[key]!]),
                    "\(key) differs:\n expected \(expected[key]!)\n actual   \(actual[key]!)", sourceLocation: sourceLocation)
        }
        return views.stderr
    }

    static func waitFor(_ seconds: Double, _ condition: () -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }

    @Test(.timeLimit(.minutes(2)))
    func aServeKilledMidSnapshotRestartsFromTheOthersAndAgreesWithAFold() async throws {
        try await withTemporaryDirectory { dir in
            let data = dir + "/log"
            let first = try Child([prismBinary, "serve", "--data", data, "--rate", "3000", "--relaxed", "--seed", "3"], environment: Self.environment([:]))
            #expect(try await Self.waitFor(10) { Self.files(data).filter { $0.hasSuffix(".snap") }.count >= 10 })
            first.signal(SIGKILL)
            #expect(try await first.wait() == 128 + SIGKILL)

            // Killed between a snapshot's fsync'd temporary file and its rename.
            let second = try Child([prismBinary, "serve", "--data", data, "--rate", "3000", "--relaxed", "--seed", "4"],
                                   environment: Self.environment(["PRISM_TEST_SNAPSHOT_PAUSE_SECONDS": "60"]))
            let mine = ".\(second.pid).tmp"
            #expect(try await Self.waitFor(10) { Self.files(data).contains { $0.hasSuffix(mine) } })
            try await Task.sleep(for: .milliseconds(300))
            second.signal(SIGKILL)
            #expect(try await second.wait() == 128 + SIGKILL)
            let stray = try #require(Self.files(data).first { $0.hasSuffix(mine) })
            let unrenamed = String(stray.split(separator: ".").first!) + ".snap"
            #expect(!Self.files(data).contains(unrenamed), "the killed save never got its final name")

            let third = try Child([prismBinary, "serve", "--data", data, "--rate", "0"], environment: Self.environment([:]))
            #expect(try await Self.waitFor(10) { third.stderr.contains("serving") })
            let sent = try await prism("send", "--data", data, "register", "SNAPMUG", "1299", "After", "restart")
            #expect(sent.code == 0, "\(sent.stdout)\(sent.stderr)")
            third.signal(SIGTERM)
            #expect(try await third.wait() == 0)
            #expect(!third.stderr.contains("ignored"), "\(third.stderr)")
            #expect(!Self.files(data).contains(stray), "a dead process's temporary file is swept")
            let notices = try await Self.expectViewsEqualAnIndependentFold(data)
            #expect(notices.isEmpty, "\(notices)")
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func aDamagedSnapshotAndALogCutBehindTheSnapshotsAreIgnoredWithANotice() async throws {
        try await withTemporaryDirectory { dir in
            let data = dir + "/log"
            let serve = try Child([prismBinary, "serve", "--data", data, "--rate", "3000", "--relaxed", "--seed", "8"], environment: Self.environment([:]))
            #expect(try await Self.waitFor(10) { Self.files(data).filter { $0.hasPrefix("shoppers-") }.count >= 3 })
            try await Task.sleep(for: .milliseconds(500))
            serve.signal(SIGTERM)
            #expect(try await serve.wait() == 0)

            // One flipped byte in the newest shoppers snapshot.
            let shoppers = Self.files(data).filter { $0.hasPrefix("shoppers-") && $0.hasSuffix(".snap") }
                .sorted { UInt64($0.dropFirst(9).dropLast(5))! > UInt64($1.dropFirst(9).dropLast(5))! }
            let newest = data + "/snapshots/" + shoppers[0]
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: newest)))
            bytes[bytes.count / 2] ^= 0x01
            try Data(bytes).write(to: URL(fileURLWithPath: newest))
            let damaged = try await Self.expectViewsEqualAnIndependentFold(data)
            let position = shoppers[0].dropFirst(9).dropLast(5)
            #expect(damaged == "prism: snapshot shoppers@\(position) ignored: damaged (checksum mismatch)\n")

            // The log cut back to half of its last segment: every newer snapshot is behind it.
            let segment = try #require(try FileManager.default.contentsOfDirectory(atPath: data).filter { $0.hasPrefix("seg-") }.sorted().last)
            let path = data + "/" + segment
            let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
            #expect(truncate(path, off_t(size / 2)) == 0)
            let cut = try await Self.expectViewsEqualAnIndependentFold(data)
            #expect(cut.contains("before it (cut back?)"), "\(cut)")
            #expect(cut.split(separator: "\n").allSatisfy { $0.hasPrefix("prism: snapshot ") && $0.contains(" ignored: ") }, "\(cut)")
        }
    }
}
