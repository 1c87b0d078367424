import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The command service and query services as a user meets them: the built `prism` binary,
/// driven with real `curl` over loopback.
@Suite("HTTP services", .serialized)
struct HTTPServiceTests {
    @Test("POST /commands answers 200 only when durable, with the rejection, parse, size and media errors, and idempotency across a restart")
    func commandService() async throws {
        try await withTemporaryDirectory { dir in
            let data = dir + "/log"
            var serve = try await HTTPChild(["serve", "--data", data, "--rate", "0", "--http", "127.0.0.1:0"])
            let url = serve.url
            let text = ["Content-Type: text/plain"]
            let json = ["Content-Type: application/json"]

            let register = try await curl("POST", url + "/commands", body: "register MUG 12.99 Coffee mug", headers: text)
            #expect(register.status == 200, "\(register)")
            #expect(register.json?["outcome"] as? String == "accepted")
            #expect(register.json?["last"] as? Int == 1)
            #expect(register.headers["prism-position"] == "1")

            let restock = try await curl("POST", url + "/commands", body: #"{"command":"restock","sku":"MUG","quantity":10}"#, headers: json)
            #expect(restock.status == 200, "\(restock)")
            #expect(restock.json?["last"] as? Int == 2)

            // Idempotency: the same key twice is one command.
            let key = ["Content-Type: application/json", "Idempotency-Key: order-alice-1"]
            let place = #"{"command":"place","customer":"alice","lines":[{"sku":"MUG","quantity":2}],"orderId":"o-a1"}"#
            let first = try await curl("POST", url + "/commands", body: place, headers: key)
            let again = try await curl("POST", url + "/commands", body: place, headers: key)
            #expect(first.status == 200 && again.status == 200, "\(first) \(again)")
            #expect(first.json?["last"] as? Int == 3 && again.json?["last"] as? Int == 3, "\(again)")
            #expect(again.json?["commandId"] as? String == "order-alice-1")

            let rejected = try await curl("POST", url + "/commands", body: "restock NOPE 5", headers: text)
            #expect(rejected.status == 409, "\(rejected)")
            let reason = rejected.json?["error"] as? String ?? ""
            #expect(reason.contains("NOPE"), "\(rejected)")

            let syntax = try await curl("POST", url + "/commands", body: "place alice MUG:x", headers: text)
            #expect(syntax.status == 400, "\(syntax)")
            #expect(syntax.json?["column"] as? Int == 13, "\(syntax)")

            let badJSON = try await curl("POST", url + "/commands", body: #"{"command": "ship", "orderId": }"#, headers: json)
            #expect(badJSON.status == 400, "\(badJSON)")
            #expect(badJSON.json?["at"] != nil, "\(badJSON)")

            let shape = try await curl("POST", url + "/commands", body: #"{"command":"price","sku":"MUG","price":12.99}"#, headers: json)
            #expect(shape.status == 422, "\(shape)")
            #expect(shape.json?["at"] as? String == "$.price", "\(shape)")

            let huge = try await curl("POST", url + "/commands", body: "register BIG 100 " + String(repeating: "x", count: 200_000), headers: text)
            #expect(huge.status == 413, "\(huge)")

            let media = try await curl("POST", url + "/commands", body: "<ship/>", headers: ["Content-Type: application/xml"])
            #expect(media.status == 415, "\(media)")

            let unknown = try await curl("GET", url + "/nowhere")
            #expect(unknown.status == 404, "\(unknown)")

            let events = try await curl("GET", url + "/events?from=2&limit=2")
            #expect(events.status == 200)
            let lines = events.body.split(separator: "\n")
            #expect(lines.count == 2, "\(events)")
            #expect(events.headers["prism-position"] == "3")
            #expect(lines.first?.contains(#""type":"ProductRestocked""#) == true, "\(events)")
            #expect(lines.last?.contains(#""commandId":"order-alice-1""#) == true, "\(events)")
            #expect(try await curl("GET", url + "/events?limit=0").status == 400)

            let health = try await curl("GET", url + "/health")
            #expect(health.json?["head"] as? Int == 3, "\(health)")
            let metrics = try await curl("GET", url + "/metrics")
            #expect(metrics.body.contains(#"prism_http_commands_total{outcome="accepted"} 4"#), "\(metrics.body)")
            #expect(metrics.body.contains(#"prism_http_commands_total{outcome="rejected"} 1"#))
            #expect(metrics.body.contains("prism_group_commit_seconds_bucket"))
            #expect(metrics.body.contains("prism_log_head 3.0"), "\(metrics.body)")
            #expect(metrics.body.contains("prism_writer_queue_depth 0.0"))

            // The unix socket endpoint still serves the local CLI.
            let send = try await prism("send", "--data", data, "pay", "o-a1", "2598")
            #expect(send.code == 0 && send.stdout.contains("accepted position=4"), "\(send)")

            // Across a restart the key still names the first outcome; nothing is appended.
            #expect(try await serve.stop() == 0)
            serve = try await HTTPChild(["serve", "--data", data, "--rate", "0", "--http", "127.0.0.1:0"])
            let afterRestart = try await curl("POST", serve.url + "/commands", body: place, headers: key)
            #expect(afterRestart.status == 200 && afterRestart.json?["last"] as? Int == 3, "\(afterRestart)")
            #expect(try await curl("GET", serve.url + "/health").json?["head"] as? Int == 4)
            #expect(try await serve.stop() == 0)
        }
    }

    @Test("Two query services on one log: read-your-writes, 504 with the checkpoint reached, views equal to a fold of /events, one killed and restarted")
    func queryServices() async throws {
        try await withTemporaryDirectory { dir in
            let data = dir + "/log"
            let serve = try await HTTPChild(["serve", "--data", data, "--rate", "0", "--http", "127.0.0.1:0"])
            let all = try await HTTPChild(["query", "--data", data, "--http", "127.0.0.1:0"], kind: "query")
            var money = try await HTTPChild(["query", "--data", data, "--http", "127.0.0.1:0", "--views", "finance,support"], kind: "query")
            let text = ["Content-Type: text/plain"]
            var last = 0
            for command in ["register MUG 1299 Mug", "restock MUG 50", "register TEA 450 Tea", "restock TEA 9",
                            "place alice MUG:2 TEA:1 as o-1", "pay o-1 3048", "place bob MUG:1 as o-2", "cancel o-2 changed mind"] {
                let r = try await curl("POST", serve.url + "/commands", body: command, headers: text)
                #expect(r.status == 200, "\(r)")
                last = r.json?["last"] as? Int ?? 0
            }
            // Read-your-writes on both services.
            for (service, view) in [(all, "shoppers"), (all, "finance"), (money, "finance"), (money, "support")] {
                let r = try await curl("GET", service.url + "/views/\(view)?atLeast=\(last)&timeoutMs=5000")
                #expect(r.status == 200, "\(r)")
                #expect((r.json?["checkpoint"] as? Int ?? 0) >= last, "\(r)")
                #expect(Int(r.headers["prism-position"] ?? "") ?? 0 >= last)
            }
            let finance = try await curl("GET", money.url + "/views/finance")
            #expect((finance.json?["view"] as? [String: Any])?["revenueCents"] as? Int == 3048, "\(finance)")
            // A view the service does not keep, and a position not yet written.
            #expect(try await curl("GET", money.url + "/views/shoppers").status == 404)
            let late = try await curl("GET", all.url + "/views/finance?atLeast=\(last + 1000)&timeoutMs=200")
            #expect(late.status == 504, "\(late)")
            #expect(late.json?["checkpoint"] as? Int == last, "\(late)")
            #expect(late.headers["prism-position"] == "\(last)")

            // Both services' views equal an independent fold of /events.
            let events = try await curl("GET", serve.url + "/events?from=1&limit=10000")
            let parsed = try events.body.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
            let expected = SpecFold.views(of: parsed)
            for (service, names) in [(all, ["shoppers", "warehouse", "finance", "support"]), (money, ["finance", "support"])] {
                let list = try await curl("GET", service.url + "/views")
                let served = (list.json?["views"] as? [[String: Any]]) ?? []
                #expect(served.map { $0["name"] as? String ?? "" } == names, "\(list)")
                for v in served {
                    let name = v["name"] as! String
                    #expect(NSDictionary(dictionary: ["v": expected[name]!]).isEqual(to: ["v": v["view"]!]),
                            "\(name): expected \(expected[name]!) got \(v["view"]!)")
                }
            }

            // The registry lists all three services, each with a heartbeat.
            let folder = data + "/services"
            let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".json") }
            #expect(files.count == 3, "\(files)")

            // Killing one query service does not disturb the other; a restarted one catches up.
            money.child.signal(SIGKILL)
            _ = try await money.child.wait()
            let more = try await curl("POST", serve.url + "/commands", body: "place carol TEA:2 as o-3", headers: text)
            let moreLast = more.json?["last"] as? Int ?? 0
            #expect(try await curl("GET", all.url + "/views/support?atLeast=\(moreLast)").status == 200)
            money = try await HTTPChild(["query", "--data", data, "--http", "127.0.0.1:0", "--views", "finance,support"], kind: "query")
            let resumed = try await curl("GET", money.url + "/views/support?atLeast=\(moreLast)")
            #expect(resumed.status == 200, "\(resumed)")
            let health = try await curl("GET", money.url + "/health")
            #expect(health.json?["kind"] as? String == "query" && health.json?["lagEvents"] as? Int == 0, "\(health)")

            #expect(try await money.stop() == 0)
            #expect(try await all.stop() == 0)
            #expect(try await serve.stop() == 0)
            // Clean stops withdraw their records; the killed service's record stays (shown down).
            let left = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".json") }
            #expect(left.count == 1 && left.allSatisfy { $0.hasPrefix("query-") }, "\(left)")
        }
    }

    @Test("GET /views/{name}/stream sends the view, then a message per change, coalesced")
    func serverSentEvents() async throws {
        try await withTemporaryDirectory { dir in
            let data = dir + "/log"
            // The load generator writes 300 commands a second throughout.
            let serve = try await HTTPChild(["serve", "--data", data, "--rate", "300", "--http", "127.0.0.1:0"])
            let query = try await HTTPChild(["query", "--data", data, "--http", "127.0.0.1:0", "--views", "shoppers", "--stream-rate", "5"], kind: "query")
            let out = try await curl("GET", query.url + "/views/shoppers/stream", maxTime: 3, streaming: true)
            #expect(out.status == 200 && out.headers["content-type"] == "text/event-stream", "\(out)")
            let ids = out.body.components(separatedBy: "\n").filter { $0.hasPrefix("id: ") }.compactMap { UInt64($0.dropFirst(4)) }
            #expect(out.body.components(separatedBy: "event: view\n").count - 1 == ids.count)
            #expect(ids.count >= 2, "\(out.body.prefix(500))")
            // Hundreds of events, 5 messages a second at most over 3 s: coalesced, never one per event.
            #expect(ids.count <= 17, "\(ids.count) messages")
            #expect(zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 }, "checkpoints move forward: \(ids)")
            #expect(try await query.stop() == 0)
            #expect(try await serve.stop() == 0)
        }
    }

    @Test("Bad clients cannot stop a service: slowloris, huge headers, control characters, garbage, many connections")
    func badClients() async throws {
        try await withTemporaryDirectory { dir in
            let data = dir + "/log"
            let serve = try await HTTPChild(["serve", "--data", data, "--rate", "0", "--http", "127.0.0.1:0", "--request-timeout-ms", "1000", "--max-connections", "40"])
            let port = serve.port

            // Slowloris: half a request head, then silence. The service cuts it off.
            let slow = try RawConnection(port: port)
            slow.send("POST /commands HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n")
            let started = Date()
            let slowAnswer = await onThread { slow.readToEnd() }
            #expect(Date().timeIntervalSince(started) < 8, "a slow client held the connection \(Date().timeIntervalSince(started)) s: \(slowAnswer)")

            // A body that trickles in also hits the deadline.
            let trickle = try RawConnection(port: port)
            trickle.send("POST /commands HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 50\r\n\r\nreg")
            let trickleStart = Date()
            _ = await onThread { trickle.readToEnd() }
            #expect(Date().timeIntervalSince(trickleStart) < 8)

            // Huge headers: refused, the service lives on.
            let big = try RawConnection(port: port)
            big.send("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 100_000) + "\r\n\r\n")
            let bigAnswer = await onThread { big.readToEnd() }
            #expect(!bigAnswer.contains("200 OK"), "\(bigAnswer.prefix(200))")

            // Garbage instead of HTTP.
            let garbage = try RawConnection(port: port)
            garbage.send("\u{1B}[2J\u{0}\u{7}NOT HTTP AT ALL\r\n\r\n")
            _ = await onThread { garbage.readToEnd() }

            // Control characters come back escaped, never raw.
            let control = try await curl("POST", serve.url + "/commands", body: #"{"command":"\u001b[31mred"}"#, headers: ["Content-Type: application/json"])
            #expect(control.status == 422, "\(control)")
            #expect(!control.body.contains("\u{1B}"), "raw ESC echoed: \(control.body)")
            #expect(control.body.contains("\\u001b"), "\(control.body)")
            let controlText = try await curl("POST", serve.url + "/commands", body: "ship \u{1B}]0;pwned\u{7}", headers: ["Content-Type: text/plain"])
            #expect(!controlText.body.contains("\u{1B}") && !controlText.body.contains("\u{7}"), "\(controlText.body)")

            // More idle connections than the cap: the service still answers once they go.
            var idle: [RawConnection] = []
            for _ in 0..<60 { if let c = try? RawConnection(port: port) { idle.append(c) } }
            idle.removeAll()

            let health = try await curl("GET", serve.url + "/health")
            #expect(health.status == 200, "\(health)")
            let ok = try await curl("POST", serve.url + "/commands", body: "register MUG 100 Mug", headers: ["Content-Type: text/plain"])
            #expect(ok.status == 200, "\(ok)")
            #expect(try await serve.stop() == 0)
        }
    }

    @Test("A memory store: the command service and an in-process query service; `prism query` refuses to follow it")
    func memoryStore() async throws {
        let serve = try await HTTPChild(["serve", "--store", "memory", "--rate", "0", "--http", "127.0.0.1:0", "--query-http", "127.0.0.1:0", "--views", "warehouse"])
        let stderr = serve.child.stderr
        let marker = "http: query service listening on "
        let line = stderr.split(separator: "\n").first { $0.contains(marker) } ?? ""
        let queryURL = line.components(separatedBy: marker).last?.split(separator: " ").first.map(String.init) ?? ""
        let r = try await curl("POST", serve.url + "/commands", body: "register MUG 100 Mug", headers: ["Content-Type: text/plain"])
        #expect(r.status == 200, "\(r)")
        let view = try await curl("GET", queryURL + "/views/warehouse?atLeast=1")
        #expect(view.status == 200 && view.headers["prism-position"] == "1", "\(view)")
        let refused = try await prism("query", "--store", "memory", "--http", "127.0.0.1:0")
        #expect(refused.code == 2 && refused.stderr.contains("--query-http"), "\(refused)")
        #expect(try await serve.stop() == 0)
    }

    @Test("Beyond loopback a token is required and checked on every request")
    func token() async throws {
        try await withTemporaryDirectory { dir in
            let data = dir + "/log"
            let refused = try await prism("serve", "--data", data, "--rate", "0", "--http", "0.0.0.0:0")
            #expect(refused.code == 2, "\(refused)")
            #expect(refused.stderr.contains("--token"), "\(refused.stderr)")
            let help = try await prism("serve", "--help")
            #expect(help.stdout.contains("--token"))

            let serve = try await HTTPChild(["serve", "--data", data, "--rate", "0", "--http", "127.0.0.1:0", "--token", "s3cret"])
            let none = try await curl("GET", serve.url + "/health")
            #expect(none.status == 401, "\(none)")
            let wrong = try await curl("GET", serve.url + "/health", headers: ["Authorization: Bearer nope"])
            #expect(wrong.status == 401)
            let right = try await curl("GET", serve.url + "/health", headers: ["Authorization: Bearer s3cret"])
            #expect(right.status == 200, "\(right)")
            #expect(try await serve.stop() == 0)
        }
    }
}
