#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A power supply that tests can cut, behind the ``FileIO`` door.
///
/// The model of a power cut: of the 4 KiB pages a file had written since its last `fsync` or
/// `fdatasync`, any subset reaches the disk, in any order; every other page comes back as it
/// was before those writes (*dropped*) or with the newly written bytes read as zeros (*zeroed*,
/// as when a file's size reached the disk before its data). A file's size comes back as it
/// was at the last sync or as it was at the cut. Bytes synced before are never changed: the
/// disk's sector writes are taken to be atomic, so rewriting a partly filled page cannot damage
/// its older bytes. Folder entries are not modelled (the log fsyncs the folder after every
/// create and rename).
///
/// Every write and sync through a `FileIO` holding the simulator is counted; at the chosen one
/// the power goes: a write lands first and is then subject to the cut, a sync may or may not
/// complete. From then on every call through that `FileIO` fails with EIO, as on a machine that
/// is gone, and the surviving state is written to the real files for the next open to find.
/// Decisions come from a seeded generator, so a failing seed can be replayed.
public final class PowerCutSimulator: Sendable {
    public static let pageSize = 4096

    public enum PageFate: Sendable, Equatable { case kept, dropped, zeroed }

    /// What a cut did, for test messages.
    public struct CutReport: Sendable, CustomStringConvertible {
        public var kept = 0, dropped = 0, zeroed = 0
        public var files: [String] = []
        public var description: String { "kept \(kept), dropped \(dropped), zeroed \(zeroed) pages of \(files)" }
    }

    struct DirtyPage {
        /// The page as it was at the last sync (zeros past the synced size).
        var original: [UInt8]
        /// Byte ranges within the page written (or cut off) since then.
        var written: [Range<Int>]
    }

    struct TrackedFile {
        var durableSize: Int64
        var size: Int64
        var pages: [Int64: DirtyPage] = [:]
    }

    struct State {
        var fds: [Int32: String] = [:]
        var files: [String: TrackedFile] = [:]
        var rng: UInt64
        var countdown: Int?
        var report: CutReport?
    }

    private let state: Mutex<State>
    private let isCut = Atomic<Bool>(false)
    private let plan: (@Sendable (_ path: String, _ page: Int64) -> PageFate)?

    /// `cutAfter`: the power goes at that write or sync (1 = the first); nil: only at `arm` or
    /// `cutNow`. `plan`, when given, decides each dirty page's fate (file path, page index)
    /// instead of the seeded generator.
    public init(
        seed: UInt64, cutAfter operations: Int? = nil,
        plan: (@Sendable (_ path: String, _ page: Int64) -> PageFate)? = nil
    ) {
        state = Mutex(State(rng: seed &* 0x9E37_79B9_7F4A_7C15 | 1, countdown: operations))
        self.plan = plan
    }

    /// The power goes at the `operations`th write or sync from now.
    public func arm(cutAfter operations: Int) {
        state.withLock { $0.countdown = operations }
    }

    public var hasCut: Bool { isCut.load(ordering: .acquiring) }
    public var report: CutReport? { state.withLock { $0.report } }

    static func deadError(_ what: String, _ path: String) -> LogError {
        LogError(.io, "\(what) failed: the power is off (simulated)", file: path, errno: EIO)
    }

    // MARK: Calls from FileIO

    func opened(_ fd: Int32, path: String, truncated: Bool) {
        state.withLock { s in
            s.fds[fd] = path
            if truncated {
                // Only temporary files are opened so, and they are synced before they are renamed.
                s.files[path] = TrackedFile(durableSize: 0, size: 0)
            } else if s.files[path] == nil {
                var st = stat()
                let size = Glibc.fstat(fd, &st) == 0 ? Int64(st.st_size) : 0
                s.files[path] = TrackedFile(durableSize: size, size: size)
            }
        }
    }

    func closed(_ fd: Int32) {
        state.withLock { _ = $0.fds.removeValue(forKey: fd) }
    }

    func renamed(_ from: String, _ to: String) {
        state.withLock { s in
            if let f = s.files.removeValue(forKey: from) { s.files[to] = f }
            for (fd, p) in s.fds where p == from { s.fds[fd] = to }
        }
    }

    func write(_ fd: Int32, offset: Int64, count: Int, path: String, _ body: () throws -> Void) throws {
        try state.withLock { s in
            if isCut.load(ordering: .relaxed) { throw Self.deadError("write", path) }
            let key = s.fds[fd] ?? path
            var file = s.files[key] ?? TrackedFile(durableSize: 0, size: 0)
            if count > 0 {
                Self.remember(&file, fd: fd, range: offset..<(offset + Int64(count)))
                file.size = max(file.size, offset + Int64(count))
            }
            s.files[key] = file
            let outcome = Result { try body() }
            if Self.tick(&s) {
                cut(&s, plan: plan)
                throw Self.deadError("write", path)
            }
            try outcome.get()
        }
    }

    func sync(_ fd: Int32, path: String, _ body: () throws -> Void) throws {
        try state.withLock { s in
            if isCut.load(ordering: .relaxed) { throw Self.deadError("sync", path) }
            if Self.tick(&s) {
                // The power goes during the sync: it may have finished or not.
                if Self.next(&s.rng) & 1 == 0 { try? body(); Self.markDurable(&s, fd: fd, path: path) }
                cut(&s, plan: plan)
                throw Self.deadError("sync", path)
            }
            try body()
            Self.markDurable(&s, fd: fd, path: path)
        }
    }

