// SPDX-License-Identifier: Apache-2.0
public import DCFProtocol

/// A check that an update has exactly the global model's tensors (names, dtypes, shapes) and only finite
/// floating-point values. The server applies the same rules, and checking on the site reports a trainer's
/// mistake with the tensor's name before anything is sent.
public struct UpdateLayoutCheck: Sendable {
    /// Largest number of problems listed in one error; the rest are counted.
    static let listedProblemLimit = 5

    private let reference: [TensorInfo]

    /// Creates a check against the tensors of `globalModel`.
    public init(globalModel: SafeTensors) {
        reference = globalModel.tensors.sorted { $0.name < $1.name }
    }

    /// Checks `update` against the global model.
    ///
    /// - Throws: `UpdateLayoutError` listing each missing, unexpected or mismatched tensor by name, with
    ///   the update's and the global model's dtype and shape, or the first tensor with a non-finite value.
    public func check(_ update: SafeTensors) throws(UpdateLayoutError) {
        let problems = layoutProblems(update)
        guard problems.isEmpty else { throw UpdateLayoutError(problems: problems) }
        for info in reference where info.dtype.isFloatingPoint {
            guard let values = try? update.tensor(named: info.name)?.doubleValues() else { continue }
            if let index = values.firstIndex(where: { !$0.isFinite }) {
                throw UpdateLayoutError(
                    problems: [
                        "tensor \"\(info.name)\" has the non-finite value \(values[index]) at element \(index); "
                            + "training diverged, so lower the learning rate or check the input data"
                    ], isNonFiniteValue: true)
            }
        }
    }

    private func layoutProblems(_ update: SafeTensors) -> [String] {
        var problems: [String] = []
        let referenceNames = Set(reference.map(\.name))
        for expected in reference {
            guard let actual = update.tensor(named: expected.name)?.info else {
                problems.append("tensor \"\(expected.name)\" (\(Self.describe(expected))) is missing")
                continue
            }
            if actual.dtype != expected.dtype || actual.shape != expected.shape {
                problems.append(
                    "tensor \"\(expected.name)\" is \(Self.describe(actual)) but the global model's is "
                        + Self.describe(expected)
                )
            }
        }
        for name in update.names.sorted() where !referenceNames.contains(name) {
            problems.append("tensor \"\(name)\" is not in the global model")
        }
        return problems
    }

    private static func describe(_ info: TensorInfo) -> String {
        "\(info.dtype) \(info.shape)"
    }
}

/// An update whose tensors do not match the global model's.
public struct UpdateLayoutError: Error, Sendable, CustomStringConvertible {
    /// One sentence per problem, each naming its tensor.
    public let problems: [String]
    /// Whether the layout matches and the problem is a NaN or infinity in the values.
    public let isNonFiniteValue: Bool

    init(problems: [String], isNonFiniteValue: Bool = false) {
        self.problems = problems
        self.isNonFiniteValue = isNonFiniteValue
    }

    public var description: String {
        if isNonFiniteValue { return "the update contains a non-finite value: " + problems.joined(separator: "; ") }
        let listed = problems.prefix(UpdateLayoutCheck.listedProblemLimit).joined(separator: "; ")
        let rest = problems.count - UpdateLayoutCheck.listedProblemLimit
        let more = rest > 0 ? "; and \(rest) more" : ""
        return "the update does not match the global model: \(listed)\(more). "
            + "Save the same tensors as the global model, with the same names, dtypes and shapes"
    }
}
