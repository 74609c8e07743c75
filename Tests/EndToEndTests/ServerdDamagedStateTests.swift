// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation
import TestSupport
import Testing

/// Damages a state directory that a real `dcf-serverd` wrote, one thing at a time, and checks that the next start
/// stops with a message naming the file and the fix, and changes nothing.
@Suite struct ServerdDamagedStateTests {
    /// Runs round 1 to version 2, then, with `openRound`, stores one update of the round from version 2 with
    /// update_lim 2 so the round stays open. Stops the server with SIGTERM.
    func stateAtVersion2(_ fixture: ServerdFixture, openRound: Bool) async throws {
        let server = try fixture.launch(logName: "serverd-1.log")
        defer { server.process.terminate(signal: SIGKILL) }
        let worker = try server.worker(keyFile: fixture.workerKeyFiles[0])
        _ = try await worker.registerWorker()
        _ = try await worker.sendModelUpdate(try ServerdFixture.update(from: 1))
        #expect(try server.stop() == 0)
        guard openRound else { return }

        let second = try fixture.launch(["--update-lim", "2"], logName: "serverd-2.log")
        defer { second.process.terminate(signal: SIGKILL) }
        let reply = try await second.worker(keyFile: fixture.workerKeyFiles[0])
            .sendModelUpdate(try ServerdFixture.update(from: 2))
        #expect(reply.message.contains("1 of 2 updates"), "reply: \(reply.message)")
        #expect(try second.stop() == 0)
    }

    /// Starts the server on the damaged state directory and returns its exit status and output. A server still
    /// running after 60 s is killed, and the status is then -1.
    func startExpectingExit(_ fixture: ServerdFixture) async throws -> (status: Int32, output: String) {
        let process = try LaunchedProcess(
            executable: try BuiltProducts.path("dcf-serverd"),
            arguments: ["run", "--config", fixture.configFile, "--update-lim", "2"],
            logFile: fixture.directory.file("serverd-damaged.log"))
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        guard !process.isRunning else {
            process.terminate(signal: SIGKILL)
            return (-1, process.output)
        }
        return (process.waitForExit(), process.output)
    }

    /// Without the newest model, the server must not resume at the one before: workers already hold the newer
    /// version, and the open round's acknowledged updates would be deleted as those of an old round.
    @Test func missingNewestModelWithOpenRound() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        try await stateAtVersion2(fixture, openRound: true)
        let state = fixture.stateDirectory
        let round = try FileManager.default.contentsOfDirectory(atPath: state + "/rounds/from-v2")
        #expect(round.count == 1)
        try FileManager.default.removeItem(atPath: state + "/models/v2.safetensors")

