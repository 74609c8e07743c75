// SPDX-License-Identifier: Apache-2.0
@testable import DCFServer
import DCFProtocol
import Foundation
import Synchronization
import Testing

struct PayloadCoderFileTests {
    @Test("spooled gzip bomb inflates in bounded slices")
    func gzipBombSlicesBounded() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let inflatedSize = 48 * 1024 * 1024
        let bomb = try ZlibPayloadCoder().compress(Data(count: inflatedSize), as: .gzip)
        let input = directory.url.appendingPathComponent("upload")
        let output = directory.url.appendingPathComponent("payload")
        try bomb.write(to: input)
        let largestSlice = Mutex(0)
        let coder = ZlibPayloadCoder(sliceObserver: { count in
            largestSlice.withLock { $0 = max($0, count) }
        })
        let written = try coder.decompress(file: input, from: .gzip, to: output, maximumSize: inflatedSize)
        #expect(written == inflatedSize)
        #expect(try output.resourceValues(forKeys: [.fileSizeKey]).fileSize == inflatedSize)
        #expect(largestSlice.withLock { $0 } <= 64 * 1024)
    }

    @Test("spooled bomb over the limit is rejected")
    func spooledBombOverLimit() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let bomb = try ZlibPayloadCoder().compress(Data(count: 4 * 1024 * 1024), as: .deflate)
        let input = directory.url.appendingPathComponent("upload")
        try bomb.write(to: input)
        let error = #expect(throws: DCFErrorResponse.self) {
            try ZlibPayloadCoder().decompress(
                file: input, from: .deflate, to: directory.url.appendingPathComponent("payload"),
                maximumSize: 1024 * 1024)
        }
        #expect(error?.error.code == DCFErrorCode.inflatedTooLarge.rawValue)
    }
}
