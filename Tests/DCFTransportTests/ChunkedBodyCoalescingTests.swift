// SPDX-License-Identifier: Apache-2.0
import Synchronization
import Testing

@testable import DCFTransport

/// A body sent in tiny chunks reaches a streaming handler in pieces about as large as the server's reads, not
/// one call per chunk, so tiny chunks cannot multiply the handler's per-call cost.
@Suite struct ChunkedBodyCoalescingTests {
    /// Bytes and number of pieces a streaming handler received.
    private final class Received: Sendable {
        let state = Mutex((bytes: [UInt8](), pieces: 0))
    }

    /// Streams `POST` bodies into `received` and responds with the number of pieces. Other requests get the
    /// response "other".
    private static func handler(_ received: Received) -> ClosureHandler {
        ClosureHandler { head, responder in
            guard head.method == "POST" else {
                responder.respond(.text(.ok, "other"))
                return .discard
            }
            return .stream(HTTPBodyStream(
                onChunk: { chunk, demand in
                    received.state.withLock {
                        $0.bytes += chunk
                        $0.pieces += 1
                    }
                    demand.requestMore()
                },
                onEnd: { responder.respond(.text(.ok, "\(received.state.withLock { $0.pieces })")) },
                onError: { _ in }
            ))
        }
    }

    /// Deterministic bytes covering every value, including CR and LF.
    private static func body(count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 8) }
    }

    /// Encodes `body` with one chunk per byte.
    private static func oneByteChunks(_ body: [UInt8]) -> [UInt8] {
        var wire: [UInt8] = []
        for byte in body {
            wire += Array("1\r\n".utf8)
            wire.append(byte)
            wire += Array("\r\n".utf8)
        }
        return wire + Array("0\r\n\r\n".utf8)
    }

    @Test func oneByteChunksArriveCoalesced() async throws {
        let received = Received()
        let running = try RunningServer(handler: Self.handler(received))
        let client = try HTTPTestClient(port: running.port)
        let chunkCount = 20_000
        let body = Self.body(count: chunkCount)

        try client.send("POST /upload HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n")
        try client.send(Self.oneByteChunks(body))
        let response = try client.readResponse()
        #expect(response.status == 200)

        let (bytes, pieces) = received.state.withLock { ($0.bytes, $0.pieces) }
        #expect(bytes == body, "the body arrived changed")
        #expect(response.text == "\(pieces)")
        // 20,000 chunks are 120,005 bytes on the wire; a piece per chunk would mean a handler call per 6 bytes.
        #expect(pieces >= 1)
        #expect(pieces <= chunkCount / 100, "the handler got \(pieces) pieces for \(chunkCount) chunks")
        await running.stop()
    }

    /// The gathered bytes go to the handler before the request ends, and a request pipelined behind the chunked
    /// body in the same read still gets its response.
    @Test func pipelinedRequestFollowsCoalescedBody() async throws {
        let received = Received()
        let running = try RunningServer(handler: Self.handler(received))
        let client = try HTTPTestClient(port: running.port)
        let body = Self.body(count: 300)

        let head = Array("POST /upload HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
        let next = Array("GET /next HTTP/1.1\r\nHost: test\r\n\r\n".utf8)
        try client.send(head + Self.oneByteChunks(body) + next)
        #expect(try client.readResponse().status == 200)
        #expect(try client.readResponse().text == "other")
        #expect(received.state.withLock { $0.bytes } == body)
        await running.stop()
    }
}
