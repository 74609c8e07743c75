// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFTraining
import Foundation
import Testing

@Suite struct ExternalLayoutCheckTests {
    private func file(_ tensors: [(String, [Int], [Float])], dtype: TensorDType = .float32) throws -> SafeTensors {
        var writer = SafeTensorsWriter()
        for (name, shape, values) in tensors {
            try writer.add(name: name, shape: shape, values: values, as: dtype)
        }
        return try SafeTensors(bytes: writer.serialize())
    }

    @Test func matchingUpdatePasses() throws {
        let global = try file([("w", [2, 2], [1, 2, 3, 4]), ("b", [2], [0, 0])])
        let update = try file([("b", [2], [1, 1]), ("w", [2, 2], [0, 0, 0, 0])])
        try UpdateLayoutCheck(globalModel: global).check(update)
    }

    @Test func nonFiniteValueRejected() throws {
        let global = try file([("w", [3], [1, 2, 3])])
        let update = try file([("w", [3], [1, .nan, 3])])
        let error = #expect(throws: UpdateLayoutError.self) { try UpdateLayoutCheck(globalModel: global).check(update) }
        let message = error?.description ?? ""
        #expect(message.contains("tensor \"w\" has the non-finite value nan at element 1"), "\(message)")
        // The layout matches, so the message speaks of values only.
        #expect(message.hasPrefix("the update contains a non-finite value"), "\(message)")
        #expect(!message.contains("does not match"), "\(message)")
        #expect(!message.contains("dtypes and shapes"), "\(message)")
    }

    @Test func longProblemListIsCounted() throws {
        let names = (0..<8).map { "t\($0)" }
        let global = try file(names.map { ($0, [1], [0]) })
        let update = try file([])
        let error = #expect(throws: UpdateLayoutError.self) { try UpdateLayoutCheck(globalModel: global).check(update) }
        #expect(error?.problems.count == 8)
        #expect(error?.description.contains("tensor \"t4\" (F32 [1]) is missing; and 3 more") == true,
                "\(String(describing: error))")
    }
}
