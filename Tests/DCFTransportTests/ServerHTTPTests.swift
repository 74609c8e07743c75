// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization
import Testing

@testable import DCFTransport

@Suite struct ServerHTTPTests {
    @Test func keepAliveServesSeveralRequests() async throws {
        let running = try RunningServer(handler: echoHandler())
        let client = try HTTPTestClient(port: running.port)
        for index in 0..<3 {
            try client.send("GET /item/\(index) HTTP/1.1\r\nHost: test\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.text == "GET /item/\(index) 0")
            #expect(response.headers["connection"] == "keep-alive")
        }
        #expect(running.server.statistics.openConnections == 1)
        await running.stop()
    }

    @Test func connectionCloseIsHonoured() async throws {
        let running = try RunningServer(handler: echoHandler())
        let client = try HTTPTestClient(port: running.port)
        try client.send("GET /a HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.headers["connection"] == "close")
        #expect(try client.receiveUntilClosed().isEmpty)
        await running.stop()
    }

    /// Some clients send a CRLF after a request body, and the next request on the connection is still served.
    @Test func crlfAfterBodyKeepsConnection() async throws {
        let running = try RunningServer(handler: echoHandler())
        let client = try HTTPTestClient(port: running.port)
        try client.send("POST /a HTTP/1.1\r\nHost: test\r\nContent-Length: 2\r\n\r\nok\r\n")
        #expect(try client.readResponse().text == "POST /a 2")
        try client.send("GET /b HTTP/1.1\r\nHost: test\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 200)
        #expect(response.text == "GET /b 0")
        await running.stop()
    }

    @Test func pipelinedRequestsAnsweredInOrder() async throws {
        // The first request is answered last in time, from another thread, yet must come first on the wire.
        let handler = ClosureHandler { head, responder in
            let delay = head.target == "/slow" ? 0.2 : 0
            DispatchQueue.global().asyncAfter(deadline: .now() + delay) {
                responder.respond(.text(.ok, String(head.target)))
            }
            return .discard
        }
        let running = try RunningServer(handler: handler)
        let client = try HTTPTestClient(port: running.port)
        let targets = ["/slow", "/two", "/three", "/four"]
        try client.send(targets.map { "GET \($0) HTTP/1.1\r\nHost: test\r\n\r\n" }.joined())
        for target in targets {
            #expect(try client.readResponse().text == target)
        }
        await running.stop()
    }

    @Test func chunkedRequestBodyIsDecoded() async throws {
        let running = try RunningServer(handler: echoHandler())
        let client = try HTTPTestClient(port: running.port)
        try client.send("POST /upload HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n")
        try client.send("5\r\nhello\r\n")
        try client.send("6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.text == "POST /upload 11")
        try client.send("GET /after HTTP/1.1\r\nHost: test\r\n\r\n")
        #expect(try client.readResponse().text == "GET /after 0")
        await running.stop()
    }

    @Test func chunkedResponseStreamsParts() async throws {
        let handler = ClosureHandler { _, responder in
            guard let writer = responder.startStreaming(status: .ok) else { return .discard }
            DispatchQueue.global().async {
                for part in ["alpha", "-beta", "-gamma"] {
                    writer.write(Array(part.utf8))
                }
                writer.end()
            }
            return .discard
        }
        let running = try RunningServer(handler: handler)
        let client = try HTTPTestClient(port: running.port)
        try client.send("GET /stream HTTP/1.1\r\nHost: test\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.headers["transfer-encoding"] == "chunked")
        #expect(response.text == "alpha-beta-gamma")
        try client.send("GET /stream HTTP/1.1\r\nHost: test\r\n\r\n")
        #expect(try client.readResponse().text == "alpha-beta-gamma")
        await running.stop()
    }

    @Test func expectContinueSendsInterimResponse() async throws {
        let running = try RunningServer(handler: echoHandler())
        let client = try HTTPTestClient(port: running.port)
        try client.send("PUT /data HTTP/1.1\r\nHost: test\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        let interim = try client.readResponse()
        #expect(interim.status == 100)
        try client.send("abcd")
        let final = try client.readResponse()
        #expect(final.status == 200)
        #expect(final.text == "PUT /data 4")
        await running.stop()
    }

    @Test func headResponseHasLengthButNoBody() async throws {
        let running = try RunningServer(handler: echoHandler())
        let client = try HTTPTestClient(port: running.port)
        try client.send("HEAD /x HTTP/1.1\r\nHost: test\r\n\r\nGET /y HTTP/1.1\r\nHost: test\r\n\r\n")
        let head = try client.readResponse(method: "HEAD")
        #expect(head.headers["content-length"] == "9")
        #expect(try client.readResponse().text == "GET /y 0")
        await running.stop()
    }

    @Test func fileAndSharedBytesBodies() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dcf-file-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let content = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let path = directory.appendingPathComponent("model.bin").path
        try Data(content).write(to: URL(fileURLWithPath: path))
        let shared = content
        let handler = ClosureHandler { head, responder in
            if head.target == "/file" {
                do {
                    responder.respond(HTTPResponse(status: .ok, body: .file(try HTTPFileRegion(path: path, offset: 10))))
                } catch {
                    responder.respond(.text(.internalServerError, "\(error)"))
                }
            } else {
                responder.respond(HTTPResponse(status: .ok, body: .bytes(shared)))
            }
            return .discard
        }
        let running = try RunningServer(handler: handler)
        let client = try HTTPTestClient(port: running.port)
        try client.send("GET /file HTTP/1.1\r\nHost: test\r\n\r\n")
        #expect(try client.readResponse().body == Array(content[10...]))
        try client.send("GET /shared HTTP/1.1\r\nHost: test\r\n\r\n")
        #expect(try client.readResponse().body == content)
        await running.stop()
    }

    @Test func statisticsCountResponses() async throws {
        let running = try RunningServer(handler: echoHandler())
        let client = try HTTPTestClient(port: running.port)
        try client.send("GET /a HTTP/1.1\r\nHost: test\r\n\r\n")
        _ = try client.readResponse()
        try client.send("GET /a HTTP/1.1\r\n\r\n")
        #expect(try client.readResponse().status == 400)
        let statistics = running.server.statistics
        #expect(statistics.responsesByStatus[200] == 1)
        #expect(statistics.responsesByStatus[400] == 1)
        #expect(statistics.bytesIn > 0)
        #expect(statistics.bytesOut > 0)
        await running.stop()
    }
}
