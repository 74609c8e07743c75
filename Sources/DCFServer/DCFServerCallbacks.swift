// SPDX-License-Identifier: Apache-2.0
public import DCFProtocol
public import Foundation

/// The callbacks a federated-learning strategy gives `DCFServer`, named as in dc_federated.
///
/// The server calls them from its request threads, possibly concurrently, so implementations
/// synchronize their own state. When the strategy has a new global model it calls
/// `DCFServer.globalModelDidChange()`, which fetches it with `returnGlobalModel()` and completes every
/// parked long poll at once.
public protocol DCFServerCallbacks: AnyObject, Sendable {
    /// Notifies the strategy that a worker became registered (by itself or by an admin).
    func registerWorker(_ workerID: WorkerID)

    /// Notifies the strategy that a worker is no longer registered (an admin unregistered or removed it, or its
    /// key left the key list).
    func unregisterWorker(_ workerID: WorkerID)

    /// Called once at `start()`, after `registerWorker` for each registered worker, with all of them. Anything
    /// the strategy recovered from workers outside the set (updates stored before a restart by a worker whose
    /// key has since left the key list, say) must no longer count.
    func retainOnlyRegisteredWorkers(_ registered: Set<WorkerID>)

    /// Returns the current global model, or nil before the first one exists.
    func returnGlobalModel() -> GlobalModel?

    /// Returns whether `version` is the newest global model the strategy has.
    func isGlobalModelMostRecent(_ version: ModelVersion) -> Bool

    /// Takes a worker's update and returns the reply for the worker.
    ///
    /// - Throws: `DCFErrorResponse` to reject the update with that code (`update_rejected` for a stale base
    ///   version, `bad_request` for an unreadable payload); any other error becomes `update_rejected`.
    func receiveWorkerUpdate(_ workerID: WorkerID, _ update: WorkerUpdate) throws -> String

    /// Returns round details for `GET /admin/status`, such as updates received so far.
    func roundStatus() -> [String: StatusValue]

    /// Called once by `DCFServer.stop()`, which `DCFHTTPService.stop` calls after the last request. The strategy
    /// finishes background work on its files before it returns, so the service can then clear the spool.
    func serverDidStop()
}

extension DCFServerCallbacks {
    public func roundStatus() -> [String: StatusValue] { [:] }

    public func serverDidStop() {}

    public func retainOnlyRegisteredWorkers(_ registered: Set<WorkerID>) {}
}

/// A global model version and its serialized bytes (safetensors).
public struct GlobalModel: Sendable {
    public let version: ModelVersion
    public let bytes: Data
    /// An immutable file holding exactly `bytes`, if the strategy stores versions as files. The server then
    /// sends the uncompressed form from the file instead of keeping a copy of the model in memory.
    public let file: URL?

    public init(version: ModelVersion, bytes: Data, file: URL? = nil) {
        self.version = version
        self.bytes = bytes
        self.file = file
    }
}

/// An update as the strategy receives it: the payload after decompression, and what the signature covered.
///
/// An update that arrived over HTTP lives in a spool file, `payloadFile`, and `payload` maps that file into
/// memory, so concurrent uploads cost disk and page cache rather than process memory. The file exists until
/// `receiveWorkerUpdate` returns, and then the server deletes it. A strategy that keeps the payload past the
/// callback either copies the bytes or moves the file away with a rename (same file system) and then owns it;
/// `payload` stays readable after the file is deleted or renamed.
public struct WorkerUpdate: Sendable {
    /// The decompressed payload (safetensors whose `__metadata__` carries `UpdateMetadata`).
    public let payload: Data
    /// The `DCF-Base-Version` the worker signed; the payload's metadata should agree with it.
    public let baseVersion: ModelVersion
    /// SHA-256 of the body as sent, before decompression.
    public let bodySHA256: String
    /// The file holding exactly the payload bytes, or nil when the payload is only in memory.
    public let payloadFile: URL?
    /// The floating-point tensors of the payload that hold NaN or infinity, found by the server while the
    /// body arrived (`SafeTensorsFiniteScan`); nil when it was not scanned. The scan reads the header
    /// without validating it, so the list is meaningful only once the payload has parsed as safetensors.
    public let nonFiniteTensors: [String]?

    public init(
        payload: Data, baseVersion: ModelVersion, bodySHA256: String, payloadFile: URL? = nil,
        nonFiniteTensors: [String]? = nil
    ) {
        self.payload = payload
        self.baseVersion = baseVersion
        self.bodySHA256 = bodySHA256
        self.payloadFile = payloadFile
        self.nonFiniteTensors = nonFiniteTensors
    }
}
