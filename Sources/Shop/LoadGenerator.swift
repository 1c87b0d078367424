/// Simulated users of every category, driving the demo shop: shoppers place orders, payments
/// arrive, the warehouse ships, support cancels, buyers restock and reprice.
///
/// It is deterministic: one seed and one sequence of write models give one sequence of commands.
/// It reads the write model to stay plausible (orders within the stock, payments of the right
/// amount) and makes a few deliberate mistakes (about 3% of commands) so that rejections show
/// up on the dashboard the way they do in a real shop: asking for more than is in stock, paying
/// the wrong amount, paying twice, shipping before payment, cancelling what already left.
///
/// Open orders stay bounded: the more orders wait for payment or shipping, the likelier the
/// next command pays or ships one, so payments and shipments keep up with any order rate.
public struct LoadGenerator: Sendable {
    /// A product of the demo catalog.
    public struct Product: Sendable {
        public var sku: String
        public var name: String
        public var priceCents: Int64
    }

    public static let catalog: [Product] = [
        Product(sku: "MUG", name: "Blue mug", priceCents: 1299),
        Product(sku: "TEE", name: "Prism T-shirt", priceCents: 2499),
        Product(sku: "CAP", name: "Baseball cap", priceCents: 1799),
        Product(sku: "PEN", name: "Gel pen", priceCents: 199),
        Product(sku: "NOTE-A5", name: "Dotted notebook A5", priceCents: 899),
        Product(sku: "BAG", name: "Canvas tote bag", priceCents: 1499),
        Product(sku: "STICKER", name: "Sticker pack", priceCents: 349),
        Product(sku: "HOODIE", name: "Grey hoodie", priceCents: 4999),
        Product(sku: "BOTTLE", name: "Steel water bottle", priceCents: 2199),
        Product(sku: "SOCKS-2", name: "Socks, two pairs", priceCents: 999),
        Product(sku: "POSTER", name: "Event sourcing poster", priceCents: 1599),
        Product(sku: "LAMP", name: "Desk lamp", priceCents: 3999),
    ]

    public static let customers: [String] = [
        "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
        "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "wendy",
        "amir", "bea", "chen", "dana", "eli", "fatima", "gus", "hana", "igor", "jun",
        "kofi", "lena", "mateo", "nora", "omar", "priya", "quinn", "rosa", "sven", "yuki",
    ]

    public static let cancellationReasons: [String] = [
        "customer changed their mind", "payment timed out", "found it cheaper elsewhere",
        "wrong size", "address could not be verified", "duplicate order",
    ]

    private var rng: SplitMix64
    /// Step of the initial catalog seeding: product `step / 2`, register (even) or restock (odd).
    private var seedingStep = 0
    /// The last orders this generator shipped, for the "cancel what already left" mistake.
    private var recentlyShipped: [String] = []
    /// A counter for SKUs that do not exist, for the "unknown SKU" mistake.
    private var ghostCount = 0

    public init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    /// The next command, given the write model as it is now.
    public mutating func next(state: ShopState) -> ShopCommand {
        if let command = seedCatalog(state) { return command }
        if let command = restockIfLow(state) { return command }

        let placed = state.placedOrders.count
        let paid = state.paidOrders.count
        // Weights, out of their sum; the pay and ship weights grow with their queues so that
        // open orders settle at a few dozen whatever the rate.
        let weights = [
            30,  // place
            placed == 0 ? 0 : 20 + min(placed, 60),  // pay
            paid == 0 ? 0 : 14 + min(paid, 60),  // ship
            placed + paid == 0 ? 0 : 3,  // cancel
            1,  // price change
            3,  // a mistake
        ]
        switch pick(weights) {
        case 0: return place(state)
        case 1:
            let orderId = randomPlaced(state)
            return .pay(orderId: orderId, amountCents: total(of: orderId, in: state))
        case 2: return ship(state.paidOrders[rng.uniform(paid)])
        case 3: return cancel(state)
        case 4: return reprice(state)
        default: return mistake(state)
        }
    }

    // MARK: Plausible commands

    /// Registers and stocks the demo catalog on a new shop; skipped for products a log already has.
    private mutating func seedCatalog(_ state: ShopState) -> ShopCommand? {
        while seedingStep < Self.catalog.count * 2 {
            let product = Self.catalog[seedingStep / 2]
            let register = seedingStep % 2 == 0
            seedingStep += 1
            if register, state.products[product.sku] == nil {
                return .register(sku: product.sku, priceCents: product.priceCents, name: product.name)
            }
            if !register, let stock = state.products[product.sku], stock.onHand < 50 {
                return .restock(sku: product.sku, quantity: Int64(rng.uniform(in: 150...400)))
            }
        }
        return nil
    }

