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
    /// The sources (file and line, or command line) of `tls.certificate` and `tls.private_key`, for errors.
    var tlsSources: (certificate: String, privateKey: String)
    var eventLoops: Int
    var limits: HTTPServerLimits
    var server: DCFServerConfiguration
    /// The file `admin.credentials_file` names, kept so its mode can be checked.
    var adminCredentialsFile: URL?
    var fedAvg: FedAvgConfiguration
    var logLevel: LogLevel

    /// Checks every value and every named file now, so a bad setting fails at start-up with its name. The
    /// configuration errors found are thrown together as one, a line each, so one start shows every value to fix.
    init(_ config: Configuration, environment: [String: String]) throws {
        var problems: [String] = []
        /// Returns the result of `body`, or nil after recording the configuration error it threw.
        func collecting<Value>(_ body: () throws -> Value) throws -> Value? {
            do {
                return try body()
            } catch let error as ConfigurationError {
                problems.append(error.description)
                return nil
            }
        }

        (host, port) = try collecting {
            try Self.listenAddress(config.string("server.listen"), source: config.setting("server.listen").source)
        } ?? ("", 0)
        eventLoops = config.integer("server.event_loops") == 0
            ? HTTPServerConfiguration.processorCount : config.integer("server.event_loops")
        logLevel = LogLevel(name: config.string("log.level")) ?? .info
        let filesReadable = try collecting { try Self.checkNamedFilesReadable(config) } != nil
        tls = try collecting { try Self.tlsConfiguration(config) } ?? nil
        tlsSources = (
            certificate: config.setting("tls.certificate").source.description,
            privateKey: config.setting("tls.private_key").source.description)

        let stateDirectory = URL(fileURLWithPath: config.string("state.directory"))
        let keyList = Self.optionalFile(config, "workers.key_list")
        var server = DCFServerConfiguration(
            stateDirectory: stateDirectory,
            admission: try collecting {
                try AdmissionMode.make(keyListURL: keyList, allowUnsafe: config.bool("workers.unsafe_mode"))
            } ?? .unsafe)
        let credentialsFile = Self.optionalFile(config, "admin.credentials_file")
        // An unreadable credentials file is already listed; reading it would only add a second line about it.
        if filesReadable {
            server.adminCredentials = try collecting {
                try AdminCredentials.load(environment: environment, file: credentialsFile)
            } ?? nil
        }
        adminCredentialsFile = credentialsFile
        server.longPollHold = config.duration("limits.long_poll_hold")
        server.maximumControlBodyBytes = config.byteCount("limits.max_control_bytes")
        server.maximumUpdateBodyBytes = config.byteCount("limits.max_update_bytes")
        server.maximumConcurrentUploads = config.integer("limits.max_concurrent_uploads")
        server.maximumWorkers = config.integer("limits.max_workers")
        server.spoolReuseLimit = config.byteCount("state.spool_reuse_limit")
        server.minimumUploadRate = config.byteCount("limits.min_upload_rate")
        server.maximumInflatedUpdateBytes = config.byteCount("limits.max_inflated_update_bytes")
        self.server = server

        var limits = HTTPServerLimits()
        limits.maxConnections = config.integer("limits.max_connections")
        limits.maxConnectionsPerAddress = config.integer("limits.max_connections_per_address")
        limits.maxConnectionsPerNetwork = config.integer("limits.max_connections_per_network")
        limits.maxHeaderBytes = config.byteCount("limits.max_header_bytes")
        limits.maxHeaderCount = config.integer("limits.max_header_count")
        limits.maxURILength = config.byteCount("limits.max_url_bytes")
        limits.receiveBufferBytes = config.optionalByteCount("limits.receive_buffer") ?? 0
        // Above the handler's own limits, so an oversized body gets the JSON error and not the transport's 413.
        limits.maxBodyBytes = DCFHTTPService.transportBodyLimit(for: server)
        limits.handshakeTimeout = config.duration("limits.handshake_timeout")
        limits.firstByteTimeout = config.duration("limits.first_byte_timeout")
        limits.headerTimeout = config.duration("limits.header_timeout")
        limits.bodyTimeout = config.duration("limits.body_timeout")
        limits.minBodyRate = config.byteCount("limits.min_body_rate")
        limits.writeTimeout = config.duration("limits.write_timeout")
        // A parked long poll must outlive its hold, so the idle timeout never cuts one short.
        limits.idleTimeout = max(config.duration("limits.idle_timeout"), server.longPollHold + .seconds(5))
        self.limits = limits

        var fedAvg = FedAvgConfiguration(stateDirectory: stateDirectory)
        fedAvg.initialModel = Self.optionalFile(config, "fedavg.initial_model")
        fedAvg.updateLimit = config.integer("fedavg.update_lim")
        fedAvg.minUpdates = config.integer("fedavg.min_updates")
        // FedAvg checks this too, but its error cannot name the lines that set the two values.
        if fedAvg.minUpdates > fedAvg.updateLimit {
            problems.append(
                "\(config.setting("fedavg.min_updates").source): fedavg.min_updates = \(fedAvg.minUpdates) is more "
                    + "than fedavg.update_lim = \(fedAvg.updateLimit) (\(config.setting("fedavg.update_lim").source)), "
                    + "but a round closes at update_lim updates; set min_updates to at most \(fedAvg.updateLimit)")
        }
        let deadline = config.duration("fedavg.round_deadline")
        fedAvg.roundDeadline = deadline == .zero ? nil : deadline
        fedAvg.maxStaleness = UInt64(config.integer("fedavg.max_staleness"))
        fedAvg.keepVersions = config.integer("fedavg.keep_versions")
        self.fedAvg = fedAvg
        if !problems.isEmpty { throw ConfigurationError(problems.joined(separator: "\n")) }
        try fedAvg.validate()
    }

    /// The listener's configuration; loading the certificate and key here makes a bad PEM file fail at start-up.
    var transportConfiguration: HTTPServerConfiguration {
        get throws {
            let security: HTTPServerConfiguration.Security = try tls.map { .tls(try tlsContext($0)) } ?? .plaintext
            return HTTPServerConfiguration(
                host: host, port: port, security: security, eventLoopCount: eventLoops, limits: limits)
        }
    }

    /// Loads `configuration`, naming both keys, their files and where they were set when OpenSSL rejects one.
    func tlsContext(_ configuration: TLSConfiguration) throws -> TLSContext {
        do {
            return try TLSContext(configuration: configuration)
        } catch {
            throw ConfigurationError(
                "tls.certificate = \"\(configuration.certificateChainFile ?? "")\" (\(tlsSources.certificate)) and "
                    + "tls.private_key = \"\(configuration.privateKeyFile ?? "")\" (\(tlsSources.privateKey)): "
                    + "cannot load them as a PEM certificate chain and its matching private key: \(error)")
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
        let clientCA = config.optionalString("tls.client_ca")
        let chain = URL(fileURLWithPath: certificate).path
        let privateKey = URL(fileURLWithPath: key).path
        var configuration: TLSConfiguration
        if let clientCA {
            configuration = .mutualTLSServer(
                certificateChainFile: chain, privateKeyFile: privateKey,
                clientCAFile: URL(fileURLWithPath: clientCA).path,
                verification: config.bool("tls.require_client_certificate") ? .required : .optional)
        } else {
            configuration = .server(certificateChainFile: chain, privateKeyFile: privateKey)
        }
        // The schema accepts only the names of `RecordLayer` cases.
        configuration.recordLayer = TLSConfiguration.RecordLayer(rawValue: config.string("tls.record_layer")) ?? .dcf
        return configuration
    }

    /// Splits `server.listen` into an IP address and a port, so a value the socket could not bind fails as a
    /// configuration error (exit 78) naming where it was set, rather than at `bind` as an unavailable service.
    ///
    /// The host must be an IPv4 or IPv6 address (IPv6 best in brackets), or empty for 0.0.0.0; the listener does
    /// not resolve host names.
    static func listenAddress(_ text: String, source: ConfigSource) throws -> (String, Int) {
        func invalid(_ problem: String) -> ConfigurationError {
            ConfigurationError(
                "\(source): server.listen = \"\(text.prefix(200))\": \(problem); write an IP address and a port, such "
                    + "as 0.0.0.0:8443, 127.0.0.1:8443 or [::]:8443")
        }
        // A bare IPv6 address would otherwise lose its last group to the port, as "::1" would become ":" and 1.
        if text.hasPrefix("[") && text.hasSuffix("]") || Self.isIPv6Address(text) && !Self.endsWithPort(text) {
            let address = text.hasPrefix("[") ? String(text.dropFirst().dropLast()) : text
            throw invalid("the IPv6 address has no port (for port 8443, write [\(address.prefix(100))]:8443)")
        }
        guard let colon = text.lastIndex(of: ":") else { throw invalid("there is no \":port\"") }
        let portText = text[text.index(after: colon)...]
        guard !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw invalid("the port \"\(portText.prefix(40))\" is not a decimal number")
        }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw invalid("the port \(portText.prefix(40)) is not in 0-65535")
        }
        var host = String(text[..<colon])
        let bracketed = host.hasPrefix("[") && host.hasSuffix("]") && host.count >= 2
        if bracketed {
            host = String(host.dropFirst().dropLast())
        } else if text.hasPrefix("[") {
            throw invalid("an IPv6 address in brackets needs \"]:port\" after it, as in [::]:8443")
        }
        if host.isEmpty { return ("0.0.0.0", port) }
        // Without brackets the last colon is the port separator, as before: "::1:8443" is ::1, port 8443.
        if Self.isIPv4Address(host) && !bracketed || Self.isIPv6Address(host) { return (host, port) }
        throw invalid("\"\(host.prefix(100))\" is not an IPv4 or IPv6 address (host names are not resolved)")
    }

    /// Returns whether `text`, an IPv6 address, still names an IPv6 address without its last group, which the
    /// parser then reads as the port, as in "::1:8443".
    private static func endsWithPort(_ text: String) -> Bool {
        guard let colon = text.lastIndex(of: ":") else { return false }
        let host = String(text[..<colon])
        let port = text[text.index(after: colon)...]
        return !port.isEmpty && port.allSatisfy({ $0.isASCII && $0.isNumber }) && isIPv6Address(host)
    }

    static func isIPv4Address(_ text: String) -> Bool {
        var address = in_addr()
        return inet_pton(AF_INET, text, &address) == 1
    }

    static func isIPv6Address(_ text: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET6, text, &address) == 1
    }
}
