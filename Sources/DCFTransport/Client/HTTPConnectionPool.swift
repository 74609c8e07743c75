// SPDX-License-Identifier: Apache-2.0
import Synchronization

/// Idle keep-alive connections of one client, newest last; safe to use from several threads.
final class HTTPConnectionPool: Sendable {
    private let idle = Mutex<[HTTPClientConnection]>([])
    private let capacity: Int
    private let lifetime: Duration

    init(capacity: Int, lifetime: Duration) {
        self.capacity = max(0, capacity)
        self.lifetime = lifetime
    }

    /// Removes and returns the most recently used connection that is still open, closing stale ones on the way.
    func take() -> HTTPClientConnection? {
        while let candidate = idle.withLock({ $0.popLast() }) {
            if ContinuousClock.now - candidate.lastUsed < lifetime && candidate.isUsable {
                return candidate
            }
            candidate.close()
        }
        return nil
    }

    /// Keeps `connection` for reuse, or closes it when the pool is full.
    func put(_ connection: HTTPClientConnection) {
        let evicted: HTTPClientConnection? = idle.withLock { connections in
            connections.append(connection)
            return connections.count > capacity ? connections.removeFirst() : nil
        }
        evicted?.close()
    }

    /// Closes every idle connection and empties the pool.
    func removeAll() {
        let connections = idle.withLock { connections in
            defer { connections.removeAll() }
            return connections
        }
        connections.forEach { $0.close() }
    }
}
