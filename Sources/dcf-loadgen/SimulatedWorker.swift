// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
import DCFSupport
import DCFWorker
import Foundation
import Synchronization

/// One simulated site: a real `DCFWorker` whose training step returns the received model plus 0.001 and whose
/// progress is reported as `WorkerEvent` lines.
final class SimulatedWorker: Sendable {
    let index: Int
    private let held = Mutex<ModelVersion?>(nil)
    private let events: EventWriter
    private let updates: UpdateCache
    private let warmup: HeapWarmup
    private let worker = Mutex<DCFWorker?>(nil)

    init(
        index: Int, configuration: DCFWorkerConfiguration, events: EventWriter, updates: UpdateCache,
        warmup: HeapWarmup
    ) throws {
        self.index = index
        self.events = events
        self.updates = updates
        self.warmup = warmup
        let sink = LogSink(level: .warning) { [index] line in
            // The plain-HTTP notice that every worker logs at start is expected in the plain-TCP scenario.
            if line.contains("plain HTTP") { return }
            events.send(WorkerEvent(kind: .error, worker: index, version: 0, message: line))
        }
        let callbacks = DCFWorkerCallbacks(
            globalModelVersionChanged: { [weak self] model, version in
                try await self?.received(consume model, version: version)
            },
            getWorkerVersionOfGlobalModel: { [weak self] in self?.held.withLock { $0 } })
        let worker = try DCFWorker(
            configuration: configuration, callbacks: callbacks, logger: Logger(component: "worker", sink: sink))
        self.worker.withLock { $0 = worker }
    }

    /// Runs the worker's long-poll loop until the task is cancelled.
    func run() async {
        guard let worker = worker.withLock({ $0 }) else { return }
        do {
            try await worker.run()
        } catch is CancellationError {
        } catch {
            events.send(WorkerEvent(kind: .error, worker: index, version: 0, message: "worker stopped: \(error)"))
        }
    }

    private func received(_ model: consuming Data, version: ModelVersion) async throws {
        events.send(WorkerEvent(kind: .model, worker: index, version: version.rawValue, bytes: model.count))
        warmup.modelReceived(bytes: model.count)
        guard let worker = worker.withLock({ $0 }) else { return }
        do {
            let update = try updates.update(for: model, version: version)
            // A site's model is done with once it has trained. Freeing it here keeps the process at one model
            // per downloading worker, not one per worker waiting for its upload turn.
            _ = consume model
            let bytes = update.payload.count
            events.send(WorkerEvent(kind: .uploadStart, worker: index, version: version.rawValue, bytes: bytes))
            try await worker.sendModelUpdate(update.payload, payloadSHA256: update.sha256)
            events.send(WorkerEvent(kind: .uploadDone, worker: index, version: version.rawValue, bytes: bytes))
        } catch let error as CancellationError {
            throw error
        } catch {
            events.send(
                WorkerEvent(kind: .error, worker: index, version: version.rawValue, message: "update failed: \(error)"))
        }
        // The version counts as held even after a failed update, so the worker waits for the next round
        // instead of sending the same update again.
        held.withLock { $0 = version }
    }
}
