// SPDX-License-Identifier: Apache-2.0
import DCFCompression
import Foundation

/// An array of unsigned bytes in the IDX format of the MNIST family of datasets.
///
/// The format is a 4-byte magic number (two zero bytes, the element type `0x08` for unsigned bytes, and the
/// number of dimensions), each dimension as a big-endian 32-bit integer, then the elements in row-major order.
public struct IDXArray: Sendable {
    /// The size of each dimension, outermost first.
    public let dimensions: [Int]
    /// The elements in row-major order.
    public let bytes: [UInt8]

    /// The default limit on a file's inflated size: 256 MiB, five times the largest Fashion-MNIST file.
    public static let defaultSizeLimit = 256 << 20

    /// Reads an IDX file of unsigned bytes with `dimensionCount` dimensions, inflating it first when the
    /// name ends in `.gz`.
    ///
    /// - Throws: `DatasetError` naming the file when it cannot be read, is not gzip, is larger than
    ///   `sizeLimit` bytes inflated, has a wrong magic number, or has more or fewer bytes than its header states.
    public static func read(path: String, dimensionCount: Int, sizeLimit: Int = defaultSizeLimit) throws -> IDXArray {
        let contents: [UInt8]
        if path.hasSuffix(".gz") {
            do {
                contents = try Gunzip.inflateFile(atPath: path, outputLimit: sizeLimit)
            } catch let error as GunzipError {
                throw DatasetError.unreadableFile(path, error.description)
            }
        } else {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw DatasetError.unreadableFile(path, "the file does not exist or is not readable")
            }
            contents = [UInt8](data)
        }
        return try parse(contents, dimensionCount: dimensionCount, path: path)
    }

    /// Parses the IDX bytes `contents`; `path` names the source in errors.
    static func parse(_ contents: [UInt8], dimensionCount: Int, path: String) throws -> IDXArray {
        let headerSize = 4 + 4 * dimensionCount
        guard contents.count >= headerSize else {
            throw DatasetError.invalidFile(
                path, "\(contents.count) bytes is shorter than the \(headerSize)-byte header"
            )
        }
        let magic = contents[0..<4].reduce(0) { $0 << 8 | Int($1) }
        let expectedMagic = 0x0800 | dimensionCount
        guard magic == expectedMagic else {
            throw DatasetError.invalidFile(
                path,
                "magic number \(hex(magic)) is not \(hex(expectedMagic)) (unsigned bytes, \(dimensionCount) dimensions)"
            )
        }
        let dimensions = (0..<dimensionCount).map { dimension in
            contents[(4 + 4 * dimension)..<(8 + 4 * dimension)].reduce(0) { $0 << 8 | Int($1) }
        }
        let elementCount = dimensions.reduce(1, *)
        guard contents.count - headerSize == elementCount else {
            throw DatasetError.invalidFile(
                path, "the header states \(dimensions) = \(elementCount) bytes of data but the file has "
                    + "\(contents.count - headerSize); the file is truncated or corrupt"
            )
        }
        return IDXArray(dimensions: dimensions, bytes: Array(contents[headerSize...]))
    }
}

private func hex(_ value: Int) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
}
