// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import DCFTransport

extension Serverd {
    /// Sets the log level and logs the change at notice. The line is written while the more verbose of the two
    /// levels is in effect, so raising the level to debug and lowering it to warning both show it.
    func applyLogLevel(_ level: LogLevel) {
        let previous = sink.level
        guard level != previous else { return }
        if level < previous { sink.level = level }
        logger.notice("log level changed", [("from", previous.description), ("to", level.description)])
        sink.level = level
    }

    /// Loads the certificate, key and client CA for new connections, names the certificate now served, and closes
    /// connections accepted under another client certificate policy.
    func reloadTLS(_ tls: TLSConfiguration, settings: ServerdSettings) {
        let context: TLSContext
        let replacement: TLSContextReplacement
        do {
            (context, replacement) = try service.reloadTLS(tls)
        } catch {
            logger.error("TLS reload failed; keeping the old certificate", [("error", String(describing: error))])
            return
        }
        var fields = [("tls_record_layer", tls.recordLayer.rawValue)]
        if let certificate = context.certificateSummary {
            fields += [
                ("subject", certificate.subject), ("not_after", certificate.notAfter),
                ("sha256_fingerprint", certificate.sha256Fingerprint),
            ]
        }
        logger.info("reloaded TLS certificate and key", fields)
        if replacement.clientPolicyChanged {
            logger.notice(
                "client certificate policy changed; closed the connections accepted under the previous policy, "
                    + "so their clients connect again and meet the new one",
                [("closed", String(replacement.closedConnections)),
                 ("closing_after_response", String(replacement.connectionsClosingAfterResponse)),
                 ("require_client_certificate", tls.clientCertificateVerification == .required ? "true" : "false"),
                 ("client_ca", tls.trustedCAFile ?? "none")])
        }
        Self.warnAboutExposedSecretFiles(settings, tlsOnly: true, logger: logger)
        if context.certificateHasExpired {
            logger.warning(
                "the reloaded server certificate has expired; agents will reject it",
                [("file", tls.certificateChainFile ?? "")])
        }
    }
}
