// SPDX-License-Identifier: Apache-2.0

/// The machine-readable code of a failed request, sent in `{"error":{"code":...}}`, with its HTTP status.
public enum DCFErrorCode: String, Sendable, Hashable, Codable, CaseIterable {
    /// The request's `DCF-Protocol` version is outside the server's range.
    case protocolMismatch = "protocol_mismatch"
    /// A required header is absent or unparsable.
    case missingHeader = "missing_header"
    case malformedJSON = "malformed_json"
    /// A query parameter or path component is invalid, or the request is not valid HTTP/1.1.
    case badRequest = "bad_request"
    /// The request head or body did not arrive within the server's timeouts, or the body arrived below its
    /// minimum rate. Sending the request again may succeed.
    case requestTimeout = "request_timeout"
    /// The request target is longer than the server accepts.
    case uriTooLong = "uri_too_long"
    /// The request's header section, or a chunked body's trailer section, has more bytes or fields than the
    /// server accepts.
    case headerTooLarge = "header_too_large"
    /// The public key is not in the allowed set (safe mode).
    case unknownKey = "unknown_key"
    /// The key is allowed but the worker is not registered, or an admin disabled it.
    case unregisteredWorker = "unregistered_worker"
    case badSignature = "bad_signature"
    /// The nonce was already used or was never issued.
    case replayedRequest = "replayed_request"
    case nonceExpired = "nonce_expired"
    /// The worker already holds the maximum number of outstanding nonces.
    case tooManyNonces = "too_many_nonces"
    case bodyTooLarge = "body_too_large"
    /// A compressed body inflates past the configured limit.
    case inflatedTooLarge = "inflated_too_large"
    /// The request's `Content-Encoding` is not one the server inflates.
    case unsupportedEncoding = "unsupported_encoding"
    /// The request's `Transfer-Encoding` is other than `chunked`.
    case unsupportedTransferEncoding = "unsupported_transfer_encoding"
    /// The request line names an HTTP version other than 1.0 or 1.1.
    case unsupportedHTTPVersion = "unsupported_http_version"
    /// The strategy rejected an update (for example, one trained from a stale version).
    case updateRejected = "update_rejected"
    /// No global model has been published yet, or the requested version is gone.
    case modelUnavailable = "model_unavailable"
    /// Admin credentials are missing or wrong.
    case unauthorized = "unauthorized"
    /// The admin API is off because no credentials are configured.
    case adminDisabled = "admin_disabled"
    /// Too many wrong admin credentials came from the client's address; it may try again after `Retry-After`.
    case tooManyLoginFailures = "too_many_login_failures"
    case notFound = "not_found"
    case methodNotAllowed = "method_not_allowed"
    /// The admin tried to add a worker that already exists.
    case conflict = "conflict"
    case internalError = "internal_error"
    /// The server cannot handle the request now, for example because it is shutting down, not ready yet, out of
    /// room for another connection or upload, or out of disk space. Sending the request again later may succeed.
    case unavailable = "unavailable"

    /// The HTTP status code sent with this error.
    public var httpStatus: Int {
        switch self {
        case .protocolMismatch: 426
        case .missingHeader, .malformedJSON, .badRequest: 400
        case .unknownKey, .badSignature, .replayedRequest, .nonceExpired, .unauthorized: 401
        case .unregisteredWorker, .adminDisabled: 403
        case .notFound: 404
        case .methodNotAllowed: 405
        case .requestTimeout: 408
        case .conflict: 409
        case .bodyTooLarge, .inflatedTooLarge: 413
        case .uriTooLong: 414
        case .unsupportedEncoding: 415
        case .updateRejected: 422
        case .tooManyNonces, .tooManyLoginFailures: 429
        case .headerTooLarge: 431
        case .internalError: 500
        case .unsupportedTransferEncoding: 501
        case .modelUnavailable, .unavailable: 503
        case .unsupportedHTTPVersion: 505
        }
    }
}

/// A failure as sent on the wire: `{"error":{"code":"bad_signature","message":"..."}}`.
public struct DCFErrorResponse: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    /// The inner `error` object.
    public struct Detail: Sendable, Hashable, Codable {
        public let code: String
        public let message: String
        /// A finer machine-readable reason within `code`, such as the strategy's `non_finite_value` for an
        /// `update_rejected`; absent from the JSON when nil.
        public let reason: String?
    }

    public let error: Detail
    /// For `method_not_allowed`, the methods the path takes, as the `Allow` header lists them; not in the JSON.
    public var allowedMethods: String?

    private enum CodingKeys: String, CodingKey {
        case error
    }

    public init(_ code: DCFErrorCode, _ message: String, reason: String? = nil) {
        self.error = Detail(code: code.rawValue, message: message, reason: reason)
    }

    /// The code as an enum, or nil when a newer server sent a code this build does not know.
    public var code: DCFErrorCode? { DCFErrorCode(rawValue: error.code) }

    public var message: String { error.message }

    /// The HTTP status for this error; 500 for a code this build does not know.
    public var httpStatus: Int { code?.httpStatus ?? 500 }

    public var description: String { "\(error.code): \(error.message)" }
}