        let (status, output) = try await startExpectingExit(fixture)
        #expect(status == 78, "output: \(output)")
        #expect(output.contains(state + "/models/v2.safetensors"), "output: \(output)")
        #expect(output.contains("Restore it from a backup"), "output: \(output)")
        #expect(!output.contains("listening"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: state + "/rounds/from-v2") == round)
        #expect(try FileManager.default.contentsOfDirectory(atPath: state + "/models") == ["v1.safetensors"])
    }

    /// The history alone shows that version 2 was stored when no round is open.
    @Test func missingNewestModelFromHistory() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        try await stateAtVersion2(fixture, openRound: false)
        let state = fixture.stateDirectory
        try FileManager.default.removeItem(atPath: state + "/models/v2.safetensors")

        let (status, output) = try await startExpectingExit(fixture)
        #expect(status == 78, "output: \(output)")
        #expect(output.contains(state + "/models/v2.safetensors"), "output: \(output)")
        #expect(output.contains(state + "/history.jsonl"), "output: \(output)")
        #expect(!output.contains("listening"))
    }

    /// An operator who deletes `models/` to start over from a new `fedavg.initial_model` keeps the history of the
    /// old federation. The start stops, and the message names what to move for a new federation instead of
    /// offering to resume at a version 0 that never existed.
    @Test func deletedModelsDirectoryNamesNewFederation() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        try await stateAtVersion2(fixture, openRound: true)
        let state = fixture.stateDirectory
        try FileManager.default.removeItem(atPath: state + "/models")

        let (status, output) = try await startExpectingExit(fixture)
        #expect(status == 78, "output: \(output)")
        #expect(output.contains("fedavg.initial_model"), "output: \(output)")
        #expect(output.contains("history.jsonl"), "output: \(output)")
        #expect(!output.contains("version 0"), "output: \(output)")
        #expect(!output.contains("listening"))
    }

    /// How a test damages a stored update of the open round.
    enum UpdateDamage: String, CaseIterable, Sendable {
        case truncated
        case garbledHeader

        func apply(to path: String) throws {
            let handle = try #require(FileHandle(forUpdatingAtPath: path))
            defer { try? handle.close() }
            switch self {
            case .truncated:
                try handle.truncate(atOffset: 100)
            case .garbledHeader:
                try handle.seek(toOffset: 12)
                try handle.write(contentsOf: Data("XXXX".utf8))
            }
        }
    }

    /// A stored update that no longer parses was acknowledged to its worker, which does not send it again. The
    /// server must not delete it and go on: it stops and names the file.
    @Test(arguments: UpdateDamage.allCases)
    func damagedStoredUpdateStopsStart(_ damage: UpdateDamage) async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        try await stateAtVersion2(fixture, openRound: true)
        let round = fixture.stateDirectory + "/rounds/from-v2"
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: round).first)
        let file = round + "/" + name
        try damage.apply(to: file)
        let damaged = try Data(contentsOf: URL(fileURLWithPath: file))

        let (status, output) = try await startExpectingExit(fixture)
        #expect(status == 78, "output: \(output)")
        #expect(output.contains(file), "output: \(output)")
        #expect(!output.contains("listening"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == damaged, "the damaged update was changed")
    }

    /// An update file in the open round from a worker the registry does not know, such as a copy made by hand,
    /// must not shape the next version. The restart drops it before the round can close, even when it fills it.
    @Test func strayUpdateNotAggregated() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        try await stateAtVersion2(fixture, openRound: true)
        let round = fixture.stateDirectory + "/rounds/from-v2"
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: round).first)
        let stray = round + "/" + String(repeating: "a", count: 64) + ".safetensors"
        try FileManager.default.copyItem(atPath: round + "/" + name, toPath: stray)

        let server = try fixture.launch(["--update-lim", "2"], logName: "serverd-stray.log")
        defer { server.process.terminate(signal: SIGKILL) }
        _ = try server.process.waitForLine(containing: "dropped the update of a worker that is no longer registered")
        let status = try server.status()
        #expect(status.modelVersion == 2)
        #expect(status.round["updates"] == .integer(1))
        #expect(!FileManager.default.fileExists(atPath: fixture.stateDirectory + "/models/v3.safetensors"))
    }

    /// A damaged update file of a worker the registry does not list as registered would be dropped as soon as the
    /// registry is read, so it must not stop the start. The server deletes it with a warning naming the file and
    /// the worker, and keeps the round's other update.
    @Test(arguments: UpdateDamage.allCases)
    func damagedUnknownWorkerUpdateDropped(_ damage: UpdateDamage) async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        try await stateAtVersion2(fixture, openRound: true)
        let round = fixture.stateDirectory + "/rounds/from-v2"
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: round).first)
        let unknown = String(repeating: "a", count: 64)
        let stray = round + "/" + unknown + ".safetensors"
        try FileManager.default.copyItem(atPath: round + "/" + name, toPath: stray)
        try damage.apply(to: stray)

        let server = try fixture.launch(["--update-lim", "2"], logName: "serverd-damaged-stray.log")
        defer { server.process.terminate(signal: SIGKILL) }
        let warning = try server.process.waitForLine(containing: "dropping a damaged stored update")
        #expect(warning.contains(stray), "log line: \(warning)")
        #expect(warning.contains(WorkerID(unknown)!.short), "log line: \(warning)")
        #expect(!FileManager.default.fileExists(atPath: stray))
        let status = try server.status()
        #expect(status.modelVersion == 2)
        #expect(status.round["updates"] == .integer(1))
        #expect(try FileManager.default.contentsOfDirectory(atPath: round) == [name])
    }

    /// The key list is applied when the registry opens, after the open round is recovered. A worker whose key left
    /// the key list while the server was down is unregistered then, so a damaged update of theirs is dropped with a
    /// warning at the start, as for a worker the registry does not list.
    @Test func damagedUpdateOfWorkerOffKeyListDropped() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        try await stateAtVersion2(fixture, openRound: true)
        let round = fixture.stateDirectory + "/rounds/from-v2"
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: round).first)
        try UpdateDamage.allCases[0].apply(to: round + "/" + name)
        try ServerdFixture.write(try ServerdFixture.publicKeyHex(fixture.workerKeyFiles[1]) + "\n", to: fixture.keyListFile)

        let server = try fixture.launch(["--update-lim", "2"], logName: "serverd-damaged-removed.log")
        defer { server.process.terminate(signal: SIGKILL) }
        let warning = try server.process.waitForLine(containing: "dropping a damaged stored update")
        #expect(warning.contains(name), "log line: \(warning)")
        let status = try server.status()
        #expect(status.modelVersion == 2)
        #expect(status.round["updates"] == .integer(0))
    }

    /// How a test damages the newest stored model.
    enum ModelDamage: String, CaseIterable, Sendable {
        case truncated
        /// The lowest bit of the last value flipped: the value stays finite and the file parses.
        case flippedBit
        /// A valid model of other tensors, without the stored digest, as a copy that did not keep extended
        /// attributes would be, so that the layout check and not the digest finds it.
        case otherLayout

        func apply(to path: String) throws {
            switch self {
            case .truncated:
                let handle = try #require(FileHandle(forUpdatingAtPath: path))
                defer { try? handle.close() }
                try handle.truncate(atOffset: 100)
            case .flippedBit:
                let handle = try #require(FileHandle(forUpdatingAtPath: path))
                defer { try? handle.close() }
                let end = try handle.seekToEnd()
                try handle.seek(toOffset: end - 4)
                var value = try #require(try handle.read(upToCount: 1))
                value[value.startIndex] ^= 1
                try handle.seek(toOffset: end - 4)
                try handle.write(contentsOf: value)
            case .otherLayout:
                var writer = SafeTensorsWriter(metadata: [:])
                try writer.add(name: "layer.weight", shape: [3], values: [Float](repeating: 0, count: 3))
                // Written to a new file that replaces the old one, so the stored digest goes with the old file.
                try writer.serialize().write(to: URL(fileURLWithPath: path), options: .atomic)
            }
        }

        /// Text the start-up error must contain besides the file name.
        var expected: String {
            switch self {
            case .truncated, .flippedBit: "so the file changed on disk"
            case .otherLayout: "differ from those of version 1"
            }
        }
    }

    /// A damaged newest model, or one whose tensors differ from the version before, must not be served, even when
    /// it still parses. The server stops with a message that names the file and how to restore it, and changes
    /// nothing.
    @Test(arguments: ModelDamage.allCases)
    func damagedNewestModelStopsStart(_ damage: ModelDamage) async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        try await stateAtVersion2(fixture, openRound: true)
        let model = fixture.stateDirectory + "/models/v2.safetensors"
        try damage.apply(to: model)
        let damaged = try Data(contentsOf: URL(fileURLWithPath: model))

        let (status, output) = try await startExpectingExit(fixture)
        #expect(status == 78, "output: \(output)")
        #expect(output.contains(model), "output: \(output)")
        #expect(output.contains("Restore it from a backup"), "output: \(output)")
        #expect(output.contains(damage.expected), "output: \(output)")
        #expect(!output.contains("listening"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: model)) == damaged, "the damaged model was changed")
        let round = try FileManager.default.contentsOfDirectory(atPath: fixture.stateDirectory + "/rounds/from-v2")
        #expect(round.count == 1)
    }
}
