// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import Foundation
import Synchronization

/// A minimal strategy: the last accepted update becomes the next global model version.
/// It rejects updates trained from a version other than the current one.
final class ExampleStrategy: DCFServerCallbacks {
    private struct State {
        var model: GlobalModel?
        var registered: [WorkerID] = []
        var unregistered: [WorkerID] = []
        var updates: [(WorkerID, WorkerUpdate)] = []
    }

    private let state: Mutex<State>
    /// Set after the server is created, because the server needs the strategy first.
    let server = Mutex<DCFServer?>(nil)

    init(initialModel: GlobalModel?) {
        state = Mutex(State(model: initialModel))
    }

    var registeredCalls: [WorkerID] { state.withLock { $0.registered } }
    var unregisteredCalls: [WorkerID] { state.withLock { $0.unregistered } }
    var updateCount: Int { state.withLock { $0.updates.count } }
    var lastUpdate: WorkerUpdate? { state.withLock { $0.updates.last?.1 } }

    func registerWorker(_ workerID: WorkerID) {
        state.withLock { $0.registered.append(workerID) }
    }

    func unregisterWorker(_ workerID: WorkerID) {
        state.withLock { $0.unregistered.append(workerID) }
    }

    func returnGlobalModel() -> GlobalModel? {
        state.withLock { $0.model }
    }

    func isGlobalModelMostRecent(_ version: ModelVersion) -> Bool {
        state.withLock { $0.model?.version == version }
    }

    func receiveWorkerUpdate(_ workerID: WorkerID, _ update: WorkerUpdate) throws -> String {
        let next = try state.withLock { state throws -> ModelVersion in
            let current = state.model?.version ?? 0
            guard update.baseVersion == current else {
                throw DCFErrorResponse(
                    .updateRejected, "update trained from version \(update.baseVersion); the current one is \(current)")
            }
            state.updates.append((workerID, update))
            let next = ModelVersion(current.rawValue + 1)
            state.model = GlobalModel(version: next, bytes: update.payload)
            return next
        }
        server.withLock { $0 }?.globalModelDidChange()
        return "accepted; published version \(next)"
    }

    /// Publishes a model without going through an update, as a strategy's own round logic would.
    func publish(_ model: GlobalModel, notify: Bool = true) {
        state.withLock { $0.model = model }
        if notify { server.withLock { $0 }?.globalModelDidChange() }
    }

    func roundStatus() -> [String: StatusValue] {
        ["updates": .integer(updateCount)]
    }
}
