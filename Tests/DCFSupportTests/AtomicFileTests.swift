// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Foundation
import Testing

@Suite struct AtomicFileTests {
    @Test func writesAndReplaces() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("model.bin")
        try AtomicFile.write("first", to: path)
        #expect(try FileReader.readText(path) == "first")
        try AtomicFile.write([1, 2, 3] as [UInt8], to: path, permissions: 0o600)
        #expect(try FileReader.read(path) == [1, 2, 3])
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["model.bin"])
    }

    @Test func writesFileFromParts() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("parts.bin")
        try AtomicFile.write(to: path) { (file) throws(SystemCallError) in
            try file.append(Data([1, 2]))
            try file.append([3] as [UInt8])
            try file.append((4...5).map { UInt8($0) }.lazy.map { $0 })
        }
        #expect(try FileReader.read(path) == [1, 2, 3, 4, 5])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["parts.bin"])
    }

    /// Readers racing a writer see only whole versions: each version is one repeated digit, so a mix shows.
    @Test func readersSeeOldOrNewContent() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("history.json")
        let versions = (0..<10).map { String(repeating: String($0), count: 100_000 + $0 * 1_000) }
        try AtomicFile.write(versions[0], to: path)
        let mixed = try await withThrowingTaskGroup(of: Int.self) { group in
            group.addTask {
                for round in 1...200 { try AtomicFile.write(versions[round % versions.count], to: path) }
                return 0
            }
            for _ in 0..<2 {
                group.addTask {
                    var bad = 0
                    for _ in 0..<300 where !versions.contains(try FileReader.readText(path)) { bad += 1 }
                    return bad
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(mixed == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["history.json"])
    }

    @Test func failedRenameKeepsOldContent() throws {
        let directory = try TemporaryDirectory()
        // A non-empty directory at the target path makes rename fail after the temporary file was written.
        let target = directory.file("blocked")
        try FileManager.default.createDirectory(atPath: target + "/inner", withIntermediateDirectories: true)
        let error = #expect(throws: SystemCallError.self) { try AtomicFile.write("new", to: target) }
        #expect(error?.call == "rename")
        #expect(error?.errno == EISDIR)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["blocked"])
    }

    @Test func missingDirectoryNamesPath() throws {
        let directory = try TemporaryDirectory()
        let error = #expect(throws: SystemCallError.self) {
            try AtomicFile.write("x", to: directory.file("absent/file"))
        }
        #expect(error?.call == "mkstemp")
        #expect(error?.errno == ENOENT)
        #expect(error?.description.contains("absent/.file.tmp-XXXXXX") == true)
    }

    @Test func createsMissingDirectories() throws {
        let directory = try TemporaryDirectory()
        let nested = directory.file("rounds/from-v7")
        try AtomicFile.createDirectory(nested)
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: nested, isDirectory: &isDirectory))
        #expect(isDirectory.boolValue)
        // An existing directory is left as it is.
        try AtomicFile.write("x", to: nested + "/update")
        try AtomicFile.createDirectory(nested)
        #expect(try FileReader.readText(nested + "/update") == "x")
    }

    @Test func directoryUnderFileNamesPath() throws {
        let directory = try TemporaryDirectory()
        try AtomicFile.write("x", to: directory.file("plain"))
        let error = #expect(throws: SystemCallError.self) {
            try AtomicFile.createDirectory(directory.file("plain/rounds"))
        }
        #expect(error?.call == "mkdir")
        #expect(error?.errno == ENOTDIR)
        #expect(error?.description.contains("plain/rounds") == true)
    }
}
