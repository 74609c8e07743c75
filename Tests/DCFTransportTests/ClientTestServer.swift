// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization
import TestSupport
@testable import DCFTransport

/// A small blocking HTTP/1.1 server on 127.0.0.1:0 for client tests: one thread per connection, optional TLS,
/// and a handler that sees each parsed request and writes raw response bytes.
final class ClientTestServer: @unchecked Sendable {
    // @unchecked Sendable: the listening socket and handler are constants, and mutable state sits in Mutex/Atomic.
    /// A request line and header fields, before the body is read.
    struct RequestHead {
        var method: String
        var path: String
        var headers: HTTPHeaders
    }

    struct Request {
        var method: String
        var path: String
        var headers: HTTPHeaders
        /// The body, or empty when it exceeded 16 MiB.
        var body: Data
        var bodyCount: Int
        var bodyDigest: String
    }

    typealias Handler = @Sendable (Request, ClientTestServerConnection) throws -> Void
    /// Serves one whole connection and reads the requests itself. The server closes the socket when it returns.
    typealias ConnectionHandler = @Sendable (ClientTestServerConnection) throws -> Void

    let port: Int
    private let listener: Int32
    private let context: TLSContext?
    private let serveConnection: ConnectionHandler
    private let openConnections = Mutex<[Int32]>([])
    private let accepted = Atomic<Int>(0)
    /// Errors the server side saw, such as failed TLS handshakes.
    let serverErrors = Mutex<[String]>([])

    /// Starts a server that reads each request with its whole body and passes it to `handler`.
    convenience init(tls: TLSConfiguration? = nil, handler: @escaping Handler) throws {
        try self.init(tls: tls) { (connection: ClientTestServerConnection) in
            while let request = try connection.readRequest() {
                try handler(request, connection)
            }
        }
    }

    /// Starts a server that passes each accepted connection to `serveConnection`.
    init(tls: TLSConfiguration? = nil, serveConnection: @escaping ConnectionHandler) throws {
        context = try tls.map { try TLSContext(configuration: $0) }
        self.serveConnection = serveConnection
        (listener, port) = try LoopbackSocket.listen(backlog: 64)
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    /// Number of TCP connections accepted so far.
    var acceptedConnections: Int { accepted.load(ordering: .relaxed) }

    /// Stops accepting and closes every open connection.
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        openConnections.withLock { descriptors in
            for descriptor in descriptors { shutdown(descriptor, Int32(SHUT_RDWR)) }
        }
    }

    private func acceptLoop() {
        while true {
            let descriptor = accept(listener, nil, nil)
            guard descriptor >= 0 else {
                if errno == EINTR { continue }
                close(listener)
                return
            }
            accepted.add(1, ordering: .relaxed)
            openConnections.withLock { $0.append(descriptor) }
            Thread { [self] in serve(descriptor) }.start()
        }
    }

    private func serve(_ descriptor: Int32) {
        defer {
            openConnections.withLock { $0.removeAll { $0 == descriptor } }
            close(descriptor)
        }
        do {
            let connection = try ClientTestServerConnection(descriptor: descriptor, context: context)
            try serveConnection(connection)
        } catch {
            serverErrors.withLock { $0.append("\(error)") }
        }
    }
}
