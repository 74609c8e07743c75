// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation
import Testing

struct SafeTensorsValidationTests {
    struct BadFile: Sendable, CustomStringConvertible {
        let description: String
        let file: Data
        let code: SafeTensorsError.Code
        /// Substrings the error message must contain: the tensor and the values involved.
        let mentions: [String]
    }

    static func entry(_ name: String, _ dtype: String, _ shape: String, _ offsets: String) -> String {
        "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":\(offsets)}"
    }

    static let eight = [UInt8](repeating: 0, count: 8)

    static let badFiles: [BadFile] = [
        BadFile(
            description: "shorter than length prefix", file: Data([1, 0, 0, 0, 0]),
            code: .fileTooShort, mentions: ["5 bytes"]),
        BadFile(
            description: "header beyond default limit",
            file: SafeTensorsFixture.file(header: "{}", declaredLength: 100_000_001),
            code: .headerTooLarge, mentions: ["100000001", "100000000"]),
        // Files of other model formats: the error names the format and the safetensors function to save with.
        BadFile(
            description: "NumPy npy file", file: Data([0x93] + Array("NUMPY".utf8) + [1, 0, 0x76, 0] + eight),
            code: .headerTooLarge, mentions: ["NumPy .npy file", "safetensors.numpy.save_file"]),
        BadFile(
            description: "ZIP archive from torch.save", file: Data(Array("PK".utf8) + [3, 4, 0x14, 0, 0, 0] + eight),
            code: .headerTooLarge, mentions: ["ZIP archive", "torch.save", "safetensors.torch.save_file"]),
        BadFile(
            description: "Python pickle", file: Data([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46] + eight),
            code: .headerTooLarge, mentions: ["Python pickle", "safetensors.torch.save_file"]),
        BadFile(
            description: "HDF5 file", file: Data([0x89] + Array("HDF\r\n".utf8) + [0x1a, 0x0a] + eight),
            code: .headerTooLarge, mentions: ["HDF5 file"]),
        BadFile(
            description: "gzip file", file: Data([0x1f, 0x8b, 8, 0, 0, 0, 0, 0] + eight),
            code: .headerOutOfBounds, mentions: ["gzip file"]),
        BadFile(
            description: "header past end of file", file: SafeTensorsFixture.file(header: "{}", declaredLength: 50),
            code: .headerOutOfBounds, mentions: ["50", "10 bytes"]),
        BadFile(
            description: "header not JSON", file: SafeTensorsFixture.file(header: "{abc"),
            code: .invalidHeader, mentions: ["not valid UTF-8 JSON", "around character 1"]),
        BadFile(
            description: "header JSON array", file: SafeTensorsFixture.file(header: "[1, 2]"),
            code: .invalidHeader, mentions: ["not an object"]),
        BadFile(
            description: "header JSON null", file: SafeTensorsFixture.file(header: "null    "),
            code: .invalidHeader, mentions: ["null, not an object"]),
        BadFile(
            description: "header not UTF-8",
            file: SafeTensorsFixture.file(headerBytes: [0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
            code: .invalidHeader, mentions: ["UTF-8"]),
        BadFile(
            description: "entry not an object", file: SafeTensorsFixture.file(header: #"{"w":3}"#),
            code: .invalidTensorEntry, mentions: ["\"w\"", "not a JSON object"]),
        BadFile(
            description: "entry without dtype",
            file: SafeTensorsFixture.file(header: #"{"w":{"shape":[1],"data_offsets":[0,4]}}"#),
            code: .invalidTensorEntry, mentions: ["\"w\"", "\"dtype\" is missing"]),
        BadFile(
            description: "shape not an array",
            file: SafeTensorsFixture.file(header: #"{"w":{"dtype":"F32","shape":"2","data_offsets":[0,8]}}"#),
            code: .invalidTensorEntry, mentions: ["\"w\"", "\"shape\" is not an array"]),
        BadFile(
            description: "offsets missing",
            file: SafeTensorsFixture.file(header: #"{"w":{"dtype":"F32","shape":[2]}}"#),
            code: .invalidTensorEntry, mentions: ["\"w\"", "\"data_offsets\" is missing"]),
        BadFile(
            description: "unsupported dtype",
            file: SafeTensorsFixture.file(header: "{" + entry("w", "U16", "[2]", "[0,4]") + "}", data: [0, 0, 0, 0]),
            code: .unknownDType, mentions: ["\"w\"", "\"U16\"", "BF16"]),
        BadFile(
            description: "negative dimension",
            file: SafeTensorsFixture.file(header: "{" + entry("w", "F32", "[-1,2]", "[0,0]") + "}"),
            code: .invalidShape, mentions: ["\"w\"", "[-1, 2]"]),
        BadFile(
            description: "shape overflows",
            file: SafeTensorsFixture.file(header: "{" + entry("w", "F64", "[4611686018427387904,4]", "[0,0]") + "}"),
            code: .invalidShape, mentions: ["\"w\"", "4611686018427387904"]),
        BadFile(
            description: "offsets reversed",
            file: SafeTensorsFixture.file(header: "{" + entry("w", "F32", "[1]", "[8,4]") + "}", data: eight),
            code: .invalidOffsets, mentions: ["\"w\"", "[8, 4]"]),
        BadFile(
            description: "offsets one number",
            file: SafeTensorsFixture.file(header: "{" + entry("w", "F32", "[0]", "[0]") + "}"),
            code: .invalidOffsets, mentions: ["\"w\"", "[0]"]),
        BadFile(
            description: "offsets negative",
            file: SafeTensorsFixture.file(header: "{" + entry("w", "F32", "[1]", "[-4,0]") + "}"),
            code: .invalidOffsets, mentions: ["\"w\"", "[-4, 0]"]),
        BadFile(
            description: "size differs from shape",
            file: SafeTensorsFixture.file(header: "{" + entry("w", "F32", "[2]", "[0,4]") + "}", data: [0, 0, 0, 0]),
            code: .sizeMismatch, mentions: ["\"w\"", "F32", "[2]", "needs 8 bytes", "has 4 bytes"]),
        BadFile(
            description: "first tensor not at zero",
            file: SafeTensorsFixture.file(header: "{" + entry("w", "F32", "[1]", "[4,8]") + "}", data: eight),
            code: .gap, mentions: ["\"w\"", "byte 4", "starts at byte 0"]),
        BadFile(
            description: "gap between tensors",
            file: SafeTensorsFixture.file(
                header: "{" + entry("a", "F32", "[1]", "[0,4]") + "," + entry("b", "F32", "[1]", "[8,12]") + "}",
                data: eight + [0, 0, 0, 0]),
            code: .gap, mentions: ["\"b\"", "byte 8", "\"a\" ends at byte 4"]),
        BadFile(
            description: "overlapping tensors",
            file: SafeTensorsFixture.file(
                header: "{" + entry("a", "F32", "[2]", "[0,8]") + "," + entry("b", "F32", "[2]", "[4,12]") + "}",
                data: eight + [0, 0, 0, 0]),
            code: .overlap, mentions: ["\"b\"", "byte 4", "\"a\"", "0..<8"]),
        BadFile(
            description: "tensor past end",
            file: SafeTensorsFixture.file(header: "{" + entry("w", "F32", "[2]", "[0,8]") + "}", data: [0, 0, 0, 0]),
            code: .tensorOutOfBounds, mentions: ["\"w\"", "byte 8", "4 bytes"]),
        BadFile(
            description: "bytes after last tensor",
            file: SafeTensorsFixture.file(header: "{" + entry("w", "F32", "[1]", "[0,4]") + "}", data: eight),
            code: .trailingBytes, mentions: ["byte 4", "8 bytes", "4 trailing bytes"]),
        BadFile(
            description: "bytes with no tensors", file: SafeTensorsFixture.file(header: "{}", data: [1, 2]),
            code: .trailingBytes, mentions: ["byte 0", "2 trailing bytes"]),
        BadFile(
            description: "metadata value not string",
            file: SafeTensorsFixture.file(header: #"{"__metadata__":{"epoch":3}}"#),
            code: .invalidMetadata, mentions: ["\"epoch\"", "not a string"]),
        BadFile(
            description: "metadata not object", file: SafeTensorsFixture.file(header: #"{"__metadata__":["a"]}"#),
            code: .invalidMetadata, mentions: ["not a JSON object"]),
    ]

    @Test("bad file rejected", arguments: badFiles)
    func badFileRejected(_ bad: BadFile) {
        let error = #expect(throws: SafeTensorsError.self) { try SafeTensors(bytes: bad.file) }
        #expect(error?.code == bad.code, "\(String(describing: error))")
        for mention in bad.mentions {
            #expect(error?.description.contains(mention) == true, "\(String(describing: error)) lacks \(mention)")
        }
        // Messages are for people: no Swift type dumps such as `DecodingError.dataCorrupted(...)`.
        #expect(error?.description.contains("Error") == false, "\(String(describing: error)) dumps an error type")
    }

    @Test func configuredHeaderLimit() throws {
        let file = SafeTensorsFixture.file(
            header: "{" + Self.entry("w", "F32", "[1]", "[0,4]") + "}", data: [0, 0, 0, 0])
        let error = #expect(throws: SafeTensorsError.self) { try SafeTensors(bytes: file, maximumHeaderSize: 16) }
        #expect(error?.code == .headerTooLarge)
        #expect(error?.description.contains("maximum of 16 bytes") == true)
        #expect(try SafeTensors(bytes: file, maximumHeaderSize: 64).names == ["w"])
    }

    @Test func nullMetadataAccepted() throws {
        let file = SafeTensorsFixture.file(header: #"{"__metadata__":null}"#)
        let parsed = try SafeTensors(bytes: file)
        #expect(parsed.metadata.isEmpty)
        #expect(parsed.tensors.isEmpty)
    }

    @Test func emptyTensorsShareOffsets() throws {
        let header =
            "{" + Self.entry("a", "F32", "[0]", "[0,0]") + "," + Self.entry("b", "F32", "[1]", "[0,4]") + ","
            + Self.entry("c", "I64", "[3,0]", "[4,4]") + "}"
        let parsed = try SafeTensors(bytes: SafeTensorsFixture.file(header: header, data: [0, 0, 0x80, 0x3f]))
        #expect(parsed.names == ["a", "b", "c"])
        #expect(try parsed.tensor(named: "b")?.floatValues() == [1])
        #expect(try parsed.tensor(named: "c")?.int64Values() == [])
    }
}
