// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFSupport
import DCFTransport
import Foundation
import Glibc
import Synchronization
import Testing
import TestSupport

@testable import DCFServer

/// A `DCFHTTPService` on plain TCP at 127.0.0.1 with `ExampleStrategy`, for tests that write raw request bytes:
/// a head alone, a body in pieces, a pipelined request, or a socket closed at a chosen moment.
final class PlainUploadHarness: Sendable {
    let directory: TemporaryDirectory
    let strategy: ExampleStrategy
    let server: DCFServer
    let service: DCFHTTPService
    let client: HTTPClient
    let port: Int

    /// - Parameters:
    ///   - directory: the state directory's parent, for a server that restarts on the state of an earlier one.
    ///   - port: 0 picks a free port; an earlier harness's port restarts the server there.
    init(
        directory: TemporaryDirectory? = nil, port: Int = 0, clock: any ServerClock = SystemServerClock(),
        configure: (inout DCFServerConfiguration) -> Void = { _ in },
        limits: (inout HTTPServerLimits) -> Void = { _ in }
    ) throws {
        self.directory = try directory ?? TemporaryDirectory()
        strategy = ExampleStrategy(initialModel: GlobalModel(version: 1, bytes: Data("v1".utf8)))
        var configuration = DCFServerConfiguration(
            stateDirectory: self.directory.url.appendingPathComponent("state"), admission: .safe(keyList: nil),
            adminCredentials: try AdminCredentials(username: "admin", password: "pw"))
        configure(&configuration)
        let logger = Logger(component: "plain-upload-test", sink: LogSink.standardError(level: .warning))
        let server = try DCFServer(configuration: configuration, callbacks: strategy, logger: logger, clock: clock)
        strategy.server.withLock { $0 = server }
        self.server = server
        var transportLimits = HTTPServerLimits()
        limits(&transportLimits)
        service = DCFHTTPService(
            server: server,
            transportConfiguration: HTTPServerConfiguration(
                port: port, security: .plaintext, eventLoopCount: 1, limits: transportLimits),
            logger: logger)
        self.port = try service.start()
        client = try HTTPClient(
            host: "127.0.0.1", port: self.port, configuration: HTTPClientConfiguration(transport: .plainTCP))
    }

    /// Runs `body` with a fresh harness and stops the service afterwards, also when `body` throws.
    static func run(
        clock: any ServerClock = SystemServerClock(),
        configure: (inout DCFServerConfiguration) -> Void = { _ in },
        limits: (inout HTTPServerLimits) -> Void = { _ in },
        _ body: (PlainUploadHarness) async throws -> Void
    ) async throws {
        let harness = try PlainUploadHarness(clock: clock, configure: configure, limits: limits)
        do {
            try await body(harness)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    /// Stops the service; with `keepingState`, leaves the state directory for a harness that restarts on it.
    func stop(keepingState: Bool = false) async {
        await service.stop(gracePeriod: .seconds(1))
        if !keepingState { directory.remove() }
    }

    var spoolFiles: [String] {
        let spool = directory.url.appendingPathComponent("state/spool")
        return (try? FileManager.default.contentsOfDirectory(atPath: spool.path)) ?? []
    }

    var admission: (active: Int, waiting: Int) {
        (server.uploadAdmission.activeCount, server.uploadAdmission.waitingCount)
    }

    /// Sends `request` on a thread of its own, because the client blocks. Dozens of blocked dispatch threads
    /// would hold up the server's own dispatch queues, which get new threads only about once a second.
    func send(_ request: HTTPClientRequest, on client: HTTPClient? = nil) async throws -> HTTPClientResponse {
        let client = client ?? self.client
        return try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try client.execute(request) }) }.start()
        }
    }

    func send(_ request: ServerRequest) async throws -> HTTPClientResponse {
        let body = try request.body.data()
        return try await send(
            HTTPClientRequest(
                method: request.method, path: request.target,
                headers: HTTPHeaders(request.headers.map { ($0.name, $0.value) }),
                body: body.isEmpty ? .none : .data(body)))
    }

    func addWorker(_ worker: TestWorker) async throws {
        try await addWorker(publicKey: worker.publicKeyHex)
    }

    /// Adds a registered worker with `publicKey` through the admin API.
    func addWorker(publicKey: String) async throws {
        let body = try JSONEncoder().encode(AdminAddWorkerRequest(publicKey: publicKey, registered: true))
        let response = try await send(
            HTTPClientRequest(
                method: "POST", path: DCFRoute.adminWorkersPath,
                headers: ["Authorization": HTTPHarness.adminAuthorization], body: .data(body)))
        try #require(response.statusCode == 200, "admin add failed: \(response.text)")
    }

    func nonce(for worker: TestWorker) async throws -> String {
        let response = try await send(try worker.nonceRequest())
        try #require(response.statusCode == 200, "nonce request failed: \(response.text)")
        return try JSONDecoder().decode(NonceResponse.self, from: response.body).nonce
    }

    /// Returns the raw head of a signed update: the signature headers, `Content-Length` (or chunked framing) and,
    /// when `expect` is true, `Expect: 100-continue`.
    static func updateHead(_ request: ServerRequest, bodyCount: Int, expect: Bool = true, chunked: Bool = false) -> String {
        var text = "POST \(request.target) HTTP/1.1\r\nHost: test\r\n"
        for header in request.headers { text += "\(header.name): \(header.value)\r\n" }
        text += chunked ? "Transfer-Encoding: chunked\r\n" : "Content-Length: \(bodyCount)\r\n"
        if expect { text += "Expect: 100-continue\r\n" }
        return text + "\r\n"
    }

    /// Waits until `condition` is true and returns whether it became true, checking every 10 ms at least 3,000 times.
    func waitFor(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<3000 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }
}

