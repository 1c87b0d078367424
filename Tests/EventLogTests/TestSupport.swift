import Foundation
@testable import EventLog

/// A fresh temporary folder per test, removed afterwards.
func withTemporaryDirectory<T>(_ body: (String) throws -> T) rethrows -> T {
    let dir = NSTemporaryDirectory() + "prism-test-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try body(dir)
}

func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async rethrows -> T {
    let dir = NSTemporaryDirectory() + "prism-test-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try await body(dir)
}

func event(_ stream: String, _ type: String = "Happened", payload: [UInt8] = [1, 2, 3], id: String? = nil,
           expect: ExpectedVersion = .any) -> NewEvent {
    NewEvent(stream: stream, type: type, payload: payload, commandId: id, expectedVersion: expect)
}

func segmentFiles(_ dir: String) -> [String] {
    (try? FileManager.default.contentsOfDirectory(atPath: dir))?.filter { $0.hasPrefix("seg-") && $0.hasSuffix(".log") }.sorted() ?? []
}

/// Flips one bit of a file in place.
func flipBit(_ path: String, at offset: Int) throws {
    let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.seek(toOffset: UInt64(offset))
    var byte = try handle.read(upToCount: 1)!
    byte[0] ^= 0x10
    try handle.seek(toOffset: UInt64(offset))
    try handle.write(contentsOf: byte)
}

func fileSize(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? -1
}

func truncateFile(_ path: String, to size: Int) {
    _ = truncate(path, off_t(size))
}

func appendBytes(_ path: String, _ bytes: [UInt8]) throws {
    let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.seekToEnd()
    try handle.write(contentsOf: Data(bytes))
}

func fileBytes(_ path: String) -> [UInt8] {
    FileManager.default.contents(atPath: path).map { [UInt8]($0) } ?? []
}

/// The offset of the first occurrence of `needle` in the file, for damaging a chosen field
/// without hard-coding the format's layout.
func offset(of needle: String, in path: String) -> Int? {
    let bytes = fileBytes(path), n = Array(needle.utf8)
    guard bytes.count >= n.count else { return nil }
    for i in 0...(bytes.count - n.count) where bytes[i] == n[0] && Array(bytes[i..<(i + n.count)]) == n { return i }
    return nil
}

/// Overwrites `range` of a file with zeros, as a page that never reached the disk reads back.
func zeroBytes(_ path: String, _ range: Range<Int>) throws {
    let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.seek(toOffset: UInt64(range.lowerBound))
    try handle.write(contentsOf: Data(count: range.count))
}

/// The file offset of every record in a segment, found by walking the commit frames and record
/// lengths of format 2 by hand (independently of the log's own parser).
func recordOffsets(_ path: String) -> [Int] {
    let bytes = fileBytes(path)
    func u32(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24 }
    var offsets: [Int] = []
    var at = 32
    while at + 48 <= bytes.count {
        let length = u32(at + 8)
        guard length >= 48, at + length <= bytes.count else { break }
        var r = at + 48
        while r < at + length {
            offsets.append(r)
            r += 8 + u32(r + 4)
        }
        at += length
    }
    return offsets
}
