// SPDX-License-Identifier: Apache-2.0
import Foundation

/// State shared by every connection of one `MultiplexedHTTPClient`, used only on its loop thread (apart from
/// the constants): the server's addresses, the TLS context, a read buffer and the queue of pending connects.
final class MultiplexedClientShared {
    let loop: EventLoop
    let host: String
    let server: String
    let configuration: HTTPClientConfiguration
    let tlsContext: TLSContext?
    let encoder: HTTPRequestEncoder
    /// The resolved socket addresses of the server, tried in order.
    let addresses: [[UInt8]]
    /// One read buffer for all connections: the loop reads one socket at a time and parses the bytes at once.
    let readBuffer: UnsafeMutableRawBufferPointer
    /// Connects (TCP and TLS handshake) in progress at once; the rest wait in `connectQueue`, which keeps a
    /// burst of connections from overflowing the server's listen backlog and handshake capacity.
    static let maximumConcurrentConnects = 64
    private var connectsInProgress = 0
    private var connectQueue: [MultiplexedConnection] = []
    private var connectQueueHead = 0
    /// TCP connections opened so far.
    var openedConnections = 0

    init(loop: EventLoop, host: String, port: Int, configuration: HTTPClientConfiguration, tlsContext: TLSContext?)
        throws
    {
        self.loop = loop
        self.host = host
        self.configuration = configuration
        self.tlsContext = tlsContext
        let server = HostText.withPort(host, port)
        self.server = server
        addresses = try Self.resolve(host: host, port: port, server: server)
        let name = HostText.bracketed(host)
        let defaultPort = tlsContext == nil ? 80 : 443
        encoder = HTTPRequestEncoder(
            server: server, hostHeader: port == defaultPort ? name : "\(name):\(port)",
            userAgent: configuration.userAgent)
        readBuffer = .allocate(byteCount: 64 << 10, alignment: 16)
    }

    deinit {
        readBuffer.deallocate()
    }

    /// Starts `connection`'s connect now or once fewer than `maximumConcurrentConnects` are in progress.
    func requestConnect(_ connection: MultiplexedConnection) {
        if connectsInProgress < Self.maximumConcurrentConnects {
            connectsInProgress += 1
            connection.startConnect()
        } else {
            connectQueue.append(connection)
        }
    }

    /// Records that a connect finished, successfully or not, and starts the next queued one.
    func connectFinished() {
        connectsInProgress -= 1
        while connectQueueHead < connectQueue.count, connectsInProgress < Self.maximumConcurrentConnects {
            let next = connectQueue[connectQueueHead]
            connectQueueHead += 1
            connectsInProgress += 1
            next.startConnect()
        }
        if connectQueueHead == connectQueue.count {
            connectQueue.removeAll(keepingCapacity: true)
            connectQueueHead = 0
        }
    }

    /// Drops `connection` from the connect queue, when it closes before its turn came.
    func cancelQueuedConnect(_ connection: MultiplexedConnection) {
        if let index = connectQueue[connectQueueHead...].firstIndex(where: { $0 === connection }) {
            connectQueue.remove(at: index)
        }
    }

    private static func resolve(host: String, port: Int, server: String) throws -> [[UInt8]] {
        let result = try ClientSocket.resolve(host: host, port: port, server: server)
        defer { freeaddrinfo(result) }
        var addresses: [[UInt8]] = []
        var entry: UnsafeMutablePointer<addrinfo>? = result
        while let address = entry?.pointee {
            entry = address.ai_next
            guard let socketAddress = address.ai_addr else { continue }
            addresses.append(Array(UnsafeRawBufferPointer(start: socketAddress, count: Int(address.ai_addrlen))))
        }
        guard !addresses.isEmpty else { throw HTTPClientError.hostNotFound(server, reason: "no addresses") }
        return addresses
    }
}
