// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import DCFTransport

/// 256 MiB each way over TLS, checked by SHA-256, with the handler consuming the upload on another thread.
@Suite struct ServerLargeBodyTests {
    static let blocks = 256

    /// Hashes uploads on a serial queue before asking for more, and streams downloads with bounded buffering.
    private static func handler() -> ClosureHandler {
        ClosureHandler { head, responder in
            if head.method == "GET" {
                DispatchQueue.global().async { streamDownload(responder) }
                return .discard
            }
            return HashingUploadHandler.handling(responder)
        }
    }

    private static func streamDownload(_ responder: HTTPResponder) {
        guard let writer = responder.startStreaming(status: .ok) else { return }
        let window = DispatchSemaphore(value: 4)
        for index in 0..<blocks {
            window.wait()
            writer.write(TestBody.block(index)) { _ in window.signal() }
        }
        writer.end()
    }

    @Test func largeBodiesBothWaysOverTLS() async throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let serverContext = try TLSContext(configuration: .server(
            certificateChainFile: certificates.server.certificateFile, privateKeyFile: certificates.server.privateKeyFile
        ))
        let clientContext = try TLSContext(configuration: .client(
            trustedCAFile: certificates.ca.certificateFile, serverName: "localhost"
        ))
        let running = try RunningServer(security: .tls(serverContext), handler: Self.handler())
        let client = try HTTPTestClient(port: running.port, tls: clientContext)
        let expected = TestBody.digest(blocks: Self.blocks)

        try client.send("PUT /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: \(Self.blocks * TestBody.blockSize)\r\n\r\n")
        for index in 0..<Self.blocks { try client.send(TestBody.block(index)) }
        let upload = try client.readResponse()
        #expect(upload.status == 200)
        #expect(upload.text == expected)

        try client.send("GET /download HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let digest = SHA256Digest()
        var received = 0
        let download = try client.readResponse { chunk in
            received += chunk.count
            digest.update(chunk)
        }
        #expect(download.headers["transfer-encoding"] == "chunked")
        #expect(received == Self.blocks * TestBody.blockSize)
        #expect(digest.finish() == expected)
        await running.stop()
    }
}
