#ifndef CKERNELS_H
#define CKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// CPU spin-wait hint (x86 `pause`).
static inline void _ck_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/// 1 if the AVX2 kernels are in use, 0 for the portable scalar kernels.
int ck_uses_avx2(void);

/// Logical CPUs this process may run on (affinity mask), at least 1.
int ck_available_cpus(void);

#ifdef __cplusplus
}
#endif

#endif
