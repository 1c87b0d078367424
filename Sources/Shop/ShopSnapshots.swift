import CQRS

// How the shop's write model and its four projections write their state into a snapshot and
// read it back (see `Snapshots` in CQRS for the file around it). Each layout has a version; a
// change to a `State`, to its encoding or to what `apply`/`evolve` mean must bump it, so that
// old snapshots are refused and the state refolded rather than misread.
//
// Dictionaries are written in whatever order they iterate; the order-sensitive structures (the
// load generator's `IndexedSet`s, the arrival queues, the sorted keys) are written in their
// order and rebuilt by inserting in it, so a resumed state equals a folded one exactly.

extension SnapshotWriter {
    mutating func lines(_ lines: [OrderLine]) {
        count(lines.count)
        for l in lines {
            string(l.sku)
            i64(l.quantity)
            i64(l.unitPriceCents)
        }
    }

    mutating func status(_ s: OrderStatus) { u8(OrderBook.code(s)) }

    mutating func strings(_ list: [String]) {
        count(list.count)
        for s in list { string(s) }
    }
}

extension SnapshotReader {
    mutating func lines() throws -> [OrderLine] {
        let n = try count(minimumSize: 20)
        var out: [OrderLine] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(OrderLine(sku: try string(), quantity: try i64(), unitPriceCents: try i64())) }
        return out
    }

    mutating func status() throws -> OrderStatus {
        let at = offset
        guard let s = OrderBook.status(try u8()) else { throw SnapshotDecodingError(offset: at, "not an order status") }
        return s
    }

    mutating func strings() throws -> [String] {
        let n = try count(minimumSize: 4)
        var out: [String] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try string()) }
        return out
    }

    mutating func sortedKeys() throws -> SortedKeys {
        let at = offset
        guard let keys = SortedKeys(sorted: try strings()) else { throw SnapshotDecodingError(offset: at, "keys out of order") }
        return keys
    }
}

extension ShopDomain {
    public var snapshotVersion: UInt32 { 1 }

    public func encodeSnapshot(_ s: ShopState, into w: inout SnapshotWriter) {
        w.count(s.products.count)
        for (sku, p) in s.products {
            w.string(sku)
            w.i64(p.priceCents)
            w.i64(p.onHand)
            w.i64(p.reserved)
        }
        w.count(s.orders.open.count)
        for (id, o) in s.orders.open {
            w.string(id)
            w.status(o.status)
            w.i64(o.totalCents)
            w.i64(o.paidCents)
            w.lines(o.lines)
        }
        w.blob(s.orders.closedNumbered)
        w.count(s.orders.closedNamed.count)
        for (id, status) in s.orders.closedNamed {
            w.string(id)
            w.status(status)
        }
        w.int(s.nextOrderNumber)
        w.strings(s.placedOrders.elements)
        w.strings(s.paidOrders.elements)
    }

    public func decodeSnapshot(from r: inout SnapshotReader) throws -> ShopState {
        var s = ShopState()
        for _ in 0..<(try r.count(minimumSize: 28)) {
            let sku = try r.string()
            s.products[sku] = ShopState.Product(priceCents: try r.i64(), onHand: try r.i64(), reserved: try r.i64())
        }
        for _ in 0..<(try r.count(minimumSize: 29)) {
            let id = try r.string()
            let status = try r.status()
            let total = try r.i64()
            let paid = try r.i64()
            s.orders.open[id] = ShopState.Order(status: status, lines: try r.lines(), totalCents: total, paidCents: paid)
        }
        s.orders.closedNumbered = try r.blob()
        for _ in 0..<(try r.count(minimumSize: 5)) {
            let id = try r.string()
            s.orders.closedNamed[id] = try r.status()
        }
        s.nextOrderNumber = try r.int()
        for id in try r.strings() { s.placedOrders.insert(id) }
        for id in try r.strings() { s.paidOrders.insert(id) }
        return s
    }
}

extension ShoppersProjection {
    public var snapshotVersion: UInt32 { 1 }

    public func encodeSnapshot(_ s: State, into w: inout SnapshotWriter) {
        w.count(s.products.count)
        for (sku, p) in s.products {
            w.string(sku)
            w.string(p.name)
            w.i64(p.priceCents)
            w.i64(p.onHand)
            w.i64(p.reserved)
        }
        w.strings(s.skus.keys)
        w.count(s.openOrders.count)
        for (id, o) in s.openOrders {
            w.string(id)
            w.string(o.customer)
            w.lines(o.lines)
        }
        w.count(s.customers.count)
        for (name, c) in s.customers {
            w.string(name)
            w.int(c.orders)
            w.int(c.open)
            w.i64(c.spentCents)
        }
        w.strings(s.customerNames.keys)
    }

