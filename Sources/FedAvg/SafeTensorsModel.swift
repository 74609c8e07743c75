// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation

/// A parsed safetensors file seen as `ModelTensors`, without copying its tensor bytes.
struct SafeTensorsModel: ModelTensors {
    let file: SafeTensors
    let layouts: [TensorLayout]

    init(_ file: SafeTensors) {
        self.file = file
        layouts = file.tensors.map { TensorLayout(name: $0.name, kind: ElementKind($0.dtype), shape: $0.shape) }
    }

    /// Parses `bytes`; a malformed file becomes an `UpdateRejection` naming the defect.
    init(parsing bytes: Data) throws(UpdateRejection) {
        do {
            self.init(try SafeTensors(bytes: bytes))
        } catch {
            throw .malformedModel(String(describing: error))
        }
    }

    func withTensorBytes<Result>(named name: String, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        guard let view = file.tensor(named: name) else {
            preconditionFailure("tensor \(name) is not in the file; callers look up names from `layouts`")
        }
        return try view.withUnsafeBytes(body)
    }
}

extension ElementKind {
    init(_ dtype: TensorDType) {
        switch dtype {
        case .float64: self = .float64
        case .float32: self = .float32
        case .float16: self = .float16
        case .bfloat16: self = .bfloat16
        case .int64: self = .int64
        case .int32: self = .int32
        case .int16: self = .int16
        case .int8: self = .int8
        case .uint8: self = .uint8
        case .bool: self = .bool
        }
    }

    var dtype: TensorDType {
        switch self {
        case .float64: .float64
        case .float32: .float32
        case .float16: .float16
        case .bfloat16: .bfloat16
        case .int64: .int64
        case .int32: .int32
        case .int16: .int16
        case .int8: .int8
        case .uint8: .uint8
        case .bool: .bool
        }
    }
}
