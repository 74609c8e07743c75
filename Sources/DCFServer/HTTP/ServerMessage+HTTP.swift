// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFTransport

extension ServerRequest {
    /// Creates a request with the head's method, target (exactly as received) and header fields, and the address
    /// of the client that `responder` responds to.
    init(head: HTTPRequestHead, body: RequestBody, exchangeID: UInt64, responder: HTTPResponder) {
        self.init(
            method: head.method, target: head.target, headers: head.headers.map { (name: $0.name, value: $0.value) },
            body: body, connectionID: exchangeID, peerAddress: responder.peerAddress)
    }
}

extension ServerResponse {
    /// The response for the transport; the body array is passed on, not copied.
    var httpResponse: HTTPResponse {
        HTTPResponse(
            status: HTTPStatus(code: status), headers: HTTPHeaders(headers.map { ($0.name, $0.value) }),
            body: bodyFile.map { .file($0) } ?? (bodyBytes.isEmpty ? .empty : .bytes(bodyBytes)))
    }
}

extension HTTPResponder {
    /// Sends `response`, unless the request was already answered.
    func respond(_ response: ServerResponse) {
        respond(response.httpResponse)
    }
}
