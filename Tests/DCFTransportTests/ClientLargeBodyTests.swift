// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization
import Testing
import TestSupport
@testable import DCFTransport

/// 256 MiB bodies each way over TLS, compared by SHA-256, so neither side needs the body in memory. The
/// 256 MiB test servers use OpenSSL's record layer, so the client's own records are checked against OpenSSL's.
@Suite struct ClientLargeBodyTests {
    static let blockSize = 1 << 20
    static let blockCount = 256

    /// Block `index` of the test body: a fixed pseudo-random MiB whose first eight bytes hold the index.
    static func block(_ index: Int, base: Data) -> Data {
        var block = base
        withUnsafeBytes(of: UInt64(index).littleEndian) { block.replaceSubrange(0..<8, with: $0) }
        return block
    }

    static func baseBlock() -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<blockSize).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    static func expectedDigest(base: Data) -> String {
        let digest = ClientDigest()
        for index in 0..<blockCount { digest.update(block(index, base: base)) }
        return digest.finish()
    }

    private func openSSLRecordServer(_ certificates: CertificateFactory) -> TLSConfiguration {
        var configuration = certificates.serverConfiguration(certificates.server)
        configuration.recordLayer = .openSSL
        return configuration
    }

    private func tlsClient(_ certificates: CertificateFactory, port: Int) throws -> HTTPClient {
        let configuration = HTTPClientConfiguration(
            transport: .tls(.client(trustedCAFile: certificates.ca.certificateFile))
        )
        return try HTTPClient(host: "localhost", port: port, configuration: configuration)
    }

    @Test func download256MiBStreamedToSink() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let base = Self.baseBlock()
        let server = try ClientTestServer(tls: openSSLRecordServer(certificates)) { _, connection in
            let length = Self.blockSize * Self.blockCount
            try connection.write(Data("HTTP/1.1 200 OK\r\nContent-Length: \(length)\r\n\r\n".utf8))
            for index in 0..<Self.blockCount { try connection.write(Self.block(index, base: base)) }
        }
        defer { server.stop() }

        let digest = ClientDigest()
        var received = 0
        let head = try tlsClient(certificates, port: server.port).execute(HTTPClientRequest(path: "/model")) { _, piece in
            digest.update(piece)
            received += piece.count
        }
        #expect(head.statusCode == 200)
        #expect(received == Self.blockSize * Self.blockCount)
        #expect(digest.finish() == Self.expectedDigest(base: base))
    }

    /// `execute` without a sink reads a `Content-Length` body straight into memory of its size.
    @Test func download64MiBCollectedWhole() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let base = Self.baseBlock()
        let blocks = 64
        let server = try ClientTestServer(tls: certificates.serverConfiguration(certificates.server)) { request, connection in
            guard request.path == "/model" else { return try connection.respond(body: Data("next".utf8)) }
            try connection.write(Data("HTTP/1.1 200 OK\r\nContent-Length: \(Self.blockSize * blocks)\r\n\r\n".utf8))
            for index in 0..<blocks { try connection.write(Self.block(index, base: base)) }
        }
        defer { server.stop() }
        let client = try tlsClient(certificates, port: server.port)

        let response = try client.execute(HTTPClientRequest(path: "/model"))
        let expected = ClientDigest()
        for index in 0..<blocks { expected.update(Self.block(index, base: base)) }
        let received = ClientDigest()
        received.update(response.body)
        #expect(response.body.count == Self.blockSize * blocks)
        #expect(received.finish() == expected.finish())
        // The same connection serves the next request, so the body read stopped at its last byte.
        #expect(try client.execute(HTTPClientRequest(path: "/next")).body == Data("next".utf8))
        #expect(client.openedConnectionCount == 1)
    }

    @Test func upload256MiBChunked() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let server = try ClientTestServer(tls: openSSLRecordServer(certificates)) { request, connection in
            try connection.respond(body: Data("\(request.bodyCount) \(request.bodyDigest)".utf8))
        }
        defer { server.stop() }

        let base = Self.baseBlock()
        let nextIndex = Atomic<Int>(0)
        let response = try tlsClient(certificates, port: server.port).execute(HTTPClientRequest(
            method: "POST", path: "/update",
            body: .stream(length: nil) {
                let index = nextIndex.add(1, ordering: .relaxed).oldValue
                return index < Self.blockCount ? Self.block(index, base: base) : nil
            }
        ))
        let expected = "\(Self.blockSize * Self.blockCount) \(Self.expectedDigest(base: base))"
        #expect(String(decoding: response.body, as: UTF8.self) == expected)
    }
}
