/// Makes text that quotes input safe to print on a terminal: every control character (C0 such
/// as ESC, CR, LF and TAB; DEL; C1), line and paragraph separator and bidirectional override
/// is replaced by a visible escape (`\n`, `\r`, `\t`, `\u{1B}`), so no input can move the
/// cursor, clear a screen or forge a line of output. Everything else is kept as it is.
///
/// The one helper every message that quotes input goes through (the parser's and the domain's
/// messages, the endpoint's replies, the command line's errors). Escaping twice changes
/// nothing: the escapes are themselves printable.
public func escapeControlCharacters(_ text: some StringProtocol) -> String {
    var needed = false
    for scalar in text.unicodeScalars where isUnsafeForTerminal(scalar) {
        needed = true
        break
    }
    guard needed else { return String(text) }
    var out = ""
    out.reserveCapacity(text.utf8.count + 8)
    for scalar in text.unicodeScalars {
        guard isUnsafeForTerminal(scalar) else { out.unicodeScalars.append(scalar); continue }
        switch scalar {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default: out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
        }
    }
    return out
}

/// True for a scalar that a terminal acts on or that reorders what it shows.
public func isUnsafeForTerminal(_ scalar: Unicode.Scalar) -> Bool {
    let v = scalar.value
    if v < 0x20 || (0x7F...0x9F).contains(v) { return true }
    if v == 0x2028 || v == 0x2029 { return true }  // line and paragraph separators
    if (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v) { return true }  // bidi controls
    return false
}
