// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization
import TestSupport
@testable import DCFTransport

/// A `MultiplexedHTTPClient` over TLS trusting the test CA, or over plain TCP, with a blocking helper for one request.
struct MultiplexedTestClient {
    let client: MultiplexedHTTPClient

    init(
        certificates: CertificateFactory, port: Int, connections: Int, host: String = "localhost",
        recordLayer: TLSConfiguration.RecordLayer = .dcf
    ) throws {
        var tls = TLSConfiguration.client(trustedCAFile: certificates.ca.certificateFile)
        tls.recordLayer = recordLayer
        client = try MultiplexedHTTPClient(
            host: host, port: port, connectionCount: connections,
            configuration: HTTPClientConfiguration(transport: .tls(tls)))
    }

    init(plainPort port: Int, connections: Int) throws {
        client = try MultiplexedHTTPClient(
            host: "127.0.0.1", port: port, connectionCount: connections,
            configuration: HTTPClientConfiguration(transport: .plainTCP))
    }

    /// Sends `request` and waits for its completion; nil only if none came within 30 seconds, which means a hang.
    func fetch(_ request: HTTPClientRequest, on connection: Int = 0) -> Result<HTTPClientResponse, HTTPClientError>? {
        let result = Mutex<Result<HTTPClientResponse, HTTPClientError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        client.send(request, on: connection) { outcome in
            result.withLock { $0 = outcome }
            done.signal()
        }
        guard done.wait(timeout: .now() + 30) == .success else { return nil }
        return result.withLock { $0 }
    }
}

extension Result where Failure == HTTPClientError {
    /// The error, or nil on success.
    var error: HTTPClientError? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

extension HTTPClientResponse {
    var text: String { String(decoding: body, as: UTF8.self) }
}
