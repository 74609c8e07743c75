// SPDX-License-Identifier: Apache-2.0
import DCFProtocol

/// Completes a worker id argument to the id of one known worker.
///
/// Logs show the first 8 digits of a worker id (`WorkerID.short`), and dcf-agent logs the first 8 digits of its
/// public key, which differs from the worker id on an unsafe-mode server. Either prefix selects a worker when
/// it starts the id or the public key of exactly one of them.
enum WorkerIDPrefix {
    /// The maximum number of matching ids that an ambiguity error lists.
    static let maximumListedMatches = 10

    /// Returns the worker id that `argument`, 8 to 128 hex digits, selects among `workers`.
    ///
    /// - Throws: `DcfctlError` with exit 65 when no worker matches, like an unknown id that the server rejects,
    ///   and 64 when several do.
    static func resolve(_ argument: String, among workers: [AdminWorkerEntry]) throws -> WorkerID {
        let prefix = argument.lowercased()
        if let exact = workers.first(where: { $0.workerID.rawValue == prefix }) { return exact.workerID }
        let matches = workers.filter {
            $0.workerID.rawValue.hasPrefix(prefix) || $0.publicKey.lowercased().hasPrefix(prefix)
        }
        switch matches.count {
        case 1:
            return matches[0].workerID
        case 0:
            throw DcfctlError.rejected(
                "worker \"\(argument)\" not found: no worker id or public key starts with \"\(prefix)\"; "
                    + "\"dcfctl list\" shows the known workers")
        default:
            throw DcfctlError.usage(
                "worker id prefix \"\(argument)\" matches \(matches.count) workers: \(listing(matches)); give more "
                    + "digits of one worker id")
        }
    }

    private static func listing(_ matches: [AdminWorkerEntry]) -> String {
        let ids = matches.prefix(maximumListedMatches).map(\.workerID.rawValue).joined(separator: ", ")
        let more = matches.count - maximumListedMatches
        return more > 0 ? "\(ids) and \(more) more (\"dcfctl list\" shows all)" : ids
    }
}
