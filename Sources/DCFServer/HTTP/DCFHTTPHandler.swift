// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
public import DCFTransport
import Dispatch
import Foundation
import Synchronization

/// The adapter between `HTTPServer` and `DCFServer`: turns each transport request into a `ServerRequest`
/// and sends back the `ServerResponse`.
///
/// JSON bodies are collected in memory up to `maximumControlBodyBytes`; `POST /dcf/update` bodies are streamed
/// to a spool file with back-pressure. `DCFServer.handle` runs on dispatch queues, never on an event loop,
/// because it checks signatures, writes the registry and runs the strategy's update callback synchronously.
/// A long poll parks on the transport's responder, and a client that disconnects meanwhile drops it.
public final class DCFHTTPHandler: HTTPHandler {
    /// The backend every request goes to.
    public let server: DCFServer
    private let spool: UpdateSpool
    private let uploads = UploadGate()
    /// The minimum rate of an admitted body while others wait, or nil when the check is off.
    private let uploadPace: UploadPace?
    private let updateQueue = DispatchQueue(label: "dcf.http.updates", attributes: .concurrent)
    /// Identifies each exchange to `DCFServer.connectionClosed(_:)`; one request at a time runs per connection,
    /// so an exchange stands for its connection while the request is parked.
    private let exchangeCounter = Atomic<UInt64>(0)

    public init(server: DCFServer) {
        self.server = server
        self.spool = UpdateSpool(stateDirectory: server.configuration.stateDirectory)
        let configuration = server.configuration
        uploadPace =
            configuration.minimumUploadRate > 0
            ? UploadPace(bytesPerSecond: configuration.minimumUploadRate, window: configuration.uploadPaceWindow) : nil
    }

    public func handleRequest(_ head: HTTPRequestHead, responder: HTTPResponder) -> HTTPRequestBodyHandling {
        let exchangeID = exchangeCounter.add(1, ordering: .relaxed).newValue
        switch try? DCFRoute(method: head.method, target: head.target) {
        case .update?:
            return receiveUpload(head, responder, exchangeID)
        case .modelWait?:
            let disconnect = parkUntilAnswered(responder, exchangeID)
            return collectBody(head, responder, exchangeID) { [server] in
                // A client gone before the poll was parked in the server left nothing to drop then.
                if disconnect.isSet { server.connectionClosed(exchangeID) }
            }
        default:
            return collectBody(head, responder, exchangeID)
        }
    }

    /// Responds to every parked long poll, because the transport closes them when its grace period ends.
    public func serverWillStop() {
        server.beginDrain()
    }

