// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
@testable import FedAvg

@Suite struct ModelVersionStoreTests {
    @Test func deletingMissingFileIsNoFailure() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dcf-versions-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("v1.safetensors").path
        #expect(FileManager.default.createFile(atPath: file, contents: Data([1])))

        #expect(ModelVersionStore.deleteIfPresent(file) == nil)
        #expect(!FileManager.default.fileExists(atPath: file))
        // Another deletion got there first.
        #expect(ModelVersionStore.deleteIfPresent(file) == nil)
        // A directory is not a file, and unlink names the problem.
        #expect(ModelVersionStore.deleteIfPresent(directory.path) != nil)
    }
    /// A file in the place of `models/` stops the start with an error that names the path and the system's
    /// reason, not Foundation's error object.
    @Test func modelsPathNotDirectoryNamed() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dcf-versions-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = ModelVersionStore(stateDirectory: directory)
        try Data("not a directory".utf8).write(to: store.directory)

        let error = #expect(throws: FedAvgError.self) { try store.latestVersion() }
        let message = error?.description ?? ""
        #expect(message.contains(store.directory.path), "message: \(message)")
        #expect(message.contains("Not a directory"), "message: \(message)")
        #expect(!message.contains("NSCocoaErrorDomain"), "message: \(message)")
    }
}
