// SPDX-License-Identifier: Apache-2.0
public import Foundation

/// A response received by `HTTPClient`.
public struct HTTPClientResponse: Sendable {
    /// The status code, such as 200.
    public var statusCode: Int
    /// The reason phrase from the status line; may be empty.
    public var reason: String
    /// The response header fields in the order received.
    public var headers: HTTPHeaders
    /// The body. Empty when the body was streamed to a sink.
    public var body: Data

    /// Creates a response.
    public init(statusCode: Int, reason: String, headers: HTTPHeaders, body: Data = Data()) {
        self.statusCode = statusCode
        self.reason = reason
        self.headers = headers
        self.body = body
    }
}
