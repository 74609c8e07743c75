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

    /// A state directory that cannot be created, such as the default /var/lib/dcf for a user without
    /// permission there, is a configuration error that names the setting and the cause.
    @Test func uncreatableStateDirectoryExits() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let file = fixture.directory.file("plain-file")
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))

        let server = try LaunchedProcess(
            executable: try BuiltProducts.path("dcf-serverd"),
            arguments: ["run", "--config", fixture.configFile, "--state-dir", file + "/state"],
            logFile: fixture.directory.file("server.log"))
        #expect(server.waitForExit() == 78, "\(server.output)")
        #expect(server.output.contains("state.directory: cannot create the directory \(file)/state"), "\(server.output)")
        #expect(server.output.contains("\(file) is not a directory"), "\(server.output)")
        #expect(server.output.contains("(--state-dir)"), "\(server.output)")
        #expect(!server.output.contains("NSCocoaErrorDomain"), "\(server.output)")
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
