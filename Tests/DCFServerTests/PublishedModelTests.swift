// SPDX-License-Identifier: Apache-2.0
@testable import DCFServer
import DCFProtocol
import Foundation
import Synchronization
import Testing

struct PublishedModelTests {
    /// Bytes that deflate cannot shrink: a xorshift sequence.
    private static func noise(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> Data {
        var state = seed
        var bytes = [UInt8](repeating: 0, count: count)
        for index in bytes.indices {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            bytes[index] = UInt8(truncatingIfNeeded: state)
        }
        return Data(bytes)
    }

    /// A `ZlibPayloadCoder` that records the size of every input it compresses.
    private final class RecordingCoder: PayloadCoder {
        let inputs = Mutex<[Int]>([])
        let inner = ZlibPayloadCoder()

        var compressedCodings: [ContentCoding] { inner.compressedCodings }

        func compress(_ data: Data, as coding: ContentCoding) throws -> Data {
            inputs.withLock { $0.append(data.count) }
            return try inner.compress(data, as: coding)
        }

        func decompress(_ data: Data, from coding: ContentCoding, maximumSize: Int) throws -> Data {
            try inner.decompress(data, from: coding, maximumSize: maximumSize)
        }
    }

    @Test("incompressible model is judged by one sample")
    func incompressibleModelSampledOnce() {
        let coder = RecordingCoder()
        let bytes = Self.noise(1_000_000)
        let model = PublishedModel(version: ModelVersion(3), bytes: bytes, coder: coder)

        #expect(Array(model.encodings.keys) == [.identity])
        #expect(model.preferredCoding(acceptEncoding: "gzip, deflate") == .identity)
        let sampleBytes = PublishedModel.sampleSlices * PublishedModel.sampleSliceBytes
        #expect(coder.inputs.withLock { $0 } == [sampleBytes])
    }

    @Test("compressible middle is found by the sample")
    func compressibleMiddleFound() throws {
        var bytes = Self.noise(300_000)
        bytes.append(Data(count: 600_000))
        bytes.append(Self.noise(300_000, seed: 7))
        let model = PublishedModel(version: ModelVersion(1), bytes: bytes, coder: ZlibPayloadCoder())

        #expect(Set(model.encodings.keys) == [.identity, .gzip, .deflate])
        let deflated = try #require(model.encodings[.deflate])
        let inflated = try ZlibPayloadCoder().decompress(Data(deflated), from: .deflate, maximumSize: bytes.count)
        #expect(inflated == bytes)
    }

    @Test("small model is compressed whole")
    func smallModelCompressedWhole() {
        let coder = RecordingCoder()
        let bytes = Data(count: 4096)
        let model = PublishedModel(version: ModelVersion(1), bytes: bytes, coder: coder)

        #expect(Set(model.encodings.keys) == [.identity, .gzip, .deflate])
        #expect(coder.inputs.withLock { $0 } == [4096, 4096])
    }

    @Test("sample spans start and end")
    func sampleSpansStartAndEnd() throws {
        let bytes = Self.noise(500_000)
        let sample = try #require(PublishedModel.sample(of: bytes))
        let slice = PublishedModel.sampleSliceBytes

        #expect(sample.count == PublishedModel.sampleSlices * slice)
        #expect(sample.prefix(slice) == bytes.prefix(slice))
        #expect(sample.suffix(slice) == bytes.suffix(slice))
        #expect(PublishedModel.sample(of: bytes.prefix(PublishedModel.sampleSlices * slice)) == nil)
    }
}
