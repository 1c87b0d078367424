/// One line of a `place` command: what the shopper asks for. The price is not part of the request;
/// the writer fixes it from the catalog when the order is placed (SPEC section 2).
public struct LineRequest: Sendable, Equatable, Hashable {
    public var sku: String
    public var quantity: Int64

    public init(sku: String, quantity: Int64) {
        self.sku = sku
        self.quantity = quantity
    }
}

/// A request to change the shop, one case per row of SPEC section 2's table.
///
/// Values are carried as given and checked by ``ShopDomain/decide(_:state:)``, not here: a command
/// that parses is well formed, and whether it is *allowed* (known SKU, valid name, enough stock)
/// is a rule of the domain that earns a ``Rejection`` with a human reason.
public enum ShopCommand: Sendable, Equatable {
    /// `register SKU PRICE NAME...`
    case register(sku: String, priceCents: Int64, name: String)
    /// `restock SKU QTY`
    case restock(sku: String, quantity: Int64)
    /// `price SKU PRICE`
    case price(sku: String, priceCents: Int64)
    /// `place CUSTOMER SKU:QTY... [as ORDER]`; without `orderId` the writer picks `o-<n>`.
    case place(customer: String, lines: [LineRequest], orderId: String?)
    /// `pay ORDER AMOUNT`
    case pay(orderId: String, amountCents: Int64)
    /// `ship ORDER`
    case ship(orderId: String)
    /// `cancel ORDER REASON...`
    case cancel(orderId: String, reason: String)

    /// The command's verb as the text form spells it.
    public var verb: String {
        switch self {
        case .register: "register"
        case .restock: "restock"
        case .price: "price"
        case .place: "place"
        case .pay: "pay"
        case .ship: "ship"
        case .cancel: "cancel"
        }
    }
}
