// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation
import Testing

@Suite struct NegotiationTests {
    @Test(arguments: [
        ((1, 1), (1, 1), 1 as Int?), ((1, 3), (2, 5), 3), ((2, 5), (1, 3), 3), ((1, 1), (2, 3), nil),
    ])
    func highestCommonVersion(ours: (Int, Int), theirs: (Int, Int), expected: Int?) throws {
        let left = try #require(ProtocolVersionRange(min: ours.0, max: ours.1))
        let right = try #require(ProtocolVersionRange(min: theirs.0, max: theirs.1))
        #expect(left.highestCommonVersion(with: right) == expected)
    }

    @Test func invalidRangeIsRejected() {
        #expect(ProtocolVersionRange(min: 2, max: 1) == nil)
        #expect(ProtocolVersionRange(min: 0, max: 1) == nil)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(ProtocolVersionRange.self, from: Data("{\"min\":3,\"max\":2}".utf8))
        }
    }

    @Test func mismatchMessageNamesBothRanges() throws {
        let server = try #require(ProtocolVersionRange(min: 2, max: 3))
        let message = server.mismatchMessage(peer: "1", peerRole: "worker")
        #expect(message.contains("worker speaks version 1"))
        #expect(message.contains("server speaks 2-3"))
    }

    @Test(arguments: [
        ("", ContentCoding.identity as ContentCoding?), ("gzip", .gzip), ("gzip;q=0.5, deflate;q=0.8", .deflate),
        ("identity", .identity), ("br", .identity), ("*;q=0", nil), ("deflate;q=0, gzip;q=0, identity;q=0", nil),
        ("GZIP;Q=1", .gzip), ("*", .deflate),
    ])
    func acceptEncoding(header: String, expected: ContentCoding?) {
        #expect(ContentCoding.negotiate(acceptEncoding: header, preference: [.deflate, .gzip, .identity]) == expected)
    }

    @Test(arguments: [("", ContentCoding.identity as ContentCoding?), (" gzip ", .gzip), ("deflate", .deflate), ("br", nil)])
    func contentEncoding(header: String, expected: ContentCoding?) {
        #expect(ContentCoding(contentEncoding: header) == expected)
    }
}
