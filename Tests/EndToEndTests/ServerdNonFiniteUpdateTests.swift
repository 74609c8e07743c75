// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation
import TestSupport
import Testing

/// An update holding NaN or infinity is found while it streams into the real server, rejected with the
/// tensor's name, and leaves the round as it was.
@Suite struct ServerdNonFiniteUpdateTests {
    private static func update(bias: Float) throws -> Data {
        let metadata = UpdateMetadata(numExamples: 10, baseVersion: 1)
        var writer = SafeTensorsWriter(metadata: metadata.safetensorsMetadata)
        try writer.add(name: "layer.weight", shape: [2, 2], values: [Float]([1, 2, 3, 4]))
        try writer.add(name: "layer.bias", shape: [2], values: [Float]([0.5, bias]))
        return writer.serialize()
    }

    @Test(arguments: [Float.nan, .infinity, -.infinity])
    func nonFiniteUpdateIsRejectedAndRoundUnchanged(bad: Float) async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let server = try fixture.launch()
        defer { server.process.terminate(signal: SIGKILL) }
        let worker = try server.worker(keyFile: fixture.workerKeyFiles[0])
        _ = try await worker.registerWorker()

        do {
            try await worker.sendModelUpdate(try Self.update(bias: bad))
            Issue.record("an update with \(bad) was accepted")
        } catch {
            #expect(String(describing: error).contains("layer.bias"), "\(error)")
            #expect(String(describing: error).contains("NaN or infinity"), "\(error)")
        }
        let metrics = try server.metrics()
        #expect(metrics["dcf_updates_accepted_total"] == 0)
        #expect(metrics["dcf_global_model_version"] == 1)

        // The same worker's finite update is then taken and completes the one-update round.
        #expect(try await worker.sendModelUpdate(try Self.update(bias: 0.25)).accepted)
        #expect(try server.metrics()["dcf_global_model_version"] == 2)
    }
}