    func truncate(_ fd: Int32, to size: Int64, path: String, _ body: () throws -> Void) throws {
        try state.withLock { s in
            if isCut.load(ordering: .relaxed) { throw Self.deadError("ftruncate", path) }
            let key = s.fds[fd] ?? path
            var file = s.files[key] ?? TrackedFile(durableSize: size, size: size)
            if size < file.size { Self.remember(&file, fd: fd, range: size..<file.size) }
            try body()
            file.size = size
            s.files[key] = file
        }
    }

    // MARK: The cut

    /// Cuts the power now. `plan` decides each dirty page's fate (path, page index); without
    /// one the seeded generator does.
    @discardableResult
    public func cutNow(plan: (@Sendable (_ path: String, _ page: Int64) -> PageFate)? = nil) -> CutReport {
        state.withLock { s in
            if s.report == nil { cut(&s, plan: plan ?? self.plan) }
            return s.report!
        }
    }

    private func cut(_ s: inout State, plan: ((String, Int64) -> PageFate)?) {
        isCut.store(true, ordering: .releasing)
        var report = CutReport()
        for path in s.files.keys.sorted() {
            let file = s.files[path]!
            guard !file.pages.isEmpty || file.size != file.durableSize else { continue }
            report.files.append(path)
            let finalSize = file.size == file.durableSize || Self.next(&s.rng) & 1 == 0 ? file.size : file.durableSize
            // Pages reach the disk in a random order and the power stops after some of them.
            var order = file.pages.keys.sorted()
            for i in stride(from: order.count - 1, to: 0, by: -1) {
                order.swapAt(i, Int(Self.next(&s.rng) % UInt64(i + 1)))
            }
            let landed = order.isEmpty ? 0 : Int(Self.next(&s.rng) % UInt64(order.count + 1))
            let fd = Glibc.open(path, O_RDWR | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { Glibc.close(fd) }
            var contents: [(Int64, [UInt8])] = []
            for (i, index) in order.enumerated() {
                let page = file.pages[index]!
                let fate = plan?(path, index) ?? (i < landed ? .kept : (Self.next(&s.rng) & 1 == 0 ? .dropped : .zeroed))
                var bytes: [UInt8]
                switch fate {
                case .kept:
                    report.kept += 1
                    bytes = [UInt8](repeating: 0, count: Self.pageSize)
                    _ = bytes.withUnsafeMutableBytes { Glibc.pread(fd, $0.baseAddress!, Self.pageSize, off_t(index) * off_t(Self.pageSize)) }
                    // Past the size at the cut there was nothing to keep.
                    let valid = max(0, min(Self.pageSize, Int(file.size - index * Int64(Self.pageSize))))
                    for j in valid..<Self.pageSize { bytes[j] = 0 }
                case .dropped:
                    report.dropped += 1
                    bytes = page.original
                case .zeroed:
                    report.zeroed += 1
                    bytes = page.original
                    for r in page.written { for j in r { bytes[j] = 0 } }
                }
                contents.append((index, bytes))
            }
            _ = Glibc.ftruncate(fd, off_t(finalSize))
            for (index, bytes) in contents {
                let start = index * Int64(Self.pageSize)
                let n = Int(min(Int64(Self.pageSize), finalSize - start))
                if n > 0 { _ = bytes.withUnsafeBytes { Glibc.pwrite(fd, $0.baseAddress!, n, off_t(start)) } }
            }
        }
        s.report = report
    }

    // MARK: Bookkeeping

    /// Saves the synced content of each page `range` touches, the first time it is touched.
    private static func remember(_ file: inout TrackedFile, fd: Int32, range: Range<Int64>) {
        let size = Int64(pageSize)
        var index = range.lowerBound / size
        while index * size < range.upperBound {
            let pageStart = index * size
            if file.pages[index] == nil {
                var original = [UInt8](repeating: 0, count: pageSize)
                let synced = max(0, min(size, file.durableSize - pageStart))
                if synced > 0 {
                    _ = original.withUnsafeMutableBytes { Glibc.pread(fd, $0.baseAddress!, Int(synced), off_t(pageStart)) }
                }
                file.pages[index] = DirtyPage(original: original, written: [])
            }
            let lo = Int(max(range.lowerBound, pageStart) - pageStart)
            let hi = Int(min(range.upperBound, pageStart + size) - pageStart)
            file.pages[index]!.written.append(lo..<hi)
            index += 1
        }
    }

    private static func markDurable(_ s: inout State, fd: Int32, path: String) {
        let key = s.fds[fd] ?? path
        guard var file = s.files[key] else { return }
        file.pages.removeAll()
        file.durableSize = file.size
        s.files[key] = file
    }

    /// Counts one write or sync; true when the power goes now.
    private static func tick(_ s: inout State) -> Bool {
        guard let n = s.countdown else { return false }
        s.countdown = n - 1
        return n - 1 == 0
    }

    /// xorshift64*: small, fast, and the same sequence for the same seed everywhere.
    private static func next(_ x: inout UInt64) -> UInt64 {
        x ^= x >> 12
        x ^= x << 25
        x ^= x >> 27
        return x &* 0x2545_F491_4F6C_DD1D
    }
}
