// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFTransport
import Foundation

/// A signed request before its nonce and signature are added.
struct WorkerRequest: Sendable {
    var method: String
    /// Path plus query, exactly as sent and signed.
    var target: String
    /// The body as sent, after any compression.
    var body = Data()
    /// The SHA-256 of `body` as lowercase hex when it is known before signing, so a request signed again
    /// (after a fresh nonce, say) does not hash a large body again; nil to hash at signing.
    var bodySHA256: String?
    var baseVersion: ModelVersion?
    var extraHeaders: [(String, String)] = []
    /// Overrides the idle timeout, for long polls.
    var idleTimeout: Duration?
    /// Maximum wait for `100 Continue`, for a request that sends `Expect: 100-continue`.
    var continueTimeout: Duration?
    /// Names the operation in errors and logs, such as `register`.
    var operation: String
    /// True for `POST /dcf/register`, which is signed as the public key and never triggers re-registration.
    var isRegistration = false
    /// True for updates: after a connection failure that the server may have seen, the identical signed bytes
    /// are sent again instead of a newly signed request, so the single-use nonce stops a second copy.
    var resendsLostReply = false

    /// Returns the HTTP request with `headers` (the signature headers) and the fixed extras.
    func httpRequest(signedWith headers: [(String, String)]) -> HTTPClientRequest {
        var request = HTTPClientRequest(
            method: method, path: target, headers: HTTPHeaders(headers + extraHeaders),
            body: body.isEmpty ? .none : .data(body), idleTimeout: idleTimeout)
        request.continueTimeout = continueTimeout
        return request
    }
}

/// The recovery steps one request may take, each at most once: a fresh nonce, a new protocol negotiation
/// and a new registration.
struct RequestRecovery {
    enum Step: Equatable {
        case freshNonce
        case renegotiate
        case register
    }

    private var taken: Set<String> = []

    /// Returns the step that may fix `error`, or nil when the error is final for this request.
    mutating func step(for error: DCFErrorResponse, isRegistration: Bool) -> Step? {
        let step: Step? =
            switch error.code {
            case .nonceExpired, .replayedRequest: .freshNonce
            case .protocolMismatch: .renegotiate
            case .unregisteredWorker, .unknownKey: isRegistration ? nil : .register
            default: nil
            }
        guard let step, taken.insert(String(describing: step)).inserted else { return nil }
        return step
    }
}

extension HTTPClientResponse {
    var isSuccess: Bool { (200..<300).contains(statusCode) || statusCode == 304 }

    /// The dcf error body, or one made from the status when the body is not a dcf error (a proxy's page).
    var dcfError: DCFErrorResponse {
        if let decoded = try? JSONDecoder().decode(DCFErrorResponse.self, from: body) { return decoded }
        let code: DCFErrorCode =
            switch statusCode {
            case 426: .protocolMismatch
            case 400: .badRequest
            case 404: .notFound
            case 405: .methodNotAllowed
            case 408: .requestTimeout
            case 413: .bodyTooLarge
            case 414: .uriTooLong
            case 431: .headerTooLarge
            case 502, 503, 504: .unavailable
            default: .internalError
            }
        return DCFErrorResponse(code, "HTTP \(statusCode) \(reason) without a dcf error body: \(plainTextExcerpt)")
    }

    /// The first 200 bytes of a body that is someone else's text (a proxy's page, the TLS port's plaintext
    /// response) on one line, because line breaks would split the log line that quotes it.
    var plainTextExcerpt: String {
        String(decoding: body.prefix(200), as: UTF8.self)
            .split(whereSeparator: \.isNewline).joined(separator: " ")
            .trimmingCharacters(in: .whitespaces)
    }

    /// Whether this is the reply of a dcf-serverd TLS port to a plaintext request: a 400 with exactly the body of
    /// `TLSPortPlaintextReply`. Another 400 page that mentions TLS, such as a proxy's, does not match, because the
    /// worker stops for good on this reply.
    ///
    /// NOTE: A proxy that relays this reply unchanged from a TLS port behind it still matches.
    var isTLSRequiredReply: Bool {
        statusCode == 400 && body == Data(TLSPortPlaintextReply.body.utf8)
    }

    /// Decodes a JSON body, throwing an error that names the operation and the expected message.
    func decode<Message: Decodable>(_ type: Message.Type, operation: String) throws(DCFWorkerError) -> Message {
        do {
            return try JSONDecoder().decode(type, from: body)
        } catch {
            throw .invalidResponse("the body is not a \(type) message: \(error)", operation: operation)
        }
    }
}
