// SPDX-License-Identifier: Apache-2.0
// Linux headers that Swift's Glibc module does not include: epoll and eventfd for the event loop, and
// glibc's allocator settings for the server and the load generator, early writeback of spool files, and the
// extended attributes that store an update file's body digest.
#ifndef DCF_CLINUX_SHIM_H
#define DCF_CLINUX_SHIM_H

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <malloc.h>
#include <sys/ioctl.h>
#include <sys/xattr.h>

static inline int CLinux_set_mmap_threshold(int bytes) {
    return mallopt(M_MMAP_THRESHOLD, bytes);
}

static inline int CLinux_set_trim_threshold(int bytes) {
    return mallopt(M_TRIM_THRESHOLD, bytes);
}

static inline int CLinux_set_arena_max(int count) {
    return mallopt(M_ARENA_MAX, count);
}

// glibc declares accept4 only under _GNU_SOURCE. Declaring it here, instead of including <sys/socket.h> with
// that macro, keeps the socket types and constants owned by the Glibc module.
struct sockaddr;
extern int accept4(int fd, struct sockaddr *address, unsigned int *length, int flags);

static inline int CLinux_accept4(int fd, struct sockaddr *address, unsigned int *length, int flags) {
    return accept4(fd, address, length, flags);
}

// sync_file_range is also declared only under _GNU_SOURCE.
extern int sync_file_range(int fd, long long offset, long long count, unsigned int flags);

/// Starts writeback of a file range without waiting for it (SYNC_FILE_RANGE_WRITE).
static inline int CLinux_start_writeback(int fd, long long offset, long long count) {
    return sync_file_range(fd, offset, count, 2);
}

/// Returns the bytes in a socket's receive queue that no read has taken yet (FIONREAD), or -1 with errno set.
static inline int CLinux_unread_bytes(int fd) {
    int count = 0;
    return ioctl(fd, FIONREAD, &count) == 0 ? count : -1;
}

#endif
