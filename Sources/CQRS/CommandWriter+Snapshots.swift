import EventStore

/// The write model's snapshots: the domain's state, the position it was folded to, and the
/// command ids the writer remembers (so that a retry after a restart still gets its first
/// outcome, as when the ids came back by folding the log).
extension CommandWriter {
    /// The name of the write model's snapshots.
    static var snapshotName: String { "writer" }

    /// Sets the model to the newest usable snapshot (or the initial state) and folds the store's
    /// events after it: at start-up, and when the store refused what the model had decided.
    func reload(_ m: inout Model) throws {
        m.state = domain.initialState()
        m.applied = 0
        m.ids = CommandIdMemory(capacity: m.ids.capacity)
        if let snapshots {
            let domain = self.domain
            let capacity = m.ids.capacity
            if let loaded = snapshots.load(Self.snapshotName, version: domain.snapshotVersion, from: store, decode: { r -> (D.State, CommandIdMemory<D.Command>) in
                let state = try domain.decodeSnapshot(from: &r)
                let ids = try CommandIdMemory<D.Command>.decode(from: &r, capacity: capacity)
                return (state, ids)
            }) {
                (m.state, m.ids) = loaded.state
                m.applied = loaded.position
                m.snapshotAt = loaded.position
            }
        }
        try catchUp(&m, through: store.head)
    }

    /// After a turn: hands a copy of the model to the background saver when a snapshot is due.
    /// The copy is copy-on-write, so the writer goes on deciding while the snapshot is encoded.
    func snapshotIfDue(_ m: inout Model) {
        guard let snapshots, domain.snapshotVersion > 0,
              snapshots.due(position: m.applied, last: m.snapshotAt, lastNanos: m.snapshotNanos, now: Clock.monotonicNanos()),
              let record = try? Snapshots.record(at: m.applied, in: store)
        else { return }
        let domain = self.domain
        let saved = snapshots.saveInBackground(
            Self.snapshotName, version: domain.snapshotVersion, state: SnapshotModel(state: m.state, ids: m.ids),
            position: m.applied, fingerprint: record.fingerprint, timestamp: record.timestamp, archive: false
        ) { model, w in
            domain.encodeSnapshot(model.state, into: &w)
            model.ids.encode(into: &w)
        }
        if saved {
            m.snapshotAt = m.applied
            m.snapshotNanos = Clock.monotonicNanos()
        }
    }

    /// When the writer stops: a last snapshot at the head it reached, so that the next start
    /// folds nothing.
    func snapshotAtStop(_ m: inout Model) {
        guard let snapshots, domain.snapshotVersion > 0, m.applied > m.snapshotAt,
              let record = try? Snapshots.record(at: m.applied, in: store)
        else { return }
        snapshots.flush()
        let domain = self.domain
        snapshots.saveNow(
            Self.snapshotName, version: domain.snapshotVersion, state: SnapshotModel(state: m.state, ids: m.ids),
            position: m.applied, fingerprint: record.fingerprint, timestamp: record.timestamp, archive: false
        ) { model, w in
            domain.encodeSnapshot(model.state, into: &w)
            model.ids.encode(into: &w)
        }
        m.snapshotAt = m.applied
    }
}

/// What a writer snapshot holds, handed to the background saver.
struct SnapshotModel<State: Sendable, Command: Sendable>: Sendable {
    var state: State
    var ids: CommandIdMemory<Command>
}

extension CommandOutcome {
    func encode(into w: inout SnapshotWriter) {
        switch self {
        case .accepted(let first, let last):
            w.u8(0)
            w.u64(first)
            w.u64(last)
        case .rejected(let reason):
            w.u8(1)
            w.string(reason)
        }
    }

    static func decode(from r: inout SnapshotReader) throws -> CommandOutcome {
        let at = r.offset
        switch try r.u8() {
        case 0: return .accepted(first: try r.u64(), last: try r.u64())
        case 1: return .rejected(try r.string())
        case let tag: throw SnapshotDecodingError(offset: at, "an outcome tagged \(tag)")
        }
    }
}

extension CommandIdMemory {
    /// The older generation, then the newer, so that decoding restores both as they were.
    /// Only outcomes are kept: after a restart a reused id is compared with the log's events
    /// for it, as when the ids came back by folding the log.
    func encode(into w: inout SnapshotWriter) {
        for generation in [previous, current] {
            w.count(generation.count)
            for (id, entry) in generation {
                w.string(id)
                entry.outcome.encode(into: &w)
            }
        }
    }

    static func decode(from r: inout SnapshotReader, capacity: Int) throws -> CommandIdMemory {
        var memory = CommandIdMemory(capacity: capacity)
        for k in 0..<2 {
            let n = try r.count(minimumSize: 5)
            var generation: [String: Entry] = [:]
            generation.reserveCapacity(n)
            for _ in 0..<n {
                let id = try r.string()
                generation[id] = Entry(outcome: try CommandOutcome.decode(from: &r), command: nil)
            }
            if k == 0 { memory.previous = generation } else { memory.current = generation }
        }
        return memory
    }
}
