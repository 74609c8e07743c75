// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization
import Testing
import TestSupport
@testable import DCFTransport

@Suite struct ClientHTTPTests {
    /// Answers every request with `<method> <path> <body byte count>`.
    private static let summarize: ClientTestServer.Handler = { request, connection in
        try connection.respond(body: Data("\(request.method) \(request.path) \(request.body.count)".utf8))
    }

    private func plainClient(_ server: ClientTestServer, _ configure: (inout HTTPClientConfiguration) -> Void = { _ in })
        throws -> HTTPClient
    {
        var configuration = HTTPClientConfiguration(transport: .plainTCP)
        configure(&configuration)
        return try HTTPClient(host: "127.0.0.1", port: server.port, configuration: configuration)
    }

    @Test func keepAliveReusesOneConnection() throws {
        let server = try ClientTestServer(handler: Self.summarize)
        defer { server.stop() }
        let client = try plainClient(server)
        for index in 0..<5 {
            let response = try client.execute(HTTPClientRequest(path: "/round/\(index)"))
            #expect(String(decoding: response.body, as: UTF8.self) == "GET /round/\(index) 0")
        }
        #expect(client.openedConnectionCount == 1)
        #expect(server.acceptedConnections == 1)
    }

    @Test func connectionCloseResponseIsNotReused() throws {
        let server = try ClientTestServer { request, connection in
            try connection.respond(headers: [("Connection", "close")], body: Data(request.path.utf8))
            throw ClientTestServerConnection.Failure(description: "closing as announced")
        }
        defer { server.stop() }
        let client = try plainClient(server)
        for _ in 0..<3 {
            #expect(try client.execute(HTTPClientRequest(path: "/once")).statusCode == 200)
        }
        #expect(client.openedConnectionCount == 3)
    }

    @Test func silentlyClosedIdleConnectionIsReplaced() throws {
        // The server closes after each response without announcing it, as a server's idle timeout does.
        let server = try ClientTestServer { request, connection in
            try connection.respond(body: Data(request.path.utf8))
            throw ClientTestServerConnection.Failure(description: "closing silently")
        }
        defer { server.stop() }
        let client = try plainClient(server)
        for index in 0..<3 {
            let response = try client.execute(HTTPClientRequest(path: "/\(index)"))
            #expect(String(decoding: response.body, as: UTF8.self) == "/\(index)")
        }
        #expect(client.openedConnectionCount == 3)
    }

    @Test func concurrentRequestsUseSeparateConnections() throws {
        let arrived = Atomic<Int>(0)
        let server = try ClientTestServer { request, connection in
            // The first request is parked until a second one arrives, as a long poll waits during an upload.
            if request.path == "/poll" {
                for _ in 0..<500 where arrived.load(ordering: .relaxed) < 2 { usleep(10_000) }
            }
            arrived.add(1, ordering: .relaxed)
            try connection.respond(body: Data(request.path.utf8))
        }
        defer { server.stop() }
        let client = try plainClient(server)
        let results = Mutex<[String]>([])
        let group = DispatchGroup()
        for path in ["/poll", "/upload", "/status"] {
            DispatchQueue.global().async(group: group) {
                let text = (try? client.execute(HTTPClientRequest(method: "POST", path: path, body: .data(Data(count: 10)))))
                    .map { String(decoding: $0.body, as: UTF8.self) } ?? "failed"
                results.withLock { $0.append(text) }
            }
        }
        #expect(group.wait(timeout: .now() + 30) == .success)
        #expect(results.withLock { $0.sorted() } == ["/poll", "/status", "/upload"])
        #expect(client.openedConnectionCount >= 2)
    }

    @Test func chunkedUploadArrivesWhole() throws {
        let server = try ClientTestServer { request, connection in
            let encoding = request.headers["Transfer-Encoding"] ?? "none"
            try connection.respond(body: Data("\(encoding) \(sha256Hex(request.body))".utf8))
        }
        defer { server.stop() }
        let client = try plainClient(server)
        let chunks = (0..<20).map { index in Data((0..<(index * 997 + 1)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }) }
        let whole = chunks.reduce(Data(), +)
        let source = ChunkSource(chunks)
        let response = try client.execute(HTTPClientRequest(
            method: "PUT", path: "/upload", body: .stream(length: nil, nextChunk: { source.next() })
        ))
        #expect(String(decoding: response.body, as: UTF8.self) == "chunked \(sha256Hex(whole))")
    }

    @Test func streamWithLengthUsesContentLength() throws {
        let server = try ClientTestServer { request, connection in
            let length = request.headers["Content-Length"] ?? "none"
            try connection.respond(body: Data("\(length) \(request.body.count)".utf8))
        }
        defer { server.stop() }
        let client = try plainClient(server)
        let source = ChunkSource([Data(count: 1000), Data(count: 24)])
        let response = try client.execute(HTTPClientRequest(
            method: "POST", path: "/upload", body: .stream(length: 1024, nextChunk: { source.next() })
        ))
        #expect(String(decoding: response.body, as: UTF8.self) == "1024 1024")
    }

