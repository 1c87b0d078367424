import Foundation

extension EventLog {
    /// Leaves what a crash in the middle of a write leaves at the end of a closed log: `bytes`
    /// bytes past the last whole commit of its newest segment that never became data (zeros,
    /// as a file that grew before its pages were written reads back). The next writer's
    /// recovery finds them beyond the durable head and cuts them, and says so.
    ///
    /// For the crash walkthrough, which shows that cut; call it only while no writer is open.
    public static func leaveTornTail(directory: String, bytes: Int = 64) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        guard let newest = names.filter({ RecordFormat.segmentFirstPosition($0) != nil }).max() else {
            throw LogError(.invalidArgument, "no segment to tear", file: directory)
        }
        let path = directory + "/" + newest
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw LogError(.io, "cannot open for writing", file: path)
        }
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(count: max(1, bytes)))
        try handle.synchronize()
    }
}
