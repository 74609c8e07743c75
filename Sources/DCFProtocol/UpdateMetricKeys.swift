// SPDX-License-Identifier: Apache-2.0

/// Names of the metrics an agent reports in an update's `dcf.metrics`; the server's round records
/// weight them by example counts.
public enum UpdateMetricKeys {
    /// Loss of the base version on the agent's held-out data.
    public static let evaluationLoss = "eval_loss"
    /// Accuracy (0...1) of the base version on the agent's held-out data.
    public static let evaluationAccuracy = "eval_accuracy"
    /// Number of held-out examples behind the two evaluation figures.
    public static let evaluationExamples = "eval_examples"
    /// Mean training loss of the round on the agent.
    public static let trainingLoss = "train_loss"
}
