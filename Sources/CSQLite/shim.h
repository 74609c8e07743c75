// SPDX-License-Identifier: Apache-2.0
// SQLite 3, plus the destructor constant Swift cannot import.
#ifndef DCF_CSQLITE_SHIM_H
#define DCF_CSQLITE_SHIM_H

#include <sqlite3.h>

static inline sqlite3_destructor_type CSQLite_transient(void) {
    return SQLITE_TRANSIENT;
}

#endif
