// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
public import DCFProtocol
public import DCFSupport
import Synchronization

/// The worker backend: protocol negotiation, registration, the long-poll loop, model downloads and signed
/// updates, driven by the training side's `DCFWorkerCallbacks`.
///
/// Every request but `GET /dcf/protocol` and `POST /dcf/nonce` is signed with the worker's Ed25519 key over
/// `SignedRequestContent` and consumes one single-use nonce. Methods are safe to call concurrently, for example
/// `sendModelUpdate(_:)` from inside `globalModelVersionChanged` while `run()` is active.
public final class DCFWorker: Sendable {
    enum RunState {
        case idle
        case running(Task<Void, any Error>)
        case stopped
    }

    /// What the worker learned from the server; reset when the server forgets it.
    struct Session {
        /// The negotiated protocol version, nil until `GET /dcf/protocol` succeeded.
        var protocolVersion: Int?
        /// The id requests are signed as: the public key, or the id an unsafe-mode server assigned.
        var workerID: WorkerID
        var isRegistered = false
        /// Set when the worker registered again after the server lost or dropped it. The server dropped the
        /// worker's update of the open round too, so the next poll hands the current model over again, even
        /// when the worker already has that version.
        var offersCurrentModelAgain = false
        /// Whether a long poll that outlasted `longPollTimeout` was logged; later ones are logged at debug level.
        var reportedLongHold = false
        /// The failed attempts since the last successful request, or nil when there were none.
        var outage: Outage?
        /// The version last passed to `globalModelVersionChanged`, which the log names as the previous one when the
        /// training side forgot its version to train the same model again.
        var lastHandedOver: ModelVersion?
    }

    public let configuration: DCFWorkerConfiguration
    let callbacks: DCFWorkerCallbacks
    let logger: Logger
    let signer: RequestSigner
    let connection: ServerConnection
    let nonces = NonceSlot()
    let session: Mutex<Session>
    let runState = Mutex(RunState.idle)

    /// Reads the private key file and prepares the HTTP client; nothing is sent until the first call. The modes
    /// of the key files are the caller's to check with `SecretFileMode`, as dcf-agent does for its settings.
    ///
    /// - Throws: `DCFWorkerError` for an invalid server URL, `CryptoError` naming an unreadable or malformed
    ///   key file, or `TLSError` when the CA file cannot be loaded.
    public init(configuration: DCFWorkerConfiguration, callbacks: DCFWorkerCallbacks, logger: Logger) throws {
        let endpoint = try configuration.endpoint()
        let key = try Ed25519KeyFile.readPrivateKey(at: configuration.privateKeyFile)
        self.configuration = configuration
        self.callbacks = callbacks
        self.logger = logger
        self.signer = RequestSigner(key: key)
        self.connection = try ServerConnection(endpoint: endpoint, configuration: configuration)
        self.session = Mutex(Session(workerID: signer.publicKeyID))
        if !endpoint.usesTLS {
            logger.warning(
                "plain HTTP: requests and models travel unencrypted; use https:// unless a local proxy terminates TLS",
                [("server", configuration.serverURL.absoluteString)])
        }
    }

    /// The worker's public key as 64 hex digits, the id a safe-mode server knows it by.
    public var publicKeyHex: String { signer.key.publicKey.hexString }

    /// The id requests are signed as: the public key, or the id an unsafe-mode server assigned at registration.
    public var workerID: WorkerID { session.withLock { $0.workerID } }

    /// The negotiated protocol version, or nil before the first exchange with the server.
    public var protocolVersion: Int? { session.withLock { $0.protocolVersion } }

    /// Runs the long-poll loop until cancelled or `stop()` is called: registers, waits for each new global model
    /// version, downloads it and passes it to `globalModelVersionChanged`.
    ///
    /// An unreachable, restarting or unavailable server is retried with exponential backoff; a server that lost
    /// the worker's registration gets a new one.
    /// - Throws: `DCFWorkerError` when retrying cannot help (protocol mismatch, a key the server rejects as
    ///   a bad signature, or `isInvalidConfiguration` for an http:// address of a TLS port, which the caller
    ///   reports because the loop does not log it), or `CancellationError` after cancellation or `stop()`.
    public func run() async throws {
        let task = Task { try await self.runLoop() }
        let started = runState.withLock { state -> Bool in
            switch state {
            case .idle:
                state = .running(task)
                return true
            case .running, .stopped:
                return false
            }
        }
        guard started else {
            task.cancel()
            throw CancellationError()
        }
        defer { runState.withLock { $0 = .stopped } }
        try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            task.cancel()
        }
    }

    /// Stops `run()`: the loop ends at its next suspension point and `run()` throws `CancellationError`.
    /// A later `run()` on this worker returns at once.
    public func stop() {
        let task = runState.withLock { state -> Task<Void, any Error>? in
            defer { state = .stopped }
            if case .running(let task) = state { return task }
            return nil
        }
        task?.cancel()
    }

    /// The session's logging fields: the short worker id.
    var idField: (String, String) { ("worker", workerID.short) }
}
