// SPDX-License-Identifier: Apache-2.0
import DCFCompression
import Foundation
import Testing

struct InflaterSliceTests {
    private struct StopWriting: Error {}

    @Test("bomb output arrives in bounded slices", arguments: ContentCoding.allCases)
    func bombSlicesBounded(coding: ContentCoding) throws {
        let inflatedSize = 40 * 1024 * 1024
        let bomb = try Deflater.compress([UInt8](repeating: 0, count: inflatedSize), coding: coding)
        let inflater = try Inflater(coding: coding, maxOutputBytes: inflatedSize)
        var largestSlice = 0
        var total = 0
        var allZero = true
        try bomb.withUnsafeBytes { input in
            try inflater.update(input) { slice in
                largestSlice = max(largestSlice, slice.count)
                total += slice.count
                allZero = allZero && slice.allSatisfy { $0 == 0 }
            }
        }
        try inflater.finish()
        #expect(largestSlice <= Inflater.maximumSliceBytes)
        #expect(total == inflatedSize)
        #expect(allZero)
    }

    @Test("emit error is rethrown")
    func emitErrorRethrown() throws {
        let compressed = try Deflater.compress([UInt8](repeating: 7, count: 200_000), coding: .gzip)
        let inflater = try Inflater(coding: .gzip, maxOutputBytes: 200_000)
        #expect(throws: StopWriting.self) {
            try compressed.withUnsafeBytes { input in
                try inflater.update(input) { _ in throw StopWriting() }
            }
        }
    }

    @Test("limit still enforced with emit")
    func limitEnforcedWithEmit() throws {
        let compressed = try Deflater.compress([UInt8](repeating: 1, count: 300_000), coding: .deflate)
        let inflater = try Inflater(coding: .deflate, maxOutputBytes: 100_000)
        var total = 0
        let error = #expect(throws: CompressionError.self) {
            try compressed.withUnsafeBytes { input in
                try inflater.update(input) { total += $0.count }
            }
        }
        #expect(error?.code == .outputLimitExceeded)
        #expect(total <= 100_000)
    }
}
