// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation
import Synchronization

/// The update each global model version gets, built once per process and shared by its workers, so the
/// load generator spends its CPU time on the protocol rather than on arithmetic.
final class UpdateCache: Sendable {
    private let updates = Mutex<[ModelVersion: Data]>([:])

    func update(for model: Data, version: ModelVersion) throws -> Data {
        if let cached = updates.withLock({ $0[version] }) { return cached }
        let built = try SyntheticModel.update(for: model, version: version)
        return updates.withLock { table in
            // Older versions are dropped so memory stays at one update per process.
            table = table.filter { $0.key >= version }
            if let existing = table[version] { return existing }
            table[version] = built
            return built
        }
    }
}
