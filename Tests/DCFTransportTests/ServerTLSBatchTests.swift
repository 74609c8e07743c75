// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import DCFTransport

/// The batched TLS data path: body chunks larger than one TLS record, and file regions sent from a mapping.
@Suite struct ServerTLSBatchTests {
    private static func pattern(_ count: Int, seed: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: ($0 &+ seed) &* 131 &+ ($0 >> 9)) }
    }

    @Test func largeChunksKeepBackPressure() async throws {
        // The client sends 8 MiB in one write, so the server sees many 16 KiB records back to back. The handler
        // holds each chunk on another thread before asking for more: every chunk must reach it in order with
        // identical bytes, never two at once, and at least one must be larger than a TLS record.
        let body = Self.pattern(8 << 20, seed: 3)
        let collected = Mutex((bytes: [UInt8](), largest: 0, outstanding: 0, maxOutstanding: 0))
        let handler = ClosureHandler { _, responder in
            .stream(HTTPBodyStream(
                onChunk: { chunk, demand in
                    collected.withLock {
                        $0.bytes += chunk
                        $0.largest = max($0.largest, chunk.count)
                        $0.outstanding += 1
                        $0.maxOutstanding = max($0.maxOutstanding, $0.outstanding)
                    }
                    DispatchQueue.global().asyncAfter(deadline: .now() + 0.002) {
                        collected.withLock { $0.outstanding -= 1 }
                        demand.requestMore()
                    }
                },
                onEnd: { responder.respond(.text(.ok, "\(collected.withLock { $0.bytes.count })")) },
                onError: { _ in }
            ))
        }
        let fixture = try ServerTLSTests.TLSFixture(handler: handler)
        let client = try HTTPTestClient(port: fixture.running.port, tls: fixture.clientContext)
        try client.send("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: \(body.count)\r\n\r\n")
        try client.send(body)
        #expect(try client.readResponse().text == "\(body.count)")
        let result = collected.withLock { $0 }
        #expect(result.bytes == body)
        #expect(result.maxOutstanding == 1)
        #expect(result.largest > 16 * 1024)
        await fixture.stop()
    }

    @Test(arguments: [(0, nil), (4097, 3 << 20), (12345, nil)] as [(Int, Int?)])
    func mappedRegionSendsExactBytes(offset: Int, length: Int?) async throws {
        let directory = try TemporaryDirectory(prefix: "dcf-tls-map")
        defer { directory.remove() }
        let content = Self.pattern((5 << 20) + 777, seed: offset)
        let path = directory.path + "/version.bin"
        try Data(content).write(to: URL(fileURLWithPath: path))
        let region = try HTTPFileRegion(path: path, offset: offset, length: length, mapsIntoMemory: true)
        #expect(region.isMapped)
        let handler = ClosureHandler { _, responder in
            responder.respond(HTTPResponse(status: .ok, body: .file(region)))
            return .discard
        }
        let fixture = try ServerTLSTests.TLSFixture(handler: handler)
        let client = try HTTPTestClient(port: fixture.running.port, tls: fixture.clientContext)
        let expected = Array(content[offset..<(length.map { offset + $0 } ?? content.count)])
        for _ in 0..<2 {
            try client.send("GET /version HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(try client.readResponse().body == expected)
        }
        await fixture.stop()
    }

    @Test func truncatedFileClosesConnection() async throws {
        // A file that shrank below its region must end the response early, never read past the end of the
        // file through the mapping.
        let directory = try TemporaryDirectory(prefix: "dcf-tls-map")
        defer { directory.remove() }
        let path = directory.path + "/version.bin"
        try Data(Self.pattern(2 << 20, seed: 1)).write(to: URL(fileURLWithPath: path))
        let region = try HTTPFileRegion(path: path, mapsIntoMemory: true)
        #expect(truncate(path, 4096) == 0)
        let handler = ClosureHandler { _, responder in
            responder.respond(HTTPResponse(status: .ok, body: .file(region)))
            return .discard
        }
        let fixture = try ServerTLSTests.TLSFixture(handler: handler)
        let client = try HTTPTestClient(port: fixture.running.port, tls: fixture.clientContext)
        try client.send("GET /version HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let received = try client.receiveUntilClosed()
        let text = String(decoding: received.prefix(64), as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 200"))
        #expect(received.count < 2 << 20)
        await fixture.stop()
    }
}
