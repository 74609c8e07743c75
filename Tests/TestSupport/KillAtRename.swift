// SPDX-License-Identifier: Apache-2.0
import Foundation

/// A preloaded library that makes a program kill itself with SIGKILL when it calls `rename(2)` onto a chosen
/// file, so a test can crash a real binary at an exact step of a write-then-rename sequence.
///
/// The library is compiled at test time with the C compiler on the `PATH` (`cc`, `clang` or `gcc`). It replaces
/// glibc's `rename`, which Foundation and the product's own atomic writes call; `renameat` and `renameat2` pass
/// through unchanged.
public struct KillAtRename: Sendable {
    /// Path of the compiled library, for `LD_PRELOAD`.
    public let libraryPath: String

    /// Compiles the library into `directory`.
    ///
    /// - Throws: `LaunchedProcessError` when no C compiler is found or compiling fails.
    public init(directory: String) throws {
        let source = (directory as NSString).appendingPathComponent("kill-at-rename.c")
        libraryPath = (directory as NSString).appendingPathComponent("kill-at-rename.so")
        try Self.source.write(toFile: source, atomically: false, encoding: .utf8)
        try Self.compileLibrary(source: source, output: libraryPath)
    }

    /// Compiles the C file `source` into the shared library `output`.
    ///
    /// - Throws: `LaunchedProcessError` when no C compiler is found or compiling fails.
    static func compileLibrary(source: String, output: String) throws {
        guard let compiler = Self.findCompiler() else {
            throw LaunchedProcessError(message: "no C compiler (cc, clang or gcc) on the PATH to build \(source)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: compiler)
        process.arguments = ["-shared", "-fPIC", "-o", output, source, "-ldl"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw LaunchedProcessError(message: "\(compiler) failed to build \(source):\n\(text)")
        }
    }

    /// Returns the environment that makes a launched program kill itself at its first `rename` onto a path ending in
    /// `suffix`, before the rename happens.
    public func environment(killingAtRenameOnto suffix: String) -> [String: String] {
        ["LD_PRELOAD": libraryPath, "DCF_TEST_KILL_AT_RENAME_ONTO": suffix]
    }

    private static func findCompiler() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for name in ["cc", "clang", "gcc"] {
            for directory in path.split(separator: ":") {
                let candidate = "\(directory)/\(name)"
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        return nil
    }

    private static let source = """
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <signal.h>
        #include <stdlib.h>
        #include <string.h>

        int rename(const char *from, const char *to) {
            const char *suffix = getenv("DCF_TEST_KILL_AT_RENAME_ONTO");
            if (suffix != NULL && *suffix != '\\0') {
                size_t length = strlen(to), suffixLength = strlen(suffix);
                if (length >= suffixLength && strcmp(to + length - suffixLength, suffix) == 0) {
                    raise(SIGKILL);
                }
            }
            int (*next)(const char *, const char *) = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
            return next(from, to);
        }
        """
}
