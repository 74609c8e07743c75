// SPDX-License-Identifier: Apache-2.0
import DCFTransport
import Synchronization

/// The benchmark's request handler: `/park` parks until released, `/model` returns one shared immutable body,
/// anything else returns a two-byte body.
final class BenchHandler: HTTPHandler {
    private let model: [UInt8]
    private let parked = Mutex<[ObjectIdentifier: HTTPResponder]>([:])

    init(modelBytes: Int) {
        // Every download shares this one array; no connection copies it.
        model = [UInt8](repeating: 0x5A, count: modelBytes)
    }

    func handleRequest(_ head: HTTPRequestHead, responder: HTTPResponder) -> HTTPRequestBodyHandling {
        switch head.path {
        case "/park":
            let key = ObjectIdentifier(responder)
            parked.withLock { $0[key] = responder }
            responder.park(timeout: nil, onDisconnect: { [self] in _ = parked.withLock { $0.removeValue(forKey: key) } })
        case "/model":
            responder.respond(HTTPResponse(status: .ok, body: .bytes(model)))
        default:
            responder.respond(status: .ok, body: Array("ok".utf8))
        }
        return .discard
    }

    /// Responds to every parked request and returns how many there were.
    func releaseParked() -> Int {
        let responders = parked.withLock { parked in
            defer { parked = [:] }
            return Array(parked.values)
        }
        for responder in responders { responder.respond(status: .ok, body: Array("released".utf8)) }
        return responders.count
    }

    func serverWillStop() {
        _ = releaseParked()
    }
}
