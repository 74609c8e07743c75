// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

@testable import DCFTransport

@Suite struct ServerTLSWriteTimeoutTests {
    /// The server's socket takes about 4 KiB, so most of a 40 KiB response stays sealed in the TLS session's
    /// output buffer after the response's last byte left the connection's queue.
    @Test func unreadTLSResponseTailTimesOut() async throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let serverContext = try TLSContext(configuration: certificates.serverConfiguration(certificates.server))
        let clientContext = try TLSContext(configuration: .client(
            trustedCAFile: certificates.ca.certificateFile, serverName: "localhost"))
        var limits = HTTPServerLimits.patient
        limits.writeTimeout = .milliseconds(200)
        let body = [UInt8](repeating: 0x61, count: 40 * 1024)
        let handler = ClosureHandler { _, responder in
            responder.respond(HTTPResponse(status: .ok, body: .bytes(body)))
            return .discard
        }
        let direct = try DirectServerLoop(security: .tls(serverContext), limits: limits, handler: handler)
        let sockets = try TLSSocketPair()
        var sendBuffer: Int32 = 4096
        #expect(setsockopt(sockets.serverSide, SOL_SOCKET, SO_SNDBUF, &sendBuffer, socklen_t(MemoryLayout<Int32>.size)) == 0)
        // The client blocks, so its handshake needs no loop of its own.
        _ = fcntl(sockets.clientSide, F_SETFL, fcntl(sockets.clientSide, F_GETFL) & ~O_NONBLOCK)
        direct.serve(sockets.serverSide)

        let client = try TLSSession(context: clientContext, fileDescriptor: sockets.clientSide, serverName: "localhost")
        #expect(client.handshake() == .done(0))
        let request = Array("GET /large HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)
        #expect(request.withUnsafeBytes { client.write($0) } == .done(request.count))

        // The client reads nothing, so the server makes no progress and must close after the write timeout.
        #expect(await direct.waitForNoConnections())
        direct.stop()
        close(sockets.clientSide)
    }
}
