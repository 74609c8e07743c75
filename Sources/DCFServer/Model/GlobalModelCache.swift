// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Synchronization

/// The current global model and a few recent versions, for `GET /dcf/model` and `GET /dcf/model/<version>`.
final class GlobalModelCache: Sendable {
    /// Versions kept besides the current one, so a worker that saw a version announced can still fetch it
    /// just after the next one is published.
    let retainedPreviousVersions: Int
    private let models = Mutex<[PublishedModel]>([])

    init(retainedPreviousVersions: Int = 1) {
        self.retainedPreviousVersions = retainedPreviousVersions
    }

    var current: PublishedModel? { models.withLock { $0.last } }

    /// Stores `model` as current; returns false and stores nothing when its version is not newer.
    func publish(_ model: PublishedModel) -> Bool {
        models.withLock { models in
            if let last = models.last, last.version >= model.version { return false }
            models.append(model)
            if models.count > retainedPreviousVersions + 1 { models.removeFirst() }
            return true
        }
    }

    func model(_ version: ModelVersion) -> PublishedModel? {
        models.withLock { $0.first { $0.version == version } }
    }
}
