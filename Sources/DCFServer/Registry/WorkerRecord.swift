// SPDX-License-Identifier: Apache-2.0
public import DCFProtocol

/// Whether a known worker may take part in rounds.
public enum WorkerStatus: String, Sendable, Hashable {
    /// The key is allowed but the worker has not registered yet.
    case allowed
    case registered
    /// An admin unregistered the worker; it cannot register again until an admin registers it.
    case disabled
}

/// Where a worker's key came from, which decides what a key-list reload may do to it.
public enum WorkerSource: String, Sendable, Hashable {
    case keyList = "key_list"
    case admin
    /// Registered in unsafe mode, where any key is admitted.
    case unsafe
}

/// One worker the registry knows.
public struct WorkerRecord: Sendable, Hashable {
    public let id: WorkerID
    /// The Ed25519 public key, 64 lowercase hex digits.
    public let publicKey: String
    public var status: WorkerStatus
    public var source: WorkerSource

    public init(id: WorkerID, publicKey: String, status: WorkerStatus, source: WorkerSource) {
        self.id = id
        self.publicKey = publicKey
        self.status = status
        self.source = source
    }

    public var isRegistered: Bool { status == .registered }

    /// The admin API's view of this worker.
    public var adminEntry: AdminWorkerEntry {
        AdminWorkerEntry(
            workerID: id, publicKey: publicKey, registered: isRegistered, status: status.rawValue,
            source: source.rawValue)
    }
}

/// A change of registration status that the strategy must hear about.
public enum RegistrationChange: Sendable, Hashable {
    case registered(WorkerID)
    case unregistered(WorkerID)
}
