// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Foundation
import Testing

@Suite struct ExtendedAttributeTests {
    private let name = "user.dcf.test"

    @Test func setValueReadsBackAndReplaces() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("data.bin")
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        try #require(descriptor >= 0)
        defer { close(descriptor) }

        #expect(try ExtendedAttribute.value(of: name, path: path) == nil)
        #expect(try ExtendedAttribute.set(name, to: "first", descriptor: descriptor, path: path))
        #expect(try ExtendedAttribute.value(of: name, path: path) == "first")
        #expect(try ExtendedAttribute.set(name, to: "second", descriptor: descriptor, path: path))
        #expect(try ExtendedAttribute.value(of: name, path: path) == "second")
        #expect(try ExtendedAttribute.set(name, to: "", descriptor: descriptor, path: path))
        #expect(try ExtendedAttribute.value(of: name, path: path) == "")
    }

    @Test func valueLongerThanMaximumReadsAsNil() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("data.bin")
        try Data([1]).write(to: URL(fileURLWithPath: path))
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        try ExtendedAttribute.set(name, to: String(repeating: "x", count: 20), descriptor: descriptor, path: path)

        #expect(try ExtendedAttribute.value(of: name, path: path, maximumBytes: 19) == nil)
        #expect(try ExtendedAttribute.value(of: name, path: path, maximumBytes: 20)?.count == 20)
    }

    @Test func missingFileThrows() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("absent.bin")
        #expect(throws: SystemCallError(call: "getxattr", subject: path, errno: ENOENT)) {
            try ExtendedAttribute.value(of: name, path: path)
        }
    }

    /// procfs, like some file systems a state directory may be on, does not support user attributes.
    @Test func unsupportedFileSystemReturnsFalse() throws {
        let path = "/proc/self/status"
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        try #require(descriptor >= 0)
        defer { close(descriptor) }

        #expect(try ExtendedAttribute.set(name, to: "value", descriptor: descriptor, path: path) == false)
        #expect(try ExtendedAttribute.value(of: name, path: path) == nil)
    }

    /// The attribute is set on the temporary file before its `fsync`, and the rename keeps it.
    @Test func atomicWriteKeepsAttribute() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("model.bin")
        try AtomicFile.write(to: path) { (file) throws(SystemCallError) in
            try file.append([1, 2] as [UInt8])
            #expect(try file.setExtendedAttribute(name, bytes: Array("digest".utf8)))
        }
        #expect(try ExtendedAttribute.value(of: name, path: path) == "digest")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["model.bin"])
    }
}