    public func decodeSnapshot(from r: inout SnapshotReader) throws -> State {
        var s = State()
        for _ in 0..<(try r.count(minimumSize: 32)) {
            let sku = try r.string()
            s.products[sku] = State.Product(name: try r.string(), priceCents: try r.i64(), onHand: try r.i64(), reserved: try r.i64())
        }
        s.skus = try r.sortedKeys()
        for _ in 0..<(try r.count(minimumSize: 16)) {
            let id = try r.string()
            s.openOrders[id] = State.OpenOrder(customer: try r.string(), lines: try r.lines())
        }
        for _ in 0..<(try r.count(minimumSize: 28)) {
            let name = try r.string()
            s.customers[name] = State.Customer(orders: try r.int(), open: try r.int(), spentCents: try r.i64())
        }
        s.customerNames = try r.sortedKeys()
        return s
    }
}

extension WarehouseProjection {
    public var snapshotVersion: UInt32 { 1 }

    public func encodeSnapshot(_ s: State, into w: inout SnapshotWriter) {
        w.count(s.stock.count)
        for (sku, item) in s.stock {
            w.string(sku)
            w.i64(item.onHand)
            w.i64(item.reserved)
        }
        w.strings(s.skus.keys)
        w.count(s.openLines.count)
        for (id, lines) in s.openLines {
            w.string(id)
            w.lines(lines)
        }
        let queue = s.pickQueue.all
        w.count(queue.count)
        for entry in queue {
            w.string(entry.key)
            w.u64(entry.value)
        }
    }

    public func decodeSnapshot(from r: inout SnapshotReader) throws -> State {
        var s = State()
        for _ in 0..<(try r.count(minimumSize: 20)) {
            let sku = try r.string()
            s.stock[sku] = State.Stock(onHand: try r.i64(), reserved: try r.i64())
        }
        s.skus = try r.sortedKeys()
        for _ in 0..<(try r.count(minimumSize: 12)) {
            let id = try r.string()
            s.openLines[id] = try r.lines()
        }
        for _ in 0..<(try r.count(minimumSize: 12)) {
            let id = try r.string()
            s.pickQueue.append(id, try r.u64())
        }
        return s
    }
}

extension FinanceProjection {
    public var snapshotVersion: UInt32 { 1 }

    public func encodeSnapshot(_ s: State, into w: inout SnapshotWriter) {
        w.i64(s.revenueCents)
        w.i64(s.refundsCents)
        w.i64(s.outstandingCents)
        w.int(s.paidOrders)
        w.count(s.openOrders.count)
        for (id, o) in s.openOrders {
            w.string(id)
            w.bool(o.paid)
            w.i64(o.totalCents)
            w.lines(o.lines)
        }
        w.count(s.skuRevenue.count)
        for (sku, cents) in s.skuRevenue {
            w.string(sku)
            w.i64(cents)
        }
    }

    public func decodeSnapshot(from r: inout SnapshotReader) throws -> State {
        var s = State()
        s.revenueCents = try r.i64()
        s.refundsCents = try r.i64()
        s.outstandingCents = try r.i64()
        s.paidOrders = try r.int()
        for _ in 0..<(try r.count(minimumSize: 21)) {
            let id = try r.string()
            s.openOrders[id] = State.OpenOrder(paid: try r.bool(), totalCents: try r.i64(), lines: try r.lines())
        }
        for _ in 0..<(try r.count(minimumSize: 12)) {
            let sku = try r.string()
            s.skuRevenue[sku] = try r.i64()
        }
        return s
    }
}

extension SupportProjection {
    public var snapshotVersion: UInt32 { 1 }

    public func encodeSnapshot(_ s: State, into w: inout SnapshotWriter) {
        w.int(s.counts.placed)
        w.int(s.counts.paid)
        w.int(s.counts.shipped)
        w.int(s.counts.cancelled)
        w.count(s.openStatus.count)
        for (id, status) in s.openStatus {
            w.string(id)
            w.status(status)
        }
        let unpaid = s.unpaid.all
        w.count(unpaid.count)
        for entry in unpaid {
            w.string(entry.key)
            w.string(entry.value.customer)
            w.u64(entry.value.placedAt)
        }
        w.count(s.cancellationReasons.count)
        for (reason, n) in s.cancellationReasons {
            w.string(reason)
            w.int(n)
        }
    }

    public func decodeSnapshot(from r: inout SnapshotReader) throws -> State {
        var s = State()
        s.counts = StatusCounts(placed: try r.int(), paid: try r.int(), shipped: try r.int(), cancelled: try r.int())
        for _ in 0..<(try r.count(minimumSize: 5)) {
            let id = try r.string()
            s.openStatus[id] = try r.status()
        }
        for _ in 0..<(try r.count(minimumSize: 16)) {
            let id = try r.string()
            s.unpaid.append(id, State.Unpaid(customer: try r.string(), placedAt: try r.u64()))
        }
        for _ in 0..<(try r.count(minimumSize: 12)) {
            let reason = try r.string()
            s.cancellationReasons[reason] = try r.int()
        }
        return s
    }
}
