// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
import TestSupport
@testable import DCFTransport

/// `HTTPClient.execute(_:)` with `Content-Length` bodies, which it reads straight into the body's storage, over
/// plain TCP and TLS. Every body byte depends on its offset, so a dropped or repeated byte changes the body. A
/// second request on the same connection checks that the body read stopped at its last byte.
@Suite struct ClientFixedBodyTests {
    /// Returns a body of `count` bytes in which no short run of bytes repeats at another offset.
    static func patternBody(_ count: Int) -> Data {
        var bytes = [UInt8](repeating: 0, count: count)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for index in 0..<count {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            bytes[index] = UInt8(truncatingIfNeeded: state >> 33)
        }
        return Data(bytes)
    }

    /// How the test server sends a response of `Content-Length` framing.
    enum Delivery: CaseIterable, CustomStringConvertible {
        /// Head and body in one write, so the body arrives with the head.
        case withHead
        /// The head, then the body in a second write after a pause, so the body arrives after the head was read.
        case afterHead
        /// The head and the first 1,000 body bytes in one write, the rest after a pause.
        case partlyWithHead

        var description: String {
            switch self {
            case .withHead: "withHead"
            case .afterHead: "afterHead"
            case .partlyWithHead: "partlyWithHead"
            }
        }
    }

    /// Body sizes: smaller than one read, exactly one TLS record, one byte over, and many records with a
    /// partial last one.
    static let sizes = [1, 100, TLSRecordCipher.maxPlaintext, TLSRecordCipher.maxPlaintext + 1, (1 << 20) + 3]

    static func respond(_ body: Data, by delivery: Delivery, on connection: ClientTestServerConnection) throws {
        let head = Data("HTTP/1.1 200 OK\r\nContent-Length: \(body.count)\r\n\r\n".utf8)
        switch delivery {
        case .withHead:
            try connection.write(head + body)
        case .afterHead:
            try connection.write(head)
            // The pause lets the client read the head alone. A pause too short on a busy machine makes the case
            // the same as `withHead`, so the test still passes or fails on the bytes alone.
            usleep(20_000)
            try connection.write(body)
        case .partlyWithHead:
            let split = min(1000, body.count)
            try connection.write(head + body.prefix(split))
            usleep(20_000)
            try connection.write(body.dropFirst(split))
        }
    }

    /// Starts a server that responds to `/body/SIZE` with the pattern body of SIZE bytes and anything else with `next`.
    private func startServer(tls: TLSConfiguration?, delivery: Delivery) throws -> ClientTestServer {
        try ClientTestServer(tls: tls) { request, connection in
            guard request.path.hasPrefix("/body/"), let size = Int(request.path.dropFirst("/body/".count)) else {
                return try connection.respond(body: Data("next".utf8))
            }
            try Self.respond(Self.patternBody(size), by: delivery, on: connection)
        }
    }

    /// Creates a client whose read of a body that waits for bytes past its end fails after 10 s instead of 60 s.
    private func client(port: Int, certificates: CertificateFactory?) throws -> HTTPClient {
        guard let certificates else {
            let configuration = HTTPClientConfiguration(transport: .plainTCP, idleTimeout: .seconds(10))
            return try HTTPClient(host: "127.0.0.1", port: port, configuration: configuration)
        }
        let configuration = HTTPClientConfiguration(
            transport: .tls(.client(trustedCAFile: certificates.ca.certificateFile)), idleTimeout: .seconds(10)
        )
        return try HTTPClient(host: "localhost", port: port, configuration: configuration)
    }

    private func checkBodies(tls: Bool, delivery: Delivery) throws {
        let certificates = tls ? try CertificateFactory() : nil
        defer { certificates?.remove() }
        let server = try startServer(
            tls: certificates.map { $0.serverConfiguration($0.server) }, delivery: delivery
        )
        defer { server.stop() }
        let client = try client(port: server.port, certificates: certificates)
        for size in Self.sizes {
            let response = try client.execute(HTTPClientRequest(path: "/body/\(size)"))
            #expect(response.body.count == size, "size \(size)")
            #expect(response.body == Self.patternBody(size), "size \(size)")
            let next = try client.execute(HTTPClientRequest(path: "/next"))
            #expect(String(decoding: next.body, as: UTF8.self) == "next", "after size \(size)")
        }
        #expect(client.openedConnectionCount == 1)
    }

    @Test(arguments: Delivery.allCases) func plainBodyArrivesWhole(_ delivery: Delivery) throws {
        try checkBodies(tls: false, delivery: delivery)
    }

    @Test(arguments: Delivery.allCases) func tlsBodyArrivesWhole(_ delivery: Delivery) throws {
        try checkBodies(tls: true, delivery: delivery)
    }