    /// Buyers notice SKUs running low, though not always at once, so "low stock" gets seen.
    private mutating func restockIfLow(_ state: ShopState) -> ShopCommand? {
        for product in Self.catalog {
            guard let stock = state.products[product.sku], stock.available < 8 else { continue }
            if rng.chance(4) {
                return .restock(sku: product.sku, quantity: Int64(rng.uniform(in: 100...300)))
            }
        }
        return nil
    }

    private mutating func place(_ state: ShopState) -> ShopCommand {
        let customer = Self.customers[rng.uniform(Self.customers.count)]
        let lineCount = [1, 1, 1, 1, 2, 2, 2, 3, 3, 4][rng.uniform(10)]
        var lines: [LineRequest] = []
        for _ in 0..<8 where lines.count < lineCount {
            let product = Self.catalog[rng.uniform(Self.catalog.count)]
            guard let stock = state.products[product.sku], stock.available > 0,
                !lines.contains(where: { $0.sku == product.sku })
            else { continue }
            let quantity = min(Int64(rng.uniform(in: 1...3)), stock.available)
            lines.append(LineRequest(sku: product.sku, quantity: quantity))
        }
        if lines.isEmpty {
            // Nothing in stock where we looked: a buyer restocks instead.
            let product = Self.catalog[rng.uniform(Self.catalog.count)]
            return .restock(sku: product.sku, quantity: Int64(rng.uniform(in: 100...300)))
        }
        return .place(customer: customer, lines: lines, orderId: nil)
    }

    private mutating func randomPlaced(_ state: ShopState) -> String {
        state.placedOrders[rng.uniform(state.placedOrders.count)]
    }

    private func total(of orderId: String, in state: ShopState) -> Int64 {
        state.orders[orderId]?.totalCents ?? 0
    }

    private mutating func ship(_ orderId: String) -> ShopCommand {
        recentlyShipped.append(orderId)
        if recentlyShipped.count > 16 { recentlyShipped.removeFirst() }
        return .ship(orderId: orderId)
    }

    private mutating func cancel(_ state: ShopState) -> ShopCommand {
        let placed = state.placedOrders.count
        let open = placed + state.paidOrders.count
        let index = rng.uniform(open)
        let orderId = index < placed ? state.placedOrders[index] : state.paidOrders[index - placed]
        let reason = Self.cancellationReasons[rng.uniform(Self.cancellationReasons.count)]
        return .cancel(orderId: orderId, reason: reason)
    }

    /// Prices move by 5-15% either way, kept between 1.00 and 1000.00.
    private mutating func reprice(_ state: ShopState) -> ShopCommand {
        let product = Self.catalog[rng.uniform(Self.catalog.count)]
        let current = state.products[product.sku]?.priceCents ?? product.priceCents
        let percent = Int64(rng.uniform(in: 5...15)) * (rng.chance(50) ? 1 : -1)
        let price = min(100_000, max(100, current + current * percent / 100))
        return .price(sku: product.sku, priceCents: price)
    }

    // MARK: Deliberate mistakes

    private mutating func mistake(_ state: ShopState) -> ShopCommand {
        switch rng.uniform(6) {
        case 0:
            // Asking for more than is available.
            let product = Self.catalog[rng.uniform(Self.catalog.count)]
            if let stock = state.products[product.sku], stock.available < 990 {
                let customer = Self.customers[rng.uniform(Self.customers.count)]
                let quantity = stock.available + Int64(rng.uniform(in: 1...10))
                return .place(customer: customer, lines: [LineRequest(sku: product.sku, quantity: quantity)], orderId: nil)
            }
        case 1:
            // Paying the wrong amount.
            if !state.placedOrders.isEmpty {
                let orderId = randomPlaced(state)
                let delta = Int64(rng.uniform(in: 1...500)) * (rng.chance(50) ? 1 : -1)
                return .pay(orderId: orderId, amountCents: total(of: orderId, in: state) + delta)
            }
        case 2:
            // Paying twice.
            if !state.paidOrders.isEmpty {
                let orderId = state.paidOrders[rng.uniform(state.paidOrders.count)]
                return .pay(orderId: orderId, amountCents: total(of: orderId, in: state))
            }
        case 3:
            // Shipping before the payment arrived.
            if !state.placedOrders.isEmpty { return .ship(orderId: randomPlaced(state)) }
        case 4:
            // Cancelling an order that already left.
            if let orderId = recentlyShipped.last, state.orders[orderId]?.status == .shipped {
                return .cancel(orderId: orderId, reason: "arrived too late")
            }
        default:
            break
        }
        // A SKU that does not exist (a typo at the till).
        ghostCount += 1
        return .restock(sku: "GHOST-\(ghostCount % 100)", quantity: 10)
    }

    /// The index of a weight, drawn in proportion to the weights.
    private mutating func pick(_ weights: [Int]) -> Int {
        var roll = rng.uniform(weights.reduce(0, +))
        for (index, weight) in weights.enumerated() {
            if roll < weight { return index }
            roll -= weight
        }
        return weights.count - 1
    }
}
