// SPDX-License-Identifier: Apache-2.0
import DCFServer
import DCFSupport
import DCFTransport
import FedAvg
import Foundation

/// The typed settings of one `dcf-serverd` run, built from the merged config file and command line.
struct ServerdSettings {
    var host: String
    var port: Int
    var tls: TLSConfiguration?
    var eventLoops: Int
    var limits: HTTPServerLimits
    var server: DCFServerConfiguration
    var fedAvg: FedAvgConfiguration
    var logLevel: LogLevel

    /// Checks every value and every named file now, so a bad setting fails at start-up with its name.
    init(_ config: Configuration, environment: [String: String]) throws {
        (host, port) = try Self.listenAddress(config.string("server.listen"))
        eventLoops = config.integer("server.event_loops") == 0
            ? HTTPServerConfiguration.processorCount : config.integer("server.event_loops")
        logLevel = LogLevel(name: config.string("log.level")) ?? .info
        tls = try Self.tlsConfiguration(config)

        let stateDirectory = URL(fileURLWithPath: config.string("state.directory"))
        let keyList = try config.optionalString("workers.key_list").map { try Self.existingFile($0, "workers.key_list") }
        var server = DCFServerConfiguration(
            stateDirectory: stateDirectory,
            admission: try AdmissionMode.make(keyListURL: keyList, allowUnsafe: config.bool("workers.unsafe_mode")))
        let credentialsFile = try config.optionalString("admin.credentials_file").map {
            try Self.existingFile($0, "admin.credentials_file")
        }
        server.adminCredentials = try AdminCredentials.load(environment: environment, file: credentialsFile)
        server.longPollHold = config.duration("limits.long_poll_hold")
        server.maximumControlBodyBytes = config.byteCount("limits.max_control_bytes")
        server.maximumUpdateBodyBytes = config.byteCount("limits.max_update_bytes")
        server.maximumInflatedUpdateBytes = config.byteCount("limits.max_inflated_update_bytes")
        self.server = server

        var limits = HTTPServerLimits()
        limits.maxConnections = config.integer("limits.max_connections")
        limits.maxHeaderBytes = config.byteCount("limits.max_header_bytes")
        limits.maxHeaderCount = config.integer("limits.max_header_count")
        limits.maxURILength = config.byteCount("limits.max_url_bytes")
        limits.maxBodyBytes = max(server.maximumUpdateBodyBytes, server.maximumControlBodyBytes)
        limits.handshakeTimeout = config.duration("limits.handshake_timeout")
        limits.headerTimeout = config.duration("limits.header_timeout")
        limits.bodyTimeout = config.duration("limits.body_timeout")
        // A parked long poll must outlive its hold, so the idle timeout never cuts one short.
        limits.idleTimeout = max(config.duration("limits.idle_timeout"), server.longPollHold + .seconds(5))
        self.limits = limits

        var fedAvg = FedAvgConfiguration(stateDirectory: stateDirectory)
        fedAvg.initialModel = try config.optionalString("fedavg.initial_model").map {
            try Self.existingFile($0, "fedavg.initial_model")
        }
        fedAvg.updateLimit = config.integer("fedavg.update_lim")
        fedAvg.minUpdates = config.integer("fedavg.min_updates")
        let deadline = config.duration("fedavg.round_deadline")
        fedAvg.roundDeadline = deadline == .zero ? nil : deadline
        fedAvg.maxStaleness = UInt64(config.integer("fedavg.max_staleness"))
        try fedAvg.validate()
        self.fedAvg = fedAvg
    }

    var transportConfiguration: HTTPServerConfiguration {
        get throws {
            let security: HTTPServerConfiguration.Security = try tls.map { .tls(try TLSContext(configuration: $0)) }
                ?? .plaintext
            return HTTPServerConfiguration(
                host: host, port: port, security: security, eventLoopCount: eventLoops, limits: limits)
        }
    }

    static func tlsConfiguration(_ config: Configuration) throws -> TLSConfiguration? {
        let certificate = config.optionalString("tls.certificate")
        let key = config.optionalString("tls.private_key")
        if config.bool("server.plain_http") {
            guard certificate == nil, key == nil else {
                throw ConfigurationError(
                    "server.plain_http is true but tls.certificate or tls.private_key is set; remove one of the two")
            }
            return nil
        }
        guard let certificate, let key else {
            throw ConfigurationError(
                "TLS needs tls.certificate and tls.private_key (--tls-certificate, --tls-key); "
                    + "scripts/gen-certs.sh makes a test pair, and --plain-http turns TLS off behind a proxy")
        }
        let chain = try existingFile(certificate, "tls.certificate").path
        let privateKey = try existingFile(key, "tls.private_key").path
        guard let clientCA = config.optionalString("tls.client_ca") else {
            return .server(certificateChainFile: chain, privateKeyFile: privateKey)
        }
        return .mutualTLSServer(
            certificateChainFile: chain, privateKeyFile: privateKey,
            clientCAFile: try existingFile(clientCA, "tls.client_ca").path,
            verification: config.bool("tls.require_client_certificate") ? .required : .optional)
    }

    static func listenAddress(_ text: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else {
            throw ConfigurationError("server.listen \"\(text)\" is not host:port, e.g. 0.0.0.0:8443 or [::]:8443")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    static func existingFile(_ path: String, _ key: String) throws -> URL {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw ConfigurationError("\(key): file \"\(path)\" does not exist or is not readable")
        }
        return URL(fileURLWithPath: path)
    }
}
