// SPDX-License-Identifier: Apache-2.0
public import Foundation

/// A fresh directory under the system temporary directory, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    /// The directory's URL.
    public let url: URL

    /// Creates a new empty directory whose name starts with `prefix`.
    public init(prefix: String = "dcf-test") throws {
        let name = "\(prefix)-\(UUID().uuidString)"
        url = FileManager.default.temporaryDirectory.appendingPathComponent(name, isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// The directory's file system path.
    public var path: String { url.path }

    /// Returns the path of `name` inside the directory; the file need not exist.
    public func file(_ name: String) -> String {
        url.appendingPathComponent(name).path
    }

    /// Deletes the directory and everything in it; errors are ignored because this runs in teardown.
    public func remove() {
        try? FileManager.default.removeItem(at: url)
    }
}
