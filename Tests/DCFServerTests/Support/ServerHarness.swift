// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import DCFSupport
import Foundation
import Synchronization
import Testing

/// A started `DCFServer` over a temporary state directory, a manual clock and `ExampleStrategy`.
final class ServerHarness: Sendable {
    let directory: TemporaryDirectory
    let clock = ManualClock()
    let strategy: ExampleStrategy
    let server: DCFServer
    let logLines = LogCapture()

    init(
        admission: (TemporaryDirectory) throws -> AdmissionMode = { _ in .safe(keyList: nil) },
        admin: AdminCredentials? = nil, initialModel: GlobalModel? = GlobalModel(version: 1, bytes: Data("v1".utf8)),
        configure: (inout DCFServerConfiguration) -> Void = { _ in }
    ) throws {
        directory = try TemporaryDirectory()
        strategy = ExampleStrategy(initialModel: initialModel)
        var configuration = DCFServerConfiguration(
            stateDirectory: directory.url.appendingPathComponent("state"), admission: try admission(directory),
            adminCredentials: admin)
        configure(&configuration)
        let sink = LogSink(level: .debug) { [logLines] line in logLines.append(line) }
        server = try DCFServer(
            configuration: configuration, callbacks: strategy, logger: Logger(component: "test", sink: sink),
            clock: clock, usesHoldTimer: false)
        strategy.server.withLock { $0 = server }
        server.start()
    }

    deinit {
        server.stop()
        directory.remove()
    }

    /// Sends a request; returns the response, or nil when the request was parked.
    @discardableResult
    func send(_ request: ServerRequest) -> ServerResponse? {
        let box = ResponseBox()
        server.handle(request, respond: box.store)
        return box.response
    }

    /// Sends a request that must be parked, returning the box its response will land in.
    func park(_ request: ServerRequest) -> ResponseBox {
        let box = ResponseBox()
        server.handle(request, respond: box.store)
        return box
    }

    func nonce(for worker: TestWorker, id: WorkerID? = nil) throws -> String {
        let response = try #require(send(try worker.nonceRequest(for: id)))
        try #require(response.status == 200, "nonce request failed: \(String(decoding: response.body, as: UTF8.self))")
        return try JSONDecoder().decode(NonceResponse.self, from: response.body).nonce
    }

    /// Registers `worker` and returns the response; in unsafe mode the body carries the public key.
    func register(_ worker: TestWorker, publicKeyInBody: Bool = false) throws -> ServerResponse {
        let body = try JSONEncoder().encode(RegisterRequest(publicKey: publicKeyInBody ? worker.publicKeyHex : nil))
        let request = try worker.signed("POST", DCFRoute.registerPath, nonce: try nonce(for: worker), body: body)
        return try #require(send(request))
    }

    func logged(_ fragment: String) -> Bool {
        logLines.lines.contains { $0.contains(fragment) }
    }
}

/// Holds the one response a request produces, from whichever thread sends it.
final class ResponseBox: Sendable {
    private let stored = Mutex<ServerResponse?>(nil)
    private let count = Mutex(0)

    var response: ServerResponse? { stored.withLock { $0 } }
    /// How many times the server responded; more than 1 is a bug.
    var responseCount: Int { count.withLock { $0 } }

    @Sendable func store(_ response: ServerResponse) {
        stored.withLock { $0 = response }
        count.withLock { $0 += 1 }
    }
}

extension ServerResponse {
    /// The error code of an error response, or nil.
    var code: DCFErrorCode? {
        (try? JSONDecoder().decode(DCFErrorResponse.self, from: body))?.code
    }

    func decode<Message: Decodable>(_ type: Message.Type) throws -> Message {
        try JSONDecoder().decode(type, from: body)
    }
}

/// Log lines a test's server wrote.
final class LogCapture: Sendable {
    private let stored = Mutex<[String]>([])

    var lines: [String] { stored.withLock { $0 } }

    func append(_ line: String) {
        stored.withLock { $0.append(line) }
    }
}
