// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Locates an executable of this package built by `swift build`.
///
/// `DCF_BIN_DIR` overrides the directory; otherwise the binary is looked up next to the test bundle (the build
/// directory `swift test` uses) and then in `.build/debug` of the package root.
enum BuiltBinary {
    struct Missing: Error, CustomStringConvertible {
        let name: String
        let searched: [String]
        var description: String {
            "the \(name) binary was not found (looked in \(searched.joined(separator: ", "))); run "
                + "\"swift build\" (or \"make test\") first, or set DCF_BIN_DIR to the directory holding it"
        }
    }

    static func path(_ name: String) throws -> String {
        var directories: [String] = []
        if let override = ProcessInfo.processInfo.environment["DCF_BIN_DIR"] { directories.append(override) }
        let bundleDirectory = Bundle.main.bundleURL.deletingLastPathComponent().path
        directories.append(bundleDirectory)
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            directories.append(bundle.bundleURL.deletingLastPathComponent().path)
        }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        directories.append(packageRoot.appendingPathComponent(".build/debug").path)
        for directory in directories {
            let candidate = URL(fileURLWithPath: directory).appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw Missing(name: name, searched: directories)
    }
}
