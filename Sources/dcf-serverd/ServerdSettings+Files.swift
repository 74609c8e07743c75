// SPDX-License-Identifier: Apache-2.0
import DCFServer
import DCFSupport
import FedAvg
import Foundation

extension ServerdSettings {
    /// The settings that name a file the server reads at start, in the order their errors are listed.
    static let fileSettings = [
        "tls.certificate", "tls.private_key", "tls.client_ca", "workers.key_list", "admin.credentials_file",
        "fedavg.initial_model",
    ]

    /// Throws one error that lists, one line each, every file named by the settings that does not exist, cannot
    /// be read or is a directory, so one start shows every path to fix. With `server.plain_http` the TLS files are
    /// skipped, because `tlsConfiguration` then rejects any TLS file setting. `fedavg.initial_model` is skipped
    /// when the state directory contains a model version, because the start then does not read it.
    static func checkNamedFilesReadable(_ config: Configuration) throws {
        let plainHTTP = config.bool("server.plain_http")
        let resumes = FedAvgStrategy.containsModelVersion(
            stateDirectory: URL(fileURLWithPath: config.string("state.directory")))
        var problems: [String] = []
        for setting in fileSettings
        where !(plainHTTP && setting.hasPrefix("tls.")) && !(resumes && setting == "fedavg.initial_model") {
            guard let path = config.optionalString(setting) else { continue }
            // A control character in a path or its source would split or garble the one line each problem gets.
            if let problem = unreadableFileProblem(config, setting, path) {
                problems.append(problem.escapingControlCharacters)
            }
        }
        if !problems.isEmpty { throw ConfigurationError(problems.joined(separator: "\n")) }
    }

    /// Returns the file that `key` names, or nil when it is not set. `checkNamedFilesReadable` has checked it.
    static func optionalFile(_ config: Configuration, _ key: String) -> URL? {
        config.optionalString(key).map { URL(fileURLWithPath: $0) }
    }

    /// Returns nil when `path` names a readable file, else the problem, naming where `key` was set, the key and
    /// the path. A directory counts as a problem, because `isReadableFile` accepts a readable one.
    static func unreadableFileProblem(_ config: Configuration, _ key: String, _ path: String) -> String? {
        let setting = "\(config.setting(key).source): \(key) = \"\(path)\""
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            return "\(setting): it is a directory, not a file; name the file itself"
        }
        guard !FileManager.default.isReadableFile(atPath: path) else { return nil }
        return "\(setting): the file does not exist or is not readable by this user; fix the path or the file's "
            + "permissions"
    }
}
