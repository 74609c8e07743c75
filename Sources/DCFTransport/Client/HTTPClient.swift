// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization

/// A blocking HTTP/1.1 client for one server, with TLS and a pool of keep-alive connections.
///
/// Each `execute` call blocks its thread until the response is complete, so call it from a thread or task that
/// may block. Concurrent calls from several threads are safe: each call uses its own connection, taken from the
/// pool or newly opened, and returns it to the pool afterwards when the response allows keep-alive.
public final class HTTPClient: Sendable {
    /// The server's host name or IP address.
    public let host: String
    /// The server's TCP port.
    public let port: Int
    /// The settings given at creation.
    public let configuration: HTTPClientConfiguration
    private let tlsContext: TLSContext?
    private let pool: HTTPConnectionPool
    private let openedConnections = Atomic<Int>(0)

    /// Creates a client for `host:port`; no connection is opened until the first request. `host` is a name or an
    /// IP address, an IPv6 address without the brackets of its URL form.
    ///
    /// - Throws: `TLSError` when the TLS configuration's files cannot be loaded, or `HTTPClientError` when the
    ///   configuration is inconsistent.
    public init(host: String, port: Int, configuration: HTTPClientConfiguration = HTTPClientConfiguration()) throws {
        let server = HostText.withPort(host, port)
        guard (1...65535).contains(port) else {
            throw HTTPClientError.invalidConfiguration(server, "port \(port) is outside 1...65535")
        }
        self.host = host
        self.port = port
        self.configuration = configuration
        switch configuration.transport {
        case .plainTCP:
            tlsContext = nil
        case .tls(let tls):
            guard tls.role == .client else {
                throw HTTPClientError.invalidConfiguration(
                    server, "the TLS configuration has role server; use TLSConfiguration.client(...)"
                )
            }
            tlsContext = try TLSContext(configuration: tls)
        }
        pool = HTTPConnectionPool(
            capacity: configuration.maximumIdleConnections, lifetime: configuration.idleConnectionLifetime
        )
        Self.ignoreBrokenPipeSignal
    }

    /// OpenSSL writes to sockets with `write`, which raises SIGPIPE when the peer has gone. The client reports a
    /// broken pipe as an error instead, so it ignores the signal process-wide, once.
    private static let ignoreBrokenPipeSignal: Void = {
        signal(SIGPIPE, SIG_IGN)
    }()

    /// Number of TCP connections this client has opened so far.
    public var openedConnectionCount: Int { openedConnections.load(ordering: .relaxed) }

    /// Sends `request` and returns the response with its whole body.
    ///
    /// A `Content-Length` body is read straight into the returned `Data`, without a copy through the
    /// connection's buffer.
    /// - Throws: `HTTPClientError`, for instance when the body exceeds `maximumResponseBodySize`.
    public func execute(_ request: HTTPClientRequest) throws -> HTTPClientResponse {
        let limit = configuration.maximumResponseBodySize
        var body = Data()
        var response = try perform(request) { reader, framing, _ in
            body = try reader.readWholeBody(framing, limit: limit)
        }
        response.body = body
        return response
    }

    /// Sends `request` and passes the response body to `receiveBody` piece by piece, for bodies too large to hold.
    ///
    /// `receiveBody` gets the response head (with an empty body) and the next piece, valid only during the call;
    /// it is not called for an empty body. An error it throws ends the request and closes the connection.
    /// - Returns: the response head, with an empty body.
    public func execute(
        _ request: HTTPClientRequest,
        receiveBody: (HTTPClientResponse, UnsafeRawBufferPointer) throws -> Void
    ) throws -> HTTPClientResponse {
        try perform(request) { reader, framing, response in
            try reader.readBody(framing) { piece in try receiveBody(response, piece) }
        }
    }

    /// Reads the body of the final response, given its framing and its head (with an empty body).
    private typealias BodyReader = (HTTPResponseReader, HTTPResponseReader.Framing, HTTPClientResponse) throws -> Void

    private func perform(_ request: HTTPClientRequest, readBody: BodyReader) throws -> HTTPClientResponse {
        do {
            return try executeOnce(request, readBody: readBody)
        } catch is ExpectationFailed {
            // A server or proxy that does not take `Expect: 100-continue` responds 417 before the body; the request
            // goes out again without the expectation, as RFC 9110 recommends.
            var plain = request
            plain.headers.remove(name: "Expect")
            return try executeOnce(plain, readBody: readBody)
        }
    }

