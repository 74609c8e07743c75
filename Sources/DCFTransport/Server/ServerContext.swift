// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Synchronization

/// What every connection of one `HTTPServer` shares, on every loop.
final class ServerContext: Sendable {
    let handler: any HTTPHandler
    let limits: HTTPServerLimits
    let metrics: HTTPServerMetrics
    let logger: Logger
    /// Set when a graceful shutdown begins: new requests get 503 and connections close after their response.
    let isDraining = Atomic<Bool>(false)
    /// The TLS context for new connections, or nil for plain TCP.
    let tls: TLSContextHolder?
    /// Open connections per client address group, counted while `limits.maxConnectionsPerAddress` is above 0.
    let connectionsPerAddress = AddressConnectionCounts()
    /// Open connections per network group (`ClientAddressGroup.network`), counted while
    /// `limits.maxConnectionsPerNetwork` is above 0.
    let connectionsPerNetwork = AddressConnectionCounts()

    init(handler: any HTTPHandler, limits: HTTPServerLimits, logger: Logger, tls: TLSContextHolder?, loopCount: Int) {
        self.handler = handler
        self.metrics = HTTPServerMetrics(loopCount: loopCount)
        self.limits = limits
        self.logger = logger
        self.tls = tls
    }

    /// Gives back what an accepted connection counted: its place in `metrics.openConnections` and the counts of
    /// its address group and network, when it has them.
    func releaseConnection(_ counted: CountedGroups) {
        if let address = counted.address { connectionsPerAddress.release(address) }
        if let network = counted.network { connectionsPerNetwork.release(network) }
        metrics.openConnections.subtract(1, ordering: .relaxed)
    }
}

/// The part of a server that lives on one loop: its open connections and a read buffer they share.
final class ServerLoop {
    let loop: EventLoop
    let context: ServerContext
    var tls: TLSContextHolder? { context.tls }
    /// The size of `readBuffer`, and so the largest body chunk a streaming handler receives.
    static let readBufferSize = 256 * 1024

    /// One read buffer per loop: connections copy out only the bytes they must keep, so an idle connection
    /// holds no read buffer.
    let readBuffer: UnsafeMutableRawBufferPointer
    private(set) var connections: [ObjectIdentifier: HTTPConnection] = [:]
    /// Set when the loop closes all its connections for shutdown; a connection handed over later is closed.
    var isClosed = false

    init(loop: EventLoop, context: ServerContext) {
        self.loop = loop
        self.context = context
        readBuffer = .allocate(byteCount: Self.readBufferSize, alignment: 16)
    }

    deinit {
        readBuffer.deallocate()
    }

    func add(_ connection: HTTPConnection) {
        connections[ObjectIdentifier(connection)] = connection
        context.metrics.loopConnections[loop.index].value.add(1, ordering: .relaxed)
    }

    func remove(_ connection: HTTPConnection) {
        guard connections.removeValue(forKey: ObjectIdentifier(connection)) != nil else { return }
        context.metrics.loopConnections[loop.index].value.subtract(1, ordering: .relaxed)
    }
}
