// SPDX-License-Identifier: Apache-2.0

/// The reason FedAvg did not fold an update. The worker receives `code` and `message`, and the round goes on.
struct UpdateRejection: Error, Sendable, Equatable, CustomStringConvertible {
    enum Code: String, Sendable {
        case malformedModel = "malformed_model"
        case layoutMismatch = "layout_mismatch"
        case nonFiniteValue = "non_finite_value"
        case valueOutOfRange = "value_out_of_range"
        case invalidExampleCount = "invalid_example_count"
        case invalidMetadata = "invalid_metadata"
        case staleBaseVersion = "stale_base_version"
        case tooManyReplacements = "too_many_replacements"
    }

    let code: Code
    let message: String

    /// The maximum length of `message`. Messages quote values from the update, such as tensor names and metadata,
    /// which may be megabytes long. Each rejection goes back to the worker and into the round record, which keeps
    /// up to `OpenRound.maximumRecordedRejections` of them in memory and in `history.jsonl`.
    static let maximumMessageLength = 2_000

    /// - Parameter message: the explanation. When it is longer than `maximumMessageLength`, a note of the
    ///   characters left out replaces its middle, so the start naming the problem and the end naming the fix stay.
    init(code: Code, message: String) {
        self.code = code
        self.message = Self.shortened(message)
    }

    var description: String { "\(code.rawValue): \(message)" }

    static func shortened(_ message: String) -> String {
        guard message.count > maximumMessageLength else { return message }
        let kept = maximumMessageLength - 100
        let head = message.prefix(kept * 2 / 3)
        let tail = message.suffix(kept - head.count)
        return "\(head) [... \(message.count - head.count - tail.count) characters left out ...] \(tail)"
    }

    static func malformedModel(_ detail: String) -> UpdateRejection {
        UpdateRejection(code: .malformedModel, message: "the update is not a valid safetensors model: \(detail)")
    }

    static func headerTooLarge(_ size: UInt64, limit: Int) -> UpdateRejection {
        UpdateRejection(
            code: .layoutMismatch,
            message: "the update's safetensors header is \(size) bytes, but an update of the global model's tensors "
                + "needs at most \(limit) bytes (twice the global model's header plus 1 MiB of metadata); send only "
                + "the global model's tensors and the dcf metadata")
    }

    static func tensorCount(update: Int, global: Int) -> UpdateRejection {
        UpdateRejection(
            code: .layoutMismatch,
            message: "the update has \(update) tensors but the global model has \(global)"
        )
    }

    static func layout(update: TensorLayout, global: TensorLayout) -> UpdateRejection {
        UpdateRejection(
            code: .layoutMismatch,
            message: "update tensor \(update) does not match global model tensor \(global)"
        )
    }

    static func missingTensor(_ global: TensorLayout) -> UpdateRejection {
        UpdateRejection(code: .layoutMismatch, message: "the update has no tensor \"\(global.name)\" (global model: \(global))")
    }

    static func nonFinite(tensor: String) -> UpdateRejection {
        UpdateRejection(code: .nonFiniteValue, message: "tensor \"\(tensor)\" contains NaN or infinity")
    }

    static func outOfRange(tensor: String) -> UpdateRejection {
        UpdateRejection(
            code: .valueOutOfRange,
            message: "tensor \"\(tensor)\" has a float64 value of magnitude above "
                + "\(FedAvgAccumulator.maximumFloat64Magnitude), so the weighted sum could overflow; no trained model "
                + "has such values")
    }

    static func exampleCount(_ count: Int) -> UpdateRejection {
        UpdateRejection(
            code: .invalidExampleCount,
            message: "the update reports \(count) training examples; it must be 1 to \(maximumExampleCount)"
        )
    }

    static func stale(base: UInt64, current: UInt64, maxStaleness: UInt64) -> UpdateRejection {
        let accepted = maxStaleness == 0
            ? "only updates trained from version \(current) are accepted"
            : "updates trained from versions \(current > maxStaleness ? current - maxStaleness : 0) to \(current) are accepted"
        return UpdateRejection(
            code: .staleBaseVersion,
            message: "the update was trained from version \(base), the current version is \(current), and \(accepted)"
        )
    }

    static func tooManyReplacements(_ count: Int) -> UpdateRejection {
        UpdateRejection(
            code: .tooManyReplacements,
            message: "this worker already replaced its update \(count) times in the open round; the update in the "
                + "round stays, send the next one after the new version")
    }
}
