import EventLog
import EventStore
import Foundation
import Shop
import Synchronization
import Testing

@testable import CQRS

/// Snapshots of the write model and the projectors: a round trip through real files, a restart
/// that resumes from them and equals an independent fold, and every kind of unusable snapshot
/// (damaged, foreign, from a log cut back behind it, from another version) refused with one
/// notice while the fold falls back to an older one or to position 1.
@Suite struct SnapshotTests {
    /// Snapshots every `every` events, never by time (so that the test decides where they fall).
    static func snapshots(_ storage: any SnapshotStorage, every: UInt64 = 400) -> Snapshots {
        Snapshots(storage: storage, policy: SnapshotPolicy(everyEvents: every, everySeconds: 1e9, keepRecent: 3, archiveSpacing: 0))
    }

    static let names = ["shoppers", "warehouse", "finance", "support", "writer"]

    /// A shop on `store` with `snapshots`, driven by `commands` generated commands in bursts,
    /// then closed (which saves the last snapshots). Returns the head.
    static func run(_ store: any EventStore, _ snapshots: Snapshots, seed: UInt64 = 5, commands: Int = 2_400) async throws -> UInt64 {
        let system = try ShopSystem(store: store, rate: 0, snapshots: snapshots)
        let box = RecordingGenerator(seed: seed)
        let writer = try #require(system.writer)
        for _ in 0..<(commands / 300) { _ = await drive(writer, box, count: 300) }
        let head = store.head
        #expect(await system.waitForViews(position: head))
        for name in ShopSystem.projectorNames { system.stop(projector: name) }
        await system.shoppers.shutdown()
        await system.warehouse.shutdown()
        await system.finance.shutdown()
        await system.support.shutdown()
        writer.stop()
        snapshots.flush()
        return head
    }

    @Test func aRestartResumesFromRealSnapshotFilesAndEqualsAnIndependentFold() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        var options = LogOptions()
        options.durability = .relaxed
        let storage = FileSnapshotStorage(folder: dir.path + "/snapshots")
        let log = try EventLog.open(directory: dir.path, options: options)
        let head = try await Self.run(log, Self.snapshots(storage))
        log.close()
        for name in Self.names {
            let positions = storage.positions(of: name)
            #expect(positions.first == head, "\(name): \(positions)")
            #expect(positions.count >= 2 && positions.count <= 3, "\(name) keeps the newest three: \(positions)")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/snapshots")
        #expect(!files.contains { $0.hasSuffix(".tmp") }, "\(files)")

        // A new process in all but name: a fresh log handle, fresh snapshots, fresh system.
        let reopened = try EventLog.open(directory: dir.path, options: options)
        let snapshots = Self.snapshots(FileSnapshotStorage(folder: dir.path + "/snapshots"))
        let system = try ShopSystem(store: reopened, rate: 0, snapshots: snapshots)
        #expect(await system.waitForViews(position: head, timeout: .seconds(5)))
        let expected = try freshFold(reopened, through: head)
        #expect(system.shoppers.view == expected.shoppers)
        #expect(system.warehouse.view == expected.warehouse)
        #expect(system.finance.view == expected.finance)
        #expect(system.support.view == expected.support)
        let writer = try #require(system.writer)
        #expect(await writeModel(writer) == (try foldedWriteModel(reopened)))
        // Remembered command ids survive through the writer's snapshot too.
        await accept(system, "register SNAP 100 Snapshot mug", id: "snap-1")
        await system.close()
        #expect(snapshots.allNotices.isEmpty, "\(snapshots.allNotices)")

        let again = try EventLog.open(directory: dir.path, options: options)
        let third = try ShopSystem(store: again, rate: 0, snapshots: Self.snapshots(FileSnapshotStorage(folder: dir.path + "/snapshots")))
        let before = again.head
        #expect(await third.submit(text: "register SNAP 100 Snapshot mug", commandId: "snap-1") == .accepted(position: before))
        #expect(again.head == before)
        await third.close()
    }

