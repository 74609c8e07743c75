// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import DCFSupport
import Foundation
import Testing

@testable import FedAvg

/// The body digest stored with each update file, which lets a restarted strategy recognise resends of the updates
/// it recovered.
@Suite struct RecoveredDigestTests {
    private let worker = WorkerID("aaaaaaaa01")!
    private let digest = String(repeating: "0123456789abcdef", count: 4)

    private func update(bodySHA256: String) throws -> WorkerUpdate {
        var writer = SafeTensorsWriter(metadata: UpdateMetadata(numExamples: 1, baseVersion: 1).safetensorsMetadata)
        try writer.add(name: "w", shape: [2], values: [Float(1), 2])
        return WorkerUpdate(payload: writer.serialize(), baseVersion: 1, bodySHA256: bodySHA256)
    }

    @Test func recoveredUpdateKeepsItsDigest() throws {
        let directory = try SmallModelFixture.temporaryDirectory("fedavg-digest")
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            let strategy = try SmallModelFixture.strategy(in: directory, tensor: "w")
            _ = try strategy.receiveWorkerUpdate(worker, try update(bodySHA256: digest))
        }

        let restarted = try SmallModelFixture.strategy(in: directory, tensor: "w")
        let entry = restarted.state.withLock { $0.round.entries[worker] }
        #expect(entry?.bodySHA256 == digest)
    }

    /// A file stored without a digest, as an older server version stored it, is matched by its bytes once. The
    /// matching resend's digest is then stored with the file, so the next restart has it.
    @Test func byteMatchStoresDigestWithFile() throws {
        let directory = try SmallModelFixture.temporaryDirectory("fedavg-digest")
        defer { try? FileManager.default.removeItem(at: directory) }
        let spool = RoundSpool(stateDirectory: directory.appendingPathComponent("state"))
        let file = spool.url(for: worker, roundFrom: 1)
        do {
            let strategy = try SmallModelFixture.strategy(in: directory, tensor: "w")
            _ = try strategy.receiveWorkerUpdate(worker, try update(bodySHA256: digest))
        }
        try spool.storeDigest("", of: file)

        do {
            let restarted = try SmallModelFixture.strategy(in: directory, tensor: "w")
            #expect(restarted.state.withLock { $0.round.entries[worker]?.bodySHA256 } == "")
            let reply = try restarted.receiveWorkerUpdate(worker, try update(bodySHA256: digest))
            #expect(reply.hasPrefix("already accepted into the round from version 1"), "reply: \(reply)")
        }
        #expect(spool.storedDigest(of: file) == digest)

        let again = try SmallModelFixture.strategy(in: directory, tensor: "w")
        #expect(again.state.withLock { $0.round.entries[worker]?.bodySHA256 } == digest)
    }
}
