import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A real full disk under a running `serve`: a small tmpfs of its own (mounting needs root;
/// where it cannot be mounted the test says so and stops, and `WriterFailureTests` covers the
/// same path through FileIO's fault injection).
@Suite struct FullDiskTests {
    @Test(.timeLimit(.minutes(2)))
    func serveRefusesOnAFullDiskSaysSoAndTakesCommandsAgainOnceThereIsRoom() async throws {
        try await withTemporaryDirectory { dir in
            let mount = dir + "/small"
            try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
            let mounted = try await run("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mount], timeout: 20)
            guard mounted.code == 0 else {
                print("FullDiskTests skipped: cannot mount a 1 MiB tmpfs here (\(mounted.stderr.trimmingCharacters(in: .whitespacesAndNewlines))); the full disk is covered by WriterFailureTests through FileIO's fault injection")
                return
            }
            defer { _ = umount2(mount, Int32(MNT_DETACH)) }
            let data = mount + "/log"
            let serve = try Child([prismBinary, "serve", "--data", data, "--rate", "0"])
            defer { if serve.isRunning { serve.signal(SIGKILL) } }
            try await waitFor("serve to start", timeout: 30) { serve.stderr.contains("serving") }
            #expect(try await prism("send", "--data", data, "register MUG 1299 Blue mug").stdout.contains("accepted position=1"))

            // Fill the disk: dd writes until ENOSPC.
            let filler = mount + "/filler"
            _ = try await run("/bin/dd", ["if=/dev/zero", "of=\(filler)", "bs=4096"], timeout: 20)
            var accepted = 1
            var failure = ""
            let name = String(repeating: "x", count: 60)
            for i in 0..<300 {
                let r = try await prism("send", "--data", data, "register S\(i) 100 \(name)")
                if r.code == 0 { accepted += 1; continue }
                failure = r.stderr
                break
            }
            #expect(failure.contains("No space left on device"), "\(failure)")
            let refused = try await prism("send", "--data", data, "restock MUG 5")
            #expect(refused.code != 0)
            #expect(refused.stderr.contains("retrying"), "\(refused.stderr)")
            #expect(serve.stderr.contains("store write failed"), "\(serve.stderr)")
            #expect(serve.stderr.contains("No space left on device"))

            // Room again: the same serve takes commands again by itself.
            try FileManager.default.removeItem(atPath: filler)
            var last = try await prism("send", "--data", data, "restock MUG 5")
            let deadline = Date().addingTimeInterval(20)
            while last.code != 0, Date() < deadline {
                try await Task.sleep(for: .milliseconds(200))
                last = try await prism("send", "--data", data, "restock MUG 5")
            }
            #expect(last.stdout.contains("accepted position=\(accepted + 1)"), "\(last)")
            #expect(serve.stderr.contains("store recovered"), "\(serve.stderr)")
            serve.signal(SIGTERM)
            #expect(try await serve.wait(timeout: 30) == 0)

            // Nothing acknowledged lost, nothing refused kept, the log whole.
            let export = try await prism("export", "--data", data)
            #expect(export.stdout.split(separator: "\n").count == accepted + 1)
            let verify = try await prism("verify", "--data", data)
            #expect(verify.code == 0, "\(verify)")
        }
    }
}

func waitFor(_ what: String, timeout: Double, _ condition: () -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while !condition() {
        if Date() > deadline { throw E2EError("timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(50))
    }
}
