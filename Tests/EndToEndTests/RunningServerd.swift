// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFSupport
import DCFTransport
import DCFWorker
import Foundation
import TestSupport

/// A launched `dcf-serverd` and HTTPS helpers to talk to it.
struct RunningServerd {
    let process: LaunchedProcess
    let port: Int
    let caFile: String

    var url: String { "https://127.0.0.1:\(port)" }

    /// Sends one request on a new client, so every call makes a fresh TLS handshake; `client` is the certificate
    /// for mutual TLS.
    func request(
        _ method: String, _ path: String, body: Data? = nil, admin: Bool = false, trusting ca: String? = nil,
        authorization: String? = nil, client: CertificateFactory.Identity? = nil
    ) throws -> HTTPClientResponse {
        let tls = TLSConfiguration.client(
            trustedCAFile: ca ?? caFile, certificateChainFile: client?.certificateFile,
            privateKeyFile: client?.privateKeyFile)
        let client = try HTTPClient(
            host: "127.0.0.1", port: port,
            configuration: HTTPClientConfiguration(transport: .tls(tls), totalTimeout: .seconds(30)))
        var headers: HTTPHeaders = [:]
        if admin {
            let pair = "\(ServerdFixture.adminUser):\(ServerdFixture.adminPassword)"
            headers.add(name: "Authorization", value: "Basic " + Data(pair.utf8).base64EncodedString())
        }
        if let authorization { headers.add(name: "Authorization", value: authorization) }
        if body != nil { headers.add(name: "Content-Type", value: "application/json") }
        return try client.execute(
            HTTPClientRequest(method: method, path: path, headers: headers, body: body.map { .data($0) } ?? .none))
    }

    func status() throws -> AdminStatusResponse {
        let response = try request("GET", DCFRoute.adminStatusPath, admin: true)
        return try JSONDecoder().decode(AdminStatusResponse.self, from: response.body)
    }

    func workers() throws -> [AdminWorkerEntry] {
        let response = try request("GET", DCFRoute.adminWorkersPath, admin: true)
        return try JSONDecoder().decode([AdminWorkerEntry].self, from: response.body)
    }

    /// Scrapes `/metrics` and parses it, failing on any line that is not Prometheus text.
    func metrics(client: CertificateFactory.Identity? = nil) throws -> PrometheusSamples {
        let response = try request("GET", "/metrics", client: client)
        guard response.statusCode == 200 else {
            throw ServerdTestError("/metrics answered \(response.statusCode)")
        }
        return try PrometheusSamples(parsing: String(decoding: response.body, as: UTF8.self))
    }

    /// Creates a worker that signs with `keyFile` and talks to this server.
    func worker(
        keyFile: String, callbacks: DCFWorkerCallbacks = .idle, trusting ca: String? = nil,
        uploadCompression: DCFWorkerConfiguration.UploadCompression = .none
    ) throws -> DCFWorker {
        var configuration = DCFWorkerConfiguration(
            serverURL: URL(string: url)!, trustedCAFile: ca ?? caFile, privateKeyFile: keyFile)
        configuration.longPollTimeout = .seconds(180)
        configuration.uploadCompression = uploadCompression
        return try DCFWorker(
            configuration: configuration, callbacks: callbacks,
            logger: Logger(component: "e2e-worker", sink: .standardError(level: .warning)))
    }

    /// Sends `signal` and waits for the exit, up to `bound` seconds; returns the exit status.
    func stop(signal: Int32 = SIGTERM, bound: Double = 60) throws -> Int32 {
        kill(process.pid, signal)
        let deadline = Date().addingTimeInterval(bound)
        while process.isRunning && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        guard !process.isRunning else {
            process.terminate(signal: SIGKILL)
            throw ServerdTestError("dcf-serverd did not exit within \(bound) s of signal \(signal)")
        }
        return process.waitForExit()
    }
}

extension DCFWorkerCallbacks {
    /// Callbacks for a worker that only registers and sends updates.
    static var idle: DCFWorkerCallbacks {
        DCFWorkerCallbacks(globalModelVersionChanged: { _, _ in }, getWorkerVersionOfGlobalModel: { nil })
    }
}
