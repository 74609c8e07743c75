// SPDX-License-Identifier: Apache-2.0

/// The request line and header fields of an HTTP/1.x request.
public struct HTTPRequestHead: Sendable, CustomStringConvertible {
    /// The method token exactly as sent, such as `GET` or `POST`.
    public var method: String
    /// The request target exactly as sent, normally an origin form such as `/models/3?wait=1`.
    public var target: String
    /// The minor version of HTTP/1.x: 0 or 1.
    public var minorVersion: Int
    public var headers: HTTPHeaders

    public init(method: String, target: String, minorVersion: Int = 1, headers: HTTPHeaders = [:]) {
        self.method = method
        self.target = target
        self.minorVersion = minorVersion
        self.headers = headers
    }

    /// The target without its query string.
    public var path: Substring {
        target.firstIndex(of: "?").map { target[..<$0] } ?? target[...]
    }

    /// The query string after `?`, or nil when the target has none.
    public var query: Substring? {
        target.firstIndex(of: "?").map { target[target.index(after: $0)...] }
    }

    /// Whether the client allows the connection to stay open after this exchange: the default in HTTP/1.1
    /// unless `Connection: close`, and in HTTP/1.0 only with `Connection: keep-alive`.
    public var isKeepAlive: Bool {
        if minorVersion >= 1 { return !headers.containsToken("close", in: "Connection") }
        return headers.containsToken("keep-alive", in: "Connection")
    }

    /// Whether the client waits for `100 Continue` before sending the body.
    public var expectsContinue: Bool {
        minorVersion >= 1 && headers["Expect"].map { $0.trimmingSpaces().caseInsensitiveEquals("100-continue") } == true
    }

    public var description: String { "\(method) \(target) HTTP/1.\(minorVersion)" }
}
