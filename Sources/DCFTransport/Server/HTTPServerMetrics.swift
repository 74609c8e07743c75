// SPDX-License-Identifier: Apache-2.0
import Synchronization

/// Counters of an `HTTPServer`, updated by its loops and readable from any thread.
final class HTTPServerMetrics: Sendable {
    let openConnections = Atomic<Int>(0)
    let parkedRequests = Atomic<Int>(0)
    let bytesIn = Atomic<Int>(0)
    let bytesOut = Atomic<Int>(0)
    let connectionsRejectedPerAddress = Atomic<Int>(0)
    let connectionsRejectedPerNetwork = Atomic<Int>(0)
    /// Registered connections per event loop, indexed by `EventLoop.index`.
    let loopConnections: [LoopCounter]
    private let statusCounts = Mutex<[Int: Int]>([:])

    init(loopCount: Int) {
        loopConnections = (0..<max(0, loopCount)).map { _ in LoopCounter() }
    }

    func recordResponse(status: Int) {
        statusCounts.withLock { $0[status, default: 0] += 1 }
    }

    var snapshot: HTTPServerStatistics {
        HTTPServerStatistics(
            openConnections: openConnections.load(ordering: .relaxed),
            parkedRequests: parkedRequests.load(ordering: .relaxed),
            bytesIn: bytesIn.load(ordering: .relaxed),
            bytesOut: bytesOut.load(ordering: .relaxed),
            connectionsRejectedPerAddress: connectionsRejectedPerAddress.load(ordering: .relaxed),
            connectionsRejectedPerNetwork: connectionsRejectedPerNetwork.load(ordering: .relaxed),
            responsesByStatus: statusCounts.withLock { $0 },
            openConnectionsByLoop: loopConnections.map { $0.value.load(ordering: .relaxed) }
        )
    }
}

/// One loop's connection count; a class because `Atomic` cannot be copied into an array.
final class LoopCounter: Sendable {
    let value = Atomic<Int>(0)
}

/// A point-in-time copy of an `HTTPServer`'s counters.
public struct HTTPServerStatistics: Sendable, Equatable {
    /// Connections accepted and not yet closed.
    public var openConnections: Int
    /// Requests parked with `HTTPResponder.park` that have not been answered or dropped.
    public var parkedRequests: Int
    /// Bytes read from clients, after TLS decryption.
    public var bytesIn: Int
    /// Bytes sent to clients, before TLS encryption.
    public var bytesOut: Int
    /// Connections closed at accept because their client address already had `maxConnectionsPerAddress` open
    /// connections.
    public var connectionsRejectedPerAddress: Int
    /// Connections closed at accept because their network (an IPv4 /24 or an IPv6 /48) already had
    /// `maxConnectionsPerNetwork` open connections.
    public var connectionsRejectedPerNetwork: Int
    /// Responses started, by status code, the server's own error responses included.
    public var responsesByStatus: [Int: Int]
    /// Connections registered on each event loop, in loop order; their sum trails `openConnections` while
    /// an accepted connection is on its way to its loop.
    public var openConnectionsByLoop: [Int]
}
