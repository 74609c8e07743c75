// SPDX-License-Identifier: Apache-2.0

/// Bytes and files waiting to be written to a connection, with markers that run once everything before them
/// has been written.
struct OutboundQueue {
    enum Item {
        case bytes([UInt8])
        case file(HTTPFileRegion, position: Int, end: Int)
        /// A streaming writer's completion, called with true when reached, or false if the connection closes.
        case completion(@Sendable (Bool) -> Void)
        /// The last item of a response.
        case responseEnd
    }

    private(set) var items: [Item] = []
    private var head = 0
    /// Bytes of the first item already written.
    var offset = 0
    /// A file chunk read for TLS, which cannot use `sendfile`, and how much of it was written.
    var fileChunk: [UInt8] = []
    var fileChunkSent = 0

    var isEmpty: Bool { head == items.count }

    /// Whether any item other than a marker remains.
    var hasData: Bool {
        items[head...].contains { item in
            switch item {
            case .bytes, .file: true
            case .completion, .responseEnd: false
            }
        }
    }

    var first: Item? { isEmpty ? nil : items[head] }

    mutating func append(_ item: Item) {
        items.append(item)
    }

    mutating func removeFirst() {
        head += 1
        offset = 0
        if head == items.count {
            items.removeAll(keepingCapacity: false)
            head = 0
        }
    }

    /// Replaces the first item, which must be a file, with its new position.
    mutating func updateFirstFile(position: Int) {
        guard case .file(let region, _, let end) = items[head] else { return }
        items[head] = .file(region, position: position, end: end)
    }

    /// Drops everything, telling each waiting writer that its bytes were not sent.
    mutating func failAll() {
        let pending = items[head...]
        items = []
        head = 0
        offset = 0
        fileChunk = []
        for item in pending {
            if case .completion(let completion) = item { completion(false) }
        }
    }
}
