// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFSupport

/// Plain-text renderings of admin API responses. Every string from the server is printed with its control
/// characters escaped, so a server that is not dcf-serverd cannot send commands to the terminal.
enum DcfctlOutput {
    static func workerTable(_ workers: [AdminWorkerEntry]) -> String {
        guard !workers.isEmpty else { return "no workers\n" }
        let idWidth = workers.map(\.workerID.description.count).max() ?? 0
        // In safe mode the id is the public key, so the key column is shown only when some id differs from it.
        let showsKeys = workers.contains { $0.workerID.description != $0.publicKey }
        var lines = [row("WORKER ID", "STATUS", "SOURCE", showsKeys ? "PUBLIC KEY" : "", idWidth)]
        for worker in workers {
            lines.append(
                row(
                    worker.workerID.description, worker.status.escapingControlCharacters,
                    worker.source.escapingControlCharacters,
                    showsKeys ? worker.publicKey.escapingControlCharacters : "", idWidth))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func status(_ status: AdminStatusResponse) -> String {
        var lines = [
            "model version:      \(status.modelVersion?.description ?? "none")",
            "admission mode:     \(status.admissionMode.escapingControlCharacters)",
            "registered workers: \(status.registeredWorkers) of \(status.knownWorkers) known",
            "waiting workers:    \(status.waitingWorkers)",
        ]
        if !status.round.isEmpty {
            lines.append("round:")
            for (key, value) in status.round.sorted(by: { $0.key < $1.key }) {
                let valueText = String(describing: value).escapingControlCharacters
                lines.append("  \(key.escapingControlCharacters): \(valueText)")
            }
        }
        return lines.joined(separator: "\n") + "\n" + warnings(status.warnings)
    }

    /// Returns one `warning: ...` line for each warning of an admin reply, and nothing when the reply has none.
    static func warnings(_ warnings: [String]?) -> String {
        (warnings ?? []).map { "warning: \($0.escapingControlCharacters)\n" }.joined()
    }

    private static func row(_ id: String, _ status: String, _ source: String, _ key: String, _ idWidth: Int) -> String {
        let text = [pad(id, idWidth), pad(status, 10), pad(source, 8), key].joined(separator: "  ")
        return String(text.reversed().drop { $0 == " " }.reversed())
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
