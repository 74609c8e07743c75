// SPDX-License-Identifier: Apache-2.0
// The CBLAS interface of OpenBLAS (Debian's libopenblas-dev installs cblas.h on the multiarch include path).
#ifndef DCF_CBLAS_SHIM_H
#define DCF_CBLAS_SHIM_H

#include <cblas.h>

#endif
