// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFTraining
import Foundation
import Testing

/// Each way a training command can fail must throw `AgentTrainerError` with the reason and the command's
/// last stderr line.
@Suite struct ExternalTrainerFailureTests {
    struct Case: Sendable, CustomStringConvertible {
        var description: String
        /// Shell lines run after `echo 'site note' >&2`; `$GOOD`, `$WRONG_SHAPE`, `$WRONG_NAME`,
        /// `$WRONG_DTYPE` and `$EXTRA` are paths of prepared update files.
        var command: String
        var expected: [String]
    }

    static let cases: [Case] = [
        Case(description: "non-zero exit", command: "exit 3", expected: ["exited with status 3"]),
        Case(
            description: "killed by signal", command: "kill -9 $$",
            expected: ["killed by signal 9 (SIGKILL)", "OOM killer"]),
        Case(
            description: "child killed by SIGKILL", command: "sh -c 'kill -9 $$'",
            expected: ["exited with status 137, probably because signal 9 (SIGKILL) killed it", "exec", "OOM killer"]),
        Case(
            description: "child killed by SIGTERM", command: "sh -c 'kill -TERM $$'",
            expected: ["exited with status 143, probably because signal 15 (SIGTERM) killed it"]),
        Case(description: "missing update", command: "true", expected: ["wrote no update", "DCF_UPDATE_PATH"]),
        Case(
            description: "malformed update", command: "echo 'not safetensors' > \"$DCF_UPDATE_PATH\"",
            expected: ["is not a valid safetensors file"]),
        Case(
            description: "wrong shape", command: "cp \"$WRONG_SHAPE\" \"$DCF_UPDATE_PATH\"",
            expected: ["tensor \"0.weight\" is F32 [4, 3] but the global model's is F32 [3, 4]"]),
        Case(
            description: "missing tensor", command: "cp \"$WRONG_NAME\" \"$DCF_UPDATE_PATH\"",
            expected: ["tensor \"2.bias\" (F32 [2]) is missing", "tensor \"2.b\" is not in the global model"]),
        Case(
            description: "extra tensor", command: "cp \"$EXTRA\" \"$DCF_UPDATE_PATH\"",
            expected: ["tensor \"optimizer.step\" is not in the global model"]),
        Case(
            description: "wrong dtype", command: "cp \"$WRONG_DTYPE\" \"$DCF_UPDATE_PATH\"",
            expected: ["tensor \"0.bias\" is F64 [3] but the global model's is F32 [3]"]),
        Case(
            description: "missing example count", command: "cp \"$GOOD\" \"$DCF_UPDATE_PATH\"",
            expected: ["reported no example count"]),
        Case(
            description: "zero example count",
            command: "cp \"$GOOD\" \"$DCF_UPDATE_PATH\"; echo '{\"num_examples\": 0}' > \"$DCF_METRICS_PATH\"",
            expected: ["\"num_examples\" 0.0; expected a positive integer"]),
        Case(
            description: "fractional example count",
            command: "cp \"$GOOD\" \"$DCF_UPDATE_PATH\"; echo '{\"num_examples\": 2.5}' > \"$DCF_METRICS_PATH\"",
            expected: ["\"num_examples\" 2.5; expected a positive integer"]),
        Case(
            description: "non-numeric metric",
            command: "cp \"$GOOD\" \"$DCF_UPDATE_PATH\"; echo '{\"num_examples\": 5, \"train_loss\": \"low\"}' "
                + "> \"$DCF_METRICS_PATH\"",
            expected: ["\"train_loss\" that is not a finite number"]),
        Case(
            description: "metrics not JSON",
            command: "cp \"$GOOD\" \"$DCF_UPDATE_PATH\"; echo 'loss=0.5' > \"$DCF_METRICS_PATH\"",
            expected: ["is not a JSON object"]),
        Case(
            description: "disagreeing example counts",
            command: "cp \"$COUNTED\" \"$DCF_UPDATE_PATH\"; echo '{\"num_examples\": 9}' > \"$DCF_METRICS_PATH\"",
            expected: ["the example counts disagree", "\"dcf.num_examples\" is 40", "is 9"]),
    ]

    @Test(arguments: cases) func failureThrowsWithStderrTail(_ testCase: Case) async throws {
        let fixture = try ExternalTrainerFixture()
        defer { fixture.remove() }
        let shapes = try ExternalTrainerFixture.tensorShapes
        let environment = [
            "GOOD": try fixture.writeUpdate("good.safetensors", tensors: shapes),
            "COUNTED": try fixture.writeUpdate(
                "counted.safetensors", tensors: shapes, metadata: [UpdateMetadata.numExamplesKey: "40"]),
            "WRONG_SHAPE": try fixture.writeUpdate(
                "wrong-shape.safetensors", tensors: shapes.map { $0.name == "0.weight" ? ($0.name, [4, 3]) : $0 }),
            "WRONG_NAME": try fixture.writeUpdate(
                "wrong-name.safetensors", tensors: shapes.map { $0.name == "2.bias" ? ("2.b", $0.shape) : $0 }),
            "EXTRA": try fixture.writeUpdate("extra.safetensors", tensors: shapes + [("optimizer.step", [])]),
            "WRONG_DTYPE": try fixture.writeUpdate("wrong-dtype.safetensors", tensors: shapes, dtype: .float64),
        ]
        let trainer = fixture.trainer("echo 'site note' >&2\n" + testCase.command, extraEnvironment: environment)
        let error = await #expect(throws: AgentTrainerError.self) { try await fixture.train(trainer) }
        let message = error?.description ?? ""
        for part in testCase.expected {
            #expect(message.contains(part), "\(message)")
        }
        #expect(message.contains("last lines of its stderr: site note"), "\(message)")
    }

    @Test func wrongDTypeFailsForEveryTensor() async throws {
        // All four tensors are F64, so the message lists each, so a site sees the whole problem at once.
        let fixture = try ExternalTrainerFixture()
        defer { fixture.remove() }
        let update = try fixture.writeUpdate(
            "f64.safetensors", tensors: try ExternalTrainerFixture.tensorShapes, dtype: .float64)
        let trainer = fixture.trainer("cp '\(update)' \"$DCF_UPDATE_PATH\"")
        let error = await #expect(throws: AgentTrainerError.self) { try await fixture.train(trainer) }
        for name in ["0.weight", "0.bias", "2.weight", "2.bias"] {
            #expect(error?.description.contains("tensor \"\(name)\" is F64") == true, "\(String(describing: error))")
        }
        #expect(error?.description.contains("the command wrote nothing to stderr") == true)
    }
}
