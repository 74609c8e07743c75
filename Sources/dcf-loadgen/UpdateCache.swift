// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
import Foundation
import Synchronization

/// The update each global model version gets, built and hashed once per process and shared by its workers,
/// so the load generator spends its CPU time on the protocol rather than on arithmetic. Each worker still
/// signs its own request; only the SHA-256 of the identical payload is shared.
final class UpdateCache: Sendable {
    struct Update: Sendable {
        let payload: Data
        let sha256: String
    }

    private let updates = Mutex<[ModelVersion: Update]>([:])

    func update(for model: Data, version: ModelVersion) throws -> Update {
        if let cached = updates.withLock({ $0[version] }) { return cached }
        let payload = try SyntheticModel.update(for: model, version: version)
        let built = Update(payload: payload, sha256: try SHA256.hash(payload).hexString)
        return updates.withLock { table in
            // Older versions are dropped so memory stays at one update per process.
            table = table.filter { $0.key >= version }
            if let existing = table[version] { return existing }
            table[version] = built
            return built
        }
    }
}
