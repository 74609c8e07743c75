// SPDX-License-Identifier: Apache-2.0
import Foundation

/// A preloaded library that makes setting any user extended attribute fail with a chosen error while a switch file
/// exists: `ENOTSUP` as on a file system without user attributes, or another error such as `EACCES` from a
/// security module.
///
/// The library is compiled at test time with the C compiler on the `PATH`, as `KillAtRename` is. It replaces
/// glibc's `setxattr`, `lsetxattr` and `fsetxattr`; attributes outside the `user.` namespace pass through.
public struct DeniedExtendedAttributes: Sendable {
    private let fault: SwitchedFault

    /// Compiles the library into `directory`. Setting attributes fails only after `deny()`.
    ///
    /// - Throws: `LaunchedProcessError` when no C compiler is found or compiling fails.
    public init(directory: String) throws {
        fault = try SwitchedFault(directory: directory, name: "denied-xattr", source: Self.source)
    }

    /// Returns the environment that makes setting user attributes in a launched program fail with `errno` while
    /// the switch file exists.
    public func environment(failingWith errno: Int32) -> [String: String] {
        ["LD_PRELOAD": fault.libraryPath, "DCF_TEST_DENY_XATTR_WHILE": fault.switchFile,
         "DCF_TEST_DENY_XATTR_ERRNO": String(errno)]
    }

    /// Makes setting user attributes fail from now on.
    public func deny() throws {
        try fault.turnOn()
    }

    private static let source = """
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <errno.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/types.h>
        #include <unistd.h>

        /* Returns the error that setting attribute `name` fails with, or 0 when it does not fail: it fails while the
           switch file exists and the name is a user attribute. */
        static int denied(const char *name) {
            const char *flag = getenv("DCF_TEST_DENY_XATTR_WHILE");
            const char *code = getenv("DCF_TEST_DENY_XATTR_ERRNO");
            if (flag == NULL || code == NULL || name == NULL || strncmp(name, "user.", 5) != 0) return 0;
            int saved = errno;
            int fails = access(flag, F_OK) == 0 ? atoi(code) : 0;
            errno = saved;
            return fails;
        }

        int setxattr(const char *path, const char *name, const void *value, size_t size, int flags) {
            int code = denied(name);
            if (code != 0) { errno = code; return -1; }
            int (*next)(const char *, const char *, const void *, size_t, int) =
                (int (*)(const char *, const char *, const void *, size_t, int))dlsym(RTLD_NEXT, "setxattr");
            return next(path, name, value, size, flags);
        }

        int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags) {
            int code = denied(name);
            if (code != 0) { errno = code; return -1; }
            int (*next)(const char *, const char *, const void *, size_t, int) =
                (int (*)(const char *, const char *, const void *, size_t, int))dlsym(RTLD_NEXT, "lsetxattr");
            return next(path, name, value, size, flags);
        }

        int fsetxattr(int fd, const char *name, const void *value, size_t size, int flags) {
            int code = denied(name);
            if (code != 0) { errno = code; return -1; }
            int (*next)(int, const char *, const void *, size_t, int) =
                (int (*)(int, const char *, const void *, size_t, int))dlsym(RTLD_NEXT, "fsetxattr");
            return next(fd, name, value, size, flags);
        }
        """
}
