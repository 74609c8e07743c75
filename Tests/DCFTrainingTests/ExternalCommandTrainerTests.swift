// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFTraining
import Foundation
import Testing

@Suite struct ExternalCommandTrainerTests {
    @Test func goodCommandProducesPayload() async throws {
        let fixture = try ExternalTrainerFixture()
        defer { fixture.remove() }
        let command = """
            echo "round=$DCF_ROUND version=$DCF_MODEL_VERSION worker=$DCF_WORKER_ID site=$SITE_NAME"
            echo "training on the site's data" >&2
            cp "$DCF_GLOBAL_MODEL" "$DCF_UPDATE_PATH"
            echo '{"num_examples": 12, "train_loss": 0.5, "eval_accuracy": 0.25}' > "$DCF_METRICS_PATH"
            """
        let trainer = fixture.trainer(command, extraEnvironment: ["SITE_NAME": "north"])
        let payload = try await fixture.train(trainer)

        let update = try SafeTensors(bytes: payload)
        let metadata = try UpdateMetadata(safetensorsMetadata: update.metadata)
        #expect(metadata.numExamples == 12)
        #expect(metadata.baseVersion == ExternalTrainerFixture.version)
        #expect(metadata.metrics == ["train_loss": 0.5, "eval_accuracy": 0.25])
        let global = try SafeTensors(bytes: fixture.globalModel)
        #expect(update.names.sorted() == global.names.sorted())
        for name in global.names {
            #expect(update.tensor(named: name)?.copyBytes() == global.tensor(named: name)?.copyBytes(), "\(name)")
        }
        #expect(fixture.log.contains("stdout: round=3 version=7 worker=site-a site=north"), "\(fixture.log)")
        #expect(fixture.log.contains("stderr: training on the site's data"), "\(fixture.log)")
    }

    @Test func exampleCountFromUpdateMetadata() async throws {
        let fixture = try ExternalTrainerFixture()
        defer { fixture.remove() }
        let update = try fixture.writeUpdate(
            "update.safetensors", tensors: ExternalTrainerFixture.tensorShapes,
            metadata: ["num_examples": "40", "format": "pt"])
        let payload = try await fixture.train(fixture.trainer("cp '\(update)' \"$DCF_UPDATE_PATH\""))

        let file = try SafeTensors(bytes: payload)
        let metadata = try UpdateMetadata(safetensorsMetadata: file.metadata)
        #expect(metadata.numExamples == 40)
        #expect(metadata.metrics.isEmpty)
        #expect(file.metadata["format"] == "pt")
        #expect(try file.tensor(named: "2.bias")?.floatValues() == [0.5, 0.5])
    }

    @Test func timeoutKillsProcessGroup() async throws {
        let fixture = try ExternalTrainerFixture()
        defer { fixture.remove() }
        let pidFile = fixture.directory.file("sleeper.pid")
        // The background sleep is a grandchild of the agent; only a process-group kill reaches it.
        let command = "echo 'loading data' >&2; sleep 60 & echo $! > '\(pidFile)'; wait"
        let error = await #expect(throws: AgentTrainerError.self) {
            try await fixture.train(fixture.trainer(command, timeout: .milliseconds(500)))
        }
        let message = error?.description ?? ""
        #expect(message.contains("timed out after 500ms"), "\(message)")
        #expect(message.contains("trainer.command_timeout (--command-timeout)"), "\(message)")
        #expect(message.contains("loading data"), "\(message)")
        let sleeper = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingWhitespace()))
        // The sleep closes its end of the output pipes, which ends the trainer's wait, just before it becomes a
        // zombie. On a busy machine that step can lag, so the check allows it a few seconds.
        for _ in 0..<100 where isRunning(sleeper) {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(!isRunning(sleeper), "the background sleep (pid \(sleeper)) is still running")
    }

    /// A background process with its output redirected kept running after a successful round, one more each
    /// round, and outlived the agent.
    @Test func leftoverProcessIsKilledAfterTheCommandExits() async throws {
        let fixture = try ExternalTrainerFixture()
        defer { fixture.remove() }
        let pidFile = fixture.directory.file("leftover.pid")
        let update = try fixture.writeUpdate(
            "update.safetensors", tensors: ExternalTrainerFixture.tensorShapes, metadata: ["num_examples": "40"])
        let command = "sleep 60 >/dev/null 2>&1 & echo $! > '\(pidFile)'; cp '\(update)' \"$DCF_UPDATE_PATH\""
        _ = try await fixture.train(fixture.trainer(command))
        let leftover = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingWhitespace()))
        for _ in 0..<100 where isRunning(leftover) {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(!isRunning(leftover), "the background sleep (pid \(leftover)) is still running")
    }

    @Test func timeoutSendsTermFirst() async throws {
        // The agent's threads block signals and the agent ignores SIGTERM; the command must still receive it.
        let fixture = try ExternalTrainerFixture()
        defer { fixture.remove() }
        let command = "trap 'echo got SIGTERM >&2; exit 5' TERM; sleep 60 & wait"
        let error = await #expect(throws: AgentTrainerError.self) {
            try await fixture.train(fixture.trainer(command, timeout: .milliseconds(300)))
        }
        #expect(error?.description.contains("got SIGTERM") == true, "\(String(describing: error))")
    }

    @Test func cancellationKillsCommand() async throws {
        let fixture = try ExternalTrainerFixture()
        defer { fixture.remove() }
        let pidFile = fixture.directory.file("command.pid")
        let trainer = fixture.trainer("echo $$ > '\(pidFile)'; sleep 60")
        let task = Task { try await fixture.train(trainer) }
        // Bounded wait for the command to start: 500 polls of 10 ms.
        for _ in 0..<500 where !FileManager.default.fileExists(atPath: pidFile) {
            try await Task.sleep(for: .milliseconds(10))
        }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        let shell = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingWhitespace()))
        #expect(!isRunning(shell), "the command's shell (pid \(shell)) is still running")
        // The agent killed the group itself, so nothing was left behind by the command.
        #expect(!fixture.log.contains("left processes running"), "\(fixture.log)")
    }

    @Test func reservedExtraEnvironmentRejected() async throws {
        let fixture = try ExternalTrainerFixture()
        defer { fixture.remove() }
        let trainer = fixture.trainer("true", extraEnvironment: ["DCF_ROUND": "1"])
        let error = await #expect(throws: AgentTrainerError.self) { try await fixture.train(trainer) }
        #expect(error?.description.contains("DCF_ROUND") == true, "\(String(describing: error))")
    }

    @Test func logsEveryOutputLine() async throws {
        let fixture = try ExternalTrainerFixture()
        defer { fixture.remove() }
        let command = """
            i=1; while [ $i -le 50 ]; do echo "step $i"; i=$((i + 1)); done
            printf 'no newline at the end' >&2
            exit 1
            """
        let error = await #expect(throws: AgentTrainerError.self) { try await fixture.train(fixture.trainer(command)) }
        #expect(error?.description.contains("no newline at the end") == true, "\(String(describing: error))")
        for step in [1, 25, 50] {
            #expect(fixture.log.contains("stdout: step \(step) "), "step \(step) missing from the log")
        }
    }
}

/// Whether `pid` names a live process; an exited child that is not reaped yet (a zombie) does not count.
private func isRunning(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let end = stat.lastIndex(of: ")")
    else { return false }
    return !stat[stat.index(after: end)...].hasPrefix(" Z")
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
