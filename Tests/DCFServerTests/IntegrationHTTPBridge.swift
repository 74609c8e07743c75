// SPDX-License-Identifier: Apache-2.0
import DCFServer
import DCFTransport
import Dispatch
import Foundation
import Synchronization

// NOTE: a stand-in for the DCFServer HTTP adapter, so the worker can be tested over real TLS before that adapter
// is available; the integration tests should move to the real adapter and this file should go.
/// Passes each request from `HTTPServer` to `DCFServer.handle` on a dispatch queue, and parks long polls.
final class IntegrationHTTPBridge: HTTPHandler {
    let server: DCFServer
    private let queue = DispatchQueue(label: "dcf.test.bridge", attributes: .concurrent)
    private let exchanges = Atomic<UInt64>(0)

    init(server: DCFServer) {
        self.server = server
    }

    func handleRequest(_ head: HTTPRequestHead, responder: HTTPResponder) -> HTTPRequestBodyHandling {
        let exchange = exchanges.add(1, ordering: .relaxed).newValue
        if head.target.hasPrefix("/dcf/model/wait") {
            responder.park(timeout: nil) { [server] in server.connectionClosed(exchange) }
        }
        return .collect(maxBytes: 64 << 20) { [server, queue] body in
            queue.async {
                let request = ServerRequest(
                    method: head.method, target: head.target, headers: head.headers.map { ($0.name, $0.value) },
                    body: (try? RequestBody.memory(Data(body))) ?? .empty, connectionID: exchange)
                server.handle(request) { response in
                    responder.respond(
                        status: HTTPStatus(code: response.status), headers: HTTPHeaders(response.headers.map { ($0.name, $0.value) }),
                        body: [UInt8](response.body))
                }
            }
        }
    }

    func serverWillStop() {
        server.stop()
    }
}
