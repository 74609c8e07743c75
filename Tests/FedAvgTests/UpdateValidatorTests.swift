// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import FedAvg

@Suite struct UpdateValidatorTests {
    private let weight = TensorLayout(name: "0.weight", kind: .float32, shape: [2, 2])
    private let bias = TensorLayout(name: "0.bias", kind: .float32, shape: [2])

    private var validator: UpdateValidator {
        UpdateValidator(globalLayouts: [weight, bias], maxStaleness: 1)
    }

    private func update(weight weightValues: [Float] = [1, 2, 3, 4], biasLayout: TensorLayout? = nil) -> InMemoryTensors {
        let biasLayout = biasLayout ?? bias
        return InMemoryTensors([
            (weight, float32Bytes(weightValues)),
            (biasLayout, [UInt8](repeating: 0, count: biasLayout.byteCount)),
        ])
    }

    private func rejection(_ body: () throws -> Void) -> UpdateRejection.Code? {
        do {
            try body()
            return nil
        } catch let rejection as UpdateRejection {
            return rejection.code
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func acceptsMatchingUpdate() {
        #expect(rejection { try validator.validate(update(), examples: 10, baseVersion: 4, currentVersion: 4) } == nil)
    }

    @Test func acceptsUpdateWithinStaleness() {
        #expect(rejection { try validator.validate(update(), examples: 10, baseVersion: 3, currentVersion: 4) } == nil)
    }

    @Test(arguments: [UInt64(2), 5])
    func rejectsBaseVersionOutsideStaleness(base: UInt64) {
        let code = rejection { try validator.validate(update(), examples: 10, baseVersion: base, currentVersion: 4) }
        #expect(code == .staleBaseVersion)
    }

    @Test(arguments: [0, -3])
    func rejectsNonPositiveExampleCount(examples: Int) {
        let code = rejection { try validator.validate(update(), examples: examples, baseVersion: 4, currentVersion: 4) }
        #expect(code == .invalidExampleCount)
    }

    @Test(arguments: [
        TensorLayout(name: "0.bias", kind: .float32, shape: [3]),
        TensorLayout(name: "0.bias", kind: .float16, shape: [2]),
        TensorLayout(name: "1.bias", kind: .float32, shape: [2]),
    ])
    func rejectsWrongLayout(biasLayout: TensorLayout) {
        let code = rejection {
            try validator.validate(update(biasLayout: biasLayout), examples: 10, baseVersion: 4, currentVersion: 4)
        }
        #expect(code == .layoutMismatch)
    }

    @Test func rejectsMissingTensor() {
        let partial = InMemoryTensors([(weight, float32Bytes([1, 2, 3, 4]))])
        let code = rejection { try validator.validate(partial, examples: 10, baseVersion: 4, currentVersion: 4) }
        #expect(code == .layoutMismatch)
    }

    @Test(arguments: [Float.nan, .infinity, -.infinity])
    func rejectsNonFiniteValues(value: Float) {
        let code = rejection {
            try validator.validate(update(weight: [1, value, 3, 4]), examples: 10, baseVersion: 4, currentVersion: 4)
        }
        #expect(code == .nonFiniteValue)
    }
}
