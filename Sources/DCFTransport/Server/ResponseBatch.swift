// SPDX-License-Identifier: Apache-2.0
import Glibc
import Synchronization

/// Responses held back on one thread by `HTTPResponder.batchingResponses`, grouped by event loop.
///
/// Confined to the thread that opened the batch; the responses leave it as one task per loop.
final class ResponseBatch {
    struct Item: Sendable {
        let connection: LoopBoundReference<HTTPConnection>
        let requestNumber: UInt64
        let response: HTTPResponse
    }

    private var groups: [(loop: EventLoop, items: [Item])] = []

    /// The batch open on the calling thread, if any.
    static var current: ResponseBatch? {
        guard let pointer = pthread_getspecific(key) else { return nil }
        return Unmanaged<ResponseBatch>.fromOpaque(pointer).takeUnretainedValue()
    }

    /// The thread-specific slot of the open batch; created once per process and never deleted.
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let result = pthread_key_create(&key, nil)
        precondition(result == 0, "pthread_key_create failed with error \(result)")
        return key
    }()

    /// Runs `body` with a new batch open on this thread, then sends what it collected; `whenWritten` runs once
    /// every loop has written its share.
    static func collect<Result>(
        _ body: () throws -> Result, whenWritten: (@Sendable () -> Void)? = nil
    ) rethrows -> Result {
        let batch = ResponseBatch()
        pthread_setspecific(key, Unmanaged.passUnretained(batch).toOpaque())
        defer {
            pthread_setspecific(key, nil)
            batch.send(whenWritten: whenWritten)
        }
        return try body()
    }

    func add(_ item: Item, on loop: EventLoop) {
        // A server has a few loops, so a linear search beats hashing.
        if let index = groups.firstIndex(where: { $0.loop === loop }) {
            groups[index].items.append(item)
        } else {
            groups.append((loop, [item]))
        }
    }

    /// Queues one task per loop that writes that loop's responses in the order they were added, and runs
    /// `whenWritten` after the last of those tasks (at once when nothing was collected).
    private func send(whenWritten: (@Sendable () -> Void)?) {
        let remaining = LoopCountdown(count: groups.count, completion: whenWritten)
        for (loop, items) in groups {
            loop.execute {
                for item in items {
                    item.connection.value?.sendResponse(item.response, requestNumber: item.requestNumber)
                }
                remaining.countDown()
            }
        }
        if groups.isEmpty { whenWritten?() }
        groups = []
    }
}

/// Runs a completion once `count` loops have each counted down.
private final class LoopCountdown: Sendable {
    private let remaining: Atomic<Int>
    private let completion: (@Sendable () -> Void)?

    init(count: Int, completion: (@Sendable () -> Void)?) {
        remaining = Atomic(count)
        self.completion = completion
    }

    func countDown() {
        if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { completion?() }
    }
}
