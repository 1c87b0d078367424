import CQRS
import EventStore

/// The four views at one position, as `prism views` prints them.
public struct ShopViews: Sendable, Equatable {
    public var position: UInt64
    public var shoppers: ShoppersView
    public var warehouse: WarehouseView
    public var finance: FinanceView
    public var support: SupportView

    public init(
        position: UInt64, shoppers: ShoppersView, warehouse: WarehouseView, finance: FinanceView,
        support: SupportView
    ) {
        self.position = position
        self.shoppers = shoppers
        self.warehouse = warehouse
        self.finance = finance
        self.support = support
    }
}

/// Folds events into all four projections at once, synchronously.
///
/// The engine runs each projection on its own projector; this fold is for the places where one
/// thread and one pass suffice: `prism views --at P` (time travel), tests that compare a live
/// view with a rebuild from position 1, and tools.
public struct ShopFold: Sendable {
    public let shoppers = ShoppersProjection()
    public let warehouse = WarehouseProjection()
    public let finance = FinanceProjection()
    public let support = SupportProjection()

    private var shoppersState: ShoppersProjection.State
    private var warehouseState: WarehouseProjection.State
    private var financeState: FinanceProjection.State
    private var supportState: SupportProjection.State
    /// The last position applied; 0 before any event.
    public private(set) var position: UInt64 = 0
    /// Where each projection's state stands when they were resumed from snapshots taken at
    /// different positions: an event at or below a projection's mark is already in it.
    private var marks: (shoppers: UInt64, warehouse: UInt64, finance: UInt64, support: UInt64) = (0, 0, 0, 0)

    public init() {
        shoppersState = shoppers.initialState()
        warehouseState = warehouse.initialState()
        financeState = finance.initialState()
        supportState = support.initialState()
    }

    public mutating func apply(_ event: ShopEvent, meta: EventMeta) {
        let p = meta.position
        if p > marks.shoppers { shoppers.apply(event, meta: meta, to: &shoppersState) }
        if p > marks.warehouse { warehouse.apply(event, meta: meta, to: &warehouseState) }
        if p > marks.finance { finance.apply(event, meta: meta, to: &financeState) }
        if p > marks.support { support.apply(event, meta: meta, to: &supportState) }
        position = p
    }

    /// Starts each projection from its newest usable snapshot at or before `limit` and returns
    /// the position to fold from (the lowest of them, plus one); each snapshot refused on the
    /// way costs a notice unless `quiet`.
    public mutating func resume(from snapshots: Snapshots, store: any EventStore, atOrBefore limit: UInt64, quiet: Bool = false) -> UInt64 {
        func load<P: Projection>(_ p: P, _ state: inout P.State) -> UInt64 {
            guard let loaded = snapshots.load(p.name, version: p.snapshotVersion, from: store, atOrBefore: limit, quiet: quiet, decode: { try p.decodeSnapshot(from: &$0) }) else { return 0 }
            state = loaded.state
            return loaded.position
        }
        marks = (load(shoppers, &shoppersState), load(warehouse, &warehouseState), load(finance, &financeState), load(support, &supportState))
        let low = min(marks.shoppers, marks.warehouse, marks.finance, marks.support)
        // The fold goes on from the least advanced; `apply` skips what the others hold already.
        position = low
        return low + 1
    }

    /// Decodes a record of the log and applies it.
    public mutating func apply(_ record: EventView) throws {
        apply(try ShopEvent.decode(record), meta: EventMeta(record))
    }

    /// The four views as of ``position``.
    public var views: ShopViews {
        ShopViews(
            position: position,
            shoppers: shoppers.view(of: shoppersState, position: position),
            warehouse: warehouse.view(of: warehouseState, position: position),
            finance: finance.view(of: financeState, position: position),
            support: support.view(of: supportState, position: position))
    }

    /// The four views after folding `events` from an empty shop.
    public static func views<S: Sequence>(of events: S) -> ShopViews
    where S.Element == (event: ShopEvent, meta: EventMeta) {
        var fold = ShopFold()
        for (event, meta) in events { fold.apply(event, meta: meta) }
        return fold.views
    }
}
