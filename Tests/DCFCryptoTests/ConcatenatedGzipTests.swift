// SPDX-License-Identifier: Apache-2.0
import DCFCompression
import Foundation
import Testing

/// Gzip streams of several members, as `cat a.gz b.gz` makes them.
struct ConcatenatedGzipTests {
    private let first = Array("first member, ".utf8)
    private let second = Array("second member".utf8)

    private func members() throws -> (Data, Data) {
        (try Deflater.compress(first, coding: .gzip), try Deflater.compress(second, coding: .gzip))
    }

    @Test func membersInOneBufferAreJoined() throws {
        let (a, b) = try members()
        let output = try Inflater.decompress(a + b, coding: .gzip, maxOutputBytes: 1000, allowsConcatenatedMembers: true)
        #expect(Array(output) == first + second)
    }

    @Test func memberEndingAtInputEndContinues() throws {
        let (a, b) = try members()
        let inflater = try Inflater(coding: .gzip, maxOutputBytes: 1000, allowsConcatenatedMembers: true)
        var output = try inflater.update(a)
        output += try inflater.update(b)
        try inflater.finish()
        #expect(Array(output) == first + second)
    }

    @Test func secondMemberIsTrailingByDefault() throws {
        let (a, b) = try members()
        #expect(throws: CompressionError.self) {
            try Inflater.decompress(a + b, coding: .gzip, maxOutputBytes: 1000)
        }
    }
}