    private func executeOnce(_ request: HTTPClientRequest, readBody: BodyReader) throws -> HTTPClientResponse {
        let deadlines = RequestDeadlines(
            idleTimeout: request.idleTimeout ?? configuration.idleTimeout,
            totalTimeout: request.totalTimeout ?? configuration.totalTimeout
        )
        if let reused = pool.take() {
            reused.deadlines = deadlines
            reused.receivedResponseBytes = false
            do {
                return try exchange(request, on: reused, readBody: readBody)
            } catch let error as HTTPClientError
                where error.isStaleConnection && (request.isReplayable || request.waitsForContinue)
                && !reused.receivedResponseBytes
            {
                // The server may close an idle keep-alive connection just as it is reused; a replayable request
                // goes out again once on a new connection. A request that waits for 100 Continue has sent no body
                // byte before the first response byte, so even a streamed body is still unread.
            }
        }
        let connection = try openConnection(deadlines: deadlines)
        return try exchange(request, on: connection, readBody: readBody)
    }

    /// Closes every idle pooled connection.
    public func closeIdleConnections() {
        pool.removeAll()
    }

    private func openConnection(deadlines: RequestDeadlines) throws -> HTTPClientConnection {
        let connection: HTTPClientConnection
        do {
            connection = try HTTPClientConnection(
                host: host, port: port, tlsContext: tlsContext, connectTimeout: configuration.connectTimeout,
                deadlines: deadlines, socketBufferBytes: configuration.socketBufferBytes
            )
        } catch let error as HTTPClientError {
            // The connection ends before the request is written, for example when a restarting server closes
            // it during the TLS handshake.
            throw error.beforeRequest()
        }
        openedConnections.add(1, ordering: .relaxed)
        return connection
    }

    private func exchange(
        _ request: HTTPClientRequest, on connection: HTTPClientConnection, readBody: BodyReader
    ) throws -> HTTPClientResponse {
        do {
            let writer = HTTPRequestWriter(
                connection: connection, hostHeader: hostHeader, userAgent: configuration.userAgent
            )
            let reader = HTTPResponseReader(connection: connection, maximumHeadSize: configuration.maximumResponseHeadSize)
            // The final response that arrived instead of 100 Continue. When it is set, the body was not sent.
            var headBeforeBody: HTTPResponseReader.Head?
            if request.expectsContinue {
                try writer.send(request) {
                    let deadlines = connection.deadlines
                    defer { connection.deadlines = deadlines }
                    if let wait = request.continueTimeout { connection.deadlines = deadlines.replacingIdleTimeout(wait) }
                    do {
                        headBeforeBody = try reader.readContinueOrFinalHead()
                    } catch let error as HTTPClientError {
                        throw error.beforeBody()
                    }
                    return headBeforeBody == nil
                }
            } else {
                try writer.send(request)
            }
            let head = try headBeforeBody ?? reader.readFinalHead()
            let framing = try reader.framing(of: head, method: request.method)
            if headBeforeBody != nil, head.statusCode == 417 {
                try reader.readBody(framing) { _ in }
                connection.close()
                throw ExpectationFailed()
            }
            let response = HTTPClientResponse(statusCode: head.statusCode, reason: head.reason, headers: head.headers)
            try readBody(reader, framing, response)
            finish(connection, head: head, framing: framing, request: request, bodyUnsent: headBeforeBody != nil)
            return response
        } catch let error as HTTPClientError
            where error.isConnectionClosed && tlsContext != nil && connection.completedRequests == 0
            && !connection.receivedResponseBytes
        {
            // With TLS 1.3 the client finishes its handshake before the server checks the client certificate,
            // so a rejected certificate shows up as a closed connection on the first request.
            connection.close()
            throw error.closedOverClientCertificate(presented: configuration.presentsClientCertificate)
        } catch {
            connection.close()
            throw error
        }
    }

    private func finish(
        _ connection: HTTPClientConnection, head: HTTPResponseReader.Head, framing: HTTPResponseReader.Framing,
        request: HTTPClientRequest, bodyUnsent: Bool
    ) {
        // After a response to a head whose body was never sent, the server may still wait for that body, so it
        // could take the next request for body bytes.
        let keepAlive = !bodyUnsent && framing != .untilClose
            && ResponseFraming.headAllowsReuse(
                minorVersion: head.minorVersion, statusCode: head.statusCode, headers: head.headers)
            && !request.headers.containsToken("close", in: "Connection")
        guard keepAlive else {
            connection.close()
            return
        }
        connection.completedRequests += 1
        connection.lastUsed = .now
        pool.put(connection)
    }

    /// The host as the `Host` header and error messages write it: an IPv6 address in brackets.
    private var hostHeaderName: String { HostText.bracketed(host) }

    private var hostHeader: String {
        let defaultPort = tlsContext == nil ? 80 : 443
        return port == defaultPort ? hostHeaderName : "\(hostHeaderName):\(port)"
    }
}

/// The server responded `417 Expectation Failed` before the body of a request with `Expect: 100-continue`.
private struct ExpectationFailed: Error {}
