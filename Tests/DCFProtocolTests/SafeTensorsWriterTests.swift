// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation
import Testing

struct SafeTensorsWriterTests {
    /// A tensor in one dtype, with raw bytes whose element values are known.
    struct Sample: Sendable, CustomStringConvertible {
        let dtype: TensorDType
        let shape: [Int]
        let bytes: [UInt8]
        var description: String { dtype.rawValue }
    }

    static let samples: [Sample] = [
        Sample(dtype: .float64, shape: [2], bytes: [0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0, 0, 0, 0, 0, 0, 0x02, 0xc0]),
        Sample(dtype: .float32, shape: [1, 2], bytes: [0, 0, 0xc0, 0x3f, 0, 0, 0x10, 0xc0]),
        Sample(dtype: .float16, shape: [3], bytes: [0x00, 0x3e, 0x00, 0xc1, 0x01, 0x00]),
        Sample(dtype: .bfloat16, shape: [2], bytes: [0xc0, 0x3f, 0x10, 0xc0]),
        Sample(dtype: .int64, shape: [1], bytes: [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
        Sample(dtype: .int32, shape: [2], bytes: [1, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f]),
        Sample(dtype: .int16, shape: [2], bytes: [0x00, 0x80, 0x05, 0x00]),
        Sample(dtype: .int8, shape: [2], bytes: [0x80, 0x7f]),
        Sample(dtype: .uint8, shape: [2, 2], bytes: [0, 1, 254, 255]),
        Sample(dtype: .bool, shape: [3], bytes: [1, 0, 1]),
        Sample(dtype: .float32, shape: [], bytes: [0, 0, 0x80, 0x3f]),
        Sample(dtype: .int64, shape: [0, 4], bytes: []),
    ]

    @Test("round trip in every dtype", arguments: samples)
    func roundTrip(_ sample: Sample) throws {
        var writer = SafeTensorsWriter(metadata: ["format": "pt"])
        try writer.add(name: "layer.weight", dtype: sample.dtype, shape: sample.shape, bytes: sample.bytes)
        let parsed = try SafeTensors(bytes: writer.serialize())

        let tensor = try #require(parsed.tensor(named: "layer.weight"))
        #expect(tensor.info.dtype == sample.dtype)
        #expect(tensor.info.shape == sample.shape)
        #expect(tensor.withUnsafeBytes { Array($0) } == sample.bytes)
        #expect(parsed.metadata == ["format": "pt"])
    }

    @Test func allDTypesInOneFile() throws {
        var writer = SafeTensorsWriter()
        for (index, sample) in Self.samples.enumerated() {
            try writer.add(name: "t\(index)", dtype: sample.dtype, shape: sample.shape, bytes: sample.bytes)
        }
        let parsed = try SafeTensors(bytes: writer.serialize())
        #expect(parsed.tensors.count == Self.samples.count)
        for (index, sample) in Self.samples.enumerated() {
            let tensor = try #require(parsed.tensor(named: "t\(index)"))
            #expect(tensor.copyBytes() == Data(sample.bytes), "t\(index) \(sample.dtype)")
        }
    }

    @Test func layoutMatchesPythonPackage() throws {
        var writer = SafeTensorsWriter(metadata: ["format": "np"])
        try writer.add(name: "b", shape: [3], values: [Float](repeating: 0, count: 3))
        try writer.add(name: "a", dtype: .int8, shape: [2], bytes: [0, 0])
        try writer.add(name: "c", shape: [1], values: [0.0])
        try writer.add(name: "z", dtype: .float16, shape: [0], bytes: [UInt8]())
        try writer.add(name: "scalar", shape: [], values: [Float(0)])
        let file = writer.serialize()

        // Header of safetensors.numpy.save (package version 0.8.0) for the same tensors, padded to 312 bytes.
        let expectedHeader =
            #"{"__metadata__":{"format":"np"},"c":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"#
            + #""b":{"dtype":"F32","shape":[3],"data_offsets":[8,20]},"#
            + #""scalar":{"dtype":"F32","shape":[],"data_offsets":[20,24]},"#
            + #""z":{"dtype":"F16","shape":[0],"data_offsets":[24,24]},"#
            + #""a":{"dtype":"I8","shape":[2],"data_offsets":[24,26]}}     "#
        #expect(file.count == 8 + 312 + 26)
        #expect(Array(file.prefix(8)) == [56, 1, 0, 0, 0, 0, 0, 0])
        #expect(String(decoding: file[8..<320], as: UTF8.self) == expectedHeader)
        #expect(file[320...].allSatisfy { $0 == 0 })
    }

    @Test(
        "header padded to multiple of 8",
        arguments: ["w", "we", "wei", "weig", "weigh", "weight", "weight.", "weight.x"])
    func headerPadding(name: String) throws {
        var writer = SafeTensorsWriter()
        try writer.add(name: name, shape: [1], values: [Float(1)])
        let file = writer.serialize()
        let headerLength = file.prefix(8).reversed().reduce(0) { $0 << 8 | Int($1) }
        #expect(headerLength % 8 == 0)
        #expect(file.count == 8 + headerLength + 4)
        #expect(file[8 + headerLength - 1] == UInt8(ascii: " ") || file[8 + headerLength - 1] == UInt8(ascii: "}"))
    }

    @Test func escapedNamesAndMetadata() throws {
        let name = "a\"\\\n\u{01}é"
        var writer = SafeTensorsWriter(metadata: ["k": "tab\there/é\u{2028}"])
        try writer.add(name: name, dtype: .uint8, shape: [0], bytes: [UInt8]())
        let file = writer.serialize()
        let header = String(decoding: file.dropFirst(8), as: UTF8.self).trimmingCharacters(in: .whitespaces)
        // The safetensors package (0.8.0) writes this header for the same name and metadata.
        #expect(
            header == "{\"__metadata__\":{\"k\":\"tab\\there/é\u{2028}\"},\"a\\\"\\\\\\n\\u0001é\":"
                + "{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}")
        let parsed = try SafeTensors(bytes: file)
        #expect(parsed.names == [name])
        #expect(parsed.metadata == ["k": "tab\there/é\u{2028}"])
    }

    @Test func floatValuesConvertOnWrite() throws {
        var writer = SafeTensorsWriter()
        let values: [Float] = [1, -2.5, 0.099975586, 65504]
        try writer.add(name: "h", shape: [4], values: values, as: .float16)
        try writer.add(name: "b", shape: [4], values: [1, -2.5, 3.140625, 0x1p100], as: .bfloat16)
        try writer.add(name: "d", shape: [2], values: [0.1, -1e300])
        let parsed = try SafeTensors(bytes: writer.serialize())

        #expect(try parsed.tensor(named: "h")?.floatValues() == values)
        #expect(try parsed.tensor(named: "b")?.floatValues() == [1, -2.5, 3.140625, 0x1p100])
        #expect(try parsed.tensor(named: "d")?.doubleValues() == [0.1, -1e300])
    }

    @Test func duplicateNameRejected() throws {
        var writer = SafeTensorsWriter()
        try writer.add(name: "w", shape: [1], values: [Float(1)])
        let error = #expect(throws: SafeTensorsError.self) { try writer.add(name: "w", shape: [1], values: [Float(2)]) }
        #expect(error?.code == .duplicateTensorName)
        #expect(error?.description.contains("\"w\"") == true)
    }

    @Test("reserved or empty name rejected", arguments: ["", "__metadata__"])
    func invalidNameRejected(name: String) {
        var writer = SafeTensorsWriter()
        let error = #expect(throws: SafeTensorsError.self) {
            try writer.add(name: name, shape: [1], values: [Float(1)])
        }
        #expect(error?.code == .invalidTensorName)
    }

