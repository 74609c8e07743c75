// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import DCFTransport

/// `HTTPServerLimits.firstByteTimeout`: a TLS connection that sends nothing closes long before the handshake
/// timeout, unless its bytes already wait unread in the kernel.
@Suite struct ServerFirstByteTimeoutTests {
    private static let firstByteTimeout: Duration = .seconds(100)

    /// Limits whose timers never fire during a test: the tests expire the first-byte deadline by calling
    /// `timerFired(now:)` with a time between it and the handshake deadline.
    private static var limits: HTTPServerLimits {
        var limits = HTTPServerLimits.patient
        limits.firstByteTimeout = firstByteTimeout
        limits.handshakeTimeout = .seconds(300)
        return limits
    }

    /// A TLS server loop serving one end of a socket pair, with contexts for both ends.
    private struct DirectTLS {
        let certificates: CertificateFactory
        let clientContext: TLSContext
        let direct: DirectServerLoop
        let sockets: TLSSocketPair

        init() throws {
            certificates = try CertificateFactory()
            let serverContext = try TLSContext(configuration: certificates.serverConfiguration(certificates.server))
            clientContext = try TLSContext(configuration: .client(
                trustedCAFile: certificates.ca.certificateFile, serverName: "localhost"))
            direct = try DirectServerLoop(
                security: .tls(serverContext), limits: ServerFirstByteTimeoutTests.limits, handler: echoHandler())
            sockets = try TLSSocketPair()
            direct.serve(sockets.serverSide)
        }

        /// Runs `body` on the loop with the served connection once the loop has registered it, and returns the
        /// result. Returns nil when no connection was registered after checking every 10 ms for 30 s.
        func onConnection<Value: Sendable>(_ body: @escaping @Sendable (HTTPConnection) -> Value) async -> Value? {
            let server = LoopBoundServer(server: direct.server)
            for _ in 0..<3000 {
                let result = Signal<Value?>()
                direct.server.loop.execute {
                    result.set(server.server.connections.values.first.map(body))
                }
                if let value = await result.wait(), let value { return value }
                try? await Task.sleep(for: .milliseconds(10))
            }
            return nil
        }

        func stop() {
            direct.stop()
            close(sockets.clientSide)
            certificates.remove()
        }
    }

    /// The loop's server state sent to that loop's own task queue.
    private struct LoopBoundServer: @unchecked Sendable {  // Used only inside tasks of `server.loop`.
        let server: ServerLoop
    }

    /// A client TLS session sent to the loop and back; used by one thread at a time.
    private final class ClientBox: @unchecked Sendable {
        var session: TLSSession?
    }

    @Test func silentConnectionClosesAtFirstByteTimeout() async throws {
        let fixture = try DirectTLS()
        defer { fixture.stop() }
        let phaseAfterTimer = await fixture.onConnection { connection in
            connection.timerFired(now: connection.phaseStart &+ (Self.firstByteTimeout + .seconds(1)).nanoseconds)
            return connection.phase == .closed
        }
        #expect(phaseAfterTimer == true, "a connection that sent nothing outlived the first-byte timeout")
        #expect(await fixture.direct.waitForNoConnections())
        var byte: UInt8 = 0
        #expect(recv(fixture.sockets.clientSide, &byte, 1, 0) == 0)
    }

    /// The client's ClientHello reaches the kernel in the same loop task that expires the first-byte deadline,
    /// so the loop has not read it when the timer fires. The connection stays and completes its handshake.
    @Test func unreadClientHelloKeepsConnection() async throws {
        let fixture = try DirectTLS()
        defer { fixture.stop() }
        let box = ClientBox()
        box.session = try TLSSession(
            context: fixture.clientContext, fileDescriptor: fixture.sockets.clientSide, serverName: "localhost")
        let outcome = await fixture.onConnection { connection in
            let firstFlight = box.session?.handshake()
            connection.timerFired(now: connection.phaseStart &+ (Self.firstByteTimeout + .seconds(1)).nanoseconds)
            return (firstFlight == .wantRead, connection.phase == .closed)
        }
        #expect(outcome?.0 == true, "the client did not send its ClientHello")
        #expect(outcome?.1 == false, "the first-byte timeout closed a connection whose ClientHello waited unread")

        // The client blocks from here on, so its handshake needs no loop of its own.
        let client = try #require(box.session)
        _ = fcntl(fixture.sockets.clientSide, F_SETFL, fcntl(fixture.sockets.clientSide, F_GETFL) & ~O_NONBLOCK)
        #expect(client.handshake() == .done(0))
        let request = Array("GET /after HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)
        #expect(request.withUnsafeBytes { client.write($0) } == .done(request.count))
        var response = [UInt8](repeating: 0, count: 12)
        #expect(response.withUnsafeMutableBytes { client.read(into: $0) } == .done(12))
        #expect(String(decoding: response, as: UTF8.self) == "HTTP/1.1 200")
    }

    /// Once its first bytes arrived, a connection has the whole handshake timeout.
    @Test func startedHandshakeIgnoresFirstByteTimeout() async throws {
        let fixture = try DirectTLS()
        defer { fixture.stop() }
        // The start of a TLS record header: the server begins its handshake and waits for the rest.
        let recordStart: [UInt8] = [0x16, 0x03, 0x01]
        #expect(recordStart.withUnsafeBytes { send(fixture.sockets.clientSide, $0.baseAddress, $0.count, 0) } == 3)
        var handshaking = false
        for _ in 0..<3000 where !handshaking {
            handshaking = await fixture.onConnection { $0.phase == .handshaking } == true
            if !handshaking { try? await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(handshaking, "the server did not start the handshake")
        let closed = await fixture.onConnection { connection in
            connection.timerFired(now: connection.phaseStart &+ (Self.firstByteTimeout + .seconds(1)).nanoseconds)
            return connection.phase == .closed
        }
        #expect(closed == false)
    }

    /// Over a real socket and its real timer, with the handshake timeout far away.
    @Test func silentSocketClosedOnRealServer() async throws {
        var limits = HTTPServerLimits.patient
        limits.handshakeTimeout = .seconds(300)
        limits.firstByteTimeout = .milliseconds(200)
        let fixture = try ServerTLSTests.TLSFixture(limits: limits, handler: echoHandler())
        let silent = try HTTPTestClient(port: fixture.running.port)
        #expect(try silent.receiveUntilClosed().isEmpty)
        #expect(await fixture.running.waitFor { $0.openConnections == 0 })
        await fixture.stop()
    }
}
