// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Foundation
import Testing
import TestSupport

@testable import DCFTransport

/// Connection endings that `ServerAddressLimitTests` does not cover: over `maxConnections`, a half-close, and
/// TLS handshakes that fail or are reset. Each must give its per-address count back.
@Suite struct ServerAddressLimitEndingTests {
    private static let request = "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n"

    /// Returns a blocking TCP socket connected to 127.0.0.1:`port` with a 10 s receive timeout, or -1.
    private static func connectSocket(port: Int) -> Int32 {
        (try? LoopbackSocket.connect(port: port, timeout: 10)) ?? -1
    }

    private static func sendBytes(_ bytes: [UInt8], on fd: Int32) -> Bool {
        bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// Reads until the server closes `fd` or the receive timeout passes; returns the bytes read.
    private static func readUntilClosed(_ fd: Int32) -> [UInt8] {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<1000 {
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            received += buffer[0..<count]
        }
        return received
    }

    /// A connection over `maxConnections` gets 503, one past the 10% margin is closed without a response, and
    /// both give their counts back, as do the connections under the limit.
    @Test func overConnectionLimitGivesCountBack() async throws {
        var limits = HTTPServerLimits.patient
        limits.maxConnections = 2
        limits.maxConnectionsPerAddress = 4
        let running = try RunningServer(limits: limits, handler: echoHandler())
        for _ in 0..<5 {
            let underLimit = (0..<2).map { _ in Self.connectSocket(port: running.port) }
            for fd in underLimit { try #require(fd >= 0) }
            #expect(await running.waitFor { $0.openConnections == 2 })

            let overCapacity = Self.connectSocket(port: running.port)
            try #require(overCapacity >= 0)
            #expect(await running.waitFor { $0.openConnections == 3 })
            let beyondMargin = Self.connectSocket(port: running.port)
            try #require(beyondMargin >= 0)
            #expect(Self.readUntilClosed(beyondMargin).isEmpty)
            close(beyondMargin)

            #expect(Self.sendBytes(Array(Self.request.utf8), on: overCapacity))
            let response = String(decoding: Self.readUntilClosed(overCapacity), as: UTF8.self)
            #expect(response.hasPrefix("HTTP/1.1 503"))
            close(overCapacity)
            for fd in underLimit { close(fd) }
            #expect(await running.waitFor { $0.openConnections == 0 })
        }
        #expect(running.server.connectionsPerAddress.isEmpty)
        #expect(running.server.statistics.connectionsRejectedPerAddress == 0)
        await running.stop()
    }

    /// A client that sends its request and then shuts down its writing side gets the response, and the
    /// connection's count returns when the server closes it.
    @Test func halfCloseGivesCountBack() async throws {
        var limits = HTTPServerLimits.patient
        limits.maxConnectionsPerAddress = 2
        let running = try RunningServer(limits: limits, handler: echoHandler())
        for _ in 0..<5 {
            let clients = try (0..<2).map { _ in try HTTPTestClient(port: running.port) }
            for client in clients {
                try client.send(Self.request)
                client.shutdownWrite()
                #expect(try client.readResponse().status == 200)
            }
            for client in clients { _ = try client.receiveUntilClosed() }
            #expect(await running.waitFor { $0.openConnections == 0 })
        }
        #expect(running.server.connectionsPerAddress.isEmpty)
        #expect(running.server.statistics.connectionsRejectedPerAddress == 0)
        await running.stop()
    }

    /// A ClientHello that OpenSSL rejects with an alert, and a handshake reset halfway, give their counts back.
    @Test func failedTLSHandshakesGiveCountBack() async throws {
        var limits = HTTPServerLimits.patient
        limits.maxConnectionsPerAddress = 2
        let fixture = try ServerTLSTests.TLSFixture(limits: limits, handler: echoHandler())
        let port = fixture.running.port
        // A handshake record with a message of an unknown type, which no TLS version accepts.
        let invalidHello: [UInt8] = [0x16, 0x03, 0x01, 0x00, 0x08, 0xFE, 0x00, 0x00, 0x04, 0, 0, 0, 0]
        for _ in 0..<5 {
            let rejected = Self.connectSocket(port: port)
            try #require(rejected >= 0)
            #expect(Self.sendBytes(invalidHello, on: rejected))
            _ = Self.readUntilClosed(rejected)
            close(rejected)

            let partial = Self.connectSocket(port: port)
            try #require(partial >= 0)
            #expect(Self.sendBytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01], on: partial))
            #expect(await fixture.running.waitFor { $0.openConnections >= 1 })
            LoopbackSocket.reset(partial)
            #expect(await fixture.running.waitFor { $0.openConnections == 0 })
        }
        #expect(fixture.running.server.connectionsPerAddress.isEmpty)

        let clients = try (0..<2).map { _ in try HTTPTestClient(port: port, tls: fixture.clientContext) }
        for client in clients {
            try client.send(Self.request)
            #expect(try client.readResponse().status == 200)
        }
        #expect(fixture.running.server.statistics.connectionsRejectedPerAddress == 0)
        await fixture.stop()
    }
}