    @Test func wrongByteCountRejected() {
        var writer = SafeTensorsWriter()
        let error = #expect(throws: SafeTensorsError.self) {
            try writer.add(name: "w", dtype: .float32, shape: [2, 2], bytes: [UInt8](repeating: 0, count: 12))
        }
        #expect(error?.code == .sizeMismatch)
        #expect(error?.description.contains("needs 16 bytes, but has 12 bytes") == true)
    }

    @Test func negativeShapeRejected() {
        var writer = SafeTensorsWriter()
        let error = #expect(throws: SafeTensorsError.self) {
            try writer.add(name: "w", dtype: .float32, shape: [-1], bytes: [UInt8]())
        }
        #expect(error?.code == .invalidShape)
    }

    @Test func integerDTypeRejectedForFloats() {
        var writer = SafeTensorsWriter()
        let error = #expect(throws: SafeTensorsError.self) {
            try writer.add(name: "w", shape: [1], values: [Float(1)], as: .int32)
        }
        #expect(error?.code == .unsupportedConversion)
    }

    @Test func copyFromParsedFile() throws {
        var first = SafeTensorsWriter()
        try first.add(name: "w", shape: [2], values: [Float(1), 2])
        let parsed = try SafeTensors(bytes: first.serialize())
        var second = SafeTensorsWriter()
        try second.add(try #require(parsed.tensor(named: "w")), name: "w.copy")
        let copied = try SafeTensors(bytes: second.serialize())
        #expect(try copied.tensor(named: "w.copy")?.floatValues() == [1, 2])
    }
}
