// SPDX-License-Identifier: Apache-2.0
public import DCFProtocol
public import Foundation

/// What `dcf-agent` runs once per round: turns a global model into an update.
public protocol AgentTrainer: Sendable {
    /// Trains from `globalModel` (safetensors bytes of `version`) and returns the update: safetensors
    /// with the same tensor names, shapes and dtypes, whose `__metadata__` carries `UpdateMetadata`
    /// (example count, base version `version`, metrics under `UpdateMetricKeys`).
    ///
    /// - Parameters:
    ///   - round: the agent's round counter, starting at 1, for logs and external commands.
    ///   - progress: called with a fraction 0...1 of the round's training work as it advances.
    /// - Throws: `AgentTrainerError` naming what failed; the agent sends nothing for this round.
    func train(
        globalModel: Data, version: ModelVersion, round: Int, progress: @escaping @Sendable (Double) -> Void
    ) async throws -> Data
}

/// A round's training failed; the message says what failed and what to check.
public struct AgentTrainerError: Error, Sendable, CustomStringConvertible {
    public let description: String
    /// True when the agent's settings cannot train the server's model at all, such as built-in layer sizes that
    /// differ from the global model's. Every later round would fail the same way, so the agent stops.
    public let isConfigurationMismatch: Bool

    public init(_ description: String, isConfigurationMismatch: Bool = false) {
        self.description = description
        self.isConfigurationMismatch = isConfigurationMismatch
    }
}
