// SPDX-License-Identifier: Apache-2.0
public import Foundation

/// Settings of `ExternalCommandTrainer`: the command, its timeout, files and environment.
public struct ExternalTrainerConfiguration: Sendable {
    /// Environment variables the agent sets for the command; `extraEnvironment` cannot override them.
    public static let reservedEnvironmentNames: Set<String> = [
        "DCF_GLOBAL_MODEL", "DCF_UPDATE_PATH", "DCF_METRICS_PATH", "DCF_ROUND", "DCF_MODEL_VERSION",
        "DCF_WORKER_ID",
    ]

    /// Shell command line, run with `/bin/sh -c` in the agent's working directory once per round.
    public var command: String
    /// Maximum run time of one round's command, after which its process group is terminated.
    public var timeout: Duration
    /// Directory for the per-round files (global model, update, metrics); created when missing.
    public var workDirectory: URL
    /// The agent's worker id, passed to the command as `DCF_WORKER_ID`.
    public var workerID: String
    /// Variables added to the command's environment, which is otherwise the agent's own.
    public var extraEnvironment: [String: String]

    /// Creates a configuration; `validate()` checks it.
    public init(
        command: String, timeout: Duration = .seconds(600), workDirectory: URL, workerID: String,
        extraEnvironment: [String: String] = [:]
    ) {
        self.command = command
        self.timeout = timeout
        self.workDirectory = workDirectory
        self.workerID = workerID
        self.extraEnvironment = extraEnvironment
    }

    /// Checks the fields; the trainer calls it every round, and the agent can call it at startup.
    ///
    /// - Throws: `AgentTrainerError` when the command is empty, the timeout is not positive, or
    ///   `extraEnvironment` sets a variable the agent reserves.
    public func validate() throws(AgentTrainerError) {
        guard !command.allSatisfy(\.isWhitespace) else {
            throw AgentTrainerError("the training command is empty; set the command that trains one round")
        }
        guard timeout > .zero else {
            throw AgentTrainerError("the command timeout is \(timeout); use a positive duration such as 10m")
        }
        let reserved = extraEnvironment.keys.filter(Self.reservedEnvironmentNames.contains).sorted()
        guard reserved.isEmpty else {
            throw AgentTrainerError(
                "the extra environment sets \(reserved.joined(separator: ", ")), which the agent sets each round; "
                    + "remove it from the extra environment"
            )
        }
    }
}
