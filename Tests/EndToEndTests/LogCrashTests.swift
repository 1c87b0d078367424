import EventLog
import Foundation
import Testing

/// Real processes, really killed: a child appends in a loop and reports each acknowledged
/// batch; the test kills it with SIGKILL at random moments and checks the log after each kill.
@Suite(.serialized) struct LogCrashTests {
    @Test(.timeLimit(.minutes(3)))
    func sigkillMidAppendNeverLosesAnAcknowledgedBatchNorShowsAPartialOne() async throws {
        try await withTemporaryDirectory { dir in 
            let data = dir + "/log"
            var acknowledged: [Int: (first: UInt64, last: UInt64)] = [:]
            var nextBatch = 0
            var rng = SystemRandomNumberGenerator()
            var truncations = 0
            for round in 0..<24 {
                let child = try Child([prismBinary, "debug", "crash-append", "--dir", data, "--seed", "\(round + 1)", "--first-batch", "\(nextBatch)"])
                // Let it run between 30 and 400 ms, then kill it without warning.
                try await Task.sleep(for: .microseconds(Int.random(in: 30_000...400_000, using: &rng)))
                child.signal(SIGKILL)
                #expect(try await child.wait() == 128 + SIGKILL)
                for line in child.stdout.split(separator: "\n") {
                    let f = line.split(separator: " ")
                    if f.first == "ack", f.count == 4, let b = Int(f[1]), let first = UInt64(f[2]), let last = UInt64(f[3]) {
                        acknowledged[b] = (first, last)
                        nextBatch = max(nextBatch, b + 1)
                    } else if f.first == "recovered" {
                        truncations += 1
                    }
                }
                // The batch being written when killed may or may not have landed whole.
                nextBatch += 1

                // Reopen as the next writer would: recovery, then a full check.
                let log = try EventLog.open(directory: data)
                let head = log.head
                var seen: [Int: [UInt64]] = [:]
                var sizes: [Int: Int] = [:]
                var expected: UInt64 = 1
                try log.read(from: 1) { record in
                    #expect(record.position == expected)
                    expected += 1
                    let stream = record.stream
                    let batch = Int(stream.dropFirst("batch-".count))!
                    seen[batch, default: []].append(record.position)
                    let tag = String(decoding: record.payload.prefix { $0 != 1 }, as: UTF8.self).split(separator: ":")
                    sizes[batch] = Int(tag[2])!
                    return true
                }
                log.close()
                #expect(expected == head + 1)
                // Every acknowledged batch is there, exactly once, where the ack said.
                for (batch, range) in acknowledged {
                    #expect(seen[batch] == Array(range.first...range.last), "acknowledged batch \(batch) is missing or moved (round \(round))")
                }
                // No part of any batch without the rest of it.
                for (batch, positions) in seen {
                    #expect(positions.count == sizes[batch], "batch \(batch) is partial: \(positions.count) of \(sizes[batch] ?? -1) (round \(round))")
                }
                let verify = try LogVerifier.verify(directory: data)
                #expect(verify.problems.isEmpty, "round \(round): \(verify.problems)")
            }
            #expect(acknowledged.count > 20, "the child acknowledged too few batches to test anything (\(truncations) torn tails recovered)")
        }
    }
}

/// One writer, many readers, across processes; `send` against a running `serve`; `verify`
/// on a byte flipped by hand.
@Suite(.serialized) struct ProcessTests {
    @Test(.timeLimit(.minutes(2)))
    func aFollowerInAnotherProcessSeesNewEventsAndASecondWriterIsRefused() async throws {
        try await withTemporaryDirectory { dir in
            let data = dir + "/log"
            let serve = try Child([prismBinary, "serve", "--data", data, "--rate", "300"])
            // Killed by the Child's deinit if the test ends early.

            // Wait for the writer's endpoint, then follow its log from this process.
            var waited = 0
            while !FileManager.default.fileExists(atPath: data + "/prism.sock") && waited < 100 {
                try await Task.sleep(for: .milliseconds(100))
                waited += 1
            }
            let follower = try EventLog.openReadOnly(directory: data)
            defer { follower.close() }
            let start = follower.head
            var seen: UInt64 = 0
            var expected: UInt64 = 1
            for try await batch in follower.subscribe(from: 1) {
                batch.forEach { record in
                    #expect(record.position == expected)
                    expected += 1
                    seen = record.position
                }
                if seen > start + 50 { break }
            }
            #expect(seen > start + 50)

            // A second writer is refused, naming the holder's pid.
            let second = try await prism("serve", "--data", data)
            #expect(second.code == 3)
            #expect(second.stderr.contains("pid \(serve.pid)"))

            // `send` goes through the running writer.
            let sent = try await prism("send", "--data", data, "register", "E2E-1", "500", "Test", "item")
            #expect(sent.code == 0)
            #expect(sent.stdout.hasPrefix("accepted position="))
            let again = try await prism("send", "--data", data, "register", "E2E-1", "500", "Test", "item")
            #expect(again.code == 1)
            #expect(again.stdout.hasPrefix("rejected: "))

            serve.signal(SIGTERM)
            #expect(try await serve.wait() == 0)
            // With the writer gone, `send` opens the log itself.
            let direct = try await prism("send", "--data", data, "restock", "E2E-1", "5")
            #expect(direct.code == 0, "\(direct.stderr)")
        }
    }

    @Test func verifyCatchesAByteFlippedByHand() async throws {
        try await withTemporaryDirectory { dir in 
            let data = dir + "/log"
            for i in 0..<20 {
                let r = try await prism("send", "--data", data, "--create", "register", "SKU-\(i)", "\(100 + i)", "Thing", "\(i)")
                #expect(r.code == 0)
            }
            #expect(try await prism("verify", "--data", data).code == 0)
            let segment = data + "/" + RecordFormat.segmentName(1)
            let handle = try FileHandle(forUpdating: URL(fileURLWithPath: segment))
            try handle.seek(toOffset: 700)
            var byte = try handle.read(upToCount: 1)!
            byte[0] ^= 0x01
            try handle.seek(toOffset: 700)
            try handle.write(contentsOf: byte)
            try handle.close()
            let result = try await prism("verify", "--data", data)
            #expect(result.code == 1)
            #expect(result.stdout.contains("checksum mismatch"))
            #expect(result.stdout.contains(segment))
            #expect(result.stdout.contains("position"))
            // And the writer refuses to open on it, with an error naming file, offset, position.
            let open = try await prism("send", "--data", data, "restock", "SKU-1", "1")
            #expect(open.code == 3)
            #expect(open.stderr.contains("offset"))
        }
    }
}
