// SPDX-License-Identifier: Apache-2.0
import Foundation

/// A C library compiled at test time for `LD_PRELOAD`, whose fault acts only while a switch file exists, so a
/// test turns it on and off while the launched program runs. The library's source reads the switch file's path
/// from an environment variable that the wrapping type sets.
public struct SwitchedFault: Sendable {
    /// Path of the compiled library, for `LD_PRELOAD`.
    public let libraryPath: String
    /// The file whose existence turns the fault on; absent at first.
    public let switchFile: String

    /// Writes `source` to `directory/name.c` and compiles it into `directory/name.so`; the switch file is
    /// `directory/name.on`.
    ///
    /// - Throws: `LaunchedProcessError` when no C compiler is found or compiling fails.
    init(directory: String, name: String, source: String) throws {
        let base = (directory as NSString).appendingPathComponent(name)
        libraryPath = base + ".so"
        switchFile = base + ".on"
        try source.write(toFile: base + ".c", atomically: false, encoding: .utf8)
        try KillAtRename.compileLibrary(source: base + ".c", output: libraryPath)
    }

    /// Turns the fault on from now on.
    public func turnOn() throws {
        try Data().write(to: URL(fileURLWithPath: switchFile))
    }

    /// Turns the fault off from now on.
    public func turnOff() throws {
        try FileManager.default.removeItem(atPath: switchFile)
    }
}
