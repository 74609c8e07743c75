// SPDX-License-Identifier: Apache-2.0
import DCFCompression
import Foundation
import Testing

struct CompressionTests {
    /// Deterministic bytes that compress moderately: text-like runs mixed with pseudo-random noise.
    static func sample(count: Int) -> [UInt8] {
        var state: UInt32 = 12345
        return (0..<count).map { index in
            state = state &* 1_103_515_245 &+ 12345
            return index % 3 == 0 ? UInt8(truncatingIfNeeded: state >> 16) : UInt8(ascii: "a") + UInt8(index % 7)
        }
    }

    static let inputs: [[UInt8]] = [[], Array("hello, hello, hello".utf8), sample(count: 300_000)]

    @Test("round trip", arguments: ContentCoding.allCases, [0, 1, 2])
    func roundTrip(coding: ContentCoding, inputIndex: Int) throws {
        let input = Self.inputs[inputIndex]
        let compressed = try Deflater.compress(input, coding: coding)
        let output = try Inflater.decompress(compressed, coding: coding, maxOutputBytes: input.count)
        #expect(Array(output) == input)
    }

    @Test("stream header", arguments: ContentCoding.allCases)
    func streamHeader(coding: ContentCoding) throws {
        let compressed = try Deflater.compress(Array("abc".utf8), coding: coding)
        switch coding {
        case .gzip: #expect(Array(compressed.prefix(2)) == [0x1f, 0x8b])
        case .deflate: #expect(compressed.first == 0x78)
        }
    }

    @Test("levels round trip", arguments: [CompressionLevel.fastest, .default, .best, CompressionLevel(0)!])
    func levels(level: CompressionLevel) throws {
        let input = Self.sample(count: 50_000)
        let compressed = try Deflater.compress(input, coding: .deflate, level: level)
        #expect(Array(try Inflater.decompress(compressed, coding: .deflate, maxOutputBytes: 50_000)) == input)
    }

    @Test func levelOutOfRangeRejected() {
        #expect(CompressionLevel(10) == nil)
        #expect(CompressionLevel(-1) == nil)
    }

    @Test func codingFromHeaderValue() {
        #expect(ContentCoding(headerValue: "GZIP") == .gzip)
        #expect(ContentCoding(headerValue: "deflate") == .deflate)
        #expect(ContentCoding(headerValue: "br") == nil)
    }