    /// Returns the transport's own errors in the dcf JSON error format, so clients parse every error one way, and
    /// counts them under `dcf_requests_rejected_total` like the server's own.
    public func errorResponse(_ status: HTTPStatus, detail: String) -> HTTPResponse {
        let code: DCFErrorCode =
            switch status.code {
            case 408: .requestTimeout
            case 413: .bodyTooLarge
            case 414: .uriTooLong
            case 431: .headerTooLarge
            case 501: .unsupportedTransferEncoding
            // The transport sends 503 for a full server and for a drain; workers retry both.
            case 503: .unavailable
            // A request in another HTTP version is the client's mistake, not a failure of this server.
            case 505: .unsupportedHTTPVersion
            case 500..<600: .internalError
            default: .badRequest
            }
        // The transport's body limit is above each of the server's own, so its figure would mislead. The route is
        // not known here, so the message names both of the server's limits.
        let configuration = server.configuration
        let message =
            switch status.code {
            case 413:
                "the request body is larger than this server accepts: at most \(configuration.maximumUpdateBodyBytes) "
                    + "bytes for an update (max_update_bytes) and \(configuration.maximumControlBodyBytes) bytes for "
                    + "other requests (max_control_bytes)"
            case 505: "\(detail); this server speaks HTTP/1.1 (and answers HTTP/1.0)"
            // The transport names the figure and its own property; the config key behind it shows an operator
            // what to raise.
            case 408: Self.namingConfigKeys(detail)
            case 414: "\(detail); the server's limit is limits.max_url_bytes"
            case 431: "\(detail); the server's limits are limits.max_header_bytes and limits.max_header_count"
            default: detail
            }
        server.metrics.recordRejection(code.rawValue)
        let body = (try? JSONEncoder().encode(DCFErrorResponse(code, message))) ?? Data("{}".utf8)
        return HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: .bytes(Array(body)))
    }

    /// The config keys of the transport limits that end a request with 408, by the property names that the
    /// transport's messages give in parentheses.
    private static let timeoutConfigKeys = [
        "headerTimeout": "limits.header_timeout", "bodyTimeout": "limits.body_timeout",
        "minBodyRate": "limits.min_body_rate",
    ]

    /// Returns a 408 message with the transport's property name replaced by its config key, or, for a message that
    /// names none, with the three keys that can end a request this way.
    static func namingConfigKeys(_ detail: String) -> String {
        for (property, key) in timeoutConfigKeys where detail.contains("(\(property))") {
            return detail.replacingOccurrences(of: "(\(property))", with: "(\(key))")
        }
        return "\(detail); the server's limits are limits.header_timeout, limits.body_timeout and limits.min_body_rate"
    }

    private func collectBody(
        _ head: HTTPRequestHead, _ responder: HTTPResponder, _ exchangeID: UInt64,
        afterHandling: @escaping @Sendable () -> Void = {}
    ) -> HTTPRequestBodyHandling {
        let limit = server.configuration.maximumControlBodyBytes
        if let rejection = rejectDeclaredLength(head, limit: limit, responder, exchangeID) { return rejection }
        let collector = ControlBodyCollector(limit: limit, responder: responder) { [server] in
            server.metrics.recordRejection(DCFErrorCode.bodyTooLarge.rawValue)
        }
        return collector.handling { [self] bytes in
            server.requestGate.submit { [self] in
                do {
                    let request = ServerRequest(
                        head: head, body: try .memory(Data(bytes)), exchangeID: exchangeID, responder: responder)
                    server.handle(request) { responder.respond($0) }
                } catch {
                    server.logger.error("failed to hash request body", [("target", head.target), ("error", "\(error)")])
                    let failure = DCFErrorResponse(
                        .internalError, "the server failed to hash the request body; see its log")
                    responder.respond(.error(failure))
                }
                afterHandling()
            }
        }
    }

    /// Checks the head of a `POST /dcf/update` and, when it passes, streams the body to the spool.
    ///
    /// Before any body byte is stored, the head must name a registered worker and a nonce outstanding for it,
    /// its signature over the declared body digest must verify, and that worker must have no other upload in
    /// flight. So only the holder of a worker's key can make the server store a body, and it cannot open many
    /// spooling connections under one worker id.
    private func receiveUpload(
        _ head: HTTPRequestHead, _ responder: HTTPResponder, _ exchangeID: UInt64
    ) -> HTTPRequestBodyHandling {
        let limit = server.configuration.maximumUpdateBodyBytes
        if let rejection = rejectDeclaredLength(head, limit: limit, responder, exchangeID) { return rejection }
        let headOnly = ServerRequest(head: head, body: .empty, exchangeID: exchangeID, responder: responder)
        let screened: DCFServer.ScreenedUpdateHead
        do {
            screened = try server.screenUpdateHead(headOnly)
        } catch {
            server.rejectUpdateHead(headOnly, error) { responder.respond($0) }
            return Self.unreadBody
        }
        let pass = UploadPass(gate: uploads, worker: screened.worker)
        // Another upload may carry the same nonce: a copy rejected by the gate or by its signature check. Only the
        // upload whose hold succeeded may release it.
        let holdsNonce = SetOnceFlag()
        let identity = ContentCoding(contentEncoding: head.headers["Content-Encoding"]) == .identity
        let upload = UpdateUpload(
            spool: spool, limit: limit, declaredSHA256: screened.bodySHA256, scansValues: identity,
            scanHeaderLimit: server.updateHeaderScanLimit, responder: responder, queue: DispatchQueue(label: "dcf.http.upload", target: updateQueue),
            logger: server.logger,
            admit: { [server] () throws(DCFErrorResponse) in
                // Off the event loop: one Ed25519 verification per upload, before its first byte is stored.
                try server.verifyUpdateHead(headOnly, screened)
                try pass.take()
                try server.holdUpdateNonce(screened)
                holdsNonce.set()
            },
            admission: server.uploadAdmission,
            pace: uploadPace,
            onReject: { [server] error in server.recordingResponses(to: headOnly) { _ in }(.error(error)) },
            onComplete: { [server] body in
                var request = ServerRequest(head: head, body: body, exchangeID: exchangeID, responder: responder)
                request.verifiedHead = (screened.worker, screened.bodySHA256)
                server.handle(request) { response in
                    // Leaving before the response goes out lets the worker send its next update at once.
                    pass.giveBack()
                    responder.respond(response)
                }
            },
            onFinish: { [server] in
                pass.giveBack()
                if holdsNonce.isSet { server.releaseUpdateNonce(screened) }
            })
        return upload.handling
    }

    /// A body stream that never requests more, so the transport closes the connection after the error response
    /// instead of reading the body only to drop it.
    private static var unreadBody: HTTPRequestBodyHandling {
        .stream(HTTPBodyStream(onChunk: { _, _ in }, onEnd: {}, onError: { _ in }))
    }

    /// Responds with `body_too_large` at once when `Content-Length` already passes `limit`, and reads no body.
    /// The response goes through the server's recording, so it counts like any other rejection (for an update,
    /// under `dcf_updates_rejected_total` too).
    private func rejectDeclaredLength(
        _ head: HTTPRequestHead, limit: Int, _ responder: HTTPResponder, _ exchangeID: UInt64
    ) -> HTTPRequestBodyHandling? {
        guard let declared = head.headers["Content-Length"].flatMap({ Int($0) }), declared > limit else { return nil }
        let error = DCFErrorResponse(
            .bodyTooLarge,
            "Content-Length \(declared) passes the limit of \(limit) bytes for \(head.method) \(head.path)")
        let request = ServerRequest(head: head, body: .empty, exchangeID: exchangeID, responder: responder)
        server.recordingResponses(to: request) { responder.respond($0) }(.error(error))
        return Self.unreadBody
    }

    /// Parks the request on the transport, so it holds no thread while the server waits for a new version;
    /// returns the flag a client disconnect sets.
    private func parkUntilAnswered(_ responder: HTTPResponder, _ exchangeID: UInt64) -> SetOnceFlag {
        let disconnect = SetOnceFlag()
        responder.park(timeout: nil) { [server] in
            // Set before dropping, so a poll parked after this call is dropped by the check after handling.
            disconnect.set()
            server.connectionClosed(exchangeID)
        }
        return disconnect
    }
}

/// A flag set on one thread and read on others: a long poll's client disconnected, or an upload's nonce hold succeeded.
private final class SetOnceFlag: Sendable {
    private let value = Atomic<Bool>(false)

    var isSet: Bool { value.load(ordering: .acquiring) }

    func set() {
        value.store(true, ordering: .releasing)
    }
}
