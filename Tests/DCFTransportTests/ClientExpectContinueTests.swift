// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization
import Testing
import TestSupport
@testable import DCFTransport

/// `HTTPClient` with `Expect: 100-continue`, which sends the body only after the server sends `100 Continue`.
@Suite struct ClientExpectContinueTests {
    static let expectContinue: HTTPHeaders = ["Expect": "100-continue"]
    static let interimContinue = Data("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// How the test body is handed to the client.
    enum BodyKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case data, file, sizedStream, chunkedStream
        var testDescription: String { rawValue }
    }

    /// A request body with known contents. For a stream body, `source` counts the chunks the client took.
    struct UploadBody {
        let data: Data
        let body: HTTPClientRequest.Body
        let source: CountingChunkSource?
        private let directory: TemporaryDirectory?

        init(_ kind: BodyKind, count: Int, seed: UInt8) throws {
            data = ClientExpectContinueTests.pattern(count: count, seed: seed)
            switch kind {
            case .data:
                body = .data(data)
                source = nil
                directory = nil
            case .file:
                let directory = try TemporaryDirectory(prefix: "dcf-expect-continue")
                let path = directory.file("body.bin")
                try data.write(to: URL(fileURLWithPath: path))
                body = .file(path: path)
                source = nil
                self.directory = directory
            case .sizedStream, .chunkedStream:
                let source = CountingChunkSource(data, chunkSize: 100_000)
                body = .stream(length: kind == .sizedStream ? data.count : nil, nextChunk: { source.next() })
                self.source = source
                directory = nil
            }
        }

        /// The response text that `respondWithDigest` sends for this body.
        var summary: String { "\(data.count) \(sha256Hex(data))" }

        func remove() {
            directory?.remove()
        }
    }

