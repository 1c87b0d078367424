import CQRS
import EventStore
import Foundation
import Testing

@testable import Shop

/// Generated load never stands in front of a client command by more than a bounded amount.
@Suite struct LoadDriverTests {
    @Test(.timeLimit(.minutes(1)))
    func atFullRateTheQueueOfGeneratedCommandsStaysSmall() async throws {
        let store = InMemoryEventStore()
        let writer = try CommandWriter(domain: ShopDomain(), store: store)
        let driver = LoadDriver(writer: writer, seed: 3, rate: 1_000_000)
        driver.resume()
        // Sampled on a thread of its own: the cooperative pool must stay free.
        let most: Int = await withCheckedContinuation { done in
            let thread = Thread {
                var most = 0
                let end = Date().addingTimeInterval(0.6)
                while Date() < end {
                    most = max(most, writer.queuedGeneratedCount)
                    usleep(200)
                }
                done.resume(returning: most)
            }
            thread.start()
        }
        driver.stop()
        writer.stop()
        store.close()
        #expect(most <= LoadDriver.queueCap, "up to \(most) generated commands were queued ahead of a client's turn")
        #expect(store.head > 500, "the load hardly ran: head \(store.head)")
    }
}