    @Test("limit exceeded", arguments: ContentCoding.allCases)
    func limitExceeded(coding: ContentCoding) throws {
        let bomb = try Deflater.compress([UInt8](repeating: 0, count: 10_000_000), coding: coding)
        #expect(bomb.count < 20_000)
        let error = #expect(throws: CompressionError.self) {
            try Inflater.decompress(bomb, coding: coding, maxOutputBytes: 1_048_576)
        }
        #expect(error?.code == .outputLimitExceeded)
        #expect(error?.description.contains("1048576 bytes") == true)
    }

    @Test("limit is inclusive", arguments: ContentCoding.allCases)
    func limitInclusive(coding: ContentCoding) throws {
        let input = Self.sample(count: 100_000)
        let compressed = try Deflater.compress(input, coding: coding)
        #expect(try Inflater.decompress(compressed, coding: coding, maxOutputBytes: 100_000).count == 100_000)
        let error = #expect(throws: CompressionError.self) {
            try Inflater.decompress(compressed, coding: coding, maxOutputBytes: 99_999)
        }
        #expect(error?.code == .outputLimitExceeded)
    }

    @Test func zeroLimitAcceptsEmptyStream() throws {
        let compressed = try Deflater.compress([UInt8](), coding: .gzip)
        #expect(try Inflater.decompress(compressed, coding: .gzip, maxOutputBytes: 0).isEmpty)
        let error = #expect(throws: CompressionError.self) {
            try Inflater.decompress(try Deflater.compress([1], coding: .gzip), coding: .gzip, maxOutputBytes: 0)
        }
        #expect(error?.code == .outputLimitExceeded)
    }

    @Test("streaming limit exceeded", arguments: ContentCoding.allCases)
    func streamingLimitExceeded(coding: ContentCoding) throws {
        let bomb = try Deflater.compress([UInt8](repeating: 7, count: 5_000_000), coding: coding)
        let inflater = try Inflater(coding: coding, maxOutputBytes: 200_000)
        var produced = 0
        let error = #expect(throws: CompressionError.self) {
            for start in stride(from: 0, to: bomb.count, by: 100) {
                produced += try inflater.update(bomb[start..<min(start + 100, bomb.count)]).count
            }
        }
        #expect(error?.code == .outputLimitExceeded)
        #expect(produced <= 200_000)
        #expect(inflater.outputByteCount <= 200_001)
        let again = #expect(throws: CompressionError.self) { try inflater.update([UInt8]()) }
        #expect(again?.code == .outputLimitExceeded, "a failed inflater keeps failing")
    }

    @Test("corrupt input rejected", arguments: ContentCoding.allCases)
    func corruptInput(coding: ContentCoding) throws {
        var compressed = Array(try Deflater.compress(Self.sample(count: 10_000), coding: coding))
        for index in stride(from: 20, to: compressed.count - 10, by: 50) {
            compressed[index] ^= 0x5a
        }
        let error = #expect(throws: CompressionError.self) {
            try Inflater.decompress(compressed, coding: coding, maxOutputBytes: 1_000_000)
        }
        #expect(error?.code == .corruptInput)
        #expect(error?.description.contains("\(coding) data is invalid") == true)
    }

    @Test("not compressed data rejected", arguments: ContentCoding.allCases)
    func notCompressed(coding: ContentCoding) {
        let error = #expect(throws: CompressionError.self) {
            try Inflater.decompress(Array("plain text, not compressed".utf8), coding: coding, maxOutputBytes: 1000)
        }
        #expect(error?.code == .corruptInput)
    }

    @Test func wrongCodingRejected() throws {
        let gzip = try Deflater.compress(Array("abc".utf8), coding: .gzip)
        let error = #expect(throws: CompressionError.self) {
            try Inflater.decompress(gzip, coding: .deflate, maxOutputBytes: 1000)
        }
        #expect(error?.code == .corruptInput)
    }

    @Test("truncated input rejected", arguments: ContentCoding.allCases)
    func truncatedInput(coding: ContentCoding) throws {
        let compressed = try Deflater.compress(Self.sample(count: 10_000), coding: coding)
        let error = #expect(throws: CompressionError.self) {
            try Inflater.decompress(compressed.dropLast(3), coding: coding, maxOutputBytes: 1_000_000)
        }
        #expect(error?.code == .truncatedInput)
        #expect(error?.description.contains("after \(compressed.count - 3) input bytes") == true)
    }

    @Test("trailing input rejected", arguments: ContentCoding.allCases)
    func trailingInput(coding: ContentCoding) throws {
        let compressed = try Deflater.compress(Array("abc".utf8), coding: coding)
        let error = #expect(throws: CompressionError.self) {
            try Inflater.decompress(compressed + [1, 2, 3], coding: coding, maxOutputBytes: 1000)
        }
        #expect(error?.code == .trailingInput)
        #expect(error?.description.contains("3 unexpected bytes") == true)

        let inflater = try Inflater(coding: coding, maxOutputBytes: 1000)
        #expect(Array(try inflater.update(compressed)) == Array("abc".utf8))
        #expect(inflater.isComplete)
        let later = #expect(throws: CompressionError.self) { try inflater.update([9]) }
        #expect(later?.code == .trailingInput)
    }

    @Test("streaming equals one-shot", arguments: ContentCoding.allCases, [1, 7, 4096])
    func streamingEqualsOneShot(coding: ContentCoding, chunkSize: Int) throws {
        let input = Self.sample(count: 60_000)
        let oneShot = try Deflater.compress(input, coding: coding)

        let deflater = try Deflater(coding: coding)
        var streamed = Data()
        for start in stride(from: 0, to: input.count, by: chunkSize) {
            streamed.append(try deflater.update(input[start..<min(start + chunkSize, input.count)]))
        }
        streamed.append(try deflater.finish())
        #expect(streamed == oneShot)

        let inflater = try Inflater(coding: coding, maxOutputBytes: input.count)
        var output = Data()
        for start in stride(from: 0, to: oneShot.count, by: chunkSize) {
            output.append(try inflater.update(oneShot[start..<min(start + chunkSize, oneShot.count)]))
        }
        try inflater.finish()
        #expect(Array(output) == input)
        #expect(inflater.inputByteCount == oneShot.count)
    }
}
