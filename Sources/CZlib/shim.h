// SPDX-License-Identifier: Apache-2.0
// zlib, plus wrappers for the init macros Swift cannot import.
#ifndef DCF_CZLIB_SHIM_H
#define DCF_CZLIB_SHIM_H

#include <zlib.h>

static inline int CZlib_deflateInit2(z_streamp stream, int level, int method, int windowBits, int memLevel,
                                     int strategy) {
    return deflateInit2(stream, level, method, windowBits, memLevel, strategy);
}

static inline int CZlib_inflateInit2(z_streamp stream, int windowBits) {
    return inflateInit2(stream, windowBits);
}

#endif
