// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Foundation
import Synchronization
import TestSupport

@testable import DCFTransport

/// A handler built from a closure, for tests.
struct ClosureHandler: HTTPHandler {
    let handle: @Sendable (HTTPRequestHead, HTTPResponder) -> HTTPRequestBodyHandling
    var onStop: @Sendable () -> Void = {}

    func handleRequest(_ head: HTTPRequestHead, responder: HTTPResponder) -> HTTPRequestBodyHandling {
        handle(head, responder)
    }

    func serverWillStop() {
        onStop()
    }
}

/// A running server on `host` (127.0.0.1 unless given) with a random port; call `stop()` at the end of the test.
struct RunningServer {
    let server: HTTPServer
    let port: Int

    init(
        host: String = "127.0.0.1",
        security: HTTPServerConfiguration.Security = .plaintext,
        limits: HTTPServerLimits = .patient,
        loops: Int = 2,
        logSink: LogSink = .standardError(level: .warning),
        handler: some HTTPHandler
    ) throws {
        let configuration = HTTPServerConfiguration(
            host: host, port: 0, security: security, eventLoopCount: loops, limits: limits)
        let logger = Logger(component: "test-server", sink: logSink)
        server = HTTPServer(configuration: configuration, handler: handler, logger: logger)
        port = try server.start()
    }

    func stop(gracePeriod: Duration = .seconds(1)) async {
        await server.shutdown(gracePeriod: gracePeriod)
    }

    /// Waits until `condition` holds for the server's statistics and returns whether it did. It checks 3,000
    /// times, 10 ms apart: at least 30 s, and longer when the whole suite keeps this task from running, because
    /// hundreds of tests share two cores.
    func waitFor(_ condition: (HTTPServerStatistics) -> Bool) async -> Bool {
        for _ in 0..<3000 {
            if condition(server.statistics) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition(server.statistics)
    }
}

/// A handler that answers every request with its method and target, collecting any body and reporting its size.
func echoHandler() -> ClosureHandler {
    ClosureHandler { head, responder in
        .collect(maxBytes: 1 << 20) { body in
            responder.respond(.text(.ok, "\(head.method) \(head.target) \(body.count)"))
        }
    }
}

/// A value set once from any thread and awaited by the test.
final class Signal<Value: Sendable>: Sendable {
    private let value = Mutex<Value?>(nil)

    func set(_ newValue: Value) {
        value.withLock { $0 = newValue }
    }

    /// Returns the value once set, or nil after checking every 10 ms for `seconds`; a busy suite stretches that.
    func wait(seconds: Double = 30) async -> Value? {
        for _ in 0..<Int(seconds * 100) {
            if let current = value.withLock({ $0 }) { return current }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return value.withLock { $0 }
    }
}

extension HTTPServerLimits {
    /// The defaults with first-byte, header, body and idle timeouts far beyond the suite's run, for tests that do
    /// not test those timeouts. With hundreds of tests on two cores, a test may wait tens of seconds before it
    /// sends its next bytes.
    static var patient: HTTPServerLimits {
        var limits = HTTPServerLimits()
        limits.headerTimeout = .seconds(300)
        limits.bodyTimeout = .seconds(300)
        limits.idleTimeout = .seconds(300)
        limits.firstByteTimeout = .seconds(300)
        return limits
    }
}
