// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation
import Testing

/// The streaming NaN and infinity scan agrees with a check of the parsed file, however the bytes are split.
@Suite struct SafeTensorsFiniteScanTests {
    /// Scans `file` fed in pieces of `pieceSize` bytes.
    private static func scan(_ file: Data, pieceSize: Int, maximumHeaderSize: Int = 1 << 20) -> [String]? {
        var scan = SafeTensorsFiniteScan(maximumHeaderSize: maximumHeaderSize)
        let bytes = [UInt8](file)
        var start = 0
        while start < bytes.count {
            let end = min(start + pieceSize, bytes.count)
            bytes[start..<end].withUnsafeBytes { scan.consume($0) }
            start = end
        }
        return scan.nonFiniteTensors
    }

    /// The non-finite tensors of a parsed file, in data order: what the scan must report.
    private static func expected(_ file: Data) throws -> [String] {
        let parsed = try SafeTensors(bytes: file)
        return parsed.allTensors().filter { tensor in
            !tensor.withUnsafeBytes { tensor.info.dtype.allFinite($0) }
        }.map(\.info.name)
    }

    private static func mixedFile(nanAt position: Int?) throws -> Data {
        var writer = SafeTensorsWriter(metadata: ["note": "mixed"])
        var floats = [Float](repeating: 0.25, count: 37)
        if let position { floats[position] = .nan }
        try writer.add(name: "a.weight", shape: [37], values: floats)
        try writer.add(name: "b.double", shape: [3], values: [1.0, -2.0, 3.0] as [Double])
        try writer.add(name: "c.half", shape: [5], values: [Float](repeating: 1, count: 5), as: .float16)
        try writer.add(name: "d.count", dtype: .int64, shape: [4], bytes: [UInt8](repeating: 0xFF, count: 32))
        return writer.serialize()
    }

    @Test(arguments: [1, 3, 7, 64, 4096])
    func cleanFileReportsNothing(pieceSize: Int) throws {
        let file = try Self.mixedFile(nanAt: nil)
        #expect(Self.scan(file, pieceSize: pieceSize) == [])
    }

    @Test(arguments: [0, 15, 16, 36])
    func nanFoundForEverySplit(position: Int) throws {
        let file = try Self.mixedFile(nanAt: position)
        for pieceSize in [1, 2, 3, 5, 7, 13, 64, 4096] {
            #expect(Self.scan(file, pieceSize: pieceSize) == ["a.weight"], "piece size \(pieceSize)")
        }
    }

    @Test func randomFilesMatchTheParsedCheck() throws {
        var generator = SystemRandomNumberGenerator()
        let dtypes: [TensorDType] = [.float64, .float32, .float16, .bfloat16, .int8, .int32]
        for _ in 0..<40 {
            var writer = SafeTensorsWriter()
            for index in 0..<Int.random(in: 1...5, using: &generator) {
                let dtype = dtypes.randomElement(using: &generator)!
                let count = Int.random(in: 1...300, using: &generator)
                var bytes = [UInt8](repeating: 0, count: count * dtype.byteSize)
                if dtype.isFloatingPoint && Bool.random(using: &generator) {
                    // All-ones bytes at one element: NaN in every floating-point encoding.
                    let element = Int.random(in: 0..<count, using: &generator)
                    for offset in 0..<dtype.byteSize { bytes[element * dtype.byteSize + offset] = 0xFF }
                }
                try writer.add(name: "t\(index)", dtype: dtype, shape: [count], bytes: bytes)
            }
            let file = writer.serialize()
            let pieceSize = Int.random(in: 1...512, using: &generator)
            #expect(Self.scan(file, pieceSize: pieceSize) == (try Self.expected(file)))
        }
    }

    @Test func unreadableHeadersGiveNoResult() throws {
        let clean = try Self.mixedFile(nanAt: nil)
        #expect(Self.scan(clean, pieceSize: 64, maximumHeaderSize: 16) == nil)
        var garbled = [UInt8](clean)
        garbled[8] = UInt8(ascii: "x")
        #expect(Self.scan(Data(garbled), pieceSize: 64) == nil)
        #expect(Self.scan(Data([1, 2, 3]), pieceSize: 1) == nil)
    }
}
