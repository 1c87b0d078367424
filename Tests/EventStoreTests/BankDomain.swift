import CQRS
import EventStore

/// A second domain that lives only in the tests, to prove that the engine knows nothing of the
/// shop: bank accounts that can be opened, paid into and drawn from, never below zero.
enum BankCommand: Sendable, Equatable {
    case open(String)
    case deposit(String, Int64)
    case withdraw(String, Int64)
    /// Two accounts in one command: one atomic batch of two events in two streams.
    case transfer(from: String, to: String, Int64)
}

enum BankEvent: EventCodable, Equatable {
    case opened(String)
    case deposited(String, Int64)
    case withdrew(String, Int64)

    var account: String {
        switch self {
        case .opened(let a), .deposited(let a, _), .withdrew(let a, _): a
        }
    }

    var stream: String { "account-" + account }

    var typeName: String {
        switch self {
        case .opened: "Opened"
        case .deposited: "Deposited"
        case .withdrew: "Withdrew"
        }
    }

    /// `account` and amount as text: nothing clever, the engine must not care.
    func encodePayload(into buffer: inout [UInt8]) {
        switch self {
        case .opened(let a): buffer += Array(a.utf8)
        case .deposited(let a, let n), .withdrew(let a, let n): buffer += Array("\(a) \(n)".utf8)
        }
    }

    struct Undecodable: Error { var position: UInt64 }

    static func decode(_ record: EventView) throws -> BankEvent {
        let text = String(decoding: record.payload, as: UTF8.self)
        let parts = text.split(separator: " ").map(String.init)
        switch record.type {
        case "Opened" where parts.count == 1: return .opened(parts[0])
        case "Deposited" where parts.count == 2: return .deposited(parts[0], Int64(parts[1]) ?? -1)
        case "Withdrew" where parts.count == 2: return .withdrew(parts[0], Int64(parts[1]) ?? -1)
        default: throw Undecodable(position: record.position)
        }
    }
}

struct BankState: Sendable, Equatable {
    var balances: [String: Int64] = [:]
    /// The metadata of each account's last event as `evolve` saw it: live (the writer folding its
    /// own decision) and on replay these must be the same.
    var lastMeta: [String: EventMeta] = [:]
}

struct Bank: Domain {
    func initialState() -> BankState { BankState() }

    func decide(_ command: BankCommand, state: BankState) -> Result<[BankEvent], Rejection> {
        switch command {
        case .open(let a):
            if state.balances[a] != nil { return .failure(Rejection("account \(a) exists")) }
            return .success([.opened(a)])
        case .deposit(let a, let n):
            guard state.balances[a] != nil else { return .failure(Rejection("no account \(a)")) }
            guard n > 0 else { return .failure(Rejection("amount must be positive")) }
            return .success([.deposited(a, n)])
        case .withdraw(let a, let n):
            guard let balance = state.balances[a] else { return .failure(Rejection("no account \(a)")) }
            guard n > 0, n <= balance else { return .failure(Rejection("insufficient funds in \(a): \(balance) < \(n)")) }
            return .success([.withdrew(a, n)])
        case .transfer(let from, let to, let n):
            guard let balance = state.balances[from], state.balances[to] != nil, from != to else {
                return .failure(Rejection("no such accounts"))
            }
            guard n > 0, n <= balance else { return .failure(Rejection("insufficient funds in \(from)")) }
            return .success([.withdrew(from, n), .deposited(to, n)])
        }
    }

    func evolve(_ state: inout BankState, event: BankEvent, meta: EventMeta) {
        switch event {
        case .opened(let a): state.balances[a] = 0
        case .deposited(let a, let n): state.balances[a, default: 0] += n
        case .withdrew(let a, let n): state.balances[a, default: 0] -= n
        }
        state.lastMeta[event.account] = meta
    }
}

/// The read side of the bank: what a branch manager sees.
struct BalancesProjection: Projection {
    struct View: Sendable, Equatable {
        var total: Int64
        var accounts: Int
        var balances: [String: Int64]
        var position: UInt64
    }

    var name: String { "balances" }
    func initialState() -> [String: Int64] { [:] }

    func apply(_ event: BankEvent, meta: EventMeta, to state: inout [String: Int64]) {
        switch event {
        case .opened(let a): state[a] = 0
        case .deposited(let a, let n): state[a, default: 0] += n
        case .withdrew(let a, let n): state[a, default: 0] -= n
        }
    }

    func view(of state: [String: Int64], position: UInt64) -> View {
        View(total: state.values.reduce(0, +), accounts: state.count, balances: state, position: position)
    }
}

/// An independent fold of the stored events: checks the bank's rule (never below zero) at every
/// position, and returns the balances and each account's last metadata.
func foldBank(_ store: any EventStore) throws -> (state: BankState, neverNegative: Bool) {
    var state = BankState()
    var neverNegative = true
    try store.read(from: 1) { view in
        let e = try BankEvent.decode(view)
        switch e {
        case .opened(let a): state.balances[a] = 0
        case .deposited(let a, let n): state.balances[a, default: 0] += n
        case .withdrew(let a, let n):
            state.balances[a, default: 0] -= n
            if state.balances[a]! < 0 { neverNegative = false }
        }
        state.lastMeta[e.account] = EventMeta(
            position: view.position, streamVersion: view.streamVersion, timestampNanos: view.timestampNanos)
        return true
    }
    return (state, neverNegative)
}
