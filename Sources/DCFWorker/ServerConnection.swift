// SPDX-License-Identifier: Apache-2.0
import DCFTransport
import Dispatch
import Foundation
import Synchronization

/// A failed exchange with the server before any reply arrived.
struct ConnectionFailure: Error, CustomStringConvertible {
    let description: String
    /// False when the failure happened before the request could reach the server (refused connection,
    /// connect or handshake failure), so sending it again cannot make the server see it twice.
    let requestMayHaveArrived: Bool
}

/// The worker's HTTP client, run on a dispatch queue because `HTTPClient` blocks its thread for the length
/// of each request, a long poll included, and the Swift concurrency pool must not be blocked that long.
final class ServerConnection: Sendable {
    let client: HTTPClient
    private let queue = DispatchQueue(label: "dcf.worker.http", attributes: .concurrent)

    init(endpoint: DCFWorkerConfiguration.Endpoint, configuration: DCFWorkerConfiguration) throws {
        let transport: HTTPClientConfiguration.Transport =
            endpoint.usesTLS ? .tls(.client(trustedCAFile: configuration.trustedCAFile)) : .plainTCP
        client = try HTTPClient(
            host: endpoint.host, port: endpoint.port,
            configuration: HTTPClientConfiguration(
                transport: transport, connectTimeout: configuration.connectTimeout,
                idleTimeout: configuration.requestIdleTimeout,
                maximumResponseBodySize: configuration.maximumModelBytes, userAgent: "dcf-worker"))
    }

    /// Sends `request` and returns the reply, whatever its status.
    ///
    /// On cancellation this returns at once with `CancellationError`. The request itself cannot be interrupted,
    /// so it finishes in the background and its reply is dropped.
    /// - Throws: `ConnectionFailure`, or `CancellationError`.
    func send(_ request: HTTPClientRequest) async throws -> HTTPClientResponse {
        try Task.checkCancellation()
        let completion = OnceContinuation<HTTPClientResponse>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                completion.install(continuation)
                queue.async { [client] in
                    completion.resume(with: Result { try Self.execute(request, on: client) })
                }
            }
        } onCancel: {
            completion.resume(with: .failure(CancellationError()))
        }
    }

    private static func execute(_ request: HTTPClientRequest, on client: HTTPClient) throws -> HTTPClientResponse {
        do {
            return try client.execute(request)
        } catch let error as HTTPClientError {
            throw ConnectionFailure(
                description: error.description, requestMayHaveArrived: !Self.failedBeforeSending(error))
        }
    }

    /// Whether `error` proves that no byte of the request reached the server's application.
    private static func failedBeforeSending(_ error: HTTPClientError) -> Bool {
        if error.isConnectionRefused || error.tlsError != nil { return true }
        switch error.timeoutPhase {
        case .connect, .tlsHandshake: return true
        case .idle, .total, nil: return false
        }
    }
}

/// A continuation resumed at most once, by whichever of the request and the cancellation handler comes first.
private final class OnceContinuation<Value: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Value, any Error>?
        var pending: Result<Value, any Error>?
        var finished = false
    }

    private let state = Mutex(State())

    func install(_ continuation: CheckedContinuation<Value, any Error>) {
        let early = state.withLock { state -> Result<Value, any Error>? in
            if let pending = state.pending { return pending }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    func resume(with result: Result<Value, any Error>) {
        let continuation = state.withLock { state -> CheckedContinuation<Value, any Error>? in
            guard !state.finished else { return nil }
            state.finished = true
            guard let continuation = state.continuation else {
                state.pending = result
                return nil
            }
            state.continuation = nil
            return continuation
        }
        continuation?.resume(with: result)
    }
}
