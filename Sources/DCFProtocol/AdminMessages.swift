// SPDX-License-Identifier: Apache-2.0

/// Body of `POST /admin/workers`: the key to allow and whether to register it at once.
public struct AdminAddWorkerRequest: Sendable, Hashable, Codable {
    public let publicKey: String
    public let registered: Bool

    public init(publicKey: String, registered: Bool) {
        self.publicKey = publicKey
        self.registered = registered
    }

    enum CodingKeys: String, CodingKey {
        case publicKey = "public_key_str"
        case registered
    }
}

/// Body of `PUT /admin/workers/<id>`.
public struct AdminSetRegistrationRequest: Sendable, Hashable, Codable {
    public let registered: Bool

    public init(registered: Bool) { self.registered = registered }
}

/// Response to a successful admin change of one worker.
public struct AdminWorkerResult: Sendable, Hashable, Codable {
    public let workerID: WorkerID
    public let registered: Bool
    public let success: Bool
    /// Problems that remain after the change, such as no round being able to close. The field is absent when there
    /// are none, and in replies from servers that predate it.
    public let warnings: [String]?

    public init(workerID: WorkerID, registered: Bool, warnings: [String]? = nil) {
        self.workerID = workerID
        self.registered = registered
        self.success = true
        self.warnings = warnings
    }

    enum CodingKeys: String, CodingKey {
        case workerID = "worker_id"
        case registered
        case success
        case warnings
    }
}

/// One worker in the `GET /admin/workers` list.
public struct AdminWorkerEntry: Sendable, Hashable, Codable {
    public let workerID: WorkerID
    public let publicKey: String
    public let registered: Bool
    /// `allowed`, `registered` or `disabled`.
    public let status: String
    /// Where the key came from: `key_list`, `admin` or `unsafe`.
    public let source: String

    public init(workerID: WorkerID, publicKey: String, registered: Bool, status: String, source: String) {
        self.workerID = workerID
        self.publicKey = publicKey
        self.registered = registered
        self.status = status
        self.source = source
    }

    enum CodingKeys: String, CodingKey {
        case workerID = "worker_id"
        case publicKey = "public_key_str"
        case registered, status, source
    }
}

/// Response to `GET /admin/status`: where the current round stands.
public struct AdminStatusResponse: Sendable, Hashable, Codable {
    /// The published global model version, absent before the first one.
    public let modelVersion: ModelVersion?
    public let registeredWorkers: Int
    public let knownWorkers: Int
    /// Long polls currently parked.
    public let waitingWorkers: Int
    /// `safe` or `unsafe`.
    public let admissionMode: String
    /// Round details the strategy reports, such as updates received so far.
    public let round: [String: StatusValue]
    /// Problems of the server's state, such as no round being able to close. The field is absent when there are
    /// none, and in replies from servers that predate it.
    public let warnings: [String]?

    public init(
        modelVersion: ModelVersion?, registeredWorkers: Int, knownWorkers: Int, waitingWorkers: Int,
        admissionMode: String, round: [String: StatusValue], warnings: [String]? = nil
    ) {
        self.modelVersion = modelVersion
        self.registeredWorkers = registeredWorkers
        self.knownWorkers = knownWorkers
        self.waitingWorkers = waitingWorkers
        self.admissionMode = admissionMode
        self.round = round
        self.warnings = warnings
    }

    enum CodingKeys: String, CodingKey {
        case modelVersion = "model_version"
        case registeredWorkers = "registered_workers"
        case knownWorkers = "known_workers"
        case waitingWorkers = "waiting_workers"
        case admissionMode = "admission_mode"
        case round
        case warnings
    }
}
