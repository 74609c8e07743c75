// SPDX-License-Identifier: Apache-2.0

/// Name, element kind and shape of one tensor of a model; every tensor of an update must match the
/// global model's tensor of the same name.
struct TensorLayout: Sendable, Equatable, CustomStringConvertible {
    var name: String
    var kind: ElementKind
    var shape: [Int]

    var elementCount: Int { shape.reduce(1, *) }
    var byteCount: Int { elementCount * kind.byteCount }

    var description: String { "\(name) \(kind) \(shape)" }
}

/// Read access to the tensors of one model file. Files written by different libraries order their
/// tensors differently, so tensors are looked up by name.
protocol ModelTensors {
    var layouts: [TensorLayout] { get }
    /// Calls `body` with the raw little-endian bytes of the tensor called `name`, which is one of `layouts`.
    func withTensorBytes<Result>(named name: String, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result
}
