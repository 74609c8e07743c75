// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

/// A damaged newest model in a state directory that no longer stores the version before it, as with
/// `keep_versions = 1`. The start-up message must not point the operator at resuming from that deleted version.
@Suite struct ServerdDamagedNewestOnlyTests {
    @Test func damagedOnlyVersionNamesNoDeletedVersion() async throws {
        let states = ServerdDamagedStateTests()
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        try await states.stateAtVersion2(fixture, openRound: true)
        // keep_versions = 1 would have deleted version 1 after the round that stored version 2.
        try FileManager.default.removeItem(atPath: fixture.stateDirectory + "/models/v1.safetensors")
        let model = fixture.stateDirectory + "/models/v2.safetensors"
        try ServerdDamagedStateTests.ModelDamage.flippedBit.apply(to: model)

        let (status, output) = try await states.startExpectingExit(fixture)
        #expect(status == 78, "output: \(output)")
        #expect(output.contains("so the file changed on disk"), "output: \(output)")
        // Version 1 is not stored, so moving version 2 out cannot lead to resuming at version 1.
        #expect(!output.contains("resume at version 1"), "output: \(output)")
        #expect(output.contains("no longer holds version 1"), "output: \(output)")
        #expect(output.contains("to start a new federation"), "output: \(output)")
    }
}
