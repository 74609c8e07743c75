// SPDX-License-Identifier: Apache-2.0
import Foundation

/// A failed HTTP client request: what failed, on which server, and why.
public struct HTTPClientError: Error, CustomStringConvertible, Sendable {
    /// The phase a timeout happened in.
    public enum TimeoutPhase: String, Sendable {
        case connect = "connecting"
        case tlsHandshake = "the TLS handshake"
        case idle = "waiting for the server (idle timeout)"
        case total = "the request (total timeout)"
    }

    private enum Code: Sendable {
        case connectionRefused
        case connectFailed(errno: Int32)
        case hostNotFound(String)
        case timedOut(TimeoutPhase, Duration, step: String?)
        case tls(TLSError)
        case connectionClosed(String)
        case io(operation: String, errno: Int32)
        case invalidResponse(String)
        case responseTooLarge(limit: Int)
        case invalidRequest(String)
        case invalidConfiguration(String)
        case bodySource(String)
    }

    private let code: Code
    /// The server as `host:port`.
    public let server: String
    /// A likely cause, appended to the description.
    private var hint: String?
    /// Whether the request waited for `100 Continue` and failed before it came, so no body byte went out and the
    /// server cannot have acted on the request.
    public private(set) var failedBeforeBody = false
    /// Whether the connection failed while it was set up (TCP connect or TLS handshake), so no byte of the
    /// request went out and the server cannot have acted on it.
    public private(set) var failedBeforeRequest = false
    /// Whether a new TLS connection closed before any byte of the response to its first request. With TLS 1.3
    /// that is how a server ends the connection of a client whose certificate it rejects or misses.
    public private(set) var closedBeforeFirstResponse = false

    private init(_ code: Code, server: String) {
        self.code = code
        self.server = server
    }

    static func connectionRefused(_ server: String) -> Self { Self(.connectionRefused, server: server) }
    static func connectFailed(_ server: String, errno: Int32) -> Self { Self(.connectFailed(errno: errno), server: server) }
    static func hostNotFound(_ server: String, reason: String) -> Self { Self(.hostNotFound(reason), server: server) }
    static func timedOut(_ server: String, _ phase: TimeoutPhase, after limit: Duration) -> Self {
        Self(.timedOut(phase, limit, step: nil), server: server)
    }
    static func tls(_ server: String, _ error: TLSError) -> Self { Self(.tls(error), server: server) }
    static func connectionClosed(_ server: String, while step: String) -> Self {
        Self(.connectionClosed(step), server: server)
    }
    /// Returns the error for a body that ends when the connection closes, on a TLS stream that ended without
    /// close_notify.
    static func closedWithoutCloseNotify(_ server: String) -> Self {
        connectionClosed(
            server,
            while: "receiving a body that ends at the close, and the TLS stream ended without close_notify, so the "
                + "body may be truncated")
    }

    static func io(_ server: String, _ operation: String, errno: Int32) -> Self {
        Self(.io(operation: operation, errno: errno), server: server)
    }
    static func invalidResponse(_ server: String, _ reason: String) -> Self {
        Self(.invalidResponse(reason), server: server)
    }
    static func responseTooLarge(_ server: String, limit: Int) -> Self {
        Self(.responseTooLarge(limit: limit), server: server)
    }
    static func invalidRequest(_ server: String, _ reason: String) -> Self {
        Self(.invalidRequest(reason), server: server)
    }
    static func invalidConfiguration(_ server: String, _ reason: String) -> Self {
        Self(.invalidConfiguration(reason), server: server)
    }
    static func bodySource(_ server: String, _ reason: String) -> Self { Self(.bodySource(reason), server: server) }

    /// The TLS failure behind this error, such as a rejected server certificate, or `nil`.
    public var tlsError: TLSError? {
        if case .tls(let error) = code { return error }
        return nil
    }

    /// The phase that timed out, or `nil` when this is not a timeout.
    public var timeoutPhase: TimeoutPhase? {
        if case .timedOut(let phase, _, _) = code { return phase }
        return nil
    }

    /// Whether the server rejected the TCP connection (nothing listens on the port).
    public var isConnectionRefused: Bool {
        if case .connectionRefused = code { return true }
        return false
    }

    /// Whether the connection failed before the server could have received the whole request, so that sending
    /// the request again on a new connection is safe for a replayable body.
    var isStaleConnection: Bool {
        switch code {
        case .connectionClosed, .io: true
        default: false
        }
    }

