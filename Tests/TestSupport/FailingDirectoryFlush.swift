// SPDX-License-Identifier: Apache-2.0
import Foundation

/// A preloaded library that makes `fsync` of a directory whose path ends in a chosen suffix fail with `EIO` while a
/// switch file exists, so a test can see what a real binary does when the disk cannot flush a rename.
///
/// The library is compiled at test time with the C compiler on the `PATH`, as `KillAtRename` is. It replaces
/// glibc's `fsync`, which the product calls to flush files and directories; other descriptors pass through. It
/// finds a descriptor's path through `/proc/self/fd`.
public struct FailingDirectoryFlush: Sendable {
    private let fault: SwitchedFault

    /// Compiles the library into `directory`. Flushes fail only after `breakFlushes()`.
    ///
    /// - Throws: `LaunchedProcessError` when no C compiler is found or compiling fails.
    public init(directory: String) throws {
        fault = try SwitchedFault(directory: directory, name: "failing-directory-flush", source: Self.source)
    }

    /// Returns the environment that makes a launched program's `fsync` of a directory whose path ends in `suffix`
    /// fail while the switch file exists.
    public func environment(failingFlushOf suffix: String) -> [String: String] {
        ["LD_PRELOAD": fault.libraryPath, "DCF_TEST_FAIL_FLUSH_OF": suffix, "DCF_TEST_FAIL_FLUSH_WHILE": fault.switchFile]
    }

    /// Makes the flushes fail from now on.
    public func breakFlushes() throws {
        try fault.turnOn()
    }

    /// Makes the flushes work again.
    public func repairFlushes() throws {
        try fault.turnOff()
    }

    private static let source = """
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <errno.h>
        #include <limits.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/stat.h>
        #include <unistd.h>

        /* Returns whether flushing `fd` fails: the switch file exists and `fd` is a directory whose path ends in
           the suffix. Saves and restores errno, because the checks may set it. */
        static int flush_fails(int fd) {
            const char *suffix = getenv("DCF_TEST_FAIL_FLUSH_OF");
            const char *flag = getenv("DCF_TEST_FAIL_FLUSH_WHILE");
            if (suffix == NULL || flag == NULL || fd < 0) return 0;
            int saved = errno;
            int fails = 0;
            struct stat info;
            if (access(flag, F_OK) == 0 && fstat(fd, &info) == 0 && S_ISDIR(info.st_mode)) {
                char link[64], target[PATH_MAX];
                snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
                ssize_t length = readlink(link, target, sizeof target - 1);
                size_t suffixLength = strlen(suffix);
                if (length >= (ssize_t)suffixLength) {
                    target[length] = '\\0';
                    fails = strcmp(target + length - suffixLength, suffix) == 0;
                }
            }
            errno = saved;
            return fails;
        }

        int fsync(int fd) {
            if (flush_fails(fd)) { errno = EIO; return -1; }
            int (*next)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
            return next(fd);
        }
        """
}
