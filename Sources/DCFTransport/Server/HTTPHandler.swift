// SPDX-License-Identifier: Apache-2.0

/// The application side of `HTTPServer`: receives each request head and decides how to take its body.
///
/// The server calls `handleRequest` on an event-loop thread, so it must return quickly and never block:
/// hand slow work (disk, decompression, signature checks) to another thread and complete the `responder`
/// from there. Requests on one connection are handled one at a time, in order; the next request on a
/// keep-alive connection is not read until the current response has been sent.
///
/// A long poll parks the request and completes it from whichever thread learns the answer:
///
/// ```swift
/// struct ModelHandler: HTTPHandler {
///     let waiters: WaiterRegistry  // a Sendable type of the application
///
///     func handleRequest(_ head: HTTPRequestHead, responder: HTTPResponder) -> HTTPRequestBodyHandling {
///         let id = waiters.add(responder)
///         responder.park(
///             timeout: .seconds(50),
///             onTimeout: { $0.respond(status: .noContent) },
///             onDisconnect: { waiters.remove(id) }
///         )
///         return .discard
///     }
/// }
/// ```
public protocol HTTPHandler: Sendable {
    /// Starts handling a request whose head has arrived; returns how the server should deliver its body.
    ///
    /// The handler may respond at once, later from any thread, or park the request with
    /// `HTTPResponder.park`. A response sent before the body has been read closes the connection after it.
    func handleRequest(_ head: HTTPRequestHead, responder: HTTPResponder) -> HTTPRequestBodyHandling

    /// Called once when `HTTPServer.shutdown` begins; respond to parked requests now, because they are
    /// closed when the grace period ends. Runs on the thread that called `shutdown`.
    func serverWillStop()

    /// Returns the response for an error the server sends itself, before or instead of the handler: a malformed
    /// request (400), a limit passed (408, 413, 414, 431), a `Transfer-Encoding` other than `chunked` (501), a full
    /// server or a drain (503), or an HTTP version other than 1.0 and 1.1 (505). `detail` describes
    /// what was wrong in one line. The default is a plain-text body; a handler whose clients expect one error format
    /// returns it here. Runs on an event loop, so it must be quick.
    func errorResponse(_ status: HTTPStatus, detail: String) -> HTTPResponse
}

extension HTTPHandler {
    public func serverWillStop() {}

    public func errorResponse(_ status: HTTPStatus, detail: String) -> HTTPResponse {
        .text(status, detail + "\n")
    }
}

/// How the server delivers a request body to the handler.
public enum HTTPRequestBodyHandling: Sendable {
    /// Reads and drops the body. Use it for requests without one, and for requests answered at once.
    case discard
    /// Collects the whole body in memory and passes it to the closure on the loop thread. A body larger
    /// than `maxBytes` is answered with 413 and the connection closes.
    case collect(maxBytes: Int, onComplete: @Sendable ([UInt8]) -> Void)
    /// Passes the body chunk by chunk, with back-pressure, so a large upload never sits in memory whole.
    case stream(HTTPBodyStream)
}

/// Callbacks receiving a request body as it arrives, all called on the connection's loop thread.
public struct HTTPBodyStream: Sendable {
    let onStart: (@Sendable (HTTPBodyDemand) -> Void)?
    let onChunk: @Sendable ([UInt8], HTTPBodyDemand) -> Void
    let onEnd: @Sendable () -> Void
    let onError: @Sendable (HTTPRequestError) -> Void

    /// - Parameters:
    ///   - onStart: when given, the server reads no body byte until the handler calls `requestMore()` on the
    ///     demand passed here. A client that sent `Expect: 100-continue` gets its `100 Continue` only then, so
    ///     it keeps the body until the handler is ready, which lets a handler admit a limited number of bodies
    ///     at once. No body timeout runs meanwhile; the handler bounds the wait or responds instead. Called on
    ///     the connection's loop thread, right after `handleRequest` returns.
    ///   - onChunk: receives each chunk with a demand. The server reads no further until
    ///     `HTTPBodyDemand.requestMore()` has been called, from any thread, for example after the chunk was
    ///     written to disk.
    ///   - onEnd: called after the last chunk once its demand was met: the body is complete.
    ///   - onError: called instead of `onEnd` when the body cannot complete (client gone, timeout, invalid
    ///     chunked framing). No further callbacks follow.
    public init(
        onStart: (@Sendable (HTTPBodyDemand) -> Void)? = nil,
        onChunk: @escaping @Sendable ([UInt8], HTTPBodyDemand) -> Void,
        onEnd: @escaping @Sendable () -> Void,
        onError: @escaping @Sendable (HTTPRequestError) -> Void
    ) {
        self.onStart = onStart
        self.onChunk = onChunk
        self.onEnd = onEnd
        self.onError = onError
    }
}

/// Permission for the server to deliver the next body chunk; call `requestMore` once per chunk.
public struct HTTPBodyDemand: Sendable {
    let resume: @Sendable () -> Void
    let probe: @Sendable (@escaping @Sendable (Bool) -> Void) -> Void

    /// Lets the server read and deliver the next chunk. Callable from any thread.
    public func requestMore() {
        resume()
    }

    /// Calls `reply` on the connection's loop thread with whether request bytes have arrived that the server
    /// has not passed on yet: in the socket's receive queue, decrypted in the TLS session or in the connection's
    /// buffer. When they have, a slow body is the server's doing (busy CPU, a handler that waits), not the
    /// client's. Part of a TLS record does not count, because nothing of it can be read before the rest arrives.
    /// `reply` gets false once the request or its connection has ended. Callable from any thread.
    public func checkUnreadInput(_ reply: @escaping @Sendable (Bool) -> Void) {
        probe(reply)
    }
}

/// The reason a request ended before its response was sent or its body was read.
public struct HTTPRequestError: Error, CustomStringConvertible, Equatable {
    private enum Code: Equatable {
        case clientDisconnected, timedOut, invalidBody(String), serverStopped, bodyAbandoned, clientPolicyChanged
    }

    private let code: Code

    /// The client closed the connection or it failed.
    public static let clientDisconnected = HTTPRequestError(code: .clientDisconnected)
    /// The client sent nothing for longer than the body timeout.
    public static let timedOut = HTTPRequestError(code: .timedOut)
    /// The server closed the connection at the end of its shutdown grace period.
    public static let serverStopped = HTTPRequestError(code: .serverStopped)
    /// The server closed the connection because a TLS reload changed which client certificates it accepts.
    public static let clientPolicyChanged = HTTPRequestError(code: .clientPolicyChanged)

    /// The handler responded before reading the whole body; the connection closes after the response.
    public static let bodyAbandoned = HTTPRequestError(code: .bodyAbandoned)

    static func invalidBody(_ detail: String) -> HTTPRequestError { HTTPRequestError(code: .invalidBody(detail)) }

    public var description: String {
        switch code {
        case .clientDisconnected: "client disconnected"
        case .timedOut: "client timed out"
        case .invalidBody(let detail): "invalid request body: \(detail)"
        case .serverStopped: "server stopped"
        case .bodyAbandoned: "response sent before the request body was read"
        case .clientPolicyChanged: "client certificate policy changed"
        }
    }
}