    @Test func everyStateRoundTripsThroughItsSnapshotLayout() async throws {
        let store = InMemoryEventStore()
        let storage = MemorySnapshotStorage()
        let snapshots = Self.snapshots(storage)
        let head = try await Self.run(store, snapshots, commands: 1_800)
        let expected = try freshFold(store, through: head)
        func check<P: Projection>(_ p: P, _ view: P.View) where P.View: Equatable {
            let loaded = snapshots.load(p.name, version: p.snapshotVersion, from: store) { try p.decodeSnapshot(from: &$0) }
            #expect(loaded?.position == head)
            if let loaded { #expect(p.view(of: loaded.state, position: head) == view, "\(p.name)") }
        }
        check(ShoppersProjection(), expected.shoppers)
        check(WarehouseProjection(), expected.warehouse)
        check(FinanceProjection(), expected.finance)
        check(SupportProjection(), expected.support)
        let domain = ShopDomain()
        let writer = snapshots.load("writer", version: domain.snapshotVersion, from: store) { r -> ShopState in
            let state = try domain.decodeSnapshot(from: &r)
            _ = try CommandIdMemory<ShopCommand>.decode(from: &r, capacity: 10)
            return state
        }
        #expect(writer?.state == (try foldedWriteModel(store)))
        #expect(snapshots.allNotices.isEmpty)
    }

    /// The shoppers' snapshots of a store, newest first, and the view an independent fold
    /// gives at `position`.
    static func resumedShoppers(_ store: any EventStore, _ snapshots: Snapshots) async throws -> ShoppersView {
        let projector = Projector(ShoppersProjection(), store: store, snapshots: snapshots)
        projector.start()
        _ = await projector.waitUntil(position: store.head, timeout: .seconds(5))
        let view = projector.view
        await projector.shutdown()
        return view
    }

    @Test func aDamagedSnapshotIsIgnoredWithANoticeAndAnOlderOneUsed() async throws {
        let store = InMemoryEventStore()
        let storage = MemorySnapshotStorage()
        let head = try await Self.run(store, Self.snapshots(storage))
        let positions = storage.positions(of: "shoppers")
        #expect(positions.count >= 2)
        var bytes = try storage.load("shoppers", position: positions[0])
        bytes[bytes.count / 2] ^= 0x10
        storage.overwrite("shoppers", position: positions[0], with: bytes)

        let snapshots = Self.snapshots(storage)
        let p = ShoppersProjection()
        let loaded = snapshots.load(p.name, version: p.snapshotVersion, from: store) { try p.decodeSnapshot(from: &$0) }
        #expect(loaded?.position == positions[1])
        #expect(snapshots.allNotices.count == 1)
        #expect(snapshots.allNotices.first?.contains("snapshot shoppers@\(positions[0]) ignored: damaged (checksum mismatch)") == true, "\(snapshots.allNotices)")
        #expect(try await Self.resumedShoppers(store, Self.snapshots(storage)) == (try freshFold(store, through: head)).shoppers)
    }

    @Test func aSnapshotFromAnotherLogIsIgnored() async throws {
        let mine = InMemoryEventStore()
        let mySnapshots = MemorySnapshotStorage()
        _ = try await Self.run(mine, Self.snapshots(mySnapshots), seed: 5)
        let other = InMemoryEventStore()
        let head = try await Self.run(other, Self.snapshots(MemorySnapshotStorage()), seed: 9)
        // The other log's folder gets my snapshots, at positions it also has.
        let foreign = MemorySnapshotStorage()
        for position in mySnapshots.positions(of: "shoppers") where position <= head {
            try foreign.save("shoppers", position: position, bytes: try mySnapshots.load("shoppers", position: position))
        }
        let count = foreign.positions(of: "shoppers").count
        #expect(count >= 1)
        let snapshots = Self.snapshots(foreign)
        #expect(try await Self.resumedShoppers(other, snapshots) == (try freshFold(other, through: head)).shoppers)
        #expect(snapshots.allNotices.count == count)
        #expect(snapshots.allNotices.allSatisfy { $0.contains("is not the one it was folded to") }, "\(snapshots.allNotices)")
    }

    @Test func aSnapshotBehindALogCutBackIsIgnoredAndTheFoldStartsFromAnOlderOne() async throws {
        let store = InMemoryEventStore()
        let storage = MemorySnapshotStorage()
        _ = try await Self.run(store, Self.snapshots(storage))
        let positions = storage.positions(of: "shoppers")
        #expect(positions.count >= 2)
        // The same log, cut back between the two newest snapshots: the same records (with their
        // commit times and command ids) up to the cut.
        let cut = positions[1] + (positions[0] - positions[1]) / 2
        let prefix = InMemoryEventStore()
        for record in try store.events(from: 1, through: cut) {
            _ = try prefix.append([AppendBatch(
                [NewEvent(stream: record.stream, type: record.type, payload: record.payload, commandId: record.commandId)],
                timestampNanos: record.timestampNanos)])[0].get()
        }
        #expect(prefix.head == cut)
        let p = ShoppersProjection()
        #expect(Self.snapshots(storage).load(p.name, version: 1, from: prefix, quiet: true) { try p.decodeSnapshot(from: &$0) }?.position == positions[1])
        let snapshots = Self.snapshots(storage)
        #expect(try await Self.resumedShoppers(prefix, snapshots) == (try freshFold(prefix, through: cut)).shoppers)
        #expect(snapshots.allNotices == ["snapshot shoppers@\(positions[0]) ignored: the log ends at \(cut), before it (cut back?); folding from an older one"])
    }

    /// The shoppers' projection under a new snapshot version: the same name, a new layout.
    struct ShoppersV2: Projection {
        let inner = ShoppersProjection()
        var name: String { inner.name }
        var snapshotVersion: UInt32 { 2 }
        func initialState() -> ShoppersProjection.State { inner.initialState() }
        func apply(_ event: ShopEvent, meta: EventMeta, to state: inout ShoppersProjection.State) { inner.apply(event, meta: meta, to: &state) }
        func view(of state: ShoppersProjection.State, position: UInt64) -> ShoppersView { inner.view(of: state, position: position) }
        func encodeSnapshot(_ state: ShoppersProjection.State, into writer: inout SnapshotWriter) { inner.encodeSnapshot(state, into: &writer) }
        func decodeSnapshot(from reader: inout SnapshotReader) throws -> ShoppersProjection.State { try inner.decodeSnapshot(from: &reader) }
    }

    @Test func aSnapshotOfAnotherProjectionVersionIsIgnoredAndTheFoldStartsAtOne() async throws {
        let store = InMemoryEventStore()
        let storage = MemorySnapshotStorage()
        let head = try await Self.run(store, Self.snapshots(storage))
        let count = storage.positions(of: "shoppers").count
        let snapshots = Self.snapshots(storage)
        let projector = Projector(ShoppersV2(), store: store, snapshots: snapshots)
        projector.start()
        #expect(await projector.waitUntil(position: head, timeout: .seconds(5)))
        #expect(projector.view == (try freshFold(store, through: head)).shoppers)
        await projector.shutdown()
        #expect(snapshots.allNotices.count == count)
        #expect(snapshots.allNotices.allSatisfy { $0.contains("written by version 1 of shoppers, this build is version 2") }, "\(snapshots.allNotices)")
        // Its own snapshot, at the head, is the newest now and is used next time.
        #expect(storage.positions(of: "shoppers").first == head)
    }

    @Test func aRebuildFoldsFromOneAndThenWritesAFreshSnapshot() async throws {
        let store = InMemoryEventStore()
        let storage = MemorySnapshotStorage()
        let head = try await Self.run(store, Self.snapshots(storage, every: 1_000_000))
        storage.remove("warehouse", position: head)
        let older = storage.positions(of: "warehouse")
        let projector = Projector(WarehouseProjection(), store: store, snapshots: Self.snapshots(storage, every: 1_000_000))
        projector.start()
        #expect(await projector.waitUntil(position: head, timeout: .seconds(5)))
        projector.rebuild()
        #expect(await ProjectorTests.eventually { storage.positions(of: "warehouse").first == head })
        #expect(storage.positions(of: "warehouse").count == older.count + 1)
        #expect(projector.view == (try freshFold(store, through: head)).warehouse)
        await projector.shutdown()
    }

    @Test func pruningKeepsTheNewestAndOnePerArchiveSpacingOlder() {
        for archive in [true, false] {
            let storage = MemorySnapshotStorage()
            let snapshots = Snapshots(storage: storage, policy: SnapshotPolicy(everyEvents: 1, everySeconds: 1e9, keepRecent: 2, archiveSpacing: 1_000))
            for position: UInt64 in [100, 600, 1_100, 1_500, 2_100, 2_200, 2_300] {
                #expect(snapshots.saveNow("finance", version: 1, state: position, position: position, fingerprint: 0, timestamp: 0, archive: archive) { $1.u64($0) })
            }
            #expect(storage.positions(of: "finance") == (archive ? [2_300, 2_200, 2_100, 1_100, 100] : [2_300, 2_200]), "archive: \(archive)")
        }
    }
}
