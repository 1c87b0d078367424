/// Number formatting for a terminal: fixed, locale-independent, short. Foundation's formatters
/// follow the user's locale and allocate; a dashboard redrawing ten times a second wants neither.
public enum Format {
    /// Whole cents as dollars: `$1,234.56`, `-$0.05`.
    public static func money(_ cents: Int64) -> String {
        let negative = cents < 0
        let magnitude = cents.magnitude
        let dollars = magnitude / 100
        let rest = magnitude % 100
        return (negative ? "-$" : "$") + grouped(dollars) + "." + (rest < 10 ? "0" : "") + String(rest)
    }

    /// An integer with thousands separators: `12,345`.
    public static func grouped<T: BinaryInteger>(_ value: T) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return (value < 0 ? "-" : "") + out
    }

    /// A rate in at most four characters: `950`, `1.2k`, `12k`, `3.4M`.
    public static func rate(_ value: Double) -> String {
        guard value.isFinite, value > 0 else { return "0" }
        if value < 10 { return value < 1 ? fixed(value, 1) : String(Int(value.rounded())) }
        if value < 1000 { return String(Int(value.rounded())) }
        if value < 10_000 { return fixed(value / 1000, 1) + "k" }
        if value < 1_000_000 { return String(Int((value / 1000).rounded())) + "k" }
        if value < 10_000_000 { return fixed(value / 1_000_000, 1) + "M" }
        return String(Int((value / 1_000_000).rounded())) + "M"
    }

    /// Milliseconds: `0.84 ms`, `12 ms`, `1.2 s`, `42 s`, then `durations`.
    ///
    /// Precision falls as the value grows because a stopped projector's lag is an age that grows
    /// with the clock: shown in tenths it would change (and cost bytes to the terminal) every
    /// frame; in whole seconds, once a second.
    public static func milliseconds(_ ms: Double) -> String {
        guard ms.isFinite, ms > 0 else { return "0 ms" }
        if ms < 10 { return fixed(ms, 2) + " ms" }
        if ms < 1000 { return String(Int(ms.rounded())) + " ms" }
        if ms < 10_000 { return fixed(ms / 1000, 1) + " s" }
        if ms < 60_000 { return String(Int((ms / 1000).rounded(.down))) + " s" }
        return duration((ms / 1000).rounded(.down))
    }

    /// A duration in seconds: `3s`, `2m05s`, `1h02m`.
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m" + pad2(s % 60) + "s" }
        return "\(s / 3600)h" + pad2((s % 3600) / 60) + "m"
    }

    /// A position: `#12,345`.
    public static func position(_ p: UInt64) -> String { "#" + grouped(p) }

    /// `value` with `places` decimals, rounded half away from zero.
    static func fixed(_ value: Double, _ places: Int) -> String {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = Int64((abs(value) * scale).rounded())
        let whole = scaled / Int64(scale)
        let frac = scaled % Int64(scale)
        var fracText = String(frac)
        while fracText.count < places { fracText = "0" + fracText }
        return (value < 0 && scaled != 0 ? "-" : "") + String(whole) + (places > 0 ? "." + fracText : "")
    }

    static func pad2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    /// Pads or cuts `text` to exactly `width` characters, aligned left or right.
    static func column(_ text: String, _ width: Int, right: Bool = false) -> String {
        guard width > 0 else { return "" }
        if text.count >= width { return String(text.prefix(width)) }
        let pad = String(repeating: " ", count: width - text.count)
        return right ? pad + text : text + pad
    }
}
