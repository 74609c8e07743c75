// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation
import TestSupport
import Testing

/// Fills the disk of `dcf-serverd`'s state directory through a preloaded library that fails writes with `ENOSPC`,
/// then frees it, and checks that no acknowledged update or half-written model results and that the server recovers
/// without a restart.
@Suite struct ServerdFullDiskTests {
    /// An upload that cannot be spooled gets a 503 reply, which the worker retries, so the update arrives once
    /// the disk has space again.
    @Test func uploadRetriedAfterDiskFreed() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let disk = try FullDisk(directory: fixture.directory.path)
        let server = try fixture.launch(environment: disk.environment(failingWritesUnder: fixture.stateDirectory))
        defer { server.process.terminate(signal: SIGKILL) }
        let worker = try server.worker(keyFile: fixture.workerKeyFiles[0])
        _ = try await worker.registerWorker()

        try disk.fill()
        let sending = Task { try await worker.sendModelUpdate(try ServerdFixture.update(from: 1)) }
        defer { sending.cancel() }
        _ = try server.process.waitForLine(containing: "failed to write update body to the spool", timeout: 60)
        try disk.free()

        let reply = try await sending.value
        #expect(reply.message.contains("now version 2"), "reply: \(reply.message)")
        #expect(try server.status().modelVersion == 2)
        let models = try FileManager.default.contentsOfDirectory(atPath: fixture.stateDirectory + "/models")
        #expect(models.sorted() == ["v1.safetensors", "v2.safetensors"])
    }

    /// With the disk full every upload fails the same way, so the server logs one line about it per 10 s and not one
    /// per upload: two workers whose uploads are both refused leave one such line.
    @Test func spoolFailuresLogOneLine() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let keys = try fixture.workerKeyFiles.map { try ServerdFixture.publicKeyHex($0) }
        try ServerdFixture.write(keys.joined(separator: "\n") + "\n", to: fixture.keyListFile)
        let disk = try FullDisk(directory: fixture.directory.path)
        let server = try fixture.launch(environment: disk.environment(failingWritesUnder: fixture.stateDirectory))
        defer { server.process.terminate(signal: SIGKILL) }
        let workers = try fixture.workerKeyFiles.map { try server.worker(keyFile: $0) }
        for worker in workers {
            _ = try await worker.registerWorker()
        }

        try disk.fill()
        let sending = workers.map { worker in
            Task { try await worker.sendModelUpdate(try ServerdFixture.update(from: 1)) }
        }
        defer { sending.forEach { $0.cancel() } }
        // Each refused upload is logged as a rejected request with the worker's short id.
        for key in keys {
            _ = try server.process.waitForLine(
                containing: "code=unavailable status=503 method=POST path=/dcf/update address=127.0.0.1 "
                    + "worker=\(key.prefix(8))",
                timeout: 60)
        }
        let failureLines = server.process.output.components(separatedBy: "\n")
            .filter { $0.contains("failed to write update body to the spool") }
        #expect(failureLines.count == 1, "\(failureLines)")
    }

    /// A compressed upload whose inflated payload cannot be written to the spool gets a 503 reply too, so the
    /// worker sends it again once the disk has space.
    @Test func compressedUploadRetriedAfterDiskFreed() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let disk = try FullDisk(directory: fixture.directory.path)
        let payloads = fixture.stateDirectory + "/spool/payload-"
        let server = try fixture.launch(environment: disk.environment(failingWritesToPathsStartingWith: payloads))
        defer { server.process.terminate(signal: SIGKILL) }
        let worker = try server.worker(keyFile: fixture.workerKeyFiles[0], uploadCompression: .deflate)
        _ = try await worker.registerWorker()

        try disk.fill()
        let sending = Task { try await worker.sendModelUpdate(try ServerdFixture.update(from: 1)) }
        defer { sending.cancel() }
        _ = try server.process.waitForLine(containing: "No space left on device", timeout: 60)
        try disk.free()

        let reply = try await sending.value
        #expect(reply.message.contains("now version 2"), "reply: \(reply.message)")
        #expect(try server.status().modelVersion == 2)
    }

    /// A round whose new version cannot be written keeps its acknowledged update, publishes nothing and leaves
    /// no partial file, then stores the version once the disk has space again.
    @Test func aggregationRetriedAfterDiskFreed() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let disk = try FullDisk(directory: fixture.directory.path)
        let models = fixture.stateDirectory + "/models"
        let server = try fixture.launch(environment: disk.environment(failingWritesUnder: models))
        defer { server.process.terminate(signal: SIGKILL) }
        let worker = try server.worker(keyFile: fixture.workerKeyFiles[0])
        _ = try await worker.registerWorker()

        try disk.fill()
        let reply = try await worker.sendModelUpdate(try ServerdFixture.update(from: 1))
        #expect(reply.message.contains("1 of 1 updates"), "reply: \(reply.message)")
        _ = try server.process.waitForLine(containing: "aggregation failed", timeout: 60)
        let status = try server.status()
        #expect(status.modelVersion == 1)
        #expect(status.round["updates"] == .integer(1))
        let stored = try FileManager.default.contentsOfDirectory(atPath: fixture.stateDirectory + "/rounds/from-v1")
        #expect(stored.count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: models) == ["v1.safetensors"])

        try disk.free()
        try await waitUntil("version 2 stored after the disk was freed", bound: 60) {
            try server.status().modelVersion == 2
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: models).sorted() == ["v1.safetensors", "v2.safetensors"])
    }
}
