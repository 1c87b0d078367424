import CQRS
import EventLog
import Testing

@testable import Shop

/// An in-memory writer for tests: decides and evolves like the engine would, numbering positions
/// and stream versions, so tests can run commands and inspect the events with their metadata.
struct ShopSimulator {
    let domain = ShopDomain()
    var state = ShopState()
    var events: [(event: ShopEvent, meta: EventMeta)] = []
    var versions: [String: UInt64] = [:]
    var rejections: [String] = []
    /// 2026-11-30T10:00:00Z, one millisecond per event.
    var clockNanos: Int64 = 1_796_032_800_000_000_000

    @discardableResult
    mutating func run(_ command: ShopCommand) -> Result<[ShopEvent], Rejection> {
        let result = domain.decide(command, state: state)
        switch result {
        case .success(let decided):
            for event in decided {
                let version = (versions[event.stream] ?? 0) + 1
                versions[event.stream] = version
                clockNanos += 1_000_000
                let meta = EventMeta(
                    position: UInt64(events.count + 1), streamVersion: version, timestampNanos: clockNanos)
                domain.evolve(&state, event: event, meta: meta)
                events.append((event, meta))
            }
        case .failure(let rejection):
            rejections.append(rejection.reason)
        }
        return result
    }

    /// Runs a command in the text form and expects it to be accepted; returns its one event.
    @discardableResult
    mutating func accept(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> ShopEvent? {
        do {
            switch run(try CommandParser.parse(text)) {
            case .success(let events):
                #expect(events.count == 1, sourceLocation: sourceLocation)
                return events.first
            case .failure(let rejection):
                Issue.record("'\(text)' was rejected: \(rejection.reason)", sourceLocation: sourceLocation)
                return nil
            }
        } catch {
            Issue.record("'\(text)' did not parse: \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }

    /// Runs a command in the text form, expects a rejection and that nothing was appended;
    /// returns the reason.
    @discardableResult
    mutating func reject(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        let before = events.count
        let stateBefore = state
        do {
            switch run(try CommandParser.parse(text)) {
            case .success(let events):
                Issue.record("'\(text)' was accepted: \(events)", sourceLocation: sourceLocation)
                return ""
            case .failure(let rejection):
                #expect(events.count == before, sourceLocation: sourceLocation)
                #expect(state == stateBefore, sourceLocation: sourceLocation)
                return rejection.reason
            }
        } catch {
            Issue.record("'\(text)' did not parse: \(error)", sourceLocation: sourceLocation)
            return ""
        }
    }

    /// A shop with MUG (12.99, 10 in stock) and PEN (1.99, 100 in stock).
    static func stocked() -> ShopSimulator {
        var sim = ShopSimulator()
        sim.accept("register MUG 1299 Blue mug")
        sim.accept("restock MUG 10")
        sim.accept("register PEN 199 Gel pen")
        sim.accept("restock PEN 100")
        return sim
    }

    /// The four views folded from all events so far.
    var views: ShopViews { ShopFold.views(of: events) }
}
