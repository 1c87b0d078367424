import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `docs/openapi.json` against real answers: every answer below must be a status the document
/// lists for its route, with the documented media type and a body its schema accepts; and every
/// status the document lists must have been seen (a short list of ones no test can cause
/// without breaking the machine is named), so neither the services nor the document can drift.
@Suite("OpenAPI document", .serialized)
struct OpenAPIConformanceTests {
    /// Statuses documented but not produced here: a failing disk (500) and a full writer queue
    /// (503, covered by the writer's own tests of `busy`).
    static let unexercised: Set<String> = ["POST /commands 500", "POST /commands 503"]

    @Test("Every route, status and body of docs/openapi.json matches what the running services answer")
    func conformance() async throws {
        let document = try OpenAPIDocument.load()
        try await withTemporaryDirectory { dir in
            let data = dir + "/log"
            let serve = try await HTTPChild(["serve", "--data", data, "--rate", "0", "--http", "127.0.0.1:0"])
            let query = try await HTTPChild(["query", "--data", data, "--http", "127.0.0.1:0"], kind: "query")
            let guarded = try await HTTPChild(["query", "--data", data, "--http", "127.0.0.1:0", "--token", "t0k"], kind: "query")
            let c = serve.url, q = query.url
            let text = ["Content-Type: text/plain"], json = ["Content-Type: application/json"]
            var answers: [(template: String, answer: HTTPAnswer)] = []
            func record(_ template: String, _ a: HTTPAnswer) { answers.append((template, a)) }

            record("/commands", try await curl("POST", c + "/commands", body: "register MUG 1299 Mug", headers: text))
            record("/commands", try await curl("POST", c + "/commands", body: #"{"command":"restock","sku":"MUG","quantity":5}"#, headers: json + ["Idempotency-Key: k-1"]))
            record("/commands", try await curl("POST", c + "/commands", body: #"{"command":"place","customer":"ann","lines":[{"sku":"MUG","quantity":1}]}"#, headers: json))
            record("/commands", try await curl("POST", c + "/commands", body: "pay o-1 1299", headers: text))
            record("/commands", try await curl("POST", c + "/commands", body: "place ann MUG:2 as o-2", headers: text))
            record("/commands", try await curl("POST", c + "/commands", body: "cancel o-2 out of budget", headers: text))
            record("/commands", try await curl("POST", c + "/commands", body: "ship o-9", headers: text))                      // 409
            record("/commands", try await curl("POST", c + "/commands", body: "pay o-1 12.3", headers: text))                  // 400
            record("/commands", try await curl("POST", c + "/commands", body: "{", headers: json))                             // 400
            record("/commands", try await curl("POST", c + "/commands", body: #"{"command":"fly"}"#, headers: json))           // 422
            record("/commands", try await curl("POST", c + "/commands", body: "ship o-1", headers: ["Content-Type: image/png"])) // 415
            record("/commands", try await curl("POST", c + "/commands", body: String(repeating: "y", count: 70_000), headers: text)) // 413
            record("/events", try await curl("GET", c + "/events"))
            record("/events", try await curl("GET", c + "/events?from=2&limit=3"))
            record("/events", try await curl("GET", c + "/events?from=zero"))
            record("/health", try await curl("GET", c + "/health"))
            record("/metrics", try await curl("GET", c + "/metrics"))
            let head = try await curl("GET", c + "/health").json?["head"] as? Int ?? 0

            record("/views", try await curl("GET", q + "/views"))
            for name in ["shoppers", "warehouse", "finance", "support"] {
                record("/views/{name}", try await curl("GET", q + "/views/\(name)?atLeast=\(head)&timeoutMs=5000"))
            }
            record("/views/{name}", try await curl("GET", q + "/views/nothing"))
            record("/views/{name}", try await curl("GET", q + "/views/finance?atLeast=\(head + 99)&timeoutMs=100"))
            record("/views/{name}", try await curl("GET", q + "/views/finance?timeoutMs=-1"))
            record("/views/{name}/stream", try await curl("GET", q + "/views/support/stream?maxPerSecond=2", maxTime: 1.5, streaming: true))
            record("/views/{name}/stream", try await curl("GET", q + "/views/support/stream?maxPerSecond=1000"))
            record("/views/{name}/stream", try await curl("GET", q + "/views/nothing/stream"))
            record("/health", try await curl("GET", q + "/health"))
            record("/metrics", try await curl("GET", q + "/metrics"))
            for (template, path) in [("/health", "/health"), ("/metrics", "/metrics"), ("/views", "/views"), ("/views/{name}", "/views/finance"), ("/views/{name}/stream", "/views/finance/stream")] {
                record(template, try await curl("GET", guarded.url + path))
            }
            for (template, path, method) in [("/commands", "/commands", "POST"), ("/events", "/events", "GET")] {
                let tokenServe = try await HTTPChild(["serve", "--data", dir + "/other", "--rate", "0", "--http", "127.0.0.1:0", "--token", "t0k"])
                record(template, try await curl(method, tokenServe.url + path, body: method == "POST" ? "ship o-1" : nil, headers: text))
                _ = try await tokenServe.stop()
            }

            var seen = Set<String>()
            for (template, answer) in answers {
                let problems = document.check(answer, template: template)
                #expect(problems.isEmpty, "\(answer.method) \(template) -> \(answer.status): \(problems.joined(separator: "; "))\n\(answer.body.prefix(300))")
                seen.insert("\(answer.method) \(template) \(answer.status)")
            }
            let documented = document.documentedStatuses()
            let missing = documented.subtracting(seen).subtracting(Self.unexercised)
            #expect(missing.isEmpty, "documented but never answered: \(missing.sorted())")

            // Unknown routes and methods share the error shape the document names for all errors.
            for a in [try await curl("GET", c + "/nope"), try await curl("DELETE", c + "/commands"), try await curl("GET", q + "/views/a/b/c")] {
                #expect([404, 405].contains(a.status), "\(a)")
                #expect(document.validate(a.json as Any, document.schema(named: "Error")).isEmpty, "\(a)")
            }
            _ = try await guarded.stop()
            _ = try await query.stop()
            _ = try await serve.stop()
        }
    }
}

/// Enough of OpenAPI 3.0 and JSON Schema to check Prism's answers: `$ref`, `type`,
/// `properties`, `required`, `additionalProperties`, `items`, `enum`, `oneOf`, `minimum`,
/// `maximum`.
struct OpenAPIDocument {
    let root: [String: Any]

    static func load() throws -> OpenAPIDocument {
        // The test bundle sits in .build/<triple>/debug; the repository is above .build.
        var url = URL(fileURLWithPath: prismBinary).deletingLastPathComponent()
        while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("docs/openapi.json").path) {
            url.deleteLastPathComponent()
        }
        let data = try Data(contentsOf: url.appendingPathComponent("docs/openapi.json"))
        return OpenAPIDocument(root: try JSONSerialization.jsonObject(with: data) as! [String: Any])
    }

    func schema(named name: String) -> [String: Any] {
        ((root["components"] as! [String: Any])["schemas"] as! [String: Any])[name] as! [String: Any]
    }

    func resolve(_ node: [String: Any]) -> [String: Any] {
        guard let ref = node["$ref"] as? String else { return node }
        var current: Any = root
        for part in ref.dropFirst(2).split(separator: "/") { current = (current as! [String: Any])[String(part)]! }
        return resolve(current as! [String: Any])
    }

    /// "METHOD /template STATUS" for every documented answer.
    func documentedStatuses() -> Set<String> {
        var out = Set<String>()
        for (path, item) in root["paths"] as! [String: Any] {
            for (method, op) in item as! [String: Any] {
                for status in ((op as! [String: Any])["responses"] as! [String: Any]).keys {
                    out.insert("\(method.uppercased()) \(path) \(status)")
                }
            }
        }
        return out
    }

    /// What is wrong with `answer` as an answer of `template`; empty when it conforms.
    func check(_ answer: HTTPAnswer, template: String) -> [String] {
        guard let item = (root["paths"] as! [String: Any])[template] as? [String: Any] else { return ["route not documented"] }
        guard let op = item[answer.method.lowercased()] as? [String: Any] else { return ["method not documented"] }
        let responses = op["responses"] as! [String: Any]
        guard let documented = responses["\(answer.status)"] as? [String: Any] else {
            return ["status \(answer.status) not documented (documented: \(responses.keys.sorted()))"]
        }
        let response = resolve(documented)
        var problems: [String] = []
        for (name, _) in (response["headers"] as? [String: Any]) ?? [:] where answer.headers[name.lowercased()] == nil {
            problems.append("header \(name) missing")
        }
        guard let content = response["content"] as? [String: Any] else { return problems }
        let type = (answer.headers["content-type"] ?? "").split(separator: ";").first.map(String.init) ?? ""
        guard let media = content[type] as? [String: Any] else {
            return problems + ["content type \(type) not documented (documented: \(content.keys.sorted()))"]
        }
        switch type {
        case "application/json":
            guard let body = try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) else { return problems + ["body is not JSON"] }
            problems += validate(body, media["schema"] as! [String: Any])
        case "application/x-ndjson":
            let line = media["x-line-schema"] as! [String: Any]
            for (i, text) in answer.body.split(separator: "\n").enumerated() {
                guard let value = try? JSONSerialization.jsonObject(with: Data(text.utf8)) else { problems.append("line \(i + 1) is not JSON"); continue }
                problems += validate(value, line).map { "line \(i + 1): \($0)" }
            }
        case "text/event-stream":
            let dataSchema = media["x-data-schema"] as! [String: Any]
            let datas = answer.body.components(separatedBy: "\n").filter { $0.hasPrefix("data: ") }
            if datas.isEmpty { problems.append("no data: line in the stream") }
            for d in datas {
                guard let value = try? JSONSerialization.jsonObject(with: Data(d.dropFirst(6).utf8)) else { problems.append("data is not JSON"); continue }
                problems += validate(value, dataSchema)
            }
        case "text/plain":
            if answer.body.isEmpty { problems.append("empty text body") }
        default: break
        }
        return problems
    }

    func validate(_ value: Any, _ node: [String: Any], at path: String = "$") -> [String] {
        let schema = resolve(node)
        if let options = schema["oneOf"] as? [[String: Any]] {
            let passing = options.filter { validate(value, $0, at: path).isEmpty }.count
            return passing == 1 ? [] : ["\(path): matches \(passing) of oneOf's \(options.count) schemas"]
        }
        if let allowed = schema["enum"] as? [Any], !allowed.contains(where: { "\($0)" == "\(value)" }) {
            return ["\(path): \(value) not in \(allowed)"]
        }
        var problems: [String] = []
        switch schema["type"] as? String {
        case "object":
            guard let object = value as? [String: Any] else { return ["\(path): expected an object"] }
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for key in schema["required"] as? [String] ?? [] where object[key] == nil { problems.append("\(path).\(key) missing") }
            for (key, v) in object {
                if let p = properties[key] as? [String: Any] {
                    problems += validate(v, p, at: "\(path).\(key)")
                } else if let extra = schema["additionalProperties"] as? [String: Any] {
                    problems += validate(v, extra, at: "\(path).\(key)")
                } else if schema["additionalProperties"] as? Bool == false {
                    problems.append("\(path).\(key) not in the schema")
                }
            }
        case "array":
            guard let array = value as? [Any] else { return ["\(path): expected an array"] }
            if let items = schema["items"] as? [String: Any] {
                for (i, v) in array.enumerated() { problems += validate(v, items, at: "\(path)[\(i)]") }
            }
        case "string":
            if !(value is String) { problems.append("\(path): expected a string") }
        case "integer", "number":
            guard let n = value as? NSNumber, !(value is String), n.objCType.pointee != CChar(UInt8(ascii: "c")) else { return ["\(path): expected a number"] }
            if schema["type"] as? String == "integer", n.doubleValue.rounded() != n.doubleValue { problems.append("\(path): expected an integer") }
            if let min = schema["minimum"] as? Double, n.doubleValue < min { problems.append("\(path): below \(min)") }
            if let max = schema["maximum"] as? Double, n.doubleValue > max { problems.append("\(path): above \(max)") }
        case "boolean":
            if !(value is Bool) { problems.append("\(path): expected a boolean") }
        default: break
        }
        return problems
    }
}
