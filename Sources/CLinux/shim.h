// SPDX-License-Identifier: Apache-2.0
// Linux headers that Swift's Glibc module does not include: epoll and eventfd for the event loop, and
// accept4, which glibc declares only under _GNU_SOURCE.
#ifndef DCF_CLINUX_SHIM_H
#define DCF_CLINUX_SHIM_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

static inline int CLinux_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags) {
    return accept4(fd, address, length, flags);
}

#endif
