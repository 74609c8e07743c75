// SPDX-License-Identifier: Apache-2.0
public import DCFProtocol
public import Foundation

/// The callbacks the training side gives `DCFWorker`, named as in dc_federated.
public struct DCFWorkerCallbacks: Sendable {
    /// Receives a new global model: its serialized bytes (safetensors) and its version. `run()` awaits it
    /// before polling again, so it may train and call `DCFWorker.sendModelUpdate(_:)` before returning.
    /// An error it throws is logged and the model is offered again after a backoff delay.
    ///
    /// The callback owns `model`: the worker keeps no reference, so the bytes are freed as soon as the
    /// callback drops them, for example before it uploads its update.
    public var globalModelVersionChanged: @Sendable (_ model: consuming Data, _ version: ModelVersion) async throws -> Void
    /// Returns the global model version the worker holds, or nil before it has one. The long poll asks the
    /// server for a model newer than this, so it should return the version last passed to
    /// `globalModelVersionChanged` once that model is in use.
    public var getWorkerVersionOfGlobalModel: @Sendable () -> ModelVersion?

    public init(
        globalModelVersionChanged: @escaping @Sendable (_ model: consuming Data, _ version: ModelVersion) async throws
            -> Void,
        getWorkerVersionOfGlobalModel: @escaping @Sendable () -> ModelVersion?
    ) {
        self.globalModelVersionChanged = globalModelVersionChanged
        self.getWorkerVersionOfGlobalModel = getWorkerVersionOfGlobalModel
    }
}

/// A global model as downloaded: its version and its bytes after any decompression.
public struct DownloadedModel: Sendable, Hashable {
    public let version: ModelVersion
    public let bytes: Data

    public init(version: ModelVersion, bytes: Data) {
        self.version = version
        self.bytes = bytes
    }
}
