import CCRC32C

/// CRC-32C (Castagnoli), the checksum of every record and segment header.
///
/// Why CRC-32C and not CRC-32 or a hash: it detects all burst errors up to 32 bits and every
/// odd number of flipped bits in a record, which is what a torn write or a bad sector produces,
/// and CPUs compute it in hardware (SSE4.2 `crc32` on x86-64, the ARMv8 CRC32C instructions on
/// aarch64), so checking every record on replay costs little. The arithmetic lives in the small
/// C target `CCRC32C`, because Swift cannot emit those instructions; it falls back to a constant
/// table when the CPU lacks them.
public enum CRC32C {
    /// Continues a checksum over `bytes`. Start from 0; the value is pre- and post-inverted.
    @inline(__always)
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress else { return crc }
        return prism_crc32c_update(crc, base, bytes.count)
    }

    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 { update(0, bytes) }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// The table-driven path alone, as CPUs without the instruction run it: for tests.
    static func portableUpdate(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress else { return crc }
        return prism_crc32c_portable(crc, base, bytes.count)
    }

    /// True when this CPU's CRC-32C instruction is used.
    static var usesHardware: Bool { prism_crc32c_hardware() != 0 }
}
