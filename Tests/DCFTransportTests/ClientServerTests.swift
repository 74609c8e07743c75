// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization
import Testing
import TestSupport
@testable import DCFTransport

/// The client against the event-loop `HTTPServer` of this module.
@Suite struct ClientServerTests {
    private func plainClient(port: Int, idleTimeout: Duration = .seconds(60)) throws -> HTTPClient {
        try HTTPClient(
            host: "127.0.0.1", port: port,
            configuration: HTTPClientConfiguration(transport: .plainTCP, idleTimeout: idleTimeout)
        )
    }

    @Test func keepAliveReusesConnection() async throws {
        let running = try RunningServer(handler: echoHandler())
        let client = try plainClient(port: running.port)
        for index in 0..<5 {
            let response = try client.execute(
                HTTPClientRequest(method: "POST", path: "/update/\(index)", body: .data(Data(count: 10)))
            )
            #expect(String(decoding: response.body, as: UTF8.self) == "POST /update/\(index) 10")
        }
        #expect(client.openedConnectionCount == 1)
        #expect(running.server.statistics.openConnections == 1)
        await running.stop()
    }

    @Test func chunkedUploadAndChunkedDownload() async throws {
        // The handler collects the chunked upload and streams it back in 4 KiB parts with chunked encoding.
        let handler = ClosureHandler { _, responder in
            .collect(maxBytes: 8 << 20) { body in
                guard let writer = responder.startStreaming(status: .ok) else { return }
                DispatchQueue.global().async {
                    var offset = 0
                    while offset < body.count {
                        let end = min(offset + 4096, body.count)
                        writer.write(Array(body[offset..<end]))
                        offset = end
                    }
                    writer.end()
                }
            }
        }
        let running = try RunningServer(handler: handler)
        let client = try plainClient(port: running.port)
        let chunks = (1...30).map { index in Data((0..<(index * 5003)).map { UInt8(truncatingIfNeeded: $0 &+ index) }) }
        let whole = chunks.reduce(Data(), +)
        let source = ChunkSource(chunks)
        var received = Data()
        let head = try client.execute(
            HTTPClientRequest(method: "PUT", path: "/echo", body: .stream(length: nil, nextChunk: { source.next() }))
        ) { _, piece in
            received.append(contentsOf: piece)
        }
        #expect(head.statusCode == 200)
        #expect(head.headers["Transfer-Encoding"] == "chunked")
        #expect(received == whole)
        #expect(client.openedConnectionCount == 1)
        await running.stop()
    }

    @Test func tlsRequestWithVerifiedCertificate() async throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let serverContext = try TLSContext(configuration: certificates.serverConfiguration(certificates.server))
        let running = try RunningServer(security: .tls(serverContext), handler: echoHandler())
        let client = try HTTPClient(
            host: "localhost", port: running.port,
            configuration: HTTPClientConfiguration(
                transport: .tls(.client(trustedCAFile: certificates.ca.certificateFile))
            )
        )
        for index in 0..<3 {
            let response = try client.execute(HTTPClientRequest(path: "/tls/\(index)"))
            #expect(String(decoding: response.body, as: UTF8.self) == "GET /tls/\(index) 0")
        }
        #expect(client.openedConnectionCount == 1)
        await running.stop()
    }

    @Test func parkedPollDoesNotBlockUpload() async throws {
        let parked = Mutex<HTTPResponder?>(nil)
        let handler = ClosureHandler { head, responder in
            if head.target == "/poll" {
                parked.withLock { $0 = responder }
                // Far longer than the suite, whose hundreds of concurrent tests can keep this one waiting for a
                // while on two cores. Only the upload may respond to the poll.
                responder.park(timeout: .seconds(600), onTimeout: { $0.respond(.text(.ok, "no change")) }) {}
                return .discard
            }
            return .collect(maxBytes: 1 << 20) { body in
                // Releasing the parked poll from the upload mimics a new global model version.
                _ = parked.withLock { $0 }?.respond(.text(.ok, "new version"))
                responder.respond(.text(.ok, "stored \(body.count)"))
            }
        }
        let running = try RunningServer(handler: handler)
        let client = try plainClient(port: running.port)
        let pollResult = Signal<String>()
        Thread {
            do {
                pollResult.set(String(decoding: try client.execute(HTTPClientRequest(path: "/poll")).body, as: UTF8.self))
            } catch {
                pollResult.set("failed: \(error)")
            }
        }.start()
        let parkedOne = await running.waitFor { $0.parkedRequests == 1 }
        let early = await pollResult.wait(seconds: 0)
        #expect(parkedOne, "the poll was not parked; its result: \(early ?? "none yet")")

        let upload = try client.execute(HTTPClientRequest(method: "POST", path: "/update", body: .data(Data(count: 1000))))
        #expect(String(decoding: upload.body, as: UTF8.self) == "stored 1000")
        let answer = await pollResult.wait(seconds: 30)
        #expect(answer == "new version")
        #expect(client.openedConnectionCount == 2)
        await running.stop()
    }

    @Test func idleTimeoutOnParkedRequest() async throws {
        let handler = ClosureHandler { _, responder in
            responder.park(timeout: nil) {}
            return .discard
        }
        let running = try RunningServer(handler: handler)
        let client = try plainClient(port: running.port, idleTimeout: .milliseconds(200))
        let error = try #require(throws: HTTPClientError.self) {
            try client.execute(HTTPClientRequest(path: "/poll"))
        }
        #expect(error.timeoutPhase == .idle)
        await running.stop(gracePeriod: .milliseconds(100))
    }
}
