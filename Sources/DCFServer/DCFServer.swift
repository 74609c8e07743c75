// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Dispatch
public import DCFSupport
import Synchronization

/// The server backend: worker registry, request authentication, long polls, model downloads, updates and the
/// admin API, driven by a strategy's `DCFServerCallbacks`.
///
/// It has no sockets of its own. The HTTP transport turns each request into a `ServerRequest`, passes it to
/// `handle(_:respond:)`, sends the `ServerResponse` it gets back, and reports closed connections with
/// `connectionClosed(_:)`.
public final class DCFServer: Sendable {
    enum State: Sendable, Equatable {
        /// `draining`: parked polls got their responses and no new one parks. Requests in flight are still handled,
        /// including an upload whose body is still arriving.
        case created, running, draining, stopped
    }

    public let configuration: DCFServerConfiguration
    /// The known workers; admin operations go through `handle(_:respond:)` so the strategy hears of changes.
    public let registry: WorkerRegistry
    let callbacks: any DCFServerCallbacks
    let logger: Logger
    /// The single-use nonces issued to workers.
    public let nonces: NonceStore
    let polls: LongPollRegistry
    /// The gate that request handling passes: closed while the responses of a long-poll wake-up are written.
    let requestGate: WakeGate
    let models = GlobalModelCache()
    let metrics = ServerMetrics()
    let rejections: RejectionLog
    /// Wrong admin credentials per client address.
    let adminLogins = AdminLoginThrottle()
    /// When each worker whose polls came from two addresses was last warned about.
    let sharedKeyWarnings = WarningInterval(interval: .seconds(300))
    let coder: any PayloadCoder
    let authenticator: WorkerAuthenticator
    let state = Mutex(State.created)
    /// Serializes `globalModelDidChange()`, so versions reach the cache and the polls in order.
    let publishLock = Mutex(())
    /// Signed nonce requests already answered, so copies of them are refused.
    let nonceRequests = SeenNonceRequests()
    /// The update bodies being received and the uploads waiting for their turn.
    let uploadAdmission: UploadAdmission
    /// Held from each registry change to the end of its callbacks, so the strategy hears of a worker's changes in
    /// the order the registry made them, also when an admin and the worker change it at once.
    let registrationOrder = Mutex(())
    /// Set while a delayed check of a strategy that looked ahead of the cache is scheduled.
    let staleCheckPending = Atomic(false)
    /// The check whose warnings admins get after each change and with the status (`setAdminWarningSource(_:)`).
    let adminWarningSource = Mutex<(@Sendable () -> [AdminWarning])?>(nil)

    /// Opens the registry in the state directory and prepares the server; call `start()` to serve.
    ///
    /// - Parameters:
    ///   - clock: the time source for nonce expiry and long-poll holds.
    ///   - usesHoldTimer: false only in tests that end each hold by calling `expireLongPolls()`.
    /// - Throws: `ConfigurationError`, `KeyListFile.InvalidLines`, or an error opening the state directory.
    public init(
        configuration: DCFServerConfiguration, callbacks: any DCFServerCallbacks, logger: Logger,
        clock: any ServerClock = SystemServerClock(), payloadCoder: any PayloadCoder = ZlibPayloadCoder(),
        usesHoldTimer: Bool = true
    ) throws {
        self.configuration = configuration
        self.callbacks = callbacks
        self.logger = logger
        self.coder = payloadCoder
        self.registry = try WorkerRegistry(
            stateDirectory: configuration.stateDirectory, mode: configuration.admission,
            maximumUnsafeRegistrations: configuration.maximumWorkers, logger: logger.child("registry"))
        self.nonces = NonceStore(
            lifetime: configuration.nonceLifetime, maximumPerWorker: configuration.maximumNoncesPerWorker,
            maximumTotal: configuration.maximumOutstandingNonces, clock: clock)
        self.requestGate = WakeGate(queue: DispatchQueue(label: "dcf.requests", attributes: .concurrent))
        self.polls = LongPollRegistry(
            hold: configuration.longPollHold, currentVersion: nil, clock: clock, usesTimer: usesHoldTimer,
            gate: requestGate)
        self.rejections = RejectionLog(logger: logger.child("requests"))
        self.authenticator = WorkerAuthenticator(registry: registry, nonces: nonces)
        self.uploadAdmission = UploadAdmission(limit: configuration.maximumConcurrentUploads)
    }

    /// Starts serving: warns about unsafe mode, calls `registerWorker` for each registered worker, and loads
    /// the strategy's current global model.
    public func start() {
        state.withLock { state in
            precondition(state == .created, "DCFServer.start() called in state \(state)")
            state = .running
        }
        if case .unsafe = configuration.admission {
            logger.warning(
                "UNSAFE MODE: any worker key is admitted and anyone who reaches this port can send updates; "
                    + "use a key list in production")
        }
        if configuration.adminCredentials == nil {
            logger.info("admin API disabled: no admin credentials configured")
        }
        if case .safe(keyList: nil) = configuration.admission, configuration.adminCredentials == nil,
            registry.workers.isEmpty
        {
            logger.warning(
                "no worker can join: safe mode without a key list, no admin credentials and no known workers; "
                    + "set workers.key_list (--worker-keys) or admin credentials")
        }
        let registered = registry.workers.filter(\.isRegistered)
        for record in registered { callbacks.registerWorker(record.id) }
        // The registry may have dropped workers while the server was down (a key left the key list, a switch
        // from unsafe mode), so the strategy drops what it recovered for any other worker.
        callbacks.retainOnlyRegisteredWorkers(Set(registered.map(\.id)))
        globalModelDidChange()
        logger.info(
            "server backend started",
            [("mode", configuration.admission.name), ("registered", String(registered.count)),
             ("known", String(registry.workers.count))])
    }

