// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import DCFSupport
import DCFTransport
import Dispatch
import Foundation
import Synchronization
import Testing
import TestSupport

/// A `DCFHTTPService` listening with TLS on 127.0.0.1 port 0, an `HTTPClient` trusting its CA, and
/// `ExampleStrategy` behind it; workers are admitted by the admin API.
final class HTTPHarness: Sendable {
    /// One set of certificates for the whole suite, because each `openssl` run takes a noticeable time.
    static let certificates = Result { try CertificateFactory() }

    static let adminAuthorization = "Basic " + Data("admin:pw".utf8).base64EncodedString()

    let directory: TemporaryDirectory
    let strategy: ExampleStrategy
    let server: DCFServer
    let service: DCFHTTPService
    let client: HTTPClient
    let port: Int

    init(
        initialModel: GlobalModel? = GlobalModel(version: 1, bytes: Data("v1".utf8)),
        configure: (inout DCFServerConfiguration) -> Void = { _ in }
    ) throws {
        let certificates = try Self.certificates.get()
        directory = try TemporaryDirectory()
        strategy = ExampleStrategy(initialModel: initialModel)
        var configuration = DCFServerConfiguration(
            stateDirectory: directory.url.appendingPathComponent("state"), admission: .safe(keyList: nil),
            adminCredentials: try AdminCredentials(username: "admin", password: "pw"))
        configure(&configuration)
        let logger = Logger(component: "http-test", sink: LogSink.standardError(level: .warning))
        let server = try DCFServer(configuration: configuration, callbacks: strategy, logger: logger)
        strategy.server.withLock { $0 = server }
        self.server = server
        let tls = try TLSContext(
            configuration: .server(
                certificateChainFile: certificates.server.certificateFile,
                privateKeyFile: certificates.server.privateKeyFile))
        service = DCFHTTPService(
            server: server,
            transportConfiguration: HTTPServerConfiguration(port: 0, security: .tls(tls), eventLoopCount: 1),
            logger: logger)
        port = try service.start()
        client = try HTTPClient(
            host: "127.0.0.1", port: port,
            configuration: HTTPClientConfiguration(
                transport: .tls(.client(trustedCAFile: certificates.ca.certificateFile))))
    }

    /// Runs `body` with a fresh harness and stops the service afterwards, also when `body` throws.
    static func run(
        initialModel: GlobalModel? = GlobalModel(version: 1, bytes: Data("v1".utf8)),
        configure: (inout DCFServerConfiguration) -> Void = { _ in },
        _ body: (HTTPHarness) async throws -> Void
    ) async throws {
        let harness = try HTTPHarness(initialModel: initialModel, configure: configure)
        do {
            try await body(harness)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    func stop() async {
        await service.stop(gracePeriod: .seconds(1))
        directory.remove()
    }

    var spoolFiles: [String] {
        let spool = directory.url.appendingPathComponent("state/spool")
        return (try? FileManager.default.contentsOfDirectory(atPath: spool.path)) ?? []
    }

    /// Sends `request` over the TLS connection on a dispatch thread, because the client blocks.
    func send(_ request: HTTPClientRequest) async throws -> HTTPClientResponse {
        let client = client
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try client.execute(request) })
            }
        }
    }

    /// Starts an update of `payload` from `worker`, built on `baseVersion`, that stops after half its body until
    /// `release` is signalled or 20 s pass.
    func stalledUpload(
        _ worker: TestWorker, payload: Data, baseVersion: String = "1", release: DispatchSemaphore
    ) async throws -> Task<HTTPClientResponse, any Error> {
        let request = try worker.signed(
            "POST", DCFRoute.updatePath, nonce: try await nonce(for: worker), body: payload, baseVersion: baseVersion)
        let sent = Mutex(0)
        return Task {
            try await send(
                HTTPClientRequest(
                    method: "POST", path: DCFRoute.updatePath,
                    headers: HTTPHeaders(request.headers.map { ($0.name, $0.value) }),
                    body: .stream(length: payload.count) {
                        let offset = sent.withLock { $0 }
                        guard offset < payload.count else { return nil }
                        if offset == payload.count / 2 { _ = release.wait(timeout: .now() + 20) }
                        let end = min(offset + 64 * 1024, payload.count)
                        sent.withLock { $0 = end }
                        return payload.subdata(in: offset..<end)
                    }))
        }
    }

    /// Sends a `ServerRequest` built by `TestWorker` as the same bytes over HTTP.
    func send(_ request: ServerRequest, idleTimeout: Duration? = nil) async throws -> HTTPClientResponse {
        let body = try request.body.data()
        return try await send(
            HTTPClientRequest(
                method: request.method, path: request.target,
                headers: HTTPHeaders(request.headers.map { ($0.name, $0.value) }),
                body: body.isEmpty ? .none : .data(body), idleTimeout: idleTimeout))
    }

    /// Sends an admin request with the right credentials.
    func admin(_ method: String, _ path: String, _ message: (some Encodable)? = Optional<String>.none)
        async throws -> HTTPClientResponse
    {
        let body = try message.map { try JSONEncoder().encode($0) }
        return try await send(
            HTTPClientRequest(
                method: method, path: path, headers: ["Authorization": Self.adminAuthorization],
                body: body.map { .data($0) } ?? .none))
    }

    /// Adds `worker` through the admin API.
    func addWorker(_ worker: TestWorker, registered: Bool = true) async throws {
        let response = try await admin(
            "POST", DCFRoute.adminWorkersPath, AdminAddWorkerRequest(publicKey: worker.publicKeyHex, registered: registered))
        try #require(response.statusCode == 200, "admin add failed: \(response.text)")
    }

    func nonce(for worker: TestWorker) async throws -> String {
        let response = try await send(try worker.nonceRequest())
        try #require(response.statusCode == 200, "nonce request failed: \(response.text)")
        return try JSONDecoder().decode(NonceResponse.self, from: response.body).nonce
    }

    /// Sends a request signed by `worker` with a fresh nonce.
    func signed(
        _ worker: TestWorker, _ method: String, _ target: String, body: Data = Data(), baseVersion: String = "",
        headers: [(String, String)] = [], idleTimeout: Duration? = nil
    ) async throws -> HTTPClientResponse {
        let request = try worker.signed(
            method, target, nonce: try await nonce(for: worker), body: body, baseVersion: baseVersion,
            extraHeaders: headers)
        return try await send(request, idleTimeout: idleTimeout)
    }

    /// Waits until `condition` is true and returns whether it became true. It checks 3,000 times, 10 ms apart: at least
    /// 30 s, and longer when the whole suite keeps this task from running.
    func waitFor(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<3000 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }
}

extension HTTPClientResponse {
    var text: String { String(decoding: body, as: UTF8.self) }

    /// The DCF error code of an error response, or nil.
    var code: DCFErrorCode? {
        (try? JSONDecoder().decode(DCFErrorResponse.self, from: body))?.code
    }

    func decode<Message: Decodable>(_ type: Message.Type) throws -> Message {
        try JSONDecoder().decode(type, from: body)
    }
}
