// SPDX-License-Identifier: Apache-2.0
import Glibc

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

    /// Runs `body` with a new batch open on this thread, then sends what it collected.
    static func collect<Result>(_ body: () throws -> Result) rethrows -> Result {
        let batch = ResponseBatch()
        pthread_setspecific(key, Unmanaged.passUnretained(batch).toOpaque())
        defer {
            pthread_setspecific(key, nil)
            batch.send()
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

    /// Queues one task per loop that writes that loop's responses in the order they were added.
    private func send() {
        for (loop, items) in groups {
            loop.execute {
                for item in items {
                    item.connection.value?.sendResponse(item.response, requestNumber: item.requestNumber)
                }
            }
        }
        groups = []
    }
}
