// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

/// A worker registry lost while the server was down: the start must not delete the open round's acknowledged
/// updates as those of unknown workers, and must tell the operator that the registry was reset.
extension ServerdDamagedStateTests {
    /// How a test resets the registry database.
    enum RegistryReset: String, CaseIterable, Sendable {
        case truncated
        case deleted

        func apply(to path: String) throws {
            switch self {
            case .truncated:
                let handle = try #require(FileHandle(forUpdatingAtPath: path))
                defer { try? handle.close() }
                try handle.truncate(atOffset: 0)
            case .deleted:
                try FileManager.default.removeItem(atPath: path)
            }
        }
    }

    /// With updates in the open round, a reset registry stops the start, names the file and the fix, and leaves
    /// both the round and the registry file as they were.
    @Test(arguments: RegistryReset.allCases)
    func resetRegistryWithOpenRoundStopsStart(_ reset: RegistryReset) async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        try await stateAtVersion2(fixture, openRound: true)
        let state = fixture.stateDirectory
        let registry = state + "/registry.sqlite"
        let round = try FileManager.default.contentsOfDirectory(atPath: state + "/rounds/from-v2")
        #expect(round.count == 1)
        try reset.apply(to: registry)

        let (status, output) = try await startExpectingExit(fixture)
        #expect(status == 78, "output: \(output)")
        #expect(output.contains(registry), "output: \(output)")
        #expect(output.contains("Restore the registry from a backup"), "output: \(output)")
        #expect(output.contains(state + "/rounds/from-v2"), "output: \(output)")
        #expect(!output.contains("listening"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: state + "/rounds/from-v2") == round)
        switch reset {
        case .truncated:
            let size = try FileManager.default.attributesOfItem(atPath: registry)[.size] as? Int
            #expect(size == 0, "the start wrote to the reset registry")
        case .deleted:
            #expect(!FileManager.default.fileExists(atPath: registry), "the start created a new registry")
        }
    }

    /// Without an open round nothing acknowledged is lost, so the server starts, but it warns that the registry
    /// was created anew although models/ contains versions after the first, and names the file to restore.
    @Test func resetRegistryWithoutOpenRoundWarns() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        try await stateAtVersion2(fixture, openRound: false)
        let registry = fixture.stateDirectory + "/registry.sqlite"
        try RegistryReset.deleted.apply(to: registry)

        let server = try fixture.launch(logName: "serverd-reset.log")
        defer { server.process.terminate(signal: SIGKILL) }
        let line = try server.process.waitForLine(containing: "worker registry")
        #expect(line.contains(" warning "), "line: \(line)")
        #expect(line.contains(registry), "line: \(line)")
        #expect(line.contains("restore"), "line: \(line)")
        #expect(try server.stop() == 0)
    }
}
