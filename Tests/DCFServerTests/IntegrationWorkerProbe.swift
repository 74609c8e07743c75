// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFWorker
import Foundation
import Synchronization
import Testing

/// The training side of an integration test: records each global model the worker receives and, below
/// `lastTrainedVersion`, replies with an update whose bytes are recorded too.
final class IntegrationWorkerProbe: Sendable {
    private struct State {
        var received: [DownloadedModel] = []
        var sent: [Data] = []
        var heldVersion: ModelVersion?
        var lastTrainedVersion: ModelVersion
    }

    private let state: Mutex<State>
    let worker = Mutex<DCFWorker?>(nil)

    init(lastTrainedVersion: ModelVersion) {
        state = Mutex(State(lastTrainedVersion: lastTrainedVersion))
    }

    var received: [DownloadedModel] { state.withLock { $0.received } }
    var sent: [Data] { state.withLock { $0.sent } }
    var heldVersion: ModelVersion? { state.withLock { $0.heldVersion } }

    func trainThrough(_ version: ModelVersion) {
        state.withLock { $0.lastTrainedVersion = version }
    }

    var callbacks: DCFWorkerCallbacks {
        DCFWorkerCallbacks(
            globalModelVersionChanged: { [self] bytes, version in try await modelChanged(bytes, version) },
            getWorkerVersionOfGlobalModel: { [self] in heldVersion })
    }

    /// The update a worker sends after training from `version`: one tensor whose values name the version.
    static func update(from version: ModelVersion) throws -> Data {
        let metadata = UpdateMetadata(numExamples: 10, baseVersion: version, metrics: ["loss": 1 / Double(version.rawValue)])
        var writer = SafeTensorsWriter(metadata: metadata.safetensorsMetadata)
        try writer.add(name: "layer.weight", shape: [2, 2], values: [Float(version.rawValue), 1, 2, 3])
        return writer.serialize()
    }

    private func modelChanged(_ bytes: Data, _ version: ModelVersion) async throws {
        let trains = state.withLock { state -> Bool in
            state.received.append(DownloadedModel(version: version, bytes: bytes))
            state.heldVersion = version
            return version <= state.lastTrainedVersion
        }
        guard trains, let worker = worker.withLock({ $0 }) else { return }
        let update = try Self.update(from: version)
        state.withLock { $0.sent.append(update) }
        _ = try await worker.sendModelUpdate(update)
    }

    /// Waits until the worker received `version`, failing the test after `bound` so a broken loop cannot hang.
    func waitForVersion(_ version: ModelVersion, bound: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + bound
        while !received.contains(where: { $0.version == version }) {
            guard ContinuousClock.now < deadline else {
                Issue.record("the worker did not receive version \(version) within \(bound)")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