    /// The server's record layer is OpenSSL's here, so the client's records are opened from OpenSSL's.
    @Test func tlsBodyFromOpenSSLRecords() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        var configuration = certificates.serverConfiguration(certificates.server)
        configuration.recordLayer = .openSSL
        let server = try startServer(tls: configuration, delivery: .partlyWithHead)
        defer { server.stop() }
        let client = try client(port: server.port, certificates: certificates)
        let size = (1 << 20) + 3
        let response = try client.execute(HTTPClientRequest(path: "/body/\(size)"))
        #expect(response.body == Self.patternBody(size))
    }

    /// The client's own record layer off, so OpenSSL decrypts into the body.
    @Test func tlsBodyThroughOpenSSLClient() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let server = try startServer(tls: certificates.serverConfiguration(certificates.server), delivery: .partlyWithHead)
        defer { server.stop() }
        var tls = TLSConfiguration.client(trustedCAFile: certificates.ca.certificateFile)
        tls.recordLayer = .openSSL
        let client = try HTTPClient(
            host: "localhost", port: server.port,
            configuration: HTTPClientConfiguration(transport: .tls(tls), idleTimeout: .seconds(10))
        )
        let size = (1 << 20) + 3
        let response = try client.execute(HTTPClientRequest(path: "/body/\(size)"))
        #expect(response.body == Self.patternBody(size))
    }

    /// A TLS record damaged in transit in the middle of a 100,000-byte body fails authentication. Both read paths
    /// must fail with a TLS error, and the streamed one must pass on only body bytes as the server sent them.
    @Test(arguments: [true, false], [30_000, 60_000, 90_000])
    func damagedRecordMidBodyFails(whole: Bool, flipOffset: Int) throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let server = try startServer(tls: certificates.serverConfiguration(certificates.server), delivery: .withHead)
        defer { server.stop() }
        // The handshake takes a few kilobytes, so each offset of the server's stream is inside the body.
        let relay = try CorruptingRelay(targetPort: server.port, flipOffset: flipOffset)
        defer { relay.stop() }
        let client = try client(port: relay.port, certificates: certificates)
        let size = 100_000
        var streamed = Data()
        let error = #expect(throws: HTTPClientError.self) {
            if whole {
                _ = try client.execute(HTTPClientRequest(path: "/body/\(size)"))
            } else {
                _ = try client.execute(HTTPClientRequest(path: "/body/\(size)")) { _, piece in
                    streamed.append(contentsOf: piece)
                }
            }
        }
        #expect(error?.tlsError != nil, "\(error.map { "\($0)" } ?? "no error")")
        #expect(streamed.count < size)
        #expect(streamed == Self.patternBody(size).prefix(streamed.count))
    }

    /// Checks the error when the server announces 100,000 bytes, sends 40,000 (1,000 with the head) and closes.
    private func checkClosedMidBody(tls: Bool) throws {
        let certificates = tls ? try CertificateFactory() : nil
        defer { certificates?.remove() }
        let server = try ClientTestServer(tls: certificates.map { $0.serverConfiguration($0.server) }) { _, connection in
            let body = Self.patternBody(40_000)
            try connection.write(Data("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n".utf8) + body.prefix(1000))
            usleep(20_000)
            try connection.write(body.dropFirst(1000))
            throw ClientTestServerConnection.Failure(description: "closing mid-body")
        }
        defer { server.stop() }
        let client = try client(port: server.port, certificates: certificates)
        let error = #expect(throws: HTTPClientError.self) {
            try client.execute(HTTPClientRequest(path: "/body"))
        }
        let description = error.map { "\($0)" } ?? ""
        #expect(error?.isConnectionClosed == true, "\(description)")
        #expect(description.contains("receiving the body (40000 of 100000 bytes received)"), "\(description)")
    }

    @Test func plainCloseMidBodyCountsBytes() throws {
        try checkClosedMidBody(tls: false)
    }

    @Test func tlsCloseMidBodyCountsBytes() throws {
        try checkClosedMidBody(tls: true)
    }

    /// A body of exactly `maximumResponseBodySize` arrives, and one byte more fails with `responseTooLarge`.
    @Test func bodyOverLimitIsRejected() throws {
        let server = try startServer(tls: nil, delivery: .partlyWithHead)
        defer { server.stop() }
        var configuration = HTTPClientConfiguration(transport: .plainTCP, idleTimeout: .seconds(10))
        configuration.maximumResponseBodySize = 4096
        let client = try HTTPClient(host: "127.0.0.1", port: server.port, configuration: configuration)
        #expect(try client.execute(HTTPClientRequest(path: "/body/4096")).body == Self.patternBody(4096))
        let error = #expect(throws: HTTPClientError.self) {
            try client.execute(HTTPClientRequest(path: "/body/4097"))
        }
        #expect("\(error.map { "\($0)" } ?? "")".contains("exceeds the limit of 4096 bytes"))
    }
}
