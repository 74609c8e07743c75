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

    @Test("safetensors header does not decide the sample")
    func headerLeftOutOfSample() throws {
        // A header of many tensor names, which deflate shrinks well, then incompressible values.
        let names = (0..<400).map { "layer\($0).weight" }
        let valueBytes = 2_000_000
        let perTensor = valueBytes / names.count
        let entries = names.enumerated().map { index, name in
            "\"\(name)\":{\"dtype\":\"U8\",\"shape\":[\(perTensor)],\"data_offsets\":[\(index * perTensor),\((index + 1) * perTensor)]}"
        }
        let header = Data(("{" + entries.joined(separator: ",") + "}").utf8)
        var bytes = Data(withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) })
        bytes.append(header)
        bytes.append(Self.noise(valueBytes))
        // The header fills most of the first slice, so a sample taken from the file's start would shrink.
        let fileSample = try #require(PublishedModel.sample(of: bytes))
        let deflated = try ZlibPayloadCoder().compress(fileSample, as: .deflate)
        #expect(Double(deflated.count) < Double(fileSample.count) * PublishedModel.maximumKeptRatio)

        let coder = RecordingCoder()
        let model = PublishedModel(version: ModelVersion(2), bytes: bytes, coder: coder)
        #expect(Array(model.encodings.keys) == [.identity])
        let sampleBytes = PublishedModel.sampleSlices * PublishedModel.sampleSliceBytes
        #expect(coder.inputs.withLock { $0 } == [sampleBytes])
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
