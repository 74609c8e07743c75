// SPDX-License-Identifier: Apache-2.0
import DCFServer
import DCFSupport
import Foundation
import Testing

/// The error when the registry database in the state directory cannot be read.
@Suite struct RegistryFileErrorTests {
    /// A damaged `registry.sqlite` stops the start with an error naming the file and what to do, instead of
    /// SQLite's "file is not a database" alone.
    @Test func damagedDatabaseNamesFileAndFix() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try directory.file("registry.sqlite", contents: "not an SQLite database, just text\n")
        let logger = Logger(component: "test", sink: LogSink(level: .critical) { _ in })
        let error = try #require(throws: (any Error).self) {
            _ = try WorkerRegistry(stateDirectory: directory.url, mode: .safe(keyList: nil), logger: logger)
        }
        let text = String(describing: error)
        #expect(text.contains(database.path), "\(text)")
        #expect(text.contains("restore it from a backup"), "\(text)")
    }
}
