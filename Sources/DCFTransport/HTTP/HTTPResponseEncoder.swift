// SPDX-License-Identifier: Apache-2.0

/// Serializes response heads and chunked-encoding frames.
enum HTTPResponseEncoder {
    /// How the body of a response is delimited on the wire.
    enum BodyFraming {
        case contentLength(Int)
        case chunked
        /// HTTP/1.0 without a length: the body ends when the connection closes.
        case untilClose
        /// A status that never has a body, such as 204: no length field at all.
        case noBody
    }

    static let interimContinue = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
    static let lastChunk = Array("0\r\n\r\n".utf8)

    /// Returns the status line and fields; the server sets `Content-Length`, `Transfer-Encoding` and
    /// `Connection`, replacing any such fields in `headers`.
    static func head(status: HTTPStatus, headers: HTTPHeaders, framing: BodyFraming, keepAlive: Bool) -> [UInt8] {
        var text = "HTTP/1.1 \(status.code) \(status.reason)\r\n"
        for field in headers {
            if isFramingField(field.name) { continue }
            text += "\(field.name): \(field.value)\r\n"
        }
        switch framing {
        case .contentLength(let length): text += "Content-Length: \(length)\r\n"
        case .chunked: text += "Transfer-Encoding: chunked\r\n"
        case .untilClose, .noBody: break
        }
        text += keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n"
        return Array(text.utf8)
    }

    /// Returns the line that starts a chunk of `count` bytes.
    static func chunkHeader(count: Int) -> [UInt8] {
        Array((String(count, radix: 16) + "\r\n").utf8)
    }

    static let chunkTrailer = Array("\r\n".utf8)

    /// Whether a response with `status` to a request with `method` never has a body (RFC 9110, 6.4.1).
    static func isBodyless(status: HTTPStatus, method: String) -> Bool {
        method == "HEAD" || status.code < 200 || status.code == 204 || status.code == 304
    }

    private static func isFramingField(_ name: String) -> Bool {
        name.caseInsensitiveEquals("Content-Length") || name.caseInsensitiveEquals("Transfer-Encoding")
            || name.caseInsensitiveEquals("Connection")
    }
}
