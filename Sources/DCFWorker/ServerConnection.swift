// SPDX-License-Identifier: Apache-2.0
import DCFTransport
import Foundation
import Synchronization

/// A failed exchange with the server before any reply arrived.
struct ConnectionFailure: Error, CustomStringConvertible {
    let description: String
    /// False when the failure happened before the request could reach the server (refused connection,
    /// connect or handshake failure) or before its body went out after `Expect: 100-continue`, so sending it
    /// again cannot make the server see it twice.
    let requestMayHaveArrived: Bool
    /// True when the connection was open but the server sent nothing for the request's idle timeout.
    var isIdleTimeout = false
    /// True when the worker's settings caused the failure, so no retry can succeed until they change.
    var isSettingMistake = false
}

/// The worker's HTTP client. Each request runs on a thread of its own because `HTTPClient` blocks its thread
/// for the length of the request, a parked long poll included (up to the server's hold, 50 s by default).
/// The Swift concurrency pool and the global dispatch queues are only about as wide as the number of cores
/// on Linux, so a few blocked requests there would stall every other worker in the process.
final class ServerConnection: Sendable {
    /// Stack size of a request thread. The thread runs only `HTTPClient.execute`, whose buffers live on the
    /// heap, so a small stack lets a process hold thousands of parked requests.
    static let requestThreadStackSize = 512 << 10

    let client: HTTPClient
    /// The settings that name the fix for a TLS failure, which retrying cannot fix until the configuration changes.
    private let hints: ConnectionHints
    /// `serverURL` when it names plain HTTP, to recognize a TLS port's reply to a plaintext request; nil for https.
    private let plainServerURL: String?

    init(endpoint: DCFWorkerConfiguration.Endpoint, configuration: DCFWorkerConfiguration) throws {
        hints = ConnectionHints(configuration: configuration)
        plainServerURL = endpoint.usesTLS ? nil : configuration.serverURL.absoluteString
        var tls = TLSConfiguration.client(
            trustedCAFile: configuration.trustedCAFile,
            certificateChainFile: configuration.clientCertificateFile,
            privateKeyFile: configuration.clientPrivateKeyFile)
        tls.recordLayer = configuration.tlsRecordLayer
        let transport: HTTPClientConfiguration.Transport = endpoint.usesTLS ? .tls(tls) : .plainTCP
        var clientConfiguration = HTTPClientConfiguration(
            transport: transport, connectTimeout: configuration.connectTimeout,
            idleTimeout: configuration.requestIdleTimeout,
            maximumResponseBodySize: configuration.maximumModelBytes, userAgent: "dcf-worker")
        clientConfiguration.socketBufferBytes = configuration.socketBufferBytes
        client = try HTTPClient(host: endpoint.host, port: endpoint.port, configuration: clientConfiguration)
    }

    /// Sends `request` and returns the reply, whatever its status.
    ///
    /// On cancellation this returns at once with `CancellationError`. `HTTPClient` offers no way to interrupt a
    /// request, so its thread is abandoned: it ends when the reply arrives or the request's idle timeout
    /// fires, and the reply is dropped.
    /// - Throws: `ConnectionFailure`, also for a TLS port's reply to plain HTTP, or `CancellationError`.
    func send(_ request: HTTPClientRequest) async throws -> HTTPClientResponse {
        try Task.checkCancellation()
        let completion = OnceContinuation<HTTPClientResponse>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                completion.install(continuation)
                let thread = Thread { [client, hints, plainServerURL] in
                    completion.resume(with: Result {
                        try Self.execute(request, on: client, hints: hints, plainServerURL: plainServerURL)
                    })
                }
                thread.name = "dcf.worker.http"
                thread.stackSize = Self.requestThreadStackSize
                thread.start()
            }
        } onCancel: {
            completion.resume(with: .failure(CancellationError()))
        }
    }

    private static func execute(
        _ request: HTTPClientRequest, on client: HTTPClient, hints: ConnectionHints, plainServerURL: String?
    ) throws -> HTTPClientResponse {
        let response: HTTPClientResponse
        do {
            response = try client.execute(request)
        } catch let error as HTTPClientError {
            let hint = hints.hint(for: error).map { "; " + $0 } ?? ""
            throw ConnectionFailure(
                description: error.description + hint, requestMayHaveArrived: !Self.failedBeforeSending(error),
                isIdleTimeout: error.timeoutPhase == .idle)
        }
        if let plainServerURL, response.isTLSRequiredReply {
            throw ConnectionFailure(
                description: "agent.server is \(plainServerURL), but the server on that port requires TLS and replied "
                    + "\(response.statusCode) \"\(response.plainTextExcerpt)\"; use https:// in agent.server (--server)",
                requestMayHaveArrived: false, isSettingMistake: true)
        }
        return response
    }

    /// Whether `error` proves that the server's application cannot have acted on the request: no byte of it
    /// arrived, or only the head of a request whose body waited for `100 Continue`. Refused connections and connect
    /// or handshake timeouts happen while the connection is set up, so `failedBeforeRequest` covers them.
    private static func failedBeforeSending(_ error: HTTPClientError) -> Bool {
        error.failedBeforeRequest || error.tlsError != nil || error.failedBeforeBody
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
