// SPDX-License-Identifier: Apache-2.0
import Foundation

/// A preloaded library that makes writes to files under one directory fail with `ENOSPC` while a switch file
/// exists, so a test can fill and free a real binary's disk without a mount namespace or a small file system.
///
/// The library is compiled at test time with the C compiler on the `PATH`, as `KillAtRename` is. It replaces
/// glibc's `write`, `pwrite`, `pwrite64`, `writev`, `pwritev`, `fallocate`, `fallocate64` and
/// `posix_fallocate`, which cover the product's own writes, Foundation's and SQLite's. It finds a descriptor's
/// path through `/proc/self/fd`, so writes to pipes, sockets and files elsewhere pass through unchanged.
/// Creating, renaming and deleting files still work, as they may on a file system that is full.
public struct FullDisk: Sendable {
    private let fault: SwitchedFault

    /// Path of the compiled library, for `LD_PRELOAD`.
    public var libraryPath: String { fault.libraryPath }
    /// The file whose existence makes writes fail.
    public var switchFile: String { fault.switchFile }

    /// Compiles the library into `directory`. The disk counts as full only after `fill()`.
    ///
    /// - Throws: `LaunchedProcessError` when no C compiler is found or compiling fails.
    public init(directory: String) throws {
        fault = try SwitchedFault(directory: directory, name: "full-disk", source: Self.source)
    }

    /// Returns the environment that makes a launched program's writes to files under `directory` fail with
    /// `ENOSPC` while the switch file exists.
    public func environment(failingWritesUnder directory: String) -> [String: String] {
        environment(failingWritesToPathsStartingWith: directory.hasSuffix("/") ? directory : directory + "/")
    }

    /// Returns the environment that makes a launched program's writes to files whose path starts with `prefix`
    /// fail with `ENOSPC` while the switch file exists, such as `<state>/spool/payload-` for one kind of file.
    public func environment(failingWritesToPathsStartingWith prefix: String) -> [String: String] {
        ["LD_PRELOAD": libraryPath, "DCF_TEST_FULL_DISK_UNDER": prefix, "DCF_TEST_FULL_DISK_WHILE": switchFile]
    }

    /// Makes the disk full: writes under the directory fail from now on.
    public func fill() throws {
        try fault.turnOn()
    }

    /// Frees the disk: writes under the directory work again.
    public func free() throws {
        try fault.turnOff()
    }

    private static let source = """
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <errno.h>
        #include <fcntl.h>
        #include <limits.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/types.h>
        #include <sys/uio.h>
        #include <unistd.h>

        /* Returns whether the disk counts as full for `fd`: the switch file exists and `fd` is a file under the
           directory. Saves and restores errno, because the checks may set it. */
        static int disk_full_for(int fd) {
            const char *under = getenv("DCF_TEST_FULL_DISK_UNDER");
            const char *flag = getenv("DCF_TEST_FULL_DISK_WHILE");
            if (under == NULL || flag == NULL || fd < 0) return 0;
            int saved = errno;
            int full = 0;
            if (access(flag, F_OK) == 0) {
                char link[64], target[PATH_MAX];
                snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
                ssize_t length = readlink(link, target, sizeof target - 1);
                if (length > 0) {
                    target[length] = '\\0';
                    full = strncmp(target, under, strlen(under)) == 0;
                }
            }
            errno = saved;
            return full;
        }

        #define NEXT(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

        ssize_t write(int fd, const void *buffer, size_t count) {
            if (count > 0 && disk_full_for(fd)) { errno = ENOSPC; return -1; }
            return NEXT(write)(fd, buffer, count);
        }

        ssize_t pwrite(int fd, const void *buffer, size_t count, off_t offset) {
            if (count > 0 && disk_full_for(fd)) { errno = ENOSPC; return -1; }
            return NEXT(pwrite)(fd, buffer, count, offset);
        }

        ssize_t pwrite64(int fd, const void *buffer, size_t count, off64_t offset) {
            if (count > 0 && disk_full_for(fd)) { errno = ENOSPC; return -1; }
            return NEXT(pwrite64)(fd, buffer, count, offset);
        }

        ssize_t writev(int fd, const struct iovec *vector, int count) {
            if (count > 0 && disk_full_for(fd)) { errno = ENOSPC; return -1; }
            return NEXT(writev)(fd, vector, count);
        }

        ssize_t pwritev(int fd, const struct iovec *vector, int count, off_t offset) {
            if (count > 0 && disk_full_for(fd)) { errno = ENOSPC; return -1; }
            return NEXT(pwritev)(fd, vector, count, offset);
        }

        int fallocate(int fd, int mode, off_t offset, off_t length) {
            if (disk_full_for(fd)) { errno = ENOSPC; return -1; }
            return NEXT(fallocate)(fd, mode, offset, length);
        }

        int fallocate64(int fd, int mode, off64_t offset, off64_t length) {
            if (disk_full_for(fd)) { errno = ENOSPC; return -1; }
            return NEXT(fallocate64)(fd, mode, offset, length);
        }

        int posix_fallocate(int fd, off_t offset, off_t length) {
            return disk_full_for(fd) ? ENOSPC : NEXT(posix_fallocate)(fd, offset, length);
        }
        """
}
