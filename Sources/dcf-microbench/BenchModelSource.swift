// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import Foundation
import Synchronization

/// A strategy that only stores a global model whose version the benchmark advances; it takes no updates.
final class BenchModelSource: DCFServerCallbacks {
    private let model: Mutex<GlobalModel>

    init(bytes: Data) {
        model = Mutex(GlobalModel(version: 1, bytes: bytes))
    }

    /// Replaces the model by one with the next version and returns that version.
    func advance() -> ModelVersion {
        model.withLock { current in
            current = GlobalModel(version: ModelVersion(current.version.rawValue + 1), bytes: current.bytes)
            return current.version
        }
    }

    func registerWorker(_ workerID: WorkerID) {}

    func unregisterWorker(_ workerID: WorkerID) {}

    func returnGlobalModel() -> GlobalModel? { model.withLock { $0 } }

    func isGlobalModelMostRecent(_ version: ModelVersion) -> Bool { model.withLock { $0.version == version } }

    func receiveWorkerUpdate(_ workerID: WorkerID, _ update: WorkerUpdate) throws -> String {
        throw DCFErrorResponse(.updateRejected, "the benchmark server takes no updates")
    }
}
