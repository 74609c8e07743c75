// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation
import Testing

struct SafeTensorsReaderTests {
    @Test func parsesHandWrittenFile() throws {
        let header =
            #"{"__metadata__":{"format":"pt"},"#
            + #""b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"#
            + #""a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}"#
        let data: [UInt8] = [7, 0, 0, 0] + SafeTensorsFixture.littleEndian([1.5, -2])
        let parsed = try SafeTensors(bytes: SafeTensorsFixture.file(header: header, data: data))

        #expect(parsed.names == ["a", "b"])
        #expect(parsed.metadata == ["format": "pt"])
        let b = try #require(parsed.tensor(named: "b"))
        #expect(b.info == TensorInfo(name: "b", dtype: .float32, shape: [2], dataOffsets: 4..<12))
        #expect(b.info.elementCount == 2)
        #expect(try b.floatValues() == [1.5, -2])
        #expect(try b.doubleValues() == [1.5, -2])
        #expect(try parsed.tensor(named: "a")?.int64Values() == [7])
        #expect(parsed.tensor(named: "c") == nil)
        #expect(parsed.allTensors().map(\.info.name) == ["a", "b"])
    }

    @Test func viewSharesFileBytes() throws {
        var writer = SafeTensorsWriter()
        try writer.add(name: "w", shape: [2], values: [Float(1), 2])
        let file = writer.serialize()
        let parsed = try SafeTensors(bytes: file)
        let fileStart = file.withUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
        let tensorStart = try #require(parsed.tensor(named: "w")).withUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
        #expect(tensorStart == fileStart + UInt(file.count - 8))
    }

    @Test func parsesSliceOfLargerBuffer() throws {
        var writer = SafeTensorsWriter()
        try writer.add(name: "w", shape: [1], values: [Float(3)])
        let buffer = Data([9, 9, 9]) + writer.serialize()
        let parsed = try SafeTensors(bytes: buffer.dropFirst(3))
        #expect(try parsed.tensor(named: "w")?.floatValues() == [3])
    }

    @Test func unalignedDataReadable() throws {
        let json = #"{"d":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"#
            + #""f":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        // Pad the header to an odd length so the data section starts at an odd offset in the file.
        let header = json + (json.utf8.count % 2 == 0 ? " " : "")
        let data =
            withUnsafeBytes(of: (2.5).bitPattern.littleEndian) { Array($0) } + SafeTensorsFixture.littleEndian([-1])
        let parsed = try SafeTensors(bytes: SafeTensorsFixture.file(header: header, data: data))
        let double = try #require(parsed.tensor(named: "d"))

        #expect(double.withUnsafeBytes { Int(bitPattern: $0.baseAddress) % 2 } == 1, "the data is unaligned")
        #expect(try double.doubleValues() == [2.5])
        #expect(try parsed.tensor(named: "f")?.floatValues() == [-1])
    }

    static let halfCases: [(UInt16, Float)] = [
        (0x0000, 0), (0x8000, -0.0), (0x3c00, 1), (0xc000, -2), (0x7bff, 65504), (0x0400, 0x1p-14),
        (0x0001, 0x1p-24), (0x03ff, 0x1.ff8p-15), (0x7c00, .infinity), (0xfc00, -.infinity), (0x3555, 0.333251953125),
    ]

    @Test("F16 decoding", arguments: halfCases)
    func halfDecoding(bits: UInt16, value: Float) throws {
        let file = SafeTensorsFixture.file(
            header: #"{"h":{"dtype":"F16","shape":[],"data_offsets":[0,2]}}"#,
            data: [UInt8(bits & 0xff), UInt8(bits >> 8)])
        let decoded = try #require(try SafeTensors(bytes: file).tensor(named: "h")?.floatValues().first)
        #expect(decoded.bitPattern == value.bitPattern)
    }

    @Test("F16 encoding", arguments: halfCases)
    func halfEncoding(bits: UInt16, value: Float) throws {
        var writer = SafeTensorsWriter()
        try writer.add(name: "h", shape: [], values: [value], as: .float16)
        let raw = try #require(try SafeTensors(bytes: writer.serialize()).tensor(named: "h")).copyBytes()
        #expect(Array(raw) == [UInt8(bits & 0xff), UInt8(bits >> 8)])
    }

    @Test func halfEncodingRounds() throws {
        var writer = SafeTensorsWriter()
        // 1 + 2^-11 is halfway between 1 and the next half, so it rounds to even (1); 65520 overflows.
        try writer.add(name: "h", shape: [4], values: [1 + 0x1p-11, 1 + 0x1.8p-10, 65520, Float.nan], as: .float16)
        let values = try #require(try SafeTensors(bytes: writer.serialize()).tensor(named: "h")).floatValues()
        #expect(values[0] == 1)
        #expect(values[1] == 1 + 0x1p-9)
        #expect(values[2] == .infinity)
        #expect(values[3].isNaN)
    }

    @Test func bfloat16DecodingAndRounding() throws {
        var writer = SafeTensorsWriter()
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7, so it rounds to even (1).
        try writer.add(name: "b", shape: [3], values: [1 + 0x1p-8, 1 + 0x1.8p-8, -0.0], as: .bfloat16)
        let tensor = try #require(try SafeTensors(bytes: writer.serialize()).tensor(named: "b"))
        #expect(Array(tensor.copyBytes()) == [0x80, 0x3f, 0x81, 0x3f, 0x00, 0x80])
        #expect(try tensor.floatValues() == [1, 1 + 0x1p-7, -0.0])
    }

    @Test func integerConversionRejectedForFloats() throws {
        var writer = SafeTensorsWriter()
        try writer.add(name: "w", shape: [1], values: [Float(1)])
        try writer.add(name: "i", dtype: .int8, shape: [1], bytes: [0xff])
        let parsed = try SafeTensors(bytes: writer.serialize())

        let intError = #expect(throws: SafeTensorsError.self) { try parsed.tensor(named: "w")?.int64Values() }
        #expect(intError?.code == .unsupportedConversion)
        let floatError = #expect(throws: SafeTensorsError.self) { try parsed.tensor(named: "i")?.floatValues() }
        #expect(floatError?.code == .unsupportedConversion)
        #expect(floatError?.description.contains("\"i\" has dtype I8") == true)
        #expect(try parsed.tensor(named: "i")?.int64Values() == [-1])
    }
}
