// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Hand-made safetensors files for tests.
enum SafeTensorsFixture {
    /// Returns a file whose header is `header` (declared with its own length unless `declaredLength` is
    /// given) followed by `data`.
    static func file(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> Data {
        file(headerBytes: Array(header.utf8), data: data, declaredLength: declaredLength)
    }

    static func file(headerBytes: [UInt8], data: [UInt8] = [], declaredLength: UInt64? = nil) -> Data {
        var file = Data()
        withUnsafeBytes(of: (declaredLength ?? UInt64(headerBytes.count)).littleEndian) { file.append(contentsOf: $0) }
        file.append(contentsOf: headerBytes)
        file.append(contentsOf: data)
        return file
    }

    /// Returns the little-endian bytes of `values`.
    static func littleEndian(_ values: [Float]) -> [UInt8] {
        values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
    }
}
