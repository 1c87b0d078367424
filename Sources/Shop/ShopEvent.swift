import CQRS

/// One line of a placed order, with the unit price frozen at placement so that a later
/// `PriceChanged` never alters what a customer agreed to pay.
public struct OrderLine: Sendable, Equatable, Hashable {
    public var sku: String
    public var quantity: Int64
    public var unitPriceCents: Int64

    public init(sku: String, quantity: Int64, unitPriceCents: Int64) {
        self.sku = sku
        self.quantity = quantity
        self.unitPriceCents = unitPriceCents
    }

    /// quantity x unit price. The writer checks for overflow before it emits the line.
    public var amountCents: Int64 { quantity &* unitPriceCents }
}

/// The facts of the shop, one case per event of SPEC section 2. Events are never changed, so
/// each carries everything a reader needs (the unit prices, the total, the refund) instead of
/// making every projection recompute it from history.
public enum ShopEvent: Sendable, Equatable {
    case productRegistered(sku: String, name: String, priceCents: Int64)
    case productRestocked(sku: String, quantity: Int64)
    case priceChanged(sku: String, priceCents: Int64)
    case orderPlaced(orderId: String, customer: String, lines: [OrderLine], totalCents: Int64)
    case paymentReceived(orderId: String, amountCents: Int64)
    case orderShipped(orderId: String)
    case orderCancelled(orderId: String, reason: String, refundCents: Int64)

    /// Every type name, in the order of the SPEC table; handy for tests and for filters.
    public static let typeNames: [String] = [
        "ProductRegistered", "ProductRestocked", "PriceChanged", "OrderPlaced",
        "PaymentReceived", "OrderShipped", "OrderCancelled",
    ]

    /// The stream prefix for products; a product's stream is `product-<SKU>`.
    public static func productStream(_ sku: String) -> String { "product-" + sku }
    /// The stream prefix for orders; an order's stream is `order-<ORDER>`.
    public static func orderStream(_ orderId: String) -> String { "order-" + orderId }
}

extension ShopEvent: EventCodable {
    public var stream: String {
        switch self {
        case .productRegistered(let sku, _, _), .productRestocked(let sku, _),
            .priceChanged(let sku, _):
            Self.productStream(sku)
        case .orderPlaced(let id, _, _, _), .paymentReceived(let id, _), .orderShipped(let id),
            .orderCancelled(let id, _, _):
            Self.orderStream(id)
        }
    }

    public var typeName: String {
        switch self {
        case .productRegistered: "ProductRegistered"
        case .productRestocked: "ProductRestocked"
        case .priceChanged: "PriceChanged"
        case .orderPlaced: "OrderPlaced"
        case .paymentReceived: "PaymentReceived"
        case .orderShipped: "OrderShipped"
        case .orderCancelled: "OrderCancelled"
        }
    }
}
