// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation
import Testing

/// Files exchanged with the safetensors package from PyPI, in both directions.
struct SafeTensorsInteropTests {
    @Test func readsFilesFromPythonPackage() throws {
        let directory = try SafeTensorsTemporaryDirectory()
        defer { directory.remove() }
        try #require(try SafeTensorsPython.run(["write", directory.path], in: directory))

        let expectedJSON = try Data(contentsOf: URL(fileURLWithPath: directory.file("expected.json")))
        let expected = try JSONDecoder().decode([String: ExpectedSafeTensorsFile].self, from: expectedJSON)
        #expect(Set(expected.keys) == ["dtypes.safetensors", "shapes.safetensors"])
        let dtypes = Set(expected.values.flatMap { $0.tensors.values.map(\.dtype) })
        #expect(dtypes == Set(TensorDType.allCases.map(\.rawValue)), "the fixtures cover every dtype")

        for (name, file) in expected {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: directory.file(name)))
            try file.check(try SafeTensors(bytes: bytes), file: name)
        }
    }

    @Test func pythonLoadsOurFileWithoutBFloat16() throws {
        // No BF16 tensor, so numpy's load_file can read it, and one metadata key, so the script also checks
        // that the package writes the same bytes.
        var writer = SafeTensorsWriter(metadata: ["format": "pt"])
        var expected = ExpectedSafeTensorsFile(metadata: ["format": "pt"], tensors: [:])
        try addFloat(&writer, &expected, "fc1.weight", .float32, [2, 3], [0.5, -1.25, 3, 1e-3, 0, 7.75])
        try addDoubles(&writer, &expected, "fc1.bias", [2], [0.1, -1e300])
        try addFloat(&writer, &expected, "fc2.weight", .float16, [1, 2], [0.333251953125, -65504])
        try addIntegers(&writer, &expected, "bn.num_batches_tracked", .int64, [], [Int64.max])
        try addIntegers(&writer, &expected, "labels", .int32, [3], [Int64(Int32.min), 0, Int64(Int32.max)])
        try addIntegers(&writer, &expected, "short", .int16, [2], [-32768, 32767])
        try addIntegers(&writer, &expected, "byte", .int8, [2], [-128, 127])
        try addIntegers(&writer, &expected, "pixels", .uint8, [2, 2], [0, 1, 254, 255])
        try addIntegers(&writer, &expected, "mask", .bool, [3], [1, 0, 1])
        try addFloat(&writer, &expected, "empty", .float32, [0, 3], [])
        try verifyInPython(writer, expected)
    }

    @Test func pythonLoadsOurFileWithBFloat16() throws {
        let metadata = ["format": "pt", "model_version": "12"]
        var writer = SafeTensorsWriter(metadata: metadata)
        var expected = ExpectedSafeTensorsFile(metadata: metadata, tensors: [:])
        try addFloat(&writer, &expected, "encoder.weight", .bfloat16, [2, 2], [1, -2, 3.140625, 0x1p100])
        try addFloat(&writer, &expected, "encoder.bias", .float16, [2], [0.5, -0.25])
        try addFloat(&writer, &expected, "head.weight", .float32, [1], [42.5])
        try verifyInPython(writer, expected)
    }

    private func addFloat(
        _ writer: inout SafeTensorsWriter, _ expected: inout ExpectedSafeTensorsFile, _ name: String,
        _ dtype: TensorDType, _ shape: [Int], _ values: [Float]
    ) throws {
        try writer.add(name: name, shape: shape, values: values, as: dtype)
        expected.tensors[name] = .init(dtype: dtype, shape: shape, values: .floatingPoint(values.map(Double.init)))
    }

    private func addDoubles(
        _ writer: inout SafeTensorsWriter, _ expected: inout ExpectedSafeTensorsFile, _ name: String,
        _ shape: [Int], _ values: [Double]
    ) throws {
        try writer.add(name: name, shape: shape, values: values)
        expected.tensors[name] = .init(dtype: .float64, shape: shape, values: .floatingPoint(values))
    }

    private func addIntegers(
        _ writer: inout SafeTensorsWriter, _ expected: inout ExpectedSafeTensorsFile, _ name: String,
        _ dtype: TensorDType, _ shape: [Int], _ values: [Int64]
    ) throws {
        let bytes = values.flatMap { value in
            withUnsafeBytes(of: value.littleEndian) { Array($0.prefix(dtype.byteSize)) }
        }
        try writer.add(name: name, dtype: dtype, shape: shape, bytes: bytes)
        expected.tensors[name] = .init(dtype: dtype, shape: shape, values: .integer(values))
    }

    private func verifyInPython(_ writer: SafeTensorsWriter, _ expected: ExpectedSafeTensorsFile) throws {
        let directory = try SafeTensorsTemporaryDirectory()
        defer { directory.remove() }
        let file = writer.serialize()
        try expected.check(try SafeTensors(bytes: file), file: "our file")

        try file.write(to: URL(fileURLWithPath: directory.file("model.safetensors")))
        try JSONEncoder().encode(expected).write(to: URL(fileURLWithPath: directory.file("expected.json")))
        try SafeTensorsPython.run(
            ["verify", directory.file("model.safetensors"), directory.file("expected.json")], in: directory)
    }
}
