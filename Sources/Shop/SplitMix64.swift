/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fast generator whose whole state is one word.
///
/// Why our own and not `SystemRandomNumberGenerator`: a load generator must replay exactly from
/// a seed (one seed, one sequence, on every machine and Swift version), and the standard
/// library's `random(in:using:)` algorithms are not promised to stay the same, so ``uniform(_:)``
/// is ours too.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<bound` (Lemire's multiply-shift; the bias is below 2^-50 for our bounds).
    public mutating func uniform(_ bound: Int) -> Int {
        precondition(bound > 0, "uniform needs a positive bound")
        return Int(next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// A number in `range`.
    public mutating func uniform(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + uniform(range.upperBound - range.lowerBound + 1)
    }

    /// True with probability `percent`/100.
    public mutating func chance(_ percent: Int) -> Bool { uniform(100) < percent }
}
