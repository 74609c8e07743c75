// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Encodes a request with an in-memory body (or none) as the bytes of one HTTP/1.1 message.
struct HTTPRequestEncoder {
    let server: String
    let hostHeader: String
    let userAgent: String?

    /// Returns the head and body of `request`, framed with `Content-Length` when it has a body.
    ///
    /// - Throws: `HTTPClientError.invalidRequest` for an invalid method, path or header field, and for file and
    ///   stream bodies, which only `HTTPClient` sends.
    func encode(_ request: HTTPClientRequest) throws -> [UInt8] {
        try validate(request)
        let body: Data?
        switch request.body {
        case .none: body = nil
        case .data(let data): body = data
        case .file, .stream:
            throw HTTPClientError.invalidRequest(
                server, "MultiplexedHTTPClient sends only in-memory bodies; use HTTPClient for file and stream bodies")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(512 + (body?.count ?? 0))
        appendLine(&bytes, request.method, " ", request.path, " HTTP/1.1")
        if !request.headers.contains("Host") { appendLine(&bytes, "Host: ", hostHeader) }
        if let userAgent, !request.headers.contains("User-Agent") { appendLine(&bytes, "User-Agent: ", userAgent) }
        for field in request.headers
        where !field.name.caseInsensitiveEquals("Content-Length") && !field.name.caseInsensitiveEquals("Transfer-Encoding") {
            appendLine(&bytes, field.name, ": ", field.value)
        }
        if let body {
            appendLine(&bytes, "Content-Length: ", String(body.count))
        } else if ["POST", "PUT", "PATCH"].contains(request.method) {
            appendLine(&bytes, "Content-Length: 0")
        }
        bytes.append(contentsOf: [13, 10])
        if let body { bytes.append(contentsOf: body) }
        return bytes
    }

    private func appendLine(_ bytes: inout [UInt8], _ parts: String...) {
        for part in parts { bytes.append(contentsOf: part.utf8) }
        bytes.append(contentsOf: [13, 10])
    }

    private func validate(_ request: HTTPClientRequest) throws {
        guard request.path.hasPrefix("/"), !request.path.utf8.contains(where: { $0 <= 32 || $0 == 127 }) else {
            throw HTTPClientError.invalidRequest(server, "path '\(request.path)' must start with '/' and contain "
                + "no spaces, control characters or line breaks; percent-encode them")
        }
        guard !request.method.isEmpty, request.method.utf8.allSatisfy({ (65...90).contains($0) || (97...122).contains($0) })
        else {
            throw HTTPClientError.invalidRequest(server, "invalid method '\(request.method)'; use letters only, such as GET")
        }
        for field in request.headers {
            let badName = field.name.isEmpty || field.name.utf8.contains { $0 <= 32 || $0 == UInt8(ascii: ":") || $0 == 127 }
            if badName || field.value.utf8.contains(where: { $0 == 10 || $0 == 13 || $0 == 0 }) {
                throw HTTPClientError.invalidRequest(
                    server, "invalid header field '\(field.name)'; names need visible characters without ':', "
                        + "values no line breaks")
            }
        }
    }
}
