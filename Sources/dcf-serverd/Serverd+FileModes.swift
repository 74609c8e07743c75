// SPDX-License-Identifier: Apache-2.0
import DCFSupport

extension Serverd {
    /// Logs a warning for each file with a secret that the settings name (`tls.private_key`,
    /// `admin.credentials_file`) when other users may read or write it. The server starts anyway, as `dcf-agent`
    /// does for its key file, because a loose mode is a risk to fix and not damage.
    static func warnAboutExposedSecretFiles(_ settings: ServerdSettings, tlsOnly: Bool = false, logger: Logger) {
        var files: [(setting: String, path: String)] = []
        if let key = settings.tls?.privateKeyFile { files.append(("tls.private_key", key)) }
        if !tlsOnly, let credentials = settings.adminCredentialsFile {
            files.append(("admin.credentials_file", credentials.path))
        }
        for file in files {
            guard let warning = SecretFileMode.warning(forFileAt: file.path, setting: file.setting) else { continue }
            logger.warning(warning)
        }
    }
}
