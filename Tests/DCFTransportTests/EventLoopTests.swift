// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization
import Testing

@testable import DCFTransport

@Suite struct EventLoopTests {
    @Test func timerHeapOrdersAndCancels() {
        var heap = TimerHeap()
        let fired = Mutex<[Int]>([])
        _ = heap.schedule(at: 30) { fired.withLock { $0.append(30) } }
        let cancelled = heap.schedule(at: 10) { fired.withLock { $0.append(10) } }
        _ = heap.schedule(at: 20) { fired.withLock { $0.append(20) } }
        _ = heap.schedule(at: 50) { fired.withLock { $0.append(50) } }
        heap.cancel(cancelled)
        #expect(heap.nextDeadline == 20)
        for action in heap.popExpired(now: 40) { action() }
        #expect(fired.withLock { $0 } == [20, 30])
        #expect(heap.nextDeadline == 50)
    }

    @Test func executeFromOtherThreadsRunsOnLoop() async throws {
        let loop = try EventLoop(index: 0)
        loop.start(name: "test-loop")
        let count = Mutex(0)
        let onLoop = Mutex(true)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.concurrentPerform(iterations: 100) { _ in
                loop.execute {
                    if !loop.inEventLoop { onLoop.withLock { $0 = false } }
                    let done = count.withLock { value -> Bool in
                        value += 1
                        return value == 100
                    }
                    if done { continuation.resume() }
                }
            }
        }
        #expect(onLoop.withLock { $0 })
        await withCheckedContinuation { continuation in loop.stop { continuation.resume() } }
    }

    @Test func scheduledTimersFireInDeadlineOrder() async throws {
        let loop = try EventLoop(index: 0)
        loop.start(name: "test-loop")
        let order = Mutex<[Int]>([])
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.execute {
                loop.schedule(after: .milliseconds(30)) {
                    order.withLock { $0.append(2) }
                    continuation.resume()
                }
                let dropped = loop.schedule(after: .milliseconds(5)) { order.withLock { $0.append(99) } }
                loop.schedule(after: .milliseconds(10)) { order.withLock { $0.append(1) } }
                loop.cancel(dropped)
            }
        }
        #expect(order.withLock { $0 } == [1, 2])
        await withCheckedContinuation { continuation in loop.stop { continuation.resume() } }
    }

    @Test(arguments: [
        ("dcf-http-loop-0", "dcf-http-loop-0"),
        // The kernel keeps 15 bytes of a thread name.
        ("dcf-http-loop-with-a-long-name", "dcf-http-loop-w"),
    ])
    func loopThreadCarriesItsName(name: String, expected: String) async throws {
        let loop = try EventLoop(index: 0)
        loop.start(name: name)
        let seen = await withCheckedContinuation { (continuation: CheckedContinuation<String?, Never>) in
            loop.execute {
                let text = try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)
                continuation.resume(returning: text?.trimmingCharacters(in: .newlines))
            }
        }
        #expect(seen == expected)
        await withCheckedContinuation { continuation in loop.stop { continuation.resume() } }
    }
}
