// SPDX-License-Identifier: Apache-2.0
import DCFTransport

/// The fix for a TLS failure that retrying cannot fix, in terms of the agent's settings.
struct ConnectionHints: Sendable {
    let trustedCAFile: String?
    let hasClientCertificate: Bool

    init(configuration: DCFWorkerConfiguration) {
        trustedCAFile = configuration.trustedCAFile
        hasClientCertificate = configuration.clientCertificateFile != nil
    }

    /// Returns the settings to change for `error`, or nil when no setting explains it.
    func hint(for error: HTTPClientError) -> String? {
        if let failure = error.tlsError?.verificationFailure { return verificationHint(failure) }
        if error.isReplyNotTLS {
            return "the server did not reply with TLS; for a server run with server.plain_http, use http:// in "
                + "agent.server, else check the port"
        }
        if hasClientCertificate {
            let settings = "agent.client_certificate and agent.client_key (--client-certificate and --client-key)"
            let accepted = "the server accepts only an unexpired client certificate signed by a CA in its tls.client_ca"
            if error.isClientCertificateRejected { return "check \(settings): \(accepted)" }
            // A close without an alert can also be a server that stopped at that moment.
            if error.closedBeforeFirstResponse {
                return "if the server's log shows the certificate rejected, check \(settings): \(accepted)"
            }
            return nil
        }
        if error.isClientCertificateRequired {
            return "the server requires a TLS client certificate and none is set; set agent.client_certificate and "
                + "agent.client_key (--client-certificate and --client-key) to a certificate signed by a CA of the "
                + "server's tls.client_ca and its key"
        }
        if error.closedBeforeFirstResponse {
            // The transport's own hint already states that the server may require a client certificate.
            return "if the server sets tls.client_ca, set agent.client_certificate and agent.client_key "
                + "(--client-certificate and --client-key)"
        }
        return nil
    }

    private func verificationHint(_ failure: TLSError.VerificationFailure) -> String {
        switch failure {
        case .hostNameMismatch(let host):
            return "the server's certificate does not name the host '\(host)' of agent.server; connect by a host "
                + "name or IP address that the certificate has, or make a server certificate with that name "
                + "(scripts/gen-certs.sh takes the names as arguments)"
        case .expired, .notYetValid:
            return "the server's certificate is outside its validity period; check this machine's clock, and "
                + "have the server's admin install a current certificate (tls.certificate) and reload the server"
        default:
            break
        }
        let trusted = trustedCAFile.map { "the CA file \($0)" } ?? "the system's CA certificates"
        return "the server's certificate is not trusted by \(trusted); check the CA file the agent uses "
            + "(--ca-file) and the server address"
    }
}