    /// Starts the server unless `start()` was called before.
    func startIfCreated() {
        guard state.withLock({ $0 == .created }) else { return }
        start()
    }

    /// Stops serving: completes every parked long poll with `unavailable`, which later requests also get.
    public func stop() {
        let previous = state.withLock { state in
            defer { state = .stopped }
            return state
        }
        guard previous == .running || previous == .draining else { return }
        answerParkedPolls()
        callbacks.serverDidStop()
        logger.info("server backend stopped")
    }

    /// Starts a graceful stop: responds to every parked long poll and parks no new one, and responds 503 to the
    /// uploads waiting for their turn. Requests in flight are still handled, so an upload whose body is still
    /// arriving is stored and gets its response.
    public func beginDrain() {
        let wasRunning = state.withLock { state in
            guard state == .running else { return false }
            state = .draining
            return true
        }
        if wasRunning {
            answerParkedPolls()
            uploadAdmission.rejectWaiting()
        }
    }

    private func answerParkedPolls() {
        let unavailable = DCFErrorResponse(.unavailable, "the server is shutting down; retry later")
        for responder in polls.drain() { responder(.rejected(unavailable)) }
    }

    /// Fetches the strategy's global model and, when its version is newer than the cached one, encodes it
    /// once and completes every parked long poll. The strategy calls this after each new version.
    public func globalModelDidChange() {
        publishLock.withLock { _ in
            guard let model = callbacks.returnGlobalModel() else { return }
            if let current = models.current, current.version >= model.version { return }
            let published = PublishedModel(version: model.version, bytes: model.bytes, file: model.file, coder: coder)
            guard models.publish(published) else { return }
            metrics.recordModelPublished()
            logger.info(
                "published global model",
                [("version", model.version.description), ("bytes", String(model.bytes.count))])
            polls.publish(model.version)
        }
    }

    /// Rereads the key list and calls `unregisterWorker` for each worker it unregistered.
    public func reloadKeyList() throws -> KeyListReload {
        try reloadKeyList(mode: registry.mode)
    }

    /// Rereads the key list that `mode` names (on SIGHUP, from the reloaded configuration), keeps that file
    /// for later reloads, and calls `unregisterWorker` for each worker it unregistered.
    ///
    /// - Throws: `ConfigurationError` when `mode` switches between safe and unsafe mode, which takes a
    ///   restart, or a key-list error; on any error nothing changes.
    public func reloadKeyList(mode: AdmissionMode) throws -> KeyListReload {
        let reload = try registrationOrder.withLock { _ throws -> KeyListReload in
            let reload = try registry.reloadKeyList(mode: mode)
            apply(reload.changes)
            return reload
        }
        return reload
    }

    /// Drops the long poll parked on a connection the client closed.
    public func connectionClosed(_ connectionID: UInt64) {
        _ = polls.connectionClosed(connectionID)
    }

    /// Completes every long poll whose hold has ended; the hold timer calls this, and tests call it directly.
    public func expireLongPolls() {
        polls.expireDue()
    }

    /// Sets the check of the server's state that runs after each admin change and for each `GET /admin/status`.
    /// Its warnings are logged after a change and returned in the `warnings` field of both replies.
    public func setAdminWarningSource(_ source: @escaping @Sendable () -> [AdminWarning]) {
        adminWarningSource.withLock { $0 = source }
    }

    /// Adds a source of metric families to `GET /metrics`; it runs on every scrape, after the backend's own.
    ///
    /// - Precondition: the source writes family names no other source writes.
    public func addMetricsSource(_ source: @escaping @Sendable (inout PrometheusTextWriter) -> Void) {
        metrics.addSource(source)
    }

    /// Long polls currently parked.
    public var parkedLongPollCount: Int { polls.parkedCount }

    /// The largest update header that the scan of an arriving body parses: `UpdateHeaderLimit`'s bound for the
    /// current global model, or the safetensors reader's default when the model is not a safetensors file.
    var updateHeaderScanLimit: Int {
        models.current?.safetensorsHeaderByteCount.map(UpdateHeaderLimit.maximumByteCount(globalHeaderByteCount:))
            ?? SafeTensors.defaultMaximumHeaderSize
    }

    var isRunning: Bool { state.withLock { $0 == .running } }

    /// Whether requests are still handled: running, or draining the ones in flight.
    var isHandlingRequests: Bool { state.withLock { $0 == .running || $0 == .draining } }

    /// Runs `change` on the registry and passes its registration changes to the strategy, one change with its
    /// callbacks at a time.
    func changeRegistration(_ change: () throws -> (WorkerRecord, [RegistrationChange])) throws -> WorkerRecord {
        try registrationOrder.withLock { _ throws -> WorkerRecord in
            let (record, changes) = try change()
            apply(changes)
            return record
        }
    }

    /// Passes registration changes to the strategy and completes a removed worker's parked poll with an error.
    private func apply(_ changes: [RegistrationChange]) {
        for change in changes {
            switch change {
            case .registered(let id):
                logger.info("worker registered", [("worker", id.short)])
                callbacks.registerWorker(id)
            case .unregistered(let id):
                logger.info("worker unregistered", [("worker", id.short)])
                callbacks.unregisterWorker(id)
                nonces.removeAll(for: id)
                let error = DCFErrorResponse(.unregisteredWorker, "worker \(id.short) is no longer registered")
                polls.cancel(worker: id)?(.rejected(error))
            }
        }
    }
}
