// SPDX-License-Identifier: Apache-2.0

/// Body of `POST /dcf/nonce`. Before registering, a worker sends its public key hex as `worker_id`.
public struct NonceRequest: Sendable, Hashable, Codable {
    /// The largest accepted distance, in seconds, between `timestamp` and the server's clock.
    public static let maximumClockSkewSeconds = 600

    public let workerID: WorkerID
    /// Unix time in seconds when the worker signed the request. The signature covers the body, so the
    /// timestamp limits how long a copy of the request could be sent again.
    public let timestamp: Int?
    /// A random value that makes each signed request unique. Ed25519 signatures are deterministic, and the
    /// server refuses a signature it has seen, so two requests in the same second need different values.
    public let requestID: String?

    public init(workerID: WorkerID, timestamp: Int? = nil, requestID: String? = nil) {
        self.workerID = workerID
        self.timestamp = timestamp
        self.requestID = requestID
    }

    enum CodingKeys: String, CodingKey {
        case workerID = "worker_id"
        case timestamp
        case requestID = "request_id"
    }
}

/// Response to `POST /dcf/nonce`: a single-use nonce and its lifetime in seconds.
public struct NonceResponse: Sendable, Hashable, Codable {
    public let nonce: String
    public let expiresIn: Int

    public init(nonce: String, expiresIn: Int) {
        self.nonce = nonce
        self.expiresIn = expiresIn
    }

    enum CodingKeys: String, CodingKey {
        case nonce
        case expiresIn = "expires_in"
    }
}

/// Body of `POST /dcf/register`. Unsafe mode requires `public_key`; safe mode accepts an empty object,
/// because there the worker id is the key.
public struct RegisterRequest: Sendable, Hashable, Codable {
    public let publicKey: String?

    public init(publicKey: String?) { self.publicKey = publicKey }

    enum CodingKeys: String, CodingKey { case publicKey = "public_key" }
}

/// Response to `POST /dcf/register`: the id to sign later requests with.
public struct RegisterResponse: Sendable, Hashable, Codable {
    public let workerID: WorkerID
    public let registered: Bool

    public init(workerID: WorkerID, registered: Bool) {
        self.workerID = workerID
        self.registered = registered
    }

    enum CodingKeys: String, CodingKey {
        case workerID = "worker_id"
        case registered
    }
}

/// Response to `GET /dcf/model/wait?version=V`: whether the global model now differs from `V`,
/// and the current version (absent when none is published yet).
public struct ModelWaitResponse: Sendable, Hashable, Codable {
    public let changed: Bool
    public let version: ModelVersion?

    public init(changed: Bool, version: ModelVersion?) {
        self.changed = changed
        self.version = version
    }
}

/// Response to an accepted `POST /dcf/update`: the strategy's reply.
public struct UpdateResponse: Sendable, Hashable, Codable {
    public let accepted: Bool
    public let message: String

    public init(accepted: Bool, message: String) {
        self.accepted = accepted
        self.message = message
    }
}
