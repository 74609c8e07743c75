// SPDX-License-Identifier: Apache-2.0

/// A complete response: status, header fields and a body whose length is known.
///
/// The server adds `Content-Length` and, when the connection closes afterwards, `Connection: close`.
public struct HTTPResponse: Sendable {
    public var status: HTTPStatus
    public var headers: HTTPHeaders
    public var body: HTTPResponseBody

    public init(status: HTTPStatus, headers: HTTPHeaders = [:], body: HTTPResponseBody = .empty) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A response with a UTF-8 text body and `Content-Type: text/plain; charset=utf-8`.
    public static func text(_ status: HTTPStatus, _ text: String) -> HTTPResponse {
        HTTPResponse(
            status: status,
            headers: ["Content-Type": "text/plain; charset=utf-8"],
            body: .bytes(Array(text.utf8))
        )
    }
}

/// The body of an `HTTPResponse`.
public enum HTTPResponseBody: Sendable {
    case empty
    /// Bytes in memory. The array's storage is shared, never copied per connection, so one array holding a
    /// model version can be sent to many clients at once.
    case bytes([UInt8])
    /// A byte range of an open file, read in chunks (TLS) or sent with `sendfile` (plain TCP).
    case file(HTTPFileRegion)

    var count: Int {
        switch self {
        case .empty: 0
        case .bytes(let bytes): bytes.count
        case .file(let region): region.length
        }
    }
}
