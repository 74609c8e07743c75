// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization
import Testing
import TestSupport
@testable import DCFTransport

@Suite struct MultiplexedClientTests {
    /// Starts a TLS `HTTPServer` on 127.0.0.1 with the test certificates.
    private func tlsServer(
        _ certificates: CertificateFactory, identity: CertificateFactory.Identity? = nil, handler: some HTTPHandler
    ) throws -> RunningServer {
        let identity = identity ?? certificates.server
        let context = try TLSContext(configuration: .server(
            certificateChainFile: identity.certificateFile, privateKeyFile: identity.privateKeyFile))
        return try RunningServer(security: .tls(context), handler: handler)
    }

    @Test func manyConnectionsKeepAliveOverTLS() async throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let running = try tlsServer(certificates, handler: echoHandler())
        let test = try MultiplexedTestClient(certificates: certificates, port: running.port, connections: 200)
        let rounds = 3
        let bodies = Mutex<[[String]]>(Array(repeating: [], count: 200))
        let failures = Mutex<[String]>([])
        let finished = DispatchSemaphore(value: 0)

        // Each connection sends its next request from the completion of the previous one, as a worker re-polls.
        @Sendable func send(_ connection: Int, round: Int) {
            let request = HTTPClientRequest(method: "POST", path: "/c\(connection)/r\(round)", body: .data(Data("abc".utf8)))
            test.client.send(request, on: connection) { result in
                switch result {
                case .success(let response): bodies.withLock { $0[connection].append(response.text) }
                case .failure(let error): failures.withLock { $0.append("\(error)") }
                }
                if case .success = result, round + 1 < rounds {
                    send(connection, round: round + 1)
                } else {
                    finished.signal()
                }
            }
        }
        for connection in 0..<200 { send(connection, round: 0) }
        var finishedCount = 0
        for _ in 0..<200 where finished.wait(timeout: .now() + 60) == .success { finishedCount += 1 }
        test.client.shutdown()

        #expect(finishedCount == 200)
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0.prefix(3) })")
        let received = bodies.withLock { $0 }
        for connection in 0..<200 {
            #expect(received[connection] == (0..<rounds).map { "POST /c\(connection)/r\($0) 3" })
        }
        #expect(test.client.openedConnectionCount == 200)
        await running.stop()
    }

    @Test func chunkedAndContentLengthBodies() async throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let pieces = (0..<20).map { index in Array(repeating: UInt8(ascii: "a") + UInt8(index), count: 100 + index) }
        let handler = ClosureHandler { head, responder in
            if head.target == "/chunked", let writer = responder.startStreaming(status: .ok) {
                for piece in pieces { writer.write(piece) }
                writer.end()
            } else {
                responder.respond(.text(.ok, "fixed \(head.target)"))
            }
            return .discard
        }
        let running = try tlsServer(certificates, handler: handler)
        let test = try MultiplexedTestClient(certificates: certificates, port: running.port, connections: 1)
        defer { test.client.shutdown() }

        let chunked = try #require(test.fetch(HTTPClientRequest(path: "/chunked"))).get()
        #expect(chunked.headers["Transfer-Encoding"] == "chunked")
        #expect(chunked.body == Data(pieces.joined()))
        let fixed = try #require(test.fetch(HTTPClientRequest(path: "/fixed"))).get()
        #expect(fixed.headers["Content-Length"] == "12")
        #expect(fixed.text == "fixed /fixed")
        #expect(test.client.openedConnectionCount == 1)
        await running.stop()
    }

    @Test func responseSplitAcrossManySegments() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let response = Data(("HTTP/1.1 200 Split\r\nX-Long:   padded value  \r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nTrailer: x\r\n\r\n").utf8)
        let server = try ClientTestServer(tls: certificates.serverConfiguration(certificates.server)) { _, connection in
            // One TLS record per byte; the pause lets each record leave as its own TCP segment.
            for byte in response {
                try connection.write(Data([byte]))
                usleep(200)
            }
        }
        defer { server.stop() }
        let test = try MultiplexedTestClient(certificates: certificates, port: server.port, connections: 1)
        defer { test.client.shutdown() }

        for _ in 0..<2 {
            let received = try #require(test.fetch(HTTPClientRequest(path: "/split"))).get()
            #expect(received.statusCode == 200)
            #expect(received.reason == "Split")
            #expect(received.headers["X-Long"] == "padded value")
            #expect(received.text == "hello, world")
        }
        #expect(server.acceptedConnections == 1)
    }

    @Test func closeMidResponseIsAnError() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let server = try ClientTestServer(tls: certificates.serverConfiguration(certificates.server)) { _, connection in
            try connection.write(Data("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b".utf8))
            throw ClientTestServerConnection.Failure(description: "closing mid-response")
        }
        defer { server.stop() }
        let test = try MultiplexedTestClient(certificates: certificates, port: server.port, connections: 1)
        defer { test.client.shutdown() }

        let result = try #require(test.fetch(HTTPClientRequest(path: "/cut")))
        let error = try #require(result.error)
        #expect(error.isConnectionClosed)
        #expect(error.description.contains("receiving the response"))
    }

    @Test func wrongHostCertificateIsRejected() async throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let running = try tlsServer(certificates, identity: certificates.wrongHostServer, handler: echoHandler())
        let test = try MultiplexedTestClient(certificates: certificates, port: running.port, connections: 1)
        defer { test.client.shutdown() }

        let result = try #require(test.fetch(HTTPClientRequest(path: "/")))
        let error = try #require(result.error)
        #expect(error.tlsError?.verificationFailure != nil)
        #expect(error.description.contains("host name mismatch"))
        await running.stop()
    }

    @Test func plainTCPKeepAlive() async throws {
        let running = try RunningServer(handler: echoHandler())
        let test = try MultiplexedTestClient(plainPort: running.port, connections: 2)
        defer { test.client.shutdown() }
        for index in 0..<4 {
            let response = try #require(test.fetch(HTTPClientRequest(path: "/p\(index)"), on: index % 2)).get()
            #expect(response.text == "GET /p\(index) 0")
        }
        let count = Mutex(0)
        let done = DispatchSemaphore(value: 0)
        test.client.execute {
            count.withLock { $0 = test.client.openedConnectionCount }
            done.signal()
        }
        done.wait()
        #expect(count.withLock { $0 } == 2)
        await running.stop()
    }

    @Test func invalidUseIsReported() async throws {
        let running = try RunningServer(handler: ClosureHandler { _, responder in
            // No response: the first request stays in flight.
            responder.park(timeout: nil, onDisconnect: {})
            return .discard
        })
        let test = try MultiplexedTestClient(plainPort: running.port, connections: 1)

        let outOfRange = try #require(test.fetch(HTTPClientRequest(path: "/"), on: 1))
        #expect(outOfRange.error?.description.contains("outside 0..<1") == true)

        let first = Mutex<Result<HTTPClientResponse, HTTPClientError>?>(nil)
        test.client.send(HTTPClientRequest(path: "/parked"), on: 0) { result in first.withLock { $0 = result } }
        let busy = try #require(test.fetch(HTTPClientRequest(path: "/second")))
        #expect(busy.error?.description.contains("already has a request in flight") == true)

        test.client.shutdown()
        #expect(first.withLock { $0 }?.error?.description.contains("shut down") == true)
        await running.stop()
    }
}
