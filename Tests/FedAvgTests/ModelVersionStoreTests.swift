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
}
