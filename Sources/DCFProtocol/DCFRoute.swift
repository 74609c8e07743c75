// SPDX-License-Identifier: Apache-2.0

/// A dcf endpoint, parsed from an HTTP method and request target.
public enum DCFRoute: Sendable, Hashable {
    /// `GET /dcf/protocol`: the protocol versions the server speaks; unauthenticated.
    case protocolInfo
    /// `POST /dcf/nonce`: issues a single-use nonce.
    case nonce
    /// `POST /dcf/register`: registers the signing worker.
    case register
    /// `GET /dcf/model/wait?version=V`: long poll until the global model differs from `V`.
    case modelWait(knownVersion: ModelVersion?)
    /// `GET /dcf/model`: the current global model.
    case currentModel
    /// `GET /dcf/model/<version>`: one global model version.
    case model(ModelVersion)
    /// `POST /dcf/update`: uploads a worker update.
    case update
    /// `GET /admin/workers`.
    case adminListWorkers
    /// `POST /admin/workers`.
    case adminAddWorker
    /// `DELETE /admin/workers/<id>`.
    case adminRemoveWorker(WorkerID)
    /// `PUT /admin/workers/<id>`.
    case adminSetRegistration(WorkerID)
    /// `GET /admin/status`.
    case adminStatus
    case healthz
    case metrics

    public static let protocolPath = "/dcf/protocol"
    public static let noncePath = "/dcf/nonce"
    public static let registerPath = "/dcf/register"
    public static let modelPath = "/dcf/model"
    public static let modelWaitPath = "/dcf/model/wait"
    public static let updatePath = "/dcf/update"
    public static let adminWorkersPath = "/admin/workers"
    public static let adminStatusPath = "/admin/status"

    /// Returns the target for a long poll on `version`; `nil` means "no model yet".
    public static func modelWaitTarget(knownVersion: ModelVersion?) -> String {
        modelWaitPath + "?version=" + (knownVersion.map(\.description) ?? "")
    }

    /// True for routes that carry a worker signature.
    public var isWorkerAuthenticated: Bool {
        switch self {
        case .register, .modelWait, .currentModel, .model, .update: true
        default: false
        }
    }

    /// True for routes under `/admin`, which need the admin credentials.
    public var isAdmin: Bool {
        switch self {
        case .adminListWorkers, .adminAddWorker, .adminRemoveWorker, .adminSetRegistration, .adminStatus: true
        default: false
        }
    }

    /// True for `/dcf` routes, which must carry `DCF-Protocol`.
    public var requiresProtocolVersion: Bool {
        switch self {
        case .protocolInfo, .healthz, .metrics: false
        default: !isAdmin
        }
    }
}