/// A blocking plain-TCP client for 127.0.0.1 that writes raw bytes and parses responses with `Content-Length`.
final class RawConnection {
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]

        var text: String { String(decoding: body, as: UTF8.self) }
        var code: DCFErrorCode? {
            (try? JSONDecoder().decode(DCFErrorResponse.self, from: Data(body)))?.code
        }
        /// The `code` string of a dcf error body, also one this build has no `DCFErrorCode` case for.
        var rawCode: String? {
            (try? JSONDecoder().decode(DCFErrorResponse.self, from: Data(body)))?.error.code
        }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let fd: Int32
    private var buffer: [UInt8] = []
    private var isClosed = false

    /// Connects; reads give up after `timeout` seconds.
    init(port: Int, timeout: Int = 20) throws {
        fd = try LoopbackSocket.connect(port: port, timeout: timeout)
    }

    deinit { close() }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        Glibc.close(fd)
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: some Collection<UInt8>) throws { try Self.send(Array(bytes), to: fd) }

    /// Writes all of `bytes` to `fd`, for a thread that sends while the test reads.
    static func send(_ bytes: [UInt8], to fd: Int32) throws {
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw Failure(description: "send failed: errno \(errno)") }
            offset += count
        }
    }

    /// Returns whether the server sent a byte, or closed, within `milliseconds`; consumes nothing.
    func hasInput(within milliseconds: Int32) -> Bool {
        if !buffer.isEmpty { return true }
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, milliseconds) > 0
    }

    /// Reads one response head and its `Content-Length` body; interim responses are returned like others.
    func readResponse() throws -> Response {
        let head = try readHead()
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw Failure(description: "invalid status line in \(head)")
        }
        var headers: [String: String] = [:]
        for line in lines where !line.isEmpty {
            let parts = line.split(separator: ":", maxSplits: 1)
            headers[parts[0].lowercased()] = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
        }
        var response = Response(status: status, headers: headers, body: [])
        guard status >= 200, let length = headers["content-length"].flatMap({ Int($0) }) else { return response }
        while buffer.count < length {
            let chunk = try receive()
            guard !chunk.isEmpty else { throw Failure(description: "closed inside a response body") }
            buffer += chunk
        }
        response.body = Array(buffer[0..<length])
        buffer.removeFirst(length)
        return response
    }

    /// Reads until the server closes and returns what arrived; throws when the read times out first.
    func receiveUntilClosed() throws -> [UInt8] {
        var all = buffer
        buffer = []
        while true {
            let chunk = try receive()
            if chunk.isEmpty { return all }
            all += chunk
        }
    }

    private func readHead() throws -> String {
        while true {
            if let end = Self.emptyLine(in: buffer) {
                let head = String(decoding: buffer[0..<end], as: UTF8.self)
                buffer.removeFirst(end + 4)
                return head
            }
            let chunk = try receive()
            guard !chunk.isEmpty else { throw Failure(description: "connection closed before a response head") }
            buffer += chunk
        }
    }

    private static func emptyLine(in bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
    }

    private func receive() throws -> [UInt8] {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count < 0 {
            if errno == ECONNRESET { return [] }
            throw Failure(description: "read failed or timed out: errno \(errno)")
        }
        return Array(chunk[0..<count])
    }
}
