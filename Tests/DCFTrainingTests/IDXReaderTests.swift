// SPDX-License-Identifier: Apache-2.0
import DCFCompression
import DCFTraining
import Foundation
import Testing

@Suite struct IDXReaderTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dcf-idx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    private func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    private func cleanUp() { try? FileManager.default.removeItem(at: directory) }

    /// Returns the header of a 3-dimensional unsigned-byte IDX array of `count` images of 2×3 pixels.
    private func imageHeader(count: UInt8) -> [UInt8] { [0, 0, 8, 3, 0, 0, 0, count, 0, 0, 0, 2, 0, 0, 0, 3] }

    @Test func readsValidUncompressedFile() throws {
        defer { cleanUp() }
        let path = try write(imageHeader(count: 2) + Array(0..<12), "images-idx3-ubyte")
        let array = try IDXArray.read(path: path, dimensionCount: 3)
        #expect(array.dimensions == [2, 2, 3])
        #expect(array.bytes == Array(0..<12))
    }

    @Test(arguments: [
        ("wrong element type", [0, 0, 9, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3] + [UInt8](repeating: 1, count: 12)),
        ("wrong dimension count", [0, 0, 8, 1, 0, 0, 0, 12] + [UInt8](repeating: 1, count: 12)),
        ("truncated data", [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3] + [UInt8](repeating: 1, count: 11)),
        ("trailing data", [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3] + [UInt8](repeating: 1, count: 13)),
        ("truncated header", [0, 0, 8, 3, 0, 0]),
    ] as [(String, [UInt8])])
    func rejectsInvalidFile(label: String, bytes: [UInt8]) throws {
        defer { cleanUp() }
        let path = try write(bytes, "bad-idx3-ubyte")
        let error = #expect(throws: DatasetError.self, "\(label)") { try IDXArray.read(path: path, dimensionCount: 3) }
        #expect(error?.description.contains(path) == true, "\(label): \(String(describing: error))")
    }

    @Test func rejectsTruncatedGzip() throws {
        defer { cleanUp() }
        let original = try fashionFile("t10k-labels-idx1-ubyte.gz")
        let path = try write(Array(original.prefix(original.count / 2)), "t10k-labels-idx1-ubyte.gz")
        let error = #expect(throws: DatasetError.self) { try IDXArray.read(path: path, dimensionCount: 1) }
        #expect(error?.description.contains("truncated") == true, "\(String(describing: error))")
        #expect(error?.description.contains(path) == true)
    }

    @Test func rejectsCorruptGzip() throws {
        defer { cleanUp() }
        var bytes = try fashionFile("t10k-labels-idx1-ubyte.gz")
        for index in stride(from: 20, to: bytes.count - 8, by: 7) { bytes[index] ^= 0x5A }
        let path = try write(bytes, "t10k-labels-idx1-ubyte.gz")
        let error = #expect(throws: DatasetError.self) { try IDXArray.read(path: path, dimensionCount: 1) }
        #expect(error?.description.contains(path) == true, "\(String(describing: error))")
    }

    @Test func rejectsMissingFile() {
        defer { cleanUp() }
        let path = directory.appendingPathComponent("absent-idx1-ubyte.gz").path
        let error = #expect(throws: DatasetError.self) { try IDXArray.read(path: path, dimensionCount: 1) }
        #expect(error?.description.contains(path) == true)
    }

    @Test func gunzipEnforcesOutputLimit() throws {
        defer { cleanUp() }
        let compressed = Data(try fashionFile("t10k-labels-idx1-ubyte.gz"))
        let inflated = try Gunzip.inflate(compressed, outputLimit: 10_008)
        #expect(inflated.count == 10_008)
        #expect(Array(inflated.prefix(8)) == [0, 0, 8, 1, 0, 0, 0x27, 0x10])
        #expect(throws: GunzipError.self) { try Gunzip.inflate(compressed, outputLimit: 10_007) }
    }

    @Test func gunzipReadsConcatenatedMembers() throws {
        defer { cleanUp() }
        let member = try fashionFile("t10k-labels-idx1-ubyte.gz")
        let single = try Gunzip.inflate(Data(member), outputLimit: 1 << 20)
        let double = try Gunzip.inflate(Data(member + member), outputLimit: 1 << 20)
        #expect(double == single + single)
    }

    @Test func loaderNamesMissingDirectoryFile() {
        defer { cleanUp() }
        let error = #expect(throws: DatasetError.self) {
            try FashionMNIST.load(.test, directory: directory.path)
        }
        #expect(error?.description.contains("t10k-images-idx3-ubyte.gz") == true, "\(String(describing: error))")
    }

    @Test func loaderRejectsMismatchedCounts() throws {
        defer { cleanUp() }
        let pixels = [UInt8](repeating: 7, count: 2 * 784)
        _ = try write([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28] + pixels, "t10k-images-idx3-ubyte")
        _ = try write([0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3], "t10k-labels-idx1-ubyte")
        let error = #expect(throws: DatasetError.self) { try FashionMNIST.load(.test, directory: directory.path) }
        #expect(error?.description.contains("3 labels") == true, "\(String(describing: error))")
    }

    @Test func loaderScalesPixels() throws {
        defer { cleanUp() }
        let header: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28]
        _ = try write(header + [0, 255] + [UInt8](repeating: 51, count: 782), "t10k-images-idx3-ubyte")
        _ = try write([0, 0, 8, 1, 0, 0, 0, 1, 9], "t10k-labels-idx1-ubyte")
        let dataset = try FashionMNIST.load(.test, directory: directory.path)
        #expect(dataset.count == 1)
        #expect(dataset.labels == [9])
        #expect(Array(dataset.features.prefix(3)) == [0, 1, 0.2])
    }
}

/// Reads a file of the installed Fashion-MNIST dataset; fails with the install hint when it is missing.
func fashionFile(_ name: String) throws -> [UInt8] {
    let path = FashionMNIST.defaultDirectory + "/" + name
    let data = try #require(
        FileManager.default.contents(atPath: path),
        "\(path) is missing; run scripts/install-deps.sh to install Debian's dataset-fashion-mnist"
    )
    return [UInt8](data)
}
