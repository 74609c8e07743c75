// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import Foundation
import Testing
@testable import FedAvg

/// An update the strategy cannot store is not taken, so the reply must ask the worker to send it again.
@Suite struct UpdateStorageFailureTests {
    private func payload() throws -> Data {
        var writer = SafeTensorsWriter(metadata: UpdateMetadata(numExamples: 1, baseVersion: 1).safetensorsMetadata)
        try writer.add(name: "w", shape: [2], values: [Float]([1, 1]))
        return writer.serialize()
    }

    /// A file in the place of `rounds/` makes storing fail. The reply is 503 `unavailable`, which workers retry,
    /// and the same update is accepted once the state directory is repaired.
    @Test func storeFailureAsksForResend() throws {
        let directory = try SmallModelFixture.temporaryDirectory("store-failure")
        defer { try? FileManager.default.removeItem(at: directory) }
        let strategy = try SmallModelFixture.strategy(in: directory, tensor: "w")
        let worker = WorkerID("aaaaaaaa")!
        strategy.registerWorker(worker)
        let rounds = directory.appendingPathComponent("state/rounds")
        try? FileManager.default.removeItem(at: rounds)
        try Data("not a directory".utf8).write(to: rounds)

        let update = WorkerUpdate(payload: try payload(), baseVersion: 1, bodySHA256: "")
        let error = #expect(throws: DCFErrorResponse.self) { try strategy.receiveWorkerUpdate(worker, update) }
        #expect(error?.error.code == DCFErrorCode.unavailable.rawValue)
        #expect(strategy.roundStatus()["updates"] == 0)

        try FileManager.default.removeItem(at: rounds)
        let reply = try strategy.receiveWorkerUpdate(worker, update)
        #expect(reply.hasPrefix("accepted"), "reply: \(reply)")
        #expect(strategy.roundStatus()["updates"] == 1)
    }
}
