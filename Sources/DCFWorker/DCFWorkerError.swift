// SPDX-License-Identifier: Apache-2.0
public import DCFProtocol
import DCFSupport

/// A failed worker operation: which operation failed, why, and what to do next.
public struct DCFWorkerError: Error, Sendable, CustomStringConvertible {
    private enum Code: Sendable {
        case protocolMismatch(worker: ProtocolVersionRange, server: String)
        case server(DCFErrorResponse, status: Int)
        case unreachable(String, idleTimeout: Bool)
        case updateOutcomeUnknown(baseVersion: ModelVersion)
        case updateNotDelivered(baseVersion: ModelVersion, waited: Duration, lastError: String)
        case invalidResponse(String)
        case invalidUpdate(String)
        case invalidConfiguration(String)
    }

    private let code: Code
    /// The operation that failed, such as `register` or `download model 3`.
    public let operation: String

    private init(_ code: Code, operation: String) {
        self.code = code
        self.operation = operation
    }

    static func protocolMismatch(worker: ProtocolVersionRange, server: String, operation: String) -> Self {
        Self(.protocolMismatch(worker: worker, server: server), operation: operation)
    }
    static func server(_ error: DCFErrorResponse, status: Int, operation: String) -> Self {
        Self(.server(error, status: status), operation: operation)
    }
    static func unreachable(_ reason: String, operation: String, idleTimeout: Bool = false) -> Self {
        Self(.unreachable(reason, idleTimeout: idleTimeout), operation: operation)
    }
    static func updateOutcomeUnknown(baseVersion: ModelVersion) -> Self {
        Self(.updateOutcomeUnknown(baseVersion: baseVersion), operation: "send update")
    }
    static func updateNotDelivered(baseVersion: ModelVersion, waited: Duration, lastError: String) -> Self {
        Self(.updateNotDelivered(baseVersion: baseVersion, waited: waited, lastError: lastError), operation: "send update")
    }
    static func invalidResponse(_ reason: String, operation: String) -> Self {
        Self(.invalidResponse(reason), operation: operation)
    }
    static func invalidUpdate(_ reason: String) -> Self { Self(.invalidUpdate(reason), operation: "send update") }
    static func invalidConfiguration(_ reason: String, operation: String = "configure worker") -> Self {
        Self(.invalidConfiguration(reason), operation: operation)
    }
    /// Returns `invalidConfiguration` for a failure that the worker's settings caused, else `unreachable`.
    static func connectionFailure(_ failure: ConnectionFailure, operation: String) -> Self {
        if failure.isSettingMistake { return .invalidConfiguration(failure.description, operation: operation) }
        return .unreachable(failure.description, operation: operation, idleTimeout: failure.isIdleTimeout)
    }

    /// Whether the worker and the server share no protocol version; retrying cannot help.
    public var isProtocolMismatch: Bool {
        switch code {
        case .protocolMismatch: true
        case .server(let error, _): error.code == .protocolMismatch
        default: false
        }
    }

    /// Whether the server could not be reached or the connection failed; retrying later may help.
    public var isUnreachable: Bool {
        if case .unreachable = code { return true }
        return false
    }

    /// Whether the connection was open but the server sent nothing for the request's idle timeout.
    var isIdleTimeout: Bool {
        if case .unreachable(_, idleTimeout: true) = code { return true }
        return false
    }

    /// Whether the worker's own settings are invalid; retrying cannot help.
    public var isInvalidConfiguration: Bool {
        if case .invalidConfiguration = code { return true }
        return false
    }

    /// Whether an update was sent but no reply arrived, and the worker did not resend it because the server
    /// may already count it for its round.
    public var isUpdateOutcomeUnknown: Bool {
        if case .updateOutcomeUnknown = code { return true }
        return false
    }

    /// Whether the server did not take an update (no connection, 503 or 408) during the whole of
    /// `updateRetryWindow`, so the update was dropped.
    public var isUpdateNotDelivered: Bool {
        if case .updateNotDelivered = code { return true }
        return false
    }

    /// The error code the server replied with, or nil when the failure did not come from a server reply.
    public var serverErrorCode: DCFErrorCode? {
        if case .server(let error, _) = code { return error.code }
        return nil
    }

    /// The finer reason of the server's error reply, such as `stale_base_version` within `update_rejected`, or
    /// nil when the reply named none or the failure did not come from a server reply.
    public var serverErrorReason: String? {
        if case .server(let error, _) = code { return error.error.reason }
        return nil
    }

    /// The HTTP status of the server's error reply, or nil when the failure did not come from a server reply.
    public var httpStatus: Int? {
        if case .server(_, let status) = code { return status }
        return nil
    }

    /// The server's error reply, or nil when the failure did not come from a server reply.
    var serverError: DCFErrorResponse? {
        if case .server(let error, _) = code { return error }
        return nil
    }

    public var description: String { "\(operation) failed: " + Self.reason(code) }

    private static func reason(_ code: Code) -> String {
        switch code {
        case .protocolMismatch(let worker, let server):
            "protocol version mismatch: the server speaks \(server) but this worker speaks \(worker); "
                + "upgrade the side with the older version"
        case .server(let error, let status):
            "the server replied \(status) \(error.error.code): \(error.message)"
        case .unreachable(let reason, _):
            reason
        case .updateOutcomeUnknown(let base):
            "the connection failed after the update for base version \(base) was sent, and no copy sent again got a "
                + "reply that tells whether the server counted it; the worker stopped sending it, so the server "
                + "cannot count it twice"
        case .updateNotDelivered(let base, let waited, let lastError):
            "the server did not take the update for base version \(base) in \(DurationFormat.format(waited.wholeSeconds)) "
                + "of attempts, so it was dropped; last error: \(lastError)"
        case .invalidResponse(let reason):
            "invalid response from the server: \(reason)"
        case .invalidUpdate(let reason):
            "invalid update payload: \(reason)"
        case .invalidConfiguration(let reason):
            "invalid worker configuration: \(reason)"
        }
    }
}
