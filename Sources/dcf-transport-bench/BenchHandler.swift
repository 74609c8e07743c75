// SPDX-License-Identifier: Apache-2.0
import DCFTransport
import Synchronization

/// The benchmark's request handler: `/park` parks until released, `/model` returns one shared immutable body,
/// `POST /upload` streams the request body and drops it, anything else returns a two-byte body.
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
        case "/upload":
            return .stream(Self.droppingStream(responder: responder))
        default:
            responder.respond(status: .ok, body: Array("ok".utf8))
        }
        return .discard
    }

    /// A body stream that drops each chunk and asks for the next at once, so an upload measures only the
    /// transport; it answers with the number of bytes received.
    private static func droppingStream(responder: HTTPResponder) -> HTTPBodyStream {
        let received = Atomic(0)
        return HTTPBodyStream(
            onChunk: { chunk, demand in
                received.add(chunk.count, ordering: .relaxed)
                demand.requestMore()
            },
            onEnd: { responder.respond(status: .ok, body: Array("\(received.load(ordering: .relaxed))".utf8)) },
            onError: { _ in }
        )
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
