// SPDX-License-Identifier: Apache-2.0
public import Foundation

/// Paths of the package's built executables, for end-to-end tests that start the real binaries.
public enum BuiltProducts {
    /// The package root, found from this file's location (Tests/TestSupport/BuiltProducts.swift).
    public static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The directory holding the executables: `$DCF_BUILD_DIR` when set, else `.build/debug`.
    public static var directory: URL {
        if let override = ProcessInfo.processInfo.environment["DCF_BUILD_DIR"] {
            return URL(fileURLWithPath: override)
        }
        return packageRoot.appendingPathComponent(".build/debug")
    }

    /// Returns the path of executable `name`.
    ///
    /// - Throws: `LaunchedProcessError` saying to build first when it does not exist.
    public static func path(_ name: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw LaunchedProcessError(
                message: "\(path) is missing; run 'swift build' (or 'make test', which builds first) before the tests")
        }
        return path
    }
}