    /// Returns this timeout error with `step` naming what the client waited for. Other errors are returned
    /// unchanged.
    func withTimeoutStep(_ step: String) -> Self {
        guard case .timedOut(let phase, let limit, _) = code else { return self }
        var copy = Self(.timedOut(phase, limit, step: step), server: server)
        copy.hint = hint
        copy.failedBeforeBody = failedBeforeBody
        copy.failedBeforeRequest = failedBeforeRequest
        return copy
    }

    /// Returns a copy of this error with `failedBeforeRequest` set.
    func beforeRequest() -> Self {
        var copy = self
        copy.failedBeforeRequest = true
        return copy
    }

    /// Returns a copy of this error with `failedBeforeBody` set.
    func beforeBody() -> Self {
        var copy = self
        copy.failedBeforeBody = true
        return copy
    }

    /// Returns this error with `hint` as the likely cause.
    func withHint(_ hint: String) -> Self {
        var copy = self
        copy.hint = hint
        return copy
    }

    /// Returns this closed-connection error marked `closedBeforeFirstResponse`, with a hint at the client
    /// certificate: the server may have rejected the one presented, or may require one when none was.
    func closedOverClientCertificate(presented: Bool) -> Self {
        var copy = withHint(
            presented
                ? "the server may have rejected this client's TLS certificate; check its server log"
                : "the server may require a TLS client certificate, and this client has none set")
        copy.closedBeforeFirstResponse = true
        return copy
    }

    /// Whether the server sent the TLS alert certificate_required (116): it requires a client certificate and
    /// the client sent none.
    public var isClientCertificateRequired: Bool {
        // The record layer of this package names the alert "certificate_required"; OpenSSL's own record layer
        // reports it as "tlsv13 alert certificate required".
        tlsError?.openSSLErrors.contains {
            $0.contains("certificate_required") || $0.contains("alert certificate required")
        } ?? false
    }

    /// Whether the server sent a TLS alert that rejects the certificate this client presented: bad_certificate
    /// (42), unsupported_certificate (43), certificate_revoked (44), certificate_expired (45),
    /// certificate_unknown (46) or unknown_ca (48).
    public var isClientCertificateRejected: Bool {
        let alerts = [
            "bad_certificate", "unsupported_certificate", "certificate_revoked", "certificate_expired",
            "certificate_unknown", "unknown_ca",
        ]
        // This package's record layer names an alert as above; OpenSSL's writes it with spaces, such as
        // "tlsv1 alert unknown ca".
        return tlsError?.openSSLErrors.contains { entry in
            alerts.contains { alert in
                entry.contains(alert) || entry.contains("alert " + alert.replacingOccurrences(of: "_", with: " "))
            }
        } ?? false
    }

    /// Whether the TLS handshake failed because the server's reply was not a TLS record, as when the port
    /// serves plain HTTP. OpenSSL reports that as "wrong version number".
    public var isReplyNotTLS: Bool {
        tlsError?.openSSLErrors.contains { $0.contains("wrong version number") } ?? false
    }

    /// Whether the server closed or reset the connection.
    var isConnectionClosed: Bool {
        if case .connectionClosed = code { return true }
        return false
    }

    public var description: String {
        let text = "request to \(server) failed: " + Self.reason(code)
        guard let hint else { return text }
        return text + " (\(hint))"
    }

    private static func reason(_ code: Code) -> String {
        switch code {
        case .connectionRefused:
            "connection refused; check that the server runs and listens on this port"
        case .connectFailed(let errno):
            "connect failed: \(errnoText(errno))"
        case .hostNotFound(let reason):
            "host name lookup failed: \(reason)"
        case .timedOut(let phase, let limit, nil):
            "timed out during \(phase.rawValue) after \(limit)"
        case .timedOut(let phase, let limit, let step?):
            "timed out during \(phase.rawValue) after \(limit), while \(step)"
        case .tls(let error):
            error.description
        case .connectionClosed(let step):
            "server closed the connection while \(step)"
        case .io(let operation, let errno):
            "\(operation) failed: \(errnoText(errno))"
        case .invalidResponse(let reason):
            "invalid HTTP response: \(reason)"
        case .responseTooLarge(let limit):
            "response body exceeds the limit of \(limit) bytes; raise maximumResponseBodySize or stream the body"
        case .invalidRequest(let reason):
            "invalid request: \(reason)"
        case .invalidConfiguration(let reason):
            "invalid client configuration: \(reason)"
        case .bodySource(let reason):
            "request body: \(reason)"
        }
    }

    private static func errnoText(_ errno: Int32) -> String {
        let text = strerror(errno).map { String(cString: $0) } ?? "unknown error"
        return "\(text) (errno \(errno))"
    }
}
