// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFTransport
import Synchronization

/// Collects a small request body (JSON control messages) in memory, answering `body_too_large` as JSON once
/// it passes the limit.
///
/// The transport's own `collect` handling would answer an oversized body with a plain-text 413, which a worker
/// cannot parse as a DCF error.
final class ControlBodyCollector: Sendable {
    private let limit: Int
    private let responder: HTTPResponder
    private let onTooLarge: @Sendable () -> Void
    private let bytes = Mutex<[UInt8]?>([])

    /// - Parameters:
    ///   - onTooLarge: runs once when the body passes `limit`, after the 413 response was sent.
    init(limit: Int, responder: HTTPResponder, onTooLarge: @escaping @Sendable () -> Void) {
        self.limit = limit
        self.responder = responder
        self.onTooLarge = onTooLarge
    }

    /// The body handling that passes the complete body to `onComplete`, on the connection's loop thread.
    func handling(onComplete: @escaping @Sendable ([UInt8]) -> Void) -> HTTPRequestBodyHandling {
        .stream(
            HTTPBodyStream(
                onChunk: { [self] chunk, demand in
                    if append(chunk) { demand.requestMore() }
                },
                onEnd: { [self] in
                    if let body = bytes.withLock({ $0 }) { onComplete(body) }
                },
                onError: { [self] _ in bytes.withLock { $0 = nil } }))
    }

    /// Appends `chunk`; returns false, after answering 413, once the body passes the limit.
    private func append(_ chunk: [UInt8]) -> Bool {
        let fits = bytes.withLock { bytes -> Bool in
            guard var collected = bytes else { return false }
            bytes = nil
            guard collected.count + chunk.count <= limit else { return false }
            collected += chunk
            bytes = collected
            return true
        }
        guard fits else {
            rejectTooLarge()
            return false
        }
        return true
    }

    private func rejectTooLarge() {
        let error = DCFErrorResponse(
            .bodyTooLarge, "the request body is larger than the limit of \(limit) bytes for JSON messages")
        if responder.respond(ServerResponse.error(error).httpResponse) { onTooLarge() }
    }
}
