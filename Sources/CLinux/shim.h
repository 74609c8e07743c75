// SPDX-License-Identifier: Apache-2.0
// Linux headers that Swift's Glibc module does not include: epoll and eventfd for the event loop.
#ifndef DCF_CLINUX_SHIM_H
#define DCF_CLINUX_SHIM_H

#include <sys/epoll.h>
#include <sys/eventfd.h>

#endif
