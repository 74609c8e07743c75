// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
import TestSupport
@testable import DCFTransport

/// A response without `Content-Length` or chunked framing ends when the connection closes. Over TLS a proper end
/// sends close_notify first, so a TCP stream that ends without it may have been cut by someone on the path, and
/// the body may be truncated. Both clients must then fail, on both record layers, and still accept the body
/// when close_notify came. Plain HTTP has no way to tell, so there the end of the stream ends the body.
@Suite struct ClientTruncatedBodyTests {
    /// A close-delimited response: HTTP/1.1 with `Connection: close` and no framing field.
    private static let response = Data("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npartial body".utf8)

    /// Starts a server that responds to the first request with `response`, sends close_notify only when
    /// `sendsCloseNotify` is set, and closes the socket.
    private static func server(
        _ certificates: CertificateFactory?, sendsCloseNotify: Bool = false
    ) throws -> ClientTestServer {
        try ClientTestServer(tls: certificates.map { $0.serverConfiguration($0.server) }) { connection in
            guard try connection.readRequest() != nil else { return }
            try connection.corked {
                try connection.write(response)
                if sendsCloseNotify { connection.sendCloseNotify() }
            }
        }
    }

    private static func serialClient(
        _ certificates: CertificateFactory, port: Int, recordLayer: TLSConfiguration.RecordLayer
    ) throws -> HTTPClient {
        var tls = TLSConfiguration.client(trustedCAFile: certificates.ca.certificateFile)
        tls.recordLayer = recordLayer
        let configuration = HTTPClientConfiguration(transport: .tls(tls), idleTimeout: .seconds(10))
        return try HTTPClient(host: "localhost", port: port, configuration: configuration)
    }

    private static func expectTruncation(_ error: HTTPClientError, port: Int) {
        #expect(error.description.contains("without close_notify"), "\(error)")
        #expect(error.description.contains("may be truncated"), "\(error)")
        #expect(error.description.contains("localhost:\(port)"), "\(error)")
    }

    @Test(arguments: TLSConfiguration.RecordLayer.allCases)
    func serialWholeBodyWithoutCloseNotifyFails(recordLayer: TLSConfiguration.RecordLayer) throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let server = try Self.server(certificates)
        defer { server.stop() }
        let client = try Self.serialClient(certificates, port: server.port, recordLayer: recordLayer)

        let error = try #require(throws: HTTPClientError.self) {
            _ = try client.execute(HTTPClientRequest(path: "/"))
        }
        Self.expectTruncation(error, port: server.port)
    }

    @Test(arguments: TLSConfiguration.RecordLayer.allCases)
    func serialStreamedBodyWithoutCloseNotifyFails(recordLayer: TLSConfiguration.RecordLayer) throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let server = try Self.server(certificates)
        defer { server.stop() }
        let client = try Self.serialClient(certificates, port: server.port, recordLayer: recordLayer)

        var streamed = Data()
        let error = try #require(throws: HTTPClientError.self) {
            _ = try client.execute(HTTPClientRequest(path: "/")) { _, piece in streamed.append(contentsOf: piece) }
        }
        Self.expectTruncation(error, port: server.port)
        // The bytes before the cut already went to the caller, and the error warns that they may be incomplete.
        #expect(String(decoding: streamed, as: UTF8.self) == "partial body")
    }

    @Test(arguments: TLSConfiguration.RecordLayer.allCases)
    func serialBodyWithCloseNotifyWorks(recordLayer: TLSConfiguration.RecordLayer) throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let server = try Self.server(certificates, sendsCloseNotify: true)
        defer { server.stop() }
        let client = try Self.serialClient(certificates, port: server.port, recordLayer: recordLayer)

        let response = try client.execute(HTTPClientRequest(path: "/"))
        #expect(String(decoding: response.body, as: UTF8.self) == "partial body")
    }

    @Test(arguments: TLSConfiguration.RecordLayer.allCases)
    func multiplexedBodyWithoutCloseNotifyFails(recordLayer: TLSConfiguration.RecordLayer) throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let server = try Self.server(certificates)
        defer { server.stop() }
        let test = try MultiplexedTestClient(
            certificates: certificates, port: server.port, connections: 1, recordLayer: recordLayer)
        defer { test.client.shutdown() }

        let result = try #require(test.fetch(HTTPClientRequest(path: "/")))
        let error = try #require(result.error)
        Self.expectTruncation(error, port: server.port)
    }

    @Test(arguments: TLSConfiguration.RecordLayer.allCases)
    func multiplexedBodyWithCloseNotifyWorks(recordLayer: TLSConfiguration.RecordLayer) throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let server = try Self.server(certificates, sendsCloseNotify: true)
        defer { server.stop() }
        let test = try MultiplexedTestClient(
            certificates: certificates, port: server.port, connections: 1, recordLayer: recordLayer)
        defer { test.client.shutdown() }

        let result = try #require(test.fetch(HTTPClientRequest(path: "/")))
        let response = try result.get()
        #expect(response.text == "partial body")
    }

    @Test func plainBodyEndsAtClose() throws {
        let server = try Self.server(nil)
        defer { server.stop() }
        let configuration = HTTPClientConfiguration(transport: .plainTCP, idleTimeout: .seconds(10))
        let serial = try HTTPClient(host: "127.0.0.1", port: server.port, configuration: configuration)
        let multiplexed = try MultiplexedTestClient(plainPort: server.port, connections: 1)
        defer { multiplexed.client.shutdown() }

        let response = try serial.execute(HTTPClientRequest(path: "/"))
        #expect(String(decoding: response.body, as: UTF8.self) == "partial body")
        let result = try #require(multiplexed.fetch(HTTPClientRequest(path: "/")))
        #expect(try result.get().text == "partial body")
    }
}
