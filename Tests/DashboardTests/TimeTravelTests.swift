import CQRS
import EventStore
import Foundation
import Shop
import Synchronization
import Terminal
import Testing
@testable import Dashboard

/// Time travel on a real shop: a jump far back folds on a thread of its own while the frame
/// says `computing view as of #P… N%`; the views it ends with equal an independent fold; a step
/// from there is answered at once.
@Suite struct TimeTravelTests {
    final class Generator: @unchecked Sendable {
        // @unchecked: `next` runs only on the writer thread.
        var generator = LoadGenerator(seed: 21)
        func next(_ state: ShopState) -> ShopCommand { generator.next(state: state) }
    }

    /// `count` generated commands through the real writer, waiting for every outcome.
    static func drive(_ writer: CommandWriter<ShopDomain>, count: Int) async {
        let box = Generator()
        let left = Mutex(count)
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            for _ in 0..<count {
                writer.submitGenerated({ box.next($0) }) { _ in
                    if left.withLock({ $0 -= 1; return $0 }) == 0 { done.resume() }
                }
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aFarJumpFoldsOffTheScreenThreadWithProgressThenAStepIsImmediate() async throws {
        let store = InMemoryEventStore()
        let system = try ShopSystem(store: store, rate: 0)
        let writer = try #require(system.writer)
        for _ in 0..<5 { await Self.drive(writer, count: 2_000) }
        let head = store.head
        #expect(head > 5_000)
        let source = ShopDashboardSource(system: system)
        let session = DashboardSession(dataSource: source, theme: Theme.fallback, glyphs: .unicode,
                                       themeLocator: ThemeLocator(searchDirectories: []))
        session.handle(.char("t"))
        // No fold is kept yet: any target is folded off this thread.
        let target = head - 1
        let first = source.timeTravel(to: target)
        guard case .computing = first else {
            Issue.record("a fold of \(target) events was done on the calling thread: \(first)")
            await system.close()
            return
        }
        let grid = try #require(session.frame(width: 120, height: 40))
        #expect(grid.contains("computing view as of #"), "the screen says what it is doing")
        var result: DashboardViews??
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if case .ready(let views) = source.timeTravel(to: target) { result = views; break }
            try await Task.sleep(for: .milliseconds(10))
        }
        let views = try #require(result ?? nil)
        let expected = try ShopSystem.views(of: store, asOf: target)
        #expect(views == DashboardViews(shoppers: expected.shoppers, warehouse: expected.warehouse, finance: expected.finance, support: expected.support))
        // One event back from a kept fold: answered on the spot.
        guard case .ready(let step?) = source.timeTravel(to: target + 1) else {
            Issue.record("a step of one event was not immediate")
            await system.close()
            return
        }
        #expect(step.finance.position == target + 1)
        await system.close()
    }
}
