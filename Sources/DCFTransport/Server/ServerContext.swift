// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Synchronization

/// What every connection of one `HTTPServer` shares, on every loop.
final class ServerContext: Sendable {
    let handler: any HTTPHandler
    let limits: HTTPServerLimits
    let metrics = HTTPServerMetrics()
    let logger: Logger
    /// Set when a graceful shutdown begins: new requests get 503 and connections close after their response.
    let isDraining = Atomic<Bool>(false)
    /// The TLS context for new connections, or nil for plain TCP.
    let tls: TLSContextHolder?

    init(handler: any HTTPHandler, limits: HTTPServerLimits, logger: Logger, tls: TLSContextHolder?) {
        self.handler = handler
        self.limits = limits
        self.logger = logger
        self.tls = tls
    }
}

/// The part of a server that lives on one loop: its open connections and a read buffer they share.
final class ServerLoop {
    let loop: EventLoop
    let context: ServerContext
    var tls: TLSContextHolder? { context.tls }
    /// One read buffer per loop: connections copy out only the bytes they must keep, so an idle connection
    /// holds no read buffer.
    let readBuffer: UnsafeMutableRawBufferPointer
    private(set) var connections: [ObjectIdentifier: HTTPConnection] = [:]

    init(loop: EventLoop, context: ServerContext) {
        self.loop = loop
        self.context = context
        readBuffer = .allocate(byteCount: 64 * 1024, alignment: 16)
    }

    deinit {
        readBuffer.deallocate()
    }

    func add(_ connection: HTTPConnection) {
        connections[ObjectIdentifier(connection)] = connection
    }

    func remove(_ connection: HTTPConnection) {
        connections[ObjectIdentifier(connection)] = nil
    }
}
