// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFTransport
import DCFWorker

/// The start-up error of `dcf-agent run` when `DCFWorker` cannot be built from the agent's settings.
enum WorkerSettingsProblem {
    /// Returns an error that names each setting at fault for `error`, one line each.
    ///
    /// A `TLSError` does not state whether the CA file or the client certificate failed, so the CA file and the
    /// client certificate with its key are loaded again one at a time to find out. They are loaded after a key
    /// error too, which stopped the worker before it read them.
    static func error(for error: any Error, configuration: DCFWorkerConfiguration) -> AgentSettingsError {
        if error is DCFWorkerError || error is HTTPClientError {
            return AgentSettingsError("agent.server (--server): \(error)")
        }
        // The worker reads its key before the TLS files, so a bad key hides any problem with them.
        let keyProblems = error is CryptoError ? ["agent.key (--key): \(error)"] : []
        let problems = keyProblems + tlsProblems(configuration)
        guard !problems.isEmpty else {
            return AgentSettingsError(
                "cannot use the agent's TLS settings (agent.ca_file, agent.client_certificate, agent.client_key): "
                    + "\(error)")
        }
        return AgentSettingsError(problems.joined(separator: "\n"))
    }

    private static func tlsProblems(_ configuration: DCFWorkerConfiguration) -> [String] {
        var problems: [String] = []
        if let caFile = configuration.trustedCAFile {
            do {
                _ = try TLSContext(configuration: .client(trustedCAFile: caFile))
            } catch {
                problems.append("agent.ca_file (--ca-file): \(error)")
            }
        }
        if let certificate = configuration.clientCertificateFile, let key = configuration.clientPrivateKeyFile {
            do {
                _ = try TLSContext(
                    configuration: .client(trustedCAFile: nil, certificateChainFile: certificate, privateKeyFile: key))
            } catch {
                problems.append("\(clientSettings(for: error, certificate: certificate, key: key)): \(error)")
            }
        }
        return problems
    }

    /// Names the client certificate, its key or both, by the files `error` concerns. A mismatch between the two
    /// concerns both, and an error that names no file names both settings.
    private static func clientSettings(for error: any Error, certificate: String, key: String) -> String {
        let files = (error as? TLSError)?.files ?? []
        let namesCertificate = files.contains(certificate)
        let namesKey = files.contains(key)
        switch (namesCertificate, namesKey) {
        case (true, false):
            return "agent.client_certificate (--client-certificate)"
        case (false, true):
            return "agent.client_key (--client-key)"
        default:
            return "agent.client_certificate and agent.client_key (--client-certificate, --client-key)"
        }
    }
}
