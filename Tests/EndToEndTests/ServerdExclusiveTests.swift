// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
import TestSupport

/// A second `dcf-serverd` must not share a running one's state directory or port.
@Suite struct ServerdExclusiveTests {
    @Test func secondServerOnSameStateDirectoryExits() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let first = try fixture.launch()
        defer { _ = try? first.stop() }

        let second = try LaunchedProcess(
            executable: try BuiltProducts.path("dcf-serverd"), arguments: ["run", "--config", fixture.configFile],
            logFile: fixture.directory.file("second.log"))
        #expect(second.waitForExit() == 69, "\(second.output)")
        #expect(second.output.contains("another dcf-serverd is using the state directory"), "\(second.output)")
        #expect(try first.status().modelVersion == 1)
    }

    @Test func secondServerOnSamePortExits() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let first = try fixture.launch()
        defer { _ = try? first.stop() }

        let other = try ServerdFixture()
        defer { other.remove() }
        let second = try LaunchedProcess(
            executable: try BuiltProducts.path("dcf-serverd"),
            arguments: ["run", "--config", other.configFile, "--listen", "127.0.0.1:\(first.port)"],
            logFile: other.directory.file("second.log"))
        #expect(second.waitForExit() == 69, "\(second.output)")
        #expect(second.output.contains("Address already in use"), "\(second.output)")
        // The failed start stored nothing: no lock file, no initial model version, no registry.
        let stored = try FileManager.default.contentsOfDirectory(atPath: other.stateDirectory)
        #expect(stored.isEmpty, "\(stored)")
    }
}
