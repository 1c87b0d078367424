import EventLog
import Dispatch
import Foundation
import Shop
import Synchronization
import Testing

@testable import CQRS

/// The read side: projectors are independent of each other, can be stopped, resumed and rebuilt,
/// support read-your-writes, and report their state truthfully.
@Suite struct ProjectorTests {
    /// Loads `rounds` rounds of generated commands, each its own burst (so the log holds several
    /// commit groups and a refold takes several batches), and returns the head.
    static func load(_ system: ShopSystem, _ box: RecordingGenerator, rounds: Int, per: Int = 300) async throws -> UInt64 {
        let writer = try #require(system.writer)
        for _ in 0..<rounds { _ = await drive(writer, box, count: per) }
        return system.log.head
    }

    /// Polls `condition` every 5 ms for up to `seconds`.
    static func eventually(_ seconds: Double = 5, _ condition: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return condition()
    }

    // MARK: Independence, stop, rebuild

    @Test func stoppedProjectorFreezesWhileOthersGoOnThenRebuildCatchesUp() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        try await withShop(dir.path) { system in
            let box = RecordingGenerator(seed: 3)
            let head0 = try await Self.load(system, box, rounds: 3)
            #expect(await system.waitForViews(position: head0))

            system.stop(projector: "finance")
            #expect(system.finance.status.state == .stopped)
            #expect(system.isStopped(projector: "finance"))
            let frozen = system.finance.view
            #expect(system.finance.checkpoint == head0)

            let head1 = try await Self.load(system, box, rounds: 3)
            #expect(head1 > head0)
            #expect(await system.shoppers.waitUntil(position: head1, timeout: .seconds(5)))
            #expect(await system.warehouse.waitUntil(position: head1, timeout: .seconds(5)))
            #expect(await system.support.waitUntil(position: head1, timeout: .seconds(5)))
            #expect(await system.finance.waitUntil(position: head1, timeout: .milliseconds(100)) == false)
            #expect(await system.waitForViews(position: head1, timeout: .milliseconds(100)) == false)

            let stopped = system.finance.status
            #expect(stopped.state == .stopped)
            #expect(stopped.checkpoint == head0)
            #expect(stopped.lagEvents == head1 - head0)
            #expect(system.finance.view == frozen)
            #expect(frozen == (try ShopSystem.views(of: system.log, asOf: head0)).finance)
            for status in system.statuses where status.name != "finance" {
                #expect(status.state == .live, "\(status.name) is \(status.state)")
                #expect(status.checkpoint == head1)
            }

            // Rebuild, slowly enough to watch: the old view stays published until the swap.
            system.setDelay(projector: "finance", milliseconds: 40)
            system.rebuild(projector: "finance")
            let first = system.finance.status
            #expect(first.state == .rebuilding)
            #expect(first.rebuildProgress.map { (0...1).contains($0) } == true, "\(String(describing: first.rebuildProgress))")
            var progress: [Double] = []
            let sawPartial = await Self.eventually {
                let s = system.finance.status
                guard s.state == .rebuilding, let p = s.rebuildProgress else { return true }
                progress.append(p)
                #expect(system.finance.checkpoint == head0, "a partial rebuild was published")
                return p > 0 && p < 1
            }
            #expect(sawPartial)
            #expect(progress == progress.sorted(), "rebuild progress went backwards: \(progress)")
            system.setDelay(projector: "finance", milliseconds: 0)
            #expect(await system.finance.waitUntil(position: head1, timeout: .seconds(5)))
            #expect(await Self.eventually { system.finance.status.state == .live })
            let status = system.finance.status
            #expect(status.rebuildProgress == nil)
            #expect(status.checkpoint == head1 && status.lagEvents == 0)
            #expect(system.finance.view == (try ShopSystem.views(of: system.log, asOf: head1)).finance)
            #expect(system.finance.view == (try system.finance.view(asOf: head1)))

            // And it follows new events again.
            let head2 = try await Self.load(system, box, rounds: 1, per: 100)
            #expect(await system.waitForViews(position: head2))
            #expect(liveViews(system) == (try ShopSystem.views(of: system.log, asOf: head2)))
        }
    }

    @Test func startAfterStopResumesFromTheCheckpoint() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        try await withShop(dir.path) { system in
            let box = RecordingGenerator(seed: 4)
            let head0 = try await Self.load(system, box, rounds: 3)
            #expect(await system.waitForViews(position: head0))
            system.stop(projector: "warehouse")
            let head1 = try await Self.load(system, box, rounds: 3)
            #expect(await system.support.waitUntil(position: head1, timeout: .seconds(5)))
            #expect(system.warehouse.checkpoint == head0)

            // A resumed projector goes on from its checkpoint: it never publishes anything older
            // (a refold from position 1 would publish its first batch, far below head0).
            let published = Mutex<[UInt64]>([])
            system.warehouse.onPublish { checkpoint in published.withLock { $0.append(checkpoint) } }
            system.start(projector: "warehouse")
            #expect(system.warehouse.status.state != .stopped)
            #expect(await system.warehouse.waitUntil(position: head1, timeout: .seconds(5)))
            let seen = published.withLock { $0 }
            #expect(!seen.isEmpty)
            #expect(seen.allSatisfy { $0 > head0 }, "published \(seen) after resuming at \(head0)")
            #expect(seen == seen.sorted())
            #expect(await Self.eventually { system.warehouse.status.state == .live })
            #expect(system.warehouse.view == (try ShopSystem.views(of: system.log, asOf: head1)).warehouse)
        }
    }

    /// `stop()` while a `start()` has not yet got going (a double key press on the dashboard)
    /// must leave the projector stopped, and a later `start()` must work.
    ///
    /// To make the interleaving deterministic, the running task is held inside an `onPublish`
    /// observer while the test calls stop, start, stop; so the second task is created while the
    /// first is still finishing, and only runs `follow` after the second `stop()`.
    @Test func stopBeforeAStartGetsGoingLeavesItStoppedAndRestartable() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        try await withShop(dir.path) { system in
            let head0 = try await Self.load(system, RecordingGenerator(seed: 5), rounds: 1, per: 200)
            #expect(await system.waitForViews(position: head0))
            let support = system.support
            let gate = DispatchSemaphore(value: 0)
            let hold = Mutex<(armed: Bool, entered: Bool)>((false, false))
            support.onPublish { _ in
                let wait = hold.withLock { h -> Bool in
                    defer { h.armed = false }
                    if h.armed { h.entered = true }
                    return h.armed
                }
                if wait { gate.wait() }
            }
            hold.withLock { $0.armed = true }
            await accept(system, "restock MUG 1")
            #expect(await Self.eventually { hold.withLock { $0.entered } })
            support.stop()
            support.start()
            support.stop()
            gate.signal()
            await support.shutdown()
            #expect(support.status.state == .stopped, "state after stop, start, stop is \(support.status.state)")
            let head1 = try await Self.load(system, RecordingGenerator(seed: 6), rounds: 1, per: 100)
            support.start()
            #expect(await support.waitUntil(position: head1, timeout: .seconds(2)), "the projector never restarted")
        }
    }

    /// Stopping a projector in the middle of a rebuild and starting it again must not publish a
    /// view older than the one already published (read-your-writes would go backwards).
    @Test func stopDuringRebuildThenStartNeverMovesTheCheckpointBack() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        try await withShop(dir.path) { system in
            let head = try await Self.load(system, RecordingGenerator(seed: 8), rounds: 6, per: 200)
            #expect(await system.waitForViews(position: head))
            let shoppers = system.shoppers
            let published = Mutex<[UInt64]>([])
            shoppers.onPublish { checkpoint in published.withLock { $0.append(checkpoint) } }
            shoppers.setDelay(milliseconds: 100)
            shoppers.rebuild()
            // Let the rebuild get part of the way (it sleeps 100 ms after each batch), then stop it.
            #expect(await Self.eventually {
                let p = shoppers.status.rebuildProgress ?? 0
                return p > 0 && p < 1
            })
            shoppers.stop()
            #expect(shoppers.checkpoint == head, "a partial rebuild was published")
            shoppers.setDelay(milliseconds: 0)
            shoppers.start()
            // `waitUntil(head)` would return at once (the old view is at head), and a correct
            // resume may have nothing to publish: append one more event and wait for the resumed
            // task itself to publish it.
            let next = await accept(system, "register PROBE 100 Probe")
            #expect(await Self.eventually { published.withLock { $0.contains { $0 >= next } } })
            let seen = published.withLock { $0 }
            #expect(seen.allSatisfy { $0 >= head }, "published after restarting at \(head): \(seen.prefix(8))...")
        
            #expect(shoppers.checkpoint == next)
            #expect(shoppers.view == (try ShopSystem.views(of: system.log, asOf: next)).shoppers)
        }
    }

    // MARK: Read-your-writes and status

    @Test func waitUntilIsReadYourWrites() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        try await withShop(dir.path) { system in
            let p1 = await accept(system, "register MUG 1299 Blue mug")
            // Generous: the suite runs beside tests that keep both cooperative threads busy; this checks
            // that the wait returns once the view holds p1, not how fast the projector is.
            #expect(await system.shoppers.waitUntil(position: p1, timeout: .seconds(10)))
            #expect(system.shoppers.view.catalog.map(\.sku) == ["MUG"])
            #expect(await system.waitForViews(position: p1))
            #expect(system.warehouse.view.stock.map(\.sku) == ["MUG"])

            // Nothing is coming: a short wait times out, and not much later than asked.
            let started = Date()
            #expect(await system.shoppers.waitUntil(position: p1 + 1, timeout: .milliseconds(100)) == false)
            let waited = Date().timeIntervalSince(started)
            #expect(waited >= 0.09 && waited < 5, "waited \(waited) s")
            // A position already reached returns at once.
            #expect(await system.shoppers.waitUntil(position: p1, timeout: .zero))

            // A slow projector: it applies one batch, then sleeps 1.5 s. Everything timed below
            // happens right after the append, well inside that sleep.
            system.setDelay(projector: "shoppers", milliseconds: 1_500)
            let p2 = await accept(system, "restock MUG 4")
            #expect(await system.shoppers.waitUntil(position: p2, timeout: .seconds(5)))
            let p3 = await accept(system, "restock MUG 6")
            let stale = system.shoppers.current
            #expect(await system.shoppers.waitUntil(position: p3, timeout: .milliseconds(50)) == false)
            #expect(stale.checkpoint == p2)
            #expect(stale.view.catalog.first?.available == 4, "the view is stale meanwhile")
            #expect(await system.warehouse.waitUntil(position: p3, timeout: .seconds(1)), "the others do not wait for shoppers")
            #expect(await system.shoppers.waitUntil(position: p3, timeout: .seconds(5)))
            #expect(system.shoppers.view.catalog.first?.available == 10)
            system.setDelay(projector: "shoppers", milliseconds: 0)
        }
    }

    @Test func statusIsLiveWhenCaughtUpAndCatchingUpWhenBehind() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        try await withShop(dir.path) { system in
            // An empty log: nothing to catch up on.
            #expect(await Self.eventually(2) { system.statuses.allSatisfy { $0.state == .live } })
            let p1 = await accept(system, "register MUG 1299 Blue mug")
            #expect(await system.waitForViews(position: p1))
            for status in system.statuses {
                #expect(status.state == .live, "\(status.name) is \(status.state)")
                #expect(status.lagEvents == 0 && status.lagMilliseconds == 0 && status.checkpoint == p1 && status.head == p1)
            }

            // Long enough that the checks below run inside the pause even when the suite keeps
            // the two cooperative threads busy (at 1.5 s, support had once caught up already).
            system.setDelay(projector: "support", milliseconds: 4_000)
            let p2 = await accept(system, "restock MUG 10")
            #expect(await system.support.waitUntil(position: p2, timeout: .seconds(10)))
            let p3 = await accept(system, "restock MUG 10")
            // Support now sleeps after its batch while the head has moved on.
            let behind = system.support.status
            #expect(behind.state == .catchingUp, "support is \(behind.state)")
            #expect(behind.checkpoint == p2 && behind.head == p3 && behind.lagEvents == 1)
            #expect(behind.lagMilliseconds >= 0)
            #expect(await system.finance.waitUntil(position: p3, timeout: .seconds(1)))
            #expect(system.finance.status.state == .live)

            #expect(await system.support.waitUntil(position: p3, timeout: .seconds(10)))
            #expect(await Self.eventually(2) { system.support.status.state == .live })
            #expect(system.support.status.lagEvents == 0)
            system.setDelay(projector: "support", milliseconds: 0)
        }
    }
}

/// Edge cases of rebuilding.
@Suite struct RebuildEdgeTests {
    /// A rebuild with nothing to refold (an empty log) has nothing to wait for: it must not stay
    /// `.rebuilding` until some event happens to arrive.
    @Test func rebuildOfAnEmptyLogGoesLive() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        try await withShop(dir.path) { system in
            // Let the projectors' first tasks get going.
            try await Task.sleep(for: .milliseconds(100))
            system.rebuild(projector: "finance")
            let settled = await ProjectorTests.eventually(1) { system.finance.status.state == .live }
            #expect(settled, "finance is \(system.finance.status.state) after rebuilding an empty log")
        
            // Once an event arrives it does go live with the right view.
            let p = await accept(system, "register MUG 1299 Blue mug")
            #expect(await system.finance.waitUntil(position: p, timeout: .seconds(2)))
            #expect(await ProjectorTests.eventually(2) { system.finance.status.state == .live })
        }
    }
}
