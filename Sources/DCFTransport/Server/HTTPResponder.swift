// SPDX-License-Identifier: Apache-2.0
import Synchronization

/// Completes one request: send a response once, from any thread, or park the request until there is one.
///
/// The first call of `respond` or `startStreaming` wins and returns true (or a writer); later calls return
/// false (or nil) and send nothing, so a timeout and a real answer may race safely. Work hops to the
/// connection's loop thread. If the connection has closed, the response is dropped.
public final class HTTPResponder: Sendable {
    let loop: EventLoop
    let connection: LoopBoundReference<HTTPConnection>
    let requestNumber: UInt64
    /// The client's address and port as the socket reports it: `192.0.2.7:51234` or `[2001:db8::7]:51234`.
    public let peer: String
    private let completed = Atomic<Bool>(false)

    init(loop: EventLoop, connection: HTTPConnection, requestNumber: UInt64) {
        self.loop = loop
        self.connection = LoopBoundReference(connection)
        self.requestNumber = requestNumber
        self.peer = connection.peer
    }

    /// The client's IP address without the port (and without brackets for IPv6).
    public var peerAddress: String {
        var address = peer
        if let colon = address.lastIndex(of: ":") { address = String(address[..<colon]) }
        if address.hasPrefix("["), address.hasSuffix("]") { address = String(address.dropFirst().dropLast()) }
        return address
    }

    /// Whether a response was already started through this responder.
    public var isCompleted: Bool { completed.load(ordering: .acquiring) }

    /// Sends `response`; returns false, sending nothing, if this request was already answered.
    @discardableResult
    public func respond(_ response: HTTPResponse) -> Bool {
        guard claim() else { return false }
        if let batch = ResponseBatch.current {
            let item = ResponseBatch.Item(connection: connection, requestNumber: requestNumber, response: response)
            batch.add(item, on: loop)
            return true
        }
        let number = requestNumber
        let connection = connection
        loop.execute { connection.value?.sendResponse(response, requestNumber: number) }
        return true
    }

    /// Runs `body` and holds back every response it sends on this thread with `respond`, then sends them with
    /// one task per event loop, so each loop writes them in one go instead of one task per response.
    ///
    /// Use it around code that responds to many requests at once, such as waking every parked long poll. Responses
    /// of one loop keep their order; a nested call joins the outer batch. Streaming responses and `park` are
    /// not held back.
    ///
    /// - Parameter whenWritten: runs on an event loop once every loop has written its share of the batch, or at
    ///   once when `body` sent nothing. Ignored by a nested call, whose responses go with the outer batch.
    public static func batchingResponses<Result>(
        whenWritten: (@Sendable () -> Void)? = nil, _ body: () throws -> Result
    ) rethrows -> Result {
        if ResponseBatch.current != nil { return try body() }
        return try ResponseBatch.collect(body, whenWritten: whenWritten)
    }

    /// Sends a response with `status` and a body from `bytes`; see `respond(_:)`.
    @discardableResult
    public func respond(status: HTTPStatus, headers: HTTPHeaders = [:], body bytes: [UInt8] = []) -> Bool {
        respond(HTTPResponse(status: status, headers: headers, body: bytes.isEmpty ? .empty : .bytes(bytes)))
    }

    /// Sends the head of a response whose body follows in parts of unknown total length (chunked encoding
    /// on HTTP/1.1); returns nil if this request was already answered.
    ///
    /// Set `Content-Length` in `headers` when the length is known: the body is then sent unframed and must
    /// match it exactly.
    public func startStreaming(status: HTTPStatus, headers: HTTPHeaders = [:]) -> HTTPResponseWriter? {
        guard claim() else { return nil }
        let number = requestNumber
        let connection = connection
        loop.execute { connection.value?.startStreamingResponse(status: status, headers: headers, requestNumber: number) }
        return HTTPResponseWriter(loop: loop, connection: connection, requestNumber: number)
    }

    /// Parks the request: it holds no thread, counts in `parkedRequests`, and waits for `respond`.
    ///
    /// - Parameters:
    ///   - timeout: after this long without a response, `onTimeout` runs on the loop thread with this responder,
    ///     so the handler can answer "no change". Nil waits without limit.
    ///   - onTimeout: called at most once, only if no response was started before the timeout.
    ///   - onDisconnect: called at most once, on the loop thread, as soon as the client disconnects or the server
    ///     closes the connection before a response was started. Drop every reference to this responder then.
    public func park(
        timeout: Duration?,
        onTimeout: @escaping @Sendable (HTTPResponder) -> Void = { _ in },
        onDisconnect: @escaping @Sendable () -> Void
    ) {
        let number = requestNumber
        let connection = connection
        loop.execute { [self] in
            connection.value?.parkRequest(number, responder: self, timeout: timeout, onTimeout: onTimeout, onDisconnect: onDisconnect)
                ?? onDisconnect()
        }
    }

    private func claim() -> Bool {
        completed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
    }
}

/// Sends the body of a response started with `HTTPResponder.startStreaming`, in order, from any thread.
public final class HTTPResponseWriter: Sendable {
    let loop: EventLoop
    let connection: LoopBoundReference<HTTPConnection>
    let requestNumber: UInt64

    init(loop: EventLoop, connection: LoopBoundReference<HTTPConnection>, requestNumber: UInt64) {
        self.loop = loop
        self.connection = connection
        self.requestNumber = requestNumber
    }

    /// Queues `bytes`; `completion` runs on the loop thread with true once they were handed to the socket, or
    /// false if the connection closed first. Wait for it before writing more to bound memory.
    public func write(_ bytes: [UInt8], completion: (@Sendable (Bool) -> Void)? = nil) {
        let number = requestNumber
        let connection = connection
        loop.execute {
            guard let target = connection.value else {
                completion?(false)
                return
            }
            target.writeStreamingBody(bytes, requestNumber: number, completion: completion)
        }
    }

    /// Ends the body; the connection then serves its next request or closes.
    public func end() {
        let number = requestNumber
        let connection = connection
        loop.execute { connection.value?.endStreamingResponse(requestNumber: number) }
    }
}

/// A weak reference to a loop-confined object, passed between threads but dereferenced only on its loop.
struct LoopBoundReference<Value: AnyObject>: @unchecked Sendable {  // `value` is read only on the owning loop.
    private weak var reference: Value?

    init(_ value: Value) {
        reference = value
    }

    var value: Value? { reference }
}
