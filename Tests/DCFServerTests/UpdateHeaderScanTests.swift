// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import Foundation
import Testing

/// The scan of an arriving update parses headers only up to the bound the global model's header sets.
@Suite struct UpdateHeaderScanTests {
    private static func safetensors(metadata: [String: String]) throws -> Data {
        var writer = SafeTensorsWriter(metadata: metadata)
        try writer.add(name: "w", shape: [4], values: [Float](repeating: 1, count: 4))
        return writer.serialize()
    }

    /// Up to `max_concurrent_uploads` bodies are scanned at once, and each header of 100 MB would cost about 1 GB
    /// to parse. A header past the bound is left to the strategy, which sees `nonFiniteTensors` nil.
    @Test func oversizedHeaderIsNotScanned() async throws {
        let global = GlobalModel(version: 1, bytes: try Self.safetensors(metadata: [:]))
        try await HTTPHarness.run(initialModel: global) { harness in
            let worker = try TestWorker()
            try await harness.addWorker(worker)
            let fitting = try Self.safetensors(metadata: ["dcf.num_examples": "1"])
            let response = try await harness.signed(
                worker, "POST", DCFRoute.updatePath, body: fitting, baseVersion: "1")
            #expect(response.statusCode == 200, "\(response.text)")
            #expect(harness.strategy.lastUpdate?.nonFiniteTensors == [])

            let padding = String(repeating: "x", count: UpdateHeaderLimit.metadataAllowance + 1024)
            let oversized = try Self.safetensors(metadata: ["padding": padding])
            // The example strategy publishes each update as the next version, whose header is as small.
            let second = try await harness.signed(
                worker, "POST", DCFRoute.updatePath, body: oversized, baseVersion: "2")
            #expect(second.statusCode == 200, "\(second.text)")
            #expect(harness.strategy.updateCount == 2)
            #expect(harness.strategy.lastUpdate?.nonFiniteTensors == nil)
        }
    }
}
