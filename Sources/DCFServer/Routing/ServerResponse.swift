// SPDX-License-Identifier: Apache-2.0
public import DCFProtocol
public import DCFTransport
public import Foundation

/// A response for the HTTP transport to send.
public struct ServerResponse: Sendable {
    public var status: Int
    /// Header fields; the transport adds `Content-Length`, `Date` and connection headers.
    public var headers: [(name: String, value: String)]
    /// The body bytes. A model download holds the cached array of its version, whose storage every response
    /// shares, so sending a model copies nothing per response.
    public var bodyBytes: [UInt8]
    /// A file sent as the body instead of `bodyBytes`: a model version's file, shared by every response.
    public var bodyFile: HTTPFileRegion?
    /// The error code when this is an error response, for metrics.
    var errorCode: String?
    /// The error's finer reason, when it has one, for the count of rejected updates.
    var errorReason: String?
    /// The worker a rejected request named in its body, for the rejection log; a `DCF-Worker-Id` header
    /// is logged without it.
    var rejectedWorker: WorkerID?

    public init(status: Int, headers: [(name: String, value: String)] = [], body: Data = Data()) {
        self.init(status: status, headers: headers, bodyBytes: [UInt8](body))
    }

    public init(status: Int, headers: [(name: String, value: String)] = [], bodyBytes: [UInt8]) {
        self.status = status
        self.headers = headers
        self.bodyBytes = bodyBytes
    }

    /// The body as `Data`; reading it copies `bodyBytes`.
    public var body: Data {
        get { Data(bodyBytes) }
        set { bodyBytes = [UInt8](newValue) }
    }

    /// A JSON response with `Content-Type: application/json`.
    public static func json(_ value: some Encodable, status: Int = 200) -> ServerResponse {
        let body = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return ServerResponse(status: status, headers: [("Content-Type", "application/json")], body: body)
    }

    /// The error body `{"error":{"code","message"}}` with the code's HTTP status.
    public static func error(_ error: DCFErrorResponse) -> ServerResponse {
        var response = json(error, status: error.httpStatus)
        if let allowed = error.allowedMethods { response.headers.append(("Allow", allowed)) }
        response.errorCode = error.error.code
        response.errorReason = error.error.reason
        return response
    }

    /// Returns the first value of the header `name`, compared case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()
}