    @Test func streamShorterThanDeclaredFails() throws {
        let server = try ClientTestServer(handler: Self.summarize)
        defer { server.stop() }
        let client = try plainClient(server)
        let source = ChunkSource([Data(count: 10)])
        let error = try #require(throws: HTTPClientError.self) {
            try client.execute(HTTPClientRequest(
                method: "POST", path: "/upload", body: .stream(length: 20, nextChunk: { source.next() })
            ))
        }
        #expect(error.description.contains("10 of the declared 20 bytes"))
    }

    @Test func fileUploadSendsContents() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let contents = Data((0..<700_000).map { UInt8(truncatingIfNeeded: $0 * 7) })
        let path = directory.file("model.bin")
        try contents.write(to: URL(fileURLWithPath: path))
        let server = try ClientTestServer { request, connection in
            try connection.respond(body: Data(sha256Hex(request.body).utf8))
        }
        defer { server.stop() }
        let response = try plainClient(server).execute(HTTPClientRequest(method: "POST", path: "/f", body: .file(path: path)))
        #expect(String(decoding: response.body, as: UTF8.self) == sha256Hex(contents))
    }

    @Test func missingUploadFileIsNamed() throws {
        let server = try ClientTestServer(handler: Self.summarize)
        defer { server.stop() }
        let error = try #require(throws: HTTPClientError.self) {
            try plainClient(server).execute(HTTPClientRequest(method: "POST", path: "/f", body: .file(path: "/nonexistent/model.bin")))
        }
        #expect(error.description.contains("/nonexistent/model.bin"))
    }

    @Test func chunkedDownloadStreamsToSink() throws {
        let chunks = (1...40).map { index in Data((0..<(index * 3001)).map { UInt8(truncatingIfNeeded: $0 ^ index) }) }
        let whole = chunks.reduce(Data(), +)
        let server = try ClientTestServer { _, connection in try connection.respondChunked(chunks) }
        defer { server.stop() }
        let client = try plainClient(server)
        var received = Data()
        var pieces = 0
        let head = try client.execute(HTTPClientRequest(path: "/model")) { response, piece in
            #expect(response.statusCode == 200)
            received.append(contentsOf: piece)
            pieces += 1
        }
        #expect(head.body.isEmpty)
        #expect(received == whole)
        #expect(pieces > 1)
        // The connection stays usable after a chunked body.
        #expect(try client.execute(HTTPClientRequest(path: "/again")).body == whole)
        #expect(client.openedConnectionCount == 1)
    }

    @Test func responseOverLimitIsRejected() throws {
        let server = try ClientTestServer { _, connection in try connection.respond(body: Data(count: 5000)) }
        defer { server.stop() }
        let client = try plainClient(server) { $0.maximumResponseBodySize = 4096 }
        let error = try #require(throws: HTTPClientError.self) {
            try client.execute(HTTPClientRequest(path: "/big"))
        }
        #expect(error.description.contains("exceeds the limit of 4096 bytes"))
    }

    @Test func idleTimeoutWhileServerIsSilent() throws {
        let server = try ClientTestServer { _, _ in
            Thread.sleep(forTimeInterval: 5)
        }
        defer { server.stop() }
        let client = try plainClient(server) { $0.idleTimeout = .milliseconds(200) }
        let error = try #require(throws: HTTPClientError.self) {
            try client.execute(HTTPClientRequest(path: "/stall"))
        }
        #expect(error.timeoutPhase == .idle)
        #expect(error.description.contains("timed out"))
    }

    @Test func totalTimeoutWhileServerTrickles() throws {
        let server = try ClientTestServer { _, connection in
            try connection.write(Data("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n".utf8))
            for _ in 0..<100 {
                try connection.write(Data("x".utf8))
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        defer { server.stop() }
        let client = try plainClient(server) { $0.idleTimeout = .seconds(10) }
        let error = try #require(throws: HTTPClientError.self) {
            try client.execute(HTTPClientRequest(path: "/trickle", totalTimeout: .milliseconds(300)))
        }
        #expect(error.timeoutPhase == .total)
    }

    @Test func truncatedBodyIsReported() throws {
        let server = try ClientTestServer { _, connection in
            try connection.write(Data("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort".utf8))
            throw ClientTestServerConnection.Failure(description: "closing early")
        }
        defer { server.stop() }
        let error = try #require(throws: HTTPClientError.self) {
            try plainClient(server).execute(HTTPClientRequest(path: "/cut"))
        }
        #expect(error.description.contains("5 of 100 bytes"))
    }
}

/// Hands out prepared chunks one by one, then nil.
final class ChunkSource: Sendable {
    private let chunks: Mutex<[Data]>

    init(_ chunks: [Data]) {
        self.chunks = Mutex(chunks.reversed())
    }

    func next() -> Data? {
        chunks.withLock { $0.popLast() }
    }
}
