// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import DCFSupport
import DCFTransport
import Foundation
import Synchronization
import TestSupport
import Testing

/// A `DCFServer` with `ExampleStrategy`, served over TLS on 127.0.0.1; `restart()` replaces both on the same
/// state directory and port, as a server process restart would.
final class IntegrationHost: Sendable {
    let certificates: CertificateFactory
    let baseDirectory: URL
    let admission: AdmissionMode
    let protocolVersions: ProtocolVersionRange
    let logSink = LogSink(level: .warning) { line in FileHandle.standardError.write(Data(line.utf8)) }
    private let current = Mutex<(strategy: ExampleStrategy, service: DCFHTTPService)?>(nil)
    private let boundPort = Mutex(0)
    private let generation = Mutex(0)

    init(
        certificates: CertificateFactory, baseDirectory: URL, admission: AdmissionMode,
        protocolVersions: ProtocolVersionRange = .supported
    ) {
        self.certificates = certificates
        self.baseDirectory = baseDirectory
        self.admission = admission
        self.protocolVersions = protocolVersions
    }

    var strategy: ExampleStrategy { current.withLock { $0!.strategy } }
    var port: Int { boundPort.withLock { $0 } }
    var url: URL { URL(string: "https://127.0.0.1:\(port)")! }
    /// The state directory of the current generation; `restart(model:losingState:)` may move to a new one.
    var stateDirectory: URL { baseDirectory.appendingPathComponent("state-\(generation.withLock { $0 })") }

    /// Starts a server whose strategy begins at `model`, on port 0 the first time and the same port later.
    func start(model: GlobalModel?) throws {
        let strategy = ExampleStrategy(initialModel: model)
        var configuration = DCFServerConfiguration(
            stateDirectory: stateDirectory, admission: admission,
            adminCredentials: try AdminCredentials(username: "admin", password: "pw"))
        configuration.protocolVersions = protocolVersions
        configuration.longPollHold = .seconds(2)
        let logger = Logger(component: "server", sink: logSink)
        let server = try DCFServer(configuration: configuration, callbacks: strategy, logger: logger)
        strategy.server.withLock { $0 = server }
        let tls = try TLSContext(
            configuration: .server(
                certificateChainFile: certificates.server.certificateFile,
                privateKeyFile: certificates.server.privateKeyFile))
        let http = DCFHTTPService(
            server: server, transportConfiguration: HTTPServerConfiguration(port: port, security: .tls(tls), eventLoopCount: 1),
            logger: logger)
        let bound = try http.start()
        boundPort.withLock { $0 = bound }
        current.withLock { $0 = (strategy, http) }
    }

    /// Registers or unregisters `worker` through the admin API, as `dcfctl enable` and `disable` do.
    func setRegistered(_ worker: WorkerID, _ registered: Bool) throws {
        let box = Mutex<ServerResponse?>(nil)
        let server = try #require(strategy.server.withLock { $0 })
        server.handle(
            ServerRequest(
                method: "PUT", target: "/admin/workers/\(worker)",
                headers: [("Authorization", "Basic " + Data("admin:pw".utf8).base64EncodedString())],
                body: try .memory(try JSONEncoder().encode(AdminSetRegistrationRequest(registered: registered))))
        ) { response in box.withLock { $0 = response } }
        #expect(box.withLock { $0 }?.status == 200)
    }

    /// Stops the HTTP server and the backend, keeping the state directory.
    func stop() async {
        guard let running = current.withLock({ $0 }) else { return }
        await running.service.stop(gracePeriod: .seconds(2))
    }

    /// Stops the running server and starts a new one on the same port, whose strategy resumes at `model`.
    /// With `losingState` the new server starts on an empty state directory, as after a lost disk.
    func restart(model: GlobalModel?, losingState: Bool = false) async throws {
        await stop()
        if losingState { generation.withLock { $0 += 1 } }
        try start(model: model)
    }
}
