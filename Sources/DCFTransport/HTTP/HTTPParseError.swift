// SPDX-License-Identifier: Apache-2.0

/// Why a request could not be parsed, with the status the server answers before closing the connection.
struct HTTPParseError: Error, CustomStringConvertible, Equatable {
    let status: HTTPStatus
    let detail: String

    var description: String { "\(status.code) \(detail)" }

    static func malformed(_ detail: String) -> HTTPParseError { HTTPParseError(status: .badRequest, detail: detail) }

    static func headerFieldsTooLarge(_ detail: String) -> HTTPParseError {
        HTTPParseError(status: .requestHeaderFieldsTooLarge, detail: detail)
    }

    static func uriTooLong(limit: Int) -> HTTPParseError {
        HTTPParseError(status: .uriTooLong, detail: "request target longer than \(limit) bytes")
    }

    static func bodyTooLarge(limit: Int) -> HTTPParseError {
        HTTPParseError(status: .contentTooLarge, detail: "request body larger than \(limit) bytes")
    }
}

/// The parser's share of `HTTPServerLimits`.
struct HTTPParserLimits: Sendable {
    var maxHeaderBytes: Int
    var maxHeaderCount: Int
    var maxURILength: Int
    var maxBodyBytes: Int
}
