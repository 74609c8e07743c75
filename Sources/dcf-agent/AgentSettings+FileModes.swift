// SPDX-License-Identifier: Apache-2.0
import DCFSupport

extension AgentSettings {
    /// Logs a warning for each private key file that the settings name (`agent.key`, `agent.client_key`) when
    /// other users may read or write it, by the rule dcf-serverd uses for its own secrets. The agent starts
    /// anyway, because a loose mode is a risk to fix and not damage.
    func warnAboutExposedKeyFiles(logger: Logger) {
        var files = [(setting: "agent.key", path: worker.privateKeyFile)]
        if let clientKey = worker.clientPrivateKeyFile { files.append(("agent.client_key", clientKey)) }
        for file in files {
            guard let warning = SecretFileMode.warning(forFileAt: file.path, setting: file.setting) else { continue }
            logger.warning(warning)
        }
    }
}
