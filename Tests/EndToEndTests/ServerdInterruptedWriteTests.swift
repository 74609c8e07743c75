// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation
import TestSupport
import Testing

/// Kills `dcf-serverd` at an exact step of storing a round, through a preloaded `rename`, and checks what the
/// restarted server makes of the state directory.
@Suite struct ServerdInterruptedWriteTests {
    /// The renames of storing a round with its single update, in order: the staged round record, the new version,
    /// and the chart, which comes after the record is in `history.jsonl` and before the staged copy is removed.
    /// A kill before any of them must leave no temporary file, and the restart must store version 2 with exactly
    /// one record.
    @Test(arguments: [
        (renamedFile: "/history-pending.json", staged: false), ("/models/v2.safetensors", true),
        ("/history.svg", true),
    ])
    func killAtRenameLeavesNoLeftovers(renamedFile: String, staged: Bool) async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let library = try KillAtRename(directory: fixture.directory.path)
        let crashing = try fixture.launch(
            environment: library.environment(killingAtRenameOnto: renamedFile), logName: "serverd-killed.log")
        defer { crashing.process.terminate(signal: SIGKILL) }
        let worker = try crashing.worker(keyFile: fixture.workerKeyFiles[0])
        _ = try await worker.registerWorker()
        // The server dies while it stores the round, so this send gets no reply; the task is cancelled below.
        let sending = Task { try await worker.sendModelUpdate(try ServerdFixture.update(from: 1)) }
        defer { sending.cancel() }
        try await waitUntil("dcf-serverd killed itself at the rename onto \(renamedFile)", bound: 30) {
            !crashing.process.isRunning
        }

        let state = fixture.stateDirectory
        let directory = (state + renamedFile as NSString).deletingLastPathComponent
        let temporary = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix(".") }
        #expect(!temporary.isEmpty, "the kill came before a temporary file was renamed onto \(renamedFile)")
        #expect(FileManager.default.fileExists(atPath: state + "/history-pending.json") == staged)

        let server = try fixture.launch(logName: "serverd-restarted.log")
        defer { server.process.terminate(signal: SIGKILL) }
        let names = try FileManager.default.contentsOfDirectory(atPath: state)
        #expect(names.filter { $0.hasPrefix(".") } == [], "temporary files left in the state directory")
        let models = try FileManager.default.contentsOfDirectory(atPath: state + "/models")
        #expect(models.sorted() == ["v1.safetensors", "v2.safetensors"])
        #expect(!names.contains("history-pending.json"))
        #expect(try server.status().modelVersion == 2)
        let history = try String(contentsOfFile: state + "/history.jsonl", encoding: .utf8)
        let versions = try history.split(separator: "\n").map { line in
            try JSONDecoder().decode(RecordVersion.self, from: Data(line.utf8)).version
        }
        #expect(versions == [2])
    }

    /// A round that finds an earlier round's record still staged appends that record first. Here the recovery at
    /// the start of round 2 fails (a symbolic link is in the staged file's place), the appends work, and the
    /// server dies at the chart's rename after the earlier record is appended. The restart must end the history
    /// with both rounds, in version order.
    @Test func killAfterEarlierRecordKeepsOrder() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let state = fixture.stateDirectory
        // A directory where the history file should be makes round 1's append fail, even as root.
        try FileManager.default.createDirectory(atPath: state + "/history.jsonl", withIntermediateDirectories: false)
        let library = try KillAtRename(directory: fixture.directory.path)
        let crashing = try fixture.launch(
            environment: library.environment(killingAtRenameOnto: "/history.svg"), logName: "serverd-killed.log")
        defer { crashing.process.terminate(signal: SIGKILL) }
        let worker = try crashing.worker(keyFile: fixture.workerKeyFiles[0])
        _ = try await worker.registerWorker()
        _ = try await worker.sendModelUpdate(try ServerdFixture.update(from: 1))
        try await waitUntil("version 2 stored with its record staged", bound: 30) {
            FileManager.default.fileExists(atPath: state + "/models/v2.safetensors")
                && FileManager.default.fileExists(atPath: state + "/history-pending.json")
        }
        try FileManager.default.removeItem(atPath: state + "/history.jsonl")
        let copy = fixture.directory.file("staged-copy.json")
        try FileManager.default.moveItem(atPath: state + "/history-pending.json", toPath: copy)
        try FileManager.default.createSymbolicLink(atPath: state + "/history-pending.json", withDestinationPath: copy)

        // The server dies while it stores the round, so this send gets no reply; the task is cancelled below.
        let sending = Task { try await worker.sendModelUpdate(try ServerdFixture.update(from: 2)) }
        defer { sending.cancel() }
        try await waitUntil("dcf-serverd killed itself at the rename onto history.svg", bound: 30) {
            !crashing.process.isRunning
        }

        let server = try fixture.launch(logName: "serverd-restarted.log")
        defer { server.process.terminate(signal: SIGKILL) }
        #expect(try server.status().modelVersion == 3)
        let history = try String(contentsOfFile: state + "/history.jsonl", encoding: .utf8)
        let versions = try history.split(separator: "\n").map { line in
            try JSONDecoder().decode(RecordVersion.self, from: Data(line.utf8)).version
        }
        #expect(versions == [2, 3])
        #expect(!FileManager.default.fileExists(atPath: state + "/history-pending.json"))
    }
}

/// The version field of a `history.jsonl` record.
private struct RecordVersion: Decodable {
    let version: Int
}