    static func pattern(count: Int, seed: UInt8) -> Data {
        Data((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) &+ seed })
    }

    private func plainClient(port: Int) throws -> HTTPClient {
        try HTTPClient(host: "127.0.0.1", port: port, configuration: HTTPClientConfiguration(transport: .plainTCP))
    }

    private func upload(_ body: UploadBody, path: String = "/upload", idleTimeout: Duration? = nil) -> HTTPClientRequest {
        HTTPClientRequest(
            method: "POST", path: path, headers: Self.expectContinue, body: body.body, idleTimeout: idleTimeout
        )
    }

    /// Reads the body of `head` and responds with its size and SHA-256, in the format of `UploadBody.summary`.
    private static func respondWithDigest(_ head: ClientTestServer.RequestHead, _ connection: ClientTestServerConnection)
        throws
    {
        let request = try connection.readRequestBody(for: head)
        try connection.respond(body: Data("\(request.bodyCount) \(request.bodyDigest)".utf8))
    }

    /// Serves every request on `connection` with `respondWithDigest`, without interim responses.
    private static func serveRemaining(_ connection: ClientTestServerConnection) throws {
        while let head = try connection.readRequestHead() {
            try respondWithDigest(head, connection)
        }
    }

    // MARK: Against HTTPServer

    @Test func httpServerReceivesBodiesOnOneConnection() async throws {
        let handler = ClosureHandler { _, responder in
            .collect(maxBytes: 16 << 20) { body in
                responder.respond(.text(.ok, "\(body.count) \(sha256Hex(Data(body)))"))
            }
        }
        let running = try RunningServer(handler: handler)
        let client = try plainClient(port: running.port)
        let memory = try UploadBody(.data, count: 4 << 20, seed: 1)
        let file = try UploadBody(.file, count: (3 << 20) + 17, seed: 2)
        defer { file.remove() }

        let first = try client.execute(upload(memory, path: "/data"))
        #expect(first.statusCode == 200)
        #expect(String(decoding: first.body, as: UTF8.self) == memory.summary)
        let second = try client.execute(upload(file, path: "/file"))
        #expect(second.statusCode == 200)
        #expect(String(decoding: second.body, as: UTF8.self) == file.summary)
        #expect(client.openedConnectionCount == 1)
        await running.stop()
    }

    @Test func httpServerRejectionSkipsBody() async throws {
        // The handler rejects the upload from its head alone, so HTTPServer sends no 100 Continue.
        let handler = ClosureHandler { head, responder in
            if head.target == "/upload" {
                responder.respond(.text(.unauthorized, "missing token"))
                return .discard
            }
            return .collect(maxBytes: 1 << 20) { body in responder.respond(.text(.ok, "\(body.count)")) }
        }
        let running = try RunningServer(handler: handler)
        let client = try plainClient(port: running.port)
        let source = CountingChunkSource(Self.pattern(count: 300_000, seed: 3), chunkSize: 100_000)
        let request = HTTPClientRequest(
            method: "POST", path: "/upload", headers: Self.expectContinue,
            body: .stream(length: 300_000, nextChunk: { source.next() })
        )

        let rejected = try client.execute(request)
        #expect(rejected.statusCode == 401)
        #expect(String(decoding: rejected.body, as: UTF8.self) == "missing token")
        #expect(source.chunksTaken == 0)
        let next = try client.execute(HTTPClientRequest(method: "POST", path: "/next", body: .data(Data(count: 5))))
        #expect(String(decoding: next.body, as: UTF8.self) == "5")
        #expect(client.openedConnectionCount == 2)
        await running.stop()
    }

    // MARK: Against a raw test server

    @Test(arguments: BodyKind.allCases)
    func finalResponseBeforeContinueSkipsBody(kind: BodyKind) async throws {
        let bodyBytesSeen = Signal<Int>()
        let server = try ClientTestServer(serveConnection: { connection in
            guard let head = try connection.readRequestHead() else { return }
            guard head.headers["Expect"] != nil else {
                try Self.respondWithDigest(head, connection)
                return try Self.serveRemaining(connection)
            }
            try connection.respond(status: 413, body: Data("too large".utf8))
            // The client closes the connection after this response. Every byte it sent before that is body.
            bodyBytesSeen.set(try connection.discardUntilClosed(limit: .seconds(60)) ?? -1)
        })
        defer { server.stop() }
        let client = try plainClient(port: server.port)
        let body = try UploadBody(kind, count: 1 << 20, seed: 4)
        defer { body.remove() }

        let response = try client.execute(upload(body))
        #expect(response.statusCode == 413)
        #expect(String(decoding: response.body, as: UTF8.self) == "too large")
        #expect(await bodyBytesSeen.wait() == 0)
        #expect(body.source?.chunksTaken ?? 0 == 0)
        let next = try client.execute(HTTPClientRequest(path: "/next"))
        #expect(next.statusCode == 200)
        #expect(client.openedConnectionCount == 2)
        #expect(server.acceptedConnections == 2)
    }

    @Test(arguments: BodyKind.allCases)
    func delayedContinueHoldsBody(kind: BodyKind) async throws {
        let inputBeforeContinue = Signal<Bool>()
        let server = try ClientTestServer(serveConnection: { connection in
            guard let head = try connection.readRequestHead() else { return }
            // A client that sent the body without waiting would have bytes beyond the head pending by now.
            usleep(300_000)
            inputBeforeContinue.set(connection.hasUnreadInput)
            try connection.write(Self.interimContinue)
            try Self.respondWithDigest(head, connection)
            try Self.serveRemaining(connection)
        })
        defer { server.stop() }
        let client = try plainClient(port: server.port)
        let body = try UploadBody(kind, count: (2 << 20) + 5, seed: 5)
        defer { body.remove() }

        let response = try client.execute(upload(body))
        #expect(response.statusCode == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == body.summary)
        #expect(await inputBeforeContinue.wait() == false)
        let next = try client.execute(HTTPClientRequest(method: "POST", path: "/next", body: .data(Data(count: 3))))
        #expect(String(decoding: next.body, as: UTF8.self) == "3 \(sha256Hex(Data(count: 3)))")
        #expect(client.openedConnectionCount == 1)
    }

    @Test(arguments: BodyKind.allCases)
    func missingContinueTimesOut(kind: BodyKind) async throws {
        let bodyBytesSeen = Signal<Int>()
        let server = try ClientTestServer(serveConnection: { connection in
            guard try connection.readRequestHead() != nil else { return }
            bodyBytesSeen.set(try connection.discardUntilClosed(limit: .seconds(60)) ?? -1)
        })
        defer { server.stop() }
        let client = try plainClient(port: server.port)
        let body = try UploadBody(kind, count: 500_000, seed: 6)
        defer { body.remove() }

        let error = try #require(throws: HTTPClientError.self) {
            try client.execute(upload(body, idleTimeout: .milliseconds(300)))
        }
        #expect(error.timeoutPhase == .idle)
        #expect(error.description.contains("while waiting for 100 Continue"), "\(error)")
        #expect(error.failedBeforeBody)
        #expect(await bodyBytesSeen.wait() == 0)
        #expect(body.source?.chunksTaken ?? 0 == 0)
    }

    /// A connection closed before `100 Continue` took no body byte, and the error reports that. One closed after it
    /// may have taken the whole body.
    @Test(arguments: [false, true])
    func closeReportsWhetherBodyWentOut(afterContinue: Bool) throws {
        let server = try ClientTestServer(serveConnection: { connection in
            guard try connection.readRequestHead() != nil else { return }
            if afterContinue { try connection.write(Self.interimContinue) }
        })
        defer { server.stop() }
        let client = try plainClient(port: server.port)
        let body = try UploadBody(.data, count: 500_000, seed: 8)
        let error = try #require(throws: HTTPClientError.self) { try client.execute(upload(body)) }
        #expect(error.failedBeforeBody == !afterContinue, "\(error)")
    }

    @Test func continueTimeoutBoundsOnlyTheWait() async throws {
        let server = try ClientTestServer(serveConnection: { connection in
            while let head = try connection.readRequestHead() {
                if head.path == "/upload" {
                    // Longer than the idle timeout, shorter than the continue timeout.
                    usleep(900_000)
                    try connection.write(Self.interimContinue)
                    try Self.respondWithDigest(head, connection)
                } else {
                    // Silent for longer than the idle timeout, which the continue timeout does not extend.
                    usleep(900_000)
                    try Self.respondWithDigest(head, connection)
                }
            }
        })
        defer { server.stop() }
        let client = try plainClient(port: server.port)
        let body = try UploadBody(.data, count: 100_000, seed: 8)
        defer { body.remove() }
        var request = upload(body, idleTimeout: .milliseconds(300))
        request.continueTimeout = .seconds(30)
        let response = try client.execute(request)
        #expect(String(decoding: response.body, as: UTF8.self) == body.summary)
        let slow = HTTPClientRequest(
            method: "POST", path: "/slow", body: .data(Data(count: 3)), idleTimeout: .milliseconds(300))
        let error = try #require(throws: HTTPClientError.self) { try client.execute(slow) }
        #expect(error.timeoutPhase == .idle)
    }

    /// A server that refuses the expectation with 417 gets the request again without it, body and all.
    @Test(arguments: BodyKind.allCases)
    func expectationFailedRetriesWithoutIt(kind: BodyKind) async throws {
        let sawExpect = Mutex<[Bool]>([])
        let server = try ClientTestServer(serveConnection: { connection in
            while let head = try connection.readRequestHead() {
                let expects = head.headers["Expect"] != nil
                sawExpect.withLock { $0.append(expects) }
                if expects {
                    try connection.write(Data("HTTP/1.1 417 Expectation Failed\r\nContent-Length: 4\r\n\r\nnope".utf8))
                } else {
                    try Self.respondWithDigest(head, connection)
                }
            }
        })
        defer { server.stop() }
        let client = try plainClient(port: server.port)
        let body = try UploadBody(kind, count: 300_000, seed: 9)
        defer { body.remove() }
        let response = try client.execute(upload(body))
        #expect(response.statusCode == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == body.summary)
        #expect(sawExpect.withLock { $0 } == [true, false])
        #expect(server.acceptedConnections == 2)
    }

    @Test func interimResponsesBeforeContinueAreSkipped() async throws {
        let inputBeforeContinue = Signal<Bool>()
        let server = try ClientTestServer(serveConnection: { connection in
            guard let head = try connection.readRequestHead() else { return }
            try connection.write(Data("HTTP/1.1 102 Processing\r\n\r\n".utf8))
            try connection.write(Data("HTTP/1.1 103 Early Hints\r\nLink: </model>; rel=preload\r\n\r\n".utf8))
            // A client that took 102 or 103 for 100 Continue would have sent body bytes by now.
            usleep(200_000)
            inputBeforeContinue.set(connection.hasUnreadInput)
            try connection.write(Self.interimContinue)
            try Self.respondWithDigest(head, connection)
            try Self.serveRemaining(connection)
        })
        defer { server.stop() }
        let client = try plainClient(port: server.port)
        let body = try UploadBody(.data, count: 700_000, seed: 7)

        let response = try client.execute(upload(body))
        #expect(response.statusCode == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == body.summary)
        #expect(await inputBeforeContinue.wait() == false)
        #expect(client.openedConnectionCount == 1)
    }

    @Test func interimResponseBeforeRejectionIsSkipped() async throws {
        let bodyBytesSeen = Signal<Int>()
        let server = try ClientTestServer(serveConnection: { connection in
            guard try connection.readRequestHead() != nil else { return }
            try connection.write(Data("HTTP/1.1 103 Early Hints\r\nLink: </model>; rel=preload\r\n\r\n".utf8))
            try connection.respond(status: 401, body: Data("missing token".utf8))
            bodyBytesSeen.set(try connection.discardUntilClosed(limit: .seconds(60)) ?? -1)
        })
        defer { server.stop() }
        let client = try plainClient(port: server.port)
        let body = try UploadBody(.data, count: 700_000, seed: 8)

        let response = try client.execute(upload(body))
        #expect(response.statusCode == 401)
        #expect(String(decoding: response.body, as: UTF8.self) == "missing token")
        #expect(await bodyBytesSeen.wait() == 0)
    }

    @Test func emptyBodyDoesNotWait() throws {
        // The server never sends 100 Continue, so a client that waited would time out.
        let server = try ClientTestServer(serveConnection: { connection in try Self.serveRemaining(connection) })
        defer { server.stop() }
        let client = try plainClient(port: server.port)
        let request = HTTPClientRequest(
            method: "POST", path: "/empty", headers: ["expect": "100-Continue"], body: .data(Data()),
            idleTimeout: .seconds(30)
        )

        let response = try client.execute(request)
        #expect(String(decoding: response.body, as: UTF8.self) == "0 \(sha256Hex(Data()))")
    }

    @Test func closedReusedConnectionResendsStream() throws {
        // The first connection serves one request, then closes on the next head as a server's idle timeout does.
        let connections = Atomic<Int>(0)
        let server = try ClientTestServer(serveConnection: { connection in
            let number = connections.add(1, ordering: .relaxed).newValue
            if number == 1 {
                guard let head = try connection.readRequestHead() else { return }
                try Self.respondWithDigest(head, connection)
                _ = try connection.readRequestHead()
                return
            }
            guard let head = try connection.readRequestHead() else { return }
            try connection.write(Self.interimContinue)
            try Self.respondWithDigest(head, connection)
        })
        defer { server.stop() }
        let client = try plainClient(port: server.port)
        let body = try UploadBody(.chunkedStream, count: 450_000, seed: 9)

        #expect(try client.execute(HTTPClientRequest(path: "/first")).statusCode == 200)
        let response = try client.execute(upload(body))
        #expect(response.statusCode == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == body.summary)
        #expect(body.source?.chunksTaken == 5)
        #expect(client.openedConnectionCount == 2)
    }
}

/// Hands out `data` in chunks of `chunkSize` bytes and counts the chunks taken.
final class CountingChunkSource: Sendable {
    private let remaining: Mutex<Data>
    private let chunkSize: Int
    private let chunkCount = Atomic<Int>(0)

    init(_ data: Data, chunkSize: Int) {
        remaining = Mutex(data)
        self.chunkSize = chunkSize
    }

    /// Number of chunks handed out so far.
    var chunksTaken: Int { chunkCount.load(ordering: .relaxed) }

    func next() -> Data? {
        remaining.withLock { data in
            guard !data.isEmpty else { return nil }
            let chunk = Data(data.prefix(chunkSize))
            data.removeFirst(chunk.count)
            chunkCount.add(1, ordering: .relaxed)
            return chunk
        }
    }
}
