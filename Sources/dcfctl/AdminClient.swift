// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFSupport
import DCFTransport
import Foundation

/// Sends admin API requests to one server with HTTP Basic credentials and maps failures to `DcfctlError`.
struct AdminClient {
    let server: String
    /// The option or variable that set `server`, `--server` or `DCF_SERVER_URL`, for messages that ask to change it.
    let serverSource: String
    /// The option or variable that set the CA file, `--ca-file` or `DCF_CA_FILE`; `--ca-file` when neither did.
    private let caFileSource: String
    /// The options or variables that set the client certificate and key, for hints about them.
    private let clientIdentitySources: String
    private let client: HTTPClient
    private let credentials: AdminCredentialSource
    private let isTLS: Bool
    private let presentsClientCertificate: Bool

    /// Builds the client from `--server`, `--ca-file` and `--credentials-file` (or the environment).
    init(command: ParsedCommand, environment: [String: String]) throws {
        let address = Self.setting("server", "DCF_SERVER_URL", command: command, environment: environment)
        let url = address.value ?? "https://127.0.0.1:8443"
        let (scheme, host, port) = try Self.parse(url, source: address.source)
        server = url
        serverSource = address.source
        let ca = Self.setting("ca-file", "DCF_CA_FILE", command: command, environment: environment)
        caFileSource = ca.source
        credentials = try AdminCredentialSource.load(file: command.option("credentials-file"), environment: environment)
        var configuration = HTTPClientConfiguration(totalTimeout: .seconds(30), userAgent: "dcfctl")
        let clientIdentity = try Self.clientIdentity(command: command, environment: environment)
        isTLS = scheme == "https"
        presentsClientCertificate = clientIdentity != nil
        clientIdentitySources = clientIdentity.map { "\($0.certificateSource) and \($0.keySource)" }
            ?? "--client-certificate and --client-key"
        // Only the options are checked, because DCF_CA_FILE, DCF_CLIENT_CERTIFICATE and DCF_CLIENT_KEY are often
        // exported for every command, and they are not used with a plain HTTP server.
        let tlsOptions = ["ca-file", "client-certificate", "client-key"]
            .filter { command.option($0) != nil }
            .map { "--" + $0 }
        if scheme == "http", let option = tlsOptions.first {
            throw DcfctlError.usage(
                "\(option) works only with an https:// server, and \(url) is plain HTTP; use the server's "
                    + "https:// address in \(address.source) or leave out \(Self.listed(tlsOptions))")
        }
        if scheme == "http" {
            configuration.transport = .plainTCP
        } else {
            let caFile = ca.value
            if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
                throw DcfctlError.input("\(ca.source) \"\(caFile)\": the file does not exist or is not readable")
            }
            configuration.transport = .tls(
                .client(
                    trustedCAFile: caFile, certificateChainFile: clientIdentity?.certificate,
                    privateKeyFile: clientIdentity?.key))
        }
        do {
            client = try HTTPClient(host: host, port: port, configuration: configuration)
        } catch {
            let settings = [ca.source] + (clientIdentity.map { [$0.certificateSource, $0.keySource] } ?? [])
            throw DcfctlError.input(
                "cannot load the TLS settings for \(url): \(error); "
                    + Self.checkHint(settings[0], Array(settings.dropFirst())))
        }
    }

    /// Sends `method path` with an optional JSON body and returns the response body of a 2xx response.
    func send(_ method: String, _ path: String, json body: Data? = nil) throws -> Data {
        var headers: HTTPHeaders = ["Authorization": credentials.authorization, "Accept": "application/json"]
        if body != nil { headers.add(name: "Content-Type", value: "application/json") }
        let request = HTTPClientRequest(method: method, path: path, headers: headers, body: body.map { .data($0) } ?? .none)
        let response: HTTPClientResponse
        do {
            response = try client.execute(request)
        } catch let error as HTTPClientError where error.tlsError?.verificationFailure != nil {
            throw DcfctlError.unreachable(
                "the server at \(server) presented a certificate that dcfctl does not trust: \(error); "
                    + checkHint(caFileSource, serverSource))
        } catch {
            throw DcfctlError.unreachable("cannot reach the server at \(server): \(error); \(hint(for: error))")
        }
        // The TLS port's exact reply to plaintext, which no retry gets past, so the message names the setting to fix.
        if response.statusCode == 400, response.body == Data(TLSPortPlaintextReply.body.utf8) {
            let reply = TLSPortPlaintextReply.body.trimmingCharacters(in: .whitespacesAndNewlines)
            throw DcfctlError.rejected(
                "\(method) \(path) failed: the server at \(server) requires TLS and replied HTTP 400 \"\(reply)\"; "
                    + "use https:// in \(serverSource)")
        }
        guard (200..<300).contains(response.statusCode) else {
            throw Self.failure(response, method: method, path: path)
        }
        return response.body
    }

    /// Returns the options to check after a failed connection or exchange other than an untrusted server
    /// certificate.
    private func hint(for error: any Error) -> String {
        guard let error = error as? HTTPClientError else {
            return isTLS ? checkHint(serverSource, caFileSource) : checkHint(serverSource)
        }
        // Nothing listens at that address, so no TLS setting can matter: only the address, the port and whether the
        // server runs.
        if error.isConnectionRefused {
            return "check the host and port in \(serverSource)"
        }
        guard isTLS else { return checkHint(serverSource) }
        if error.isReplyNotTLS {
            return "the server did not reply with TLS; for a server run with plain_http, use http:// in \(serverSource), "
                + "else check the port"
        }
        // A server that checks client certificates (tls.client_ca) ends a TLS 1.3 connection after the client's
        // handshake: with an alert, or, depending on timing, with a close before the first response.
        let accepted = "the server accepts only an unexpired client certificate signed by a CA in its tls.client_ca"
        if presentsClientCertificate, error.isClientCertificateRejected {
            return "check \(clientIdentitySources): \(accepted)"
        }
        // A close without an alert can also be a server that stopped at that moment.
        if presentsClientCertificate, error.closedBeforeFirstResponse {
            return "if the server's log shows the certificate rejected, check \(clientIdentitySources): "
                + accepted
        }
        if !presentsClientCertificate, error.isClientCertificateRequired || error.closedBeforeFirstResponse {
            return checkHint(serverSource, caFileSource)
                + ", and if the server requires client certificates (tls.client_ca), pass --client-certificate and "
                + "--client-key"
        }
        return checkHint(serverSource, caFileSource)
    }

    /// Returns "check A", "check A and B" or "check A, B and C" for the given options and variables. Hints pass
    /// the sources of the values, so they name `DCF_SERVER_URL` or `DCF_CA_FILE` when a variable set the value.
    func checkHint(_ first: String, _ others: String...) -> String {
        Self.checkHint(first, others)
    }

    private static func checkHint(_ first: String, _ others: [String]) -> String {
        "check " + listed([first] + others)
    }

    /// Joins `items` as "A", "A and B" or "A, B and C".
    private static func listed(_ items: [String]) -> String {
        guard let last = items.last, items.count > 1 else { return items.first ?? "" }
        return "\(items.dropLast().joined(separator: ", ")) and \(last)"
    }

    private static func failure(_ response: HTTPClientResponse, method: String, path: String) -> DcfctlError {
        let detail = ServerErrorBody.message(in: response.body) ?? plainText(response)
        switch response.statusCode {
        case 401:
            return .denied(
                "the server rejected the admin credentials (\(detail)); check \(AdminCredentialSource.usernameVariable)"
                    + " and \(AdminCredentialSource.passwordVariable) or --credentials-file")
        case 403:
            return .denied("\(method) \(path): \(detail)")
        case 429 where detail.hasPrefix(DCFErrorCode.tooManyLoginFailures.rawValue):
            // The server blocks this address for a while after wrong credentials, and its message gives how long.
            return .denied(
                "\(detail); check \(AdminCredentialSource.usernameVariable) and "
                    + "\(AdminCredentialSource.passwordVariable) or --credentials-file before trying again")
        case 408, 429, 500...599:
            // The server or a proxy in front of it failed, is overloaded, is stopping, limits the request rate or
            // stopped waiting for a slow request. The request may succeed later, so this is an unavailable service
            // rather than a rejected request.
            return .unreachable(
                "\(method) \(path) failed with HTTP \(response.statusCode): \(detail); the server could not handle the "
                    + "request now, so try again later")
        default:
            return .rejected("\(method) \(path) failed with HTTP \(response.statusCode): \(detail)")
        }
    }

    /// The status and, for a short text body such as the TLS port's response to plain HTTP, its first line.
    private static func plainText(_ response: HTTPClientResponse) -> String {
        let status = "HTTP \(response.statusCode) \(response.reason)"
        let firstLine = String(decoding: response.body.prefix(200), as: UTF8.self)
            .split(whereSeparator: \.isNewline).first.map(String.init)?.trimmingCharacters(in: .whitespaces)
        guard let firstLine, !firstLine.isEmpty, firstLine.allSatisfy({ $0.isASCII && !$0.isNewline }),
            !firstLine.hasPrefix("<")
        else { return status }
        return status + ": " + firstLine
    }

    /// Returns the client certificate and key files from `--client-certificate` and `--client-key` (or
    /// `DCF_CLIENT_CERTIFICATE` and `DCF_CLIENT_KEY`), with the option or variable that set each, or nil when
    /// neither is set.
    ///
    /// - Throws: `DcfctlError` with exit 64 when only one is set, 66 when a file cannot be read.
    static func clientIdentity(
        command: ParsedCommand, environment: [String: String]
    ) throws -> (certificate: String, key: String, certificateSource: String, keySource: String)? {
        let certificate = setting("client-certificate", "DCF_CLIENT_CERTIFICATE", command: command, environment: environment)
        let key = setting("client-key", "DCF_CLIENT_KEY", command: command, environment: environment)
        switch (certificate.value, key.value) {
        case (nil, nil):
            return nil
        case (let certificateFile?, let keyFile?):
            for (source, path) in [(certificate.source, certificateFile), (key.source, keyFile)]
            where !FileManager.default.isReadableFile(atPath: path) {
                throw DcfctlError.input("\(source) \"\(path)\": the file does not exist or is not readable")
            }
            return (certificateFile, keyFile, certificate.source, key.source)
        case (.some, nil):
            throw DcfctlError.usage(
                "\(certificate.source) needs --client-key (or DCF_CLIENT_KEY), the file of its private key")
        case (nil, .some):
            throw DcfctlError.usage(
                "\(key.source) needs --client-certificate (or DCF_CLIENT_CERTIFICATE), the certificate file it belongs to")
        }
    }

    /// Returns the value of option `--option`, else of environment variable `variable`, with the one that set it;
    /// the source is `--option` when neither did. An empty variable counts as unset, as shells leave it after
    /// `NAME=`.
    static func setting(
        _ option: String, _ variable: String, command: ParsedCommand, environment: [String: String]
    ) -> (value: String?, source: String) {
        if let value = command.option(option) { return (value, "--" + option) }
        if let value = environment[variable], !value.isEmpty { return (value, variable) }
        return (nil, "--" + option)
    }

    /// Splits `http(s)://host:port` into its parts, an IPv6 host without its brackets. Without a port, https means
    /// 443 and http 80, the URL defaults that dcf-agent's `agent.server` also uses, so one address works for both
    /// programs.
    ///
    /// - Parameter source: where `url` came from, `--server` or `DCF_SERVER_URL`, for the error message.
    static func parse(_ url: String, source: String = "--server") throws -> (scheme: String, host: String, port: Int) {
        do {
            let address = try ServerAddress(parsing: url)
            return (address.usesTLS ? "https" : "http", address.host, address.port)
        } catch .credentials {
            // The address is left out, so that the password reaches neither the terminal nor a log.
            throw DcfctlError.usage(
                "\(source) contains credentials, which dcfctl does not send from the address; remove them and set "
                    + "\(AdminCredentialSource.usernameVariable) and \(AdminCredentialSource.passwordVariable), or pass "
                    + "--credentials-file")
        } catch .queryOrFragment {
            throw DcfctlError.usage(
                "\(source) \"\(url)\" has a query or fragment, which dcfctl does not use; expected https://host:port")
        } catch .portOutOfRange(let port) {
            throw DcfctlError.usage("\(source) \"\(url)\": port \(port) is outside 1-65535")
        } catch {
            let hint: String? = if case .host(let hint) = error { hint } else { nil }
            let expected = hint ?? "expected https://host:port, e.g. https://127.0.0.1:8443"
            throw DcfctlError.usage("\(source) \"\(url)\" is not a server address; \(expected)")
        }
    }
}

/// The `{"error":{"code","message"}}` body of a dcf error response.
private struct ServerErrorBody: Decodable {
    struct Detail: Decodable {
        let code: String
        let message: String
    }

    let error: Detail

    static func message(in body: Data) -> String? {
        guard let decoded = try? JSONDecoder().decode(ServerErrorBody.self, from: body) else { return nil }
        return "\(decoded.error.code): \(decoded.error.message)"
    }
}
