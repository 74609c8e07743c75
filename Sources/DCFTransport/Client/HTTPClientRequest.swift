// SPDX-License-Identifier: Apache-2.0
public import Foundation

/// One HTTP request for `HTTPClient`.
///
/// With the header `Expect: 100-continue` and a body that is not empty, `HTTPClient` sends the head alone and
/// waits for the server's `100 Continue` before it sends the body. `continueTimeout` (else the idle timeout) and
/// the total timeout bound that wait, and the client never sends the body without the `100 Continue`.
///
/// When a final response arrives first, the client returns it without sending the body and closes the connection.
/// A `417 Expectation Failed` instead makes the client send the request again without the expectation. Other
/// interim (1xx) responses are skipped.
public struct HTTPClientRequest: Sendable {
    /// Where the request body comes from.
    public enum Body: Sendable {
        /// No body; a POST or PUT without a body sends `Content-Length: 0`.
        case none
        /// Bytes in memory, sent with `Content-Length`.
        case data(Data)
        /// A file's contents, sent with `Content-Length` equal to the file's size when the request starts.
        case file(path: String)
        /// Chunks from `nextChunk` until it returns `nil`. With `length` set, the body is sent with
        /// `Content-Length` and must total exactly `length` bytes; otherwise it is sent chunked.
        /// A streamed body cannot be sent again, so the client never retries such a request.
        case stream(length: Int?, nextChunk: @Sendable () throws -> Data?)
    }

    /// The method, such as `GET` or `POST`.
    public var method: String
    /// The request target in origin form: path and optional query, starting with `/`.
    public var path: String
    /// Header fields to send; `Host`, framing headers and `User-Agent` are added by the client.
    public var headers: HTTPHeaders
    /// The request body.
    public var body: Body
    /// Overrides the configuration's idle timeout for this request, for example for a long poll.
    public var idleTimeout: Duration?
    /// Overrides the configuration's total timeout for this request.
    public var totalTimeout: Duration?
    /// Maximum wait for `100 Continue` after the head of a request with `Expect: 100-continue`; nil uses the idle
    /// timeout. A server that admits a limited number of bodies at once may hold the 100 while others upload.
    public var continueTimeout: Duration?

    /// Creates a request; see the properties for each parameter.
    public init(
        method: String = "GET", path: String, headers: HTTPHeaders = [:], body: Body = .none,
        idleTimeout: Duration? = nil, totalTimeout: Duration? = nil
    ) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.idleTimeout = idleTimeout
        self.totalTimeout = totalTimeout
    }

    /// Whether the body can be sent again after a stale keep-alive connection failed.
    var isReplayable: Bool {
        if case .stream = body { return false }
        return true
    }

    /// Whether the headers contain `Expect: 100-continue`, compared without regard to case.
    var expectsContinue: Bool {
        headers.containsToken("100-continue", in: "Expect")
    }

    /// Whether the client waits for `100 Continue` before it starts the body. It does when the request expects it
    /// and the body is not known to be empty. The writer checks the size of a file body again when it opens the file.
    var waitsForContinue: Bool {
        guard expectsContinue else { return false }
        switch body {
        case .none: return false
        case .data(let data): return !data.isEmpty
        case .file: return true
        case .stream(let length, _): return length != 0
        }
    }
}
