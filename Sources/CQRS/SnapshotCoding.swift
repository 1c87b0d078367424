/// The bytes of a snapshot's body: how a domain or a projection writes its state and reads it
/// back. Little-endian integers, strings as a length and UTF-8 bytes, counts before elements.
///
/// Why a hand-written layout and not `Codable`: a state holds hundreds of thousands of entries,
/// `Codable`'s keyed containers would cost more than the fold the snapshot saves, and a plain
/// layout can be checked byte by byte (every read is bounds-checked and a reader insists on
/// consuming the whole body), so a snapshot is either read exactly or refused, never misread.
public struct SnapshotWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 4096) { bytes.reserveCapacity(capacity) }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    public mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    public mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    public mutating func i64(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    public mutating func int(_ v: Int) { i64(Int64(v)) }
    public mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }

    /// A count of elements to follow.
    public mutating func count(_ n: Int) { u64(UInt64(n)) }

    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            u32(UInt32(utf8.count))
            bytes += utf8
        }
    }

    /// Raw bytes with their length.
    public mutating func blob(_ b: [UInt8]) {
        u64(UInt64(b.count))
        bytes += b
    }
}

/// Why a snapshot's body could not be read; the snapshot is then ignored, never half-used.
public struct SnapshotDecodingError: Error, Sendable, CustomStringConvertible {
    public var offset: Int
    public var message: String
    public init(offset: Int, _ message: String) {
        self.offset = offset
        self.message = message
    }
    public var description: String { "byte \(offset) of the body: \(message)" }
}

/// Reads what a ``SnapshotWriter`` wrote, in the same order; every read checks its bounds.
public struct SnapshotReader {
    let bytes: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var remaining: Int { bytes.count - offset }

    private mutating func take<T: FixedWidthInteger>(_: T.Type, _ what: String) throws -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw SnapshotDecodingError(offset: offset, "ends before \(what)") }
        let v = bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
        offset += size
        return v
    }

    public mutating func u8() throws -> UInt8 { try take(UInt8.self, "a byte") }
    public mutating func u16() throws -> UInt16 { try take(UInt16.self, "a UInt16") }
    public mutating func u32() throws -> UInt32 { try take(UInt32.self, "a UInt32") }
    public mutating func u64() throws -> UInt64 { try take(UInt64.self, "a UInt64") }
    public mutating func i64() throws -> Int64 { try take(Int64.self, "an Int64") }
    public mutating func int() throws -> Int { Int(try i64()) }

    public mutating func bool() throws -> Bool {
        let at = offset
        switch try u8() {
        case 0: return false
        case 1: return true
        case let b: throw SnapshotDecodingError(offset: at, "a flag of \(b), not 0 or 1")
        }
    }

    /// A count of elements, each at least `minimumSize` bytes: a count the rest of the body
    /// cannot hold is refused before anything is allocated for it.
    public mutating func count(minimumSize: Int = 1) throws -> Int {
        let at = offset
        let n = try u64()
        guard n <= UInt64(remaining / max(1, minimumSize)) else {
            throw SnapshotDecodingError(offset: at, "a count of \(n) that the remaining \(remaining) bytes cannot hold")
        }
        return Int(n)
    }

    public mutating func string() throws -> String {
        let at = offset
        let n = Int(try u32())
        guard remaining >= n else { throw SnapshotDecodingError(offset: at, "a string of \(n) bytes past the end") }
        let s = bytes.withUnsafeBytes { raw in
            String(validating: UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + n)]), as: UTF8.self)
        }
        guard let s else { throw SnapshotDecodingError(offset: at, "a string that is not UTF-8") }
        offset += n
        return s
    }

    public mutating func blob() throws -> [UInt8] {
        let at = offset
        let n = try u64()
        guard n <= UInt64(remaining) else { throw SnapshotDecodingError(offset: at, "\(n) bytes past the end") }
        let b = Array(bytes[offset..<(offset + Int(n))])
        offset += Int(n)
        return b
    }

    /// Throws unless every byte was read: a body too long is as wrong as one too short.
    public func expectEnd() throws {
        guard remaining == 0 else { throw SnapshotDecodingError(offset: offset, "\(remaining) bytes left after the last field") }
    }
}
