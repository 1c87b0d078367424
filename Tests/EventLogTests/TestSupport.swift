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
