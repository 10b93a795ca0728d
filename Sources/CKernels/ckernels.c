// Quantized dot products and activation quantizers. See include/CKernels.h.
//
// Written for this project from the GGUF block layouts; the integer arithmetic follows
// ggml's CPU backend (same activation quantization, same integer sums, float scales applied
// per block). The AVX2 kernels also add their floats in the orders of ggml's AVX2 build (the one
// llama.cpp's reference outputs come from), so their results are bit-identical to it; the
// K-quants have a second order for the batch shapes that build runs through other kernels.

#define _GNU_SOURCE
#include "CKernels.h"
#include "ck_half.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__linux__)
#include <sched.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#define CK_X86 1
#define CK_AVX2 __attribute__((target("avx2,fma,f16c")))
#else
#define CK_X86 0
#endif

// ---------------------------------------------------------------------------------------------
// Block layouts (GGUF / ggml). Sizes are checked below.

typedef uint16_t ck_half;
typedef struct { ck_half d; uint8_t qs[16]; } blk_q4_0;
typedef struct { ck_half d, m; uint8_t qs[16]; } blk_q4_1;
typedef struct { ck_half d; uint8_t qh[4]; uint8_t qs[16]; } blk_q5_0;
typedef struct { ck_half d, m; uint8_t qh[4]; uint8_t qs[16]; } blk_q5_1;
typedef struct { ck_half d; int8_t qs[32]; } blk_q8_0;
typedef struct { ck_half d, s; int8_t qs[32]; } blk_q8_1;
typedef struct { uint8_t scales[16]; uint8_t qs[64]; ck_half d, dmin; } blk_q2_K;
typedef struct { uint8_t hmask[32]; uint8_t qs[64]; uint8_t scales[12]; ck_half d; } blk_q3_K;
typedef struct { ck_half d, dmin; uint8_t scales[12]; uint8_t qs[128]; } blk_q4_K;
typedef struct { ck_half d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; } blk_q5_K;
typedef struct { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; ck_half d; } blk_q6_K;
typedef struct { float d; int8_t qs[256]; int16_t bsums[16]; } blk_q8_K;

_Static_assert(sizeof(blk_q4_0) == 18, "q4_0");
_Static_assert(sizeof(blk_q4_1) == 20, "q4_1");
_Static_assert(sizeof(blk_q5_0) == 22, "q5_0");
_Static_assert(sizeof(blk_q5_1) == 24, "q5_1");
_Static_assert(sizeof(blk_q8_0) == 34, "q8_0");
_Static_assert(sizeof(blk_q8_1) == 36, "q8_1");
_Static_assert(sizeof(blk_q2_K) == 84, "q2_K");
_Static_assert(sizeof(blk_q3_K) == 110, "q3_K");
_Static_assert(sizeof(blk_q4_K) == 144, "q4_K");
_Static_assert(sizeof(blk_q5_K) == 176, "q5_K");
_Static_assert(sizeof(blk_q6_K) == 210, "q6_K");
_Static_assert(sizeof(blk_q8_K) == 292, "q8_K");

// ---------------------------------------------------------------------------------------------
// Dispatch.

static int g_mode = -1;  // -1 unknown, 0 scalar, 1 AVX2
static _Thread_local int g_force_scalar = 0;  // per thread, so a test can pin one thread to scalar code
static _Thread_local int g_force_avx2_only = 0;  // per thread: skip AVX-512 VNNI kernels (tests compare both)

static int ck_detect(void) {
#if CK_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
    return 0;
#endif
}

static inline int use_avx2(void) {
    int m = __atomic_load_n(&g_mode, __ATOMIC_RELAXED);
    if (__builtin_expect(m < 0, 0)) {
        m = ck_detect();
        __atomic_store_n(&g_mode, m, __ATOMIC_RELAXED);
    }
    return m & !__atomic_load_n(&g_force_scalar, __ATOMIC_RELAXED);
}

int ck_uses_avx2(void) { return use_avx2(); }
void ck_force_scalar(int on) { __atomic_store_n(&g_force_scalar, on ? 1 : 0, __ATOMIC_RELAXED); }
void ck_force_avx2_only(int on) { __atomic_store_n(&g_force_avx2_only, on ? 1 : 0, __ATOMIC_RELAXED); }


int ck_available_cpus(void) {
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

// ---------------------------------------------------------------------------------------------
// Activation quantizers. ggml's x86 path for Q8_0/Q8_1 uses id = 127/amax and rounds half to
// even; Q8_K uses the reference: scale from the signed extreme, -127/max, half to even.

static void quantize_q8_0_scalar(const float *x, void *vy, int64_t n) {
    blk_q8_0 *y = (blk_q8_0 *)vy;
    const int64_t nb = n / 32;
    for (int64_t i = 0; i < nb; i++) {
        const float *xb = x + i * 32;
        float amax = 0.0f;
        for (int j = 0; j < 32; j++) {
            float a = fabsf(xb[j]);
            amax = a > amax ? a : amax;
        }
        const float d = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        y[i].d = ck_f2h(d);
        for (int j = 0; j < 32; j++) y[i].qs[j] = (int8_t)(int)rintf(xb[j] * id);
    }
}

static void quantize_q8_1_scalar(const float *x, void *vy, int64_t n) {
    blk_q8_1 *y = (blk_q8_1 *)vy;
    const int64_t nb = n / 32;
    for (int64_t i = 0; i < nb; i++) {
        const float *xb = x + i * 32;
        float amax = 0.0f;
        for (int j = 0; j < 32; j++) {
            float a = fabsf(xb[j]);
            amax = a > amax ? a : amax;
        }
        const float d = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            int q = (int)rintf(xb[j] * id);
            y[i].qs[j] = (int8_t)q;
            sum += q;
        }
        y[i].d = ck_f2h(d);
        y[i].s = ck_f2h(d * (float)sum);
    }
}

static void quantize_q8_K_scalar(const float *x, void *vy, int64_t n) {
    blk_q8_K *y = (blk_q8_K *)vy;
    const int64_t nb = n / 256;
    for (int64_t i = 0; i < nb; i++) {
        const float *xb = x + i * 256;
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < 256; j++) {
            float a = fabsf(xb[j]);
            if (a > amax) { amax = a; max = xb[j]; }
        }
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof(blk_q8_K));
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < 256; j++) {
            int v = (int)rintf(iscale * xb[j]);
            y[i].qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int g = 0; g < 16; g++) {
            int s = 0;
            for (int l = 0; l < 16; l++) s += y[i].qs[16 * g + l];
            y[i].bsums[g] = (int16_t)s;
        }
        y[i].d = 1.0f / iscale;
    }
}

// ---------------------------------------------------------------------------------------------
// Scale unpacking shared by the K-quant kernels.

// Q4_K/Q5_K: 8 six-bit scales and 8 six-bit mins packed in 12 bytes.
static inline void unpack_scale_min_k4(const uint8_t *s, uint8_t *sc, uint8_t *mn) {
    for (int j = 0; j < 4; j++) {
        sc[j] = s[j] & 63;
        mn[j] = s[j + 4] & 63;
    }
    for (int j = 4; j < 8; j++) {
        sc[j] = (uint8_t)((s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4));
        mn[j] = (uint8_t)((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
    }
}

// Same unpacking on 32-bit words: scales 0..7 in *sc64, mins 0..7 in *mn64 (one byte each).
static inline void unpack_scale_min_k4_words(const uint8_t *s, uint64_t *sc64, uint64_t *mn64) {
    uint32_t u0, u1, u2;
    memcpy(&u0, s, 4);
    memcpy(&u1, s + 4, 4);
    memcpy(&u2, s + 8, 4);
    const uint32_t sc_lo = u0 & 0x3f3f3f3fu;
    const uint32_t mn_lo = u1 & 0x3f3f3f3fu;
    const uint32_t sc_hi = (u2 & 0x0f0f0f0fu) | (((u0 >> 6) & 0x03030303u) << 4);
    const uint32_t mn_hi = ((u2 >> 4) & 0x0f0f0f0fu) | (((u1 >> 6) & 0x03030303u) << 4);
    *sc64 = (uint64_t)sc_lo | (uint64_t)sc_hi << 32;
    *mn64 = (uint64_t)mn_lo | (uint64_t)mn_hi << 32;
}

// Q3_K: 16 six-bit scales packed in 12 bytes, stored with a bias of 32.
static inline void unpack_scales_q3_K(const uint8_t *s, int8_t *out) {
    for (int i = 0; i < 16; i++) {
        int lo = i < 8 ? (s[i] & 0xF) : (s[i - 8] >> 4);
        int hi = (s[8 + (i & 3)] >> (2 * (i >> 2))) & 3;
        out[i] = (int8_t)((lo | (hi << 4)) - 32);
    }
}

// ---------------------------------------------------------------------------------------------
// Portable scalar kernels.

static float dot_q4_0_scalar(int64_t n, const blk_q4_0 *x, const blk_q8_0 *y) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n / 32; i++) {
        int s = 0;
        for (int j = 0; j < 16; j++) {
            s += ((x[i].qs[j] & 0xF) - 8) * y[i].qs[j];
            s += ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + 16];
        }
        sum += (float)s * (ck_h2f(x[i].d) * ck_h2f(y[i].d));
    }
    return sum;
}

static float dot_q4_1_scalar(int64_t n, const blk_q4_1 *x, const blk_q8_1 *y) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n / 32; i++) {
        int s = 0;
        for (int j = 0; j < 16; j++) {
            s += (x[i].qs[j] & 0xF) * y[i].qs[j];
            s += (x[i].qs[j] >> 4) * y[i].qs[j + 16];
        }
        sum += (ck_h2f(x[i].d) * ck_h2f(y[i].d)) * (float)s + ck_h2f(x[i].m) * ck_h2f(y[i].s);
    }
    return sum;
}

static float dot_q5_0_scalar(int64_t n, const blk_q5_0 *x, const blk_q8_0 *y) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n / 32; i++) {
        uint32_t qh;
        memcpy(&qh, x[i].qh, 4);
        int s = 0;
        for (int j = 0; j < 16; j++) {
            int h0 = (int)((qh >> j) << 4) & 0x10;
            int h1 = (int)(qh >> (j + 12)) & 0x10;
            s += (((x[i].qs[j] & 0xF) | h0) - 16) * y[i].qs[j];
            s += (((x[i].qs[j] >> 4) | h1) - 16) * y[i].qs[j + 16];
        }
        sum += (float)s * (ck_h2f(x[i].d) * ck_h2f(y[i].d));
    }
    return sum;
}

static float dot_q5_1_scalar(int64_t n, const blk_q5_1 *x, const blk_q8_1 *y) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n / 32; i++) {
        uint32_t qh;
        memcpy(&qh, x[i].qh, 4);
        int s = 0;
        for (int j = 0; j < 16; j++) {
            int h0 = (int)((qh >> j) << 4) & 0x10;
            int h1 = (int)(qh >> (j + 12)) & 0x10;
            s += ((x[i].qs[j] & 0xF) | h0) * y[i].qs[j];
            s += ((x[i].qs[j] >> 4) | h1) * y[i].qs[j + 16];
        }
        sum += (ck_h2f(x[i].d) * ck_h2f(y[i].d)) * (float)s + ck_h2f(x[i].m) * ck_h2f(y[i].s);
    }
    return sum;
}

static float dot_q8_0_scalar(int64_t n, const blk_q8_0 *x, const blk_q8_0 *y) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n / 32; i++) {
        int s = 0;
        for (int j = 0; j < 32; j++) s += x[i].qs[j] * y[i].qs[j];
        sum += (float)s * (ck_h2f(x[i].d) * ck_h2f(y[i].d));
    }
    return sum;
}

static float dot_q2_K_scalar(int64_t n, const blk_q2_K *x, const blk_q8_K *y) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n / 256; i++) {
        int summs = 0;
        for (int g = 0; g < 16; g++) summs += (x[i].scales[g] >> 4) * y[i].bsums[g];
        int isum = 0;
        for (int nn = 0; nn < 2; nn++) {
            for (int j = 0; j < 4; j++) {
                for (int h = 0; h < 2; h++) {
                    int g = 8 * nn + 2 * j + h;
                    int s = 0;
                    for (int l = 16 * h; l < 16 * h + 16; l++) {
                        s += ((x[i].qs[32 * nn + l] >> (2 * j)) & 3) * y[i].qs[128 * nn + 32 * j + l];
                    }
                    isum += (x[i].scales[g] & 0xF) * s;
                }
            }
        }
        const float dall = y[i].d * ck_h2f(x[i].d);
        const float dmin = y[i].d * ck_h2f(x[i].dmin);
        sum += dall * (float)isum - dmin * (float)summs;
    }
    return sum;
}

static float dot_q3_K_scalar(int64_t n, const blk_q3_K *x, const blk_q8_K *y) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n / 256; i++) {
        int8_t sc[16];
        unpack_scales_q3_K(x[i].scales, sc);
        int isum = 0;
        for (int nn = 0; nn < 2; nn++) {
            for (int j = 0; j < 4; j++) {
                const int m = 1 << (4 * nn + j);
                for (int h = 0; h < 2; h++) {
                    int s = 0;
                    for (int l = 16 * h; l < 16 * h + 16; l++) {
                        int q = ((x[i].qs[32 * nn + l] >> (2 * j)) & 3) - ((x[i].hmask[l] & m) ? 0 : 4);
                        s += q * y[i].qs[128 * nn + 32 * j + l];
                    }
                    isum += sc[8 * nn + 2 * j + h] * s;
                }
            }
        }
        sum += (ck_h2f(x[i].d) * y[i].d) * (float)isum;
    }
    return sum;
}

static float dot_q4_K_scalar(int64_t n, const blk_q4_K *x, const blk_q8_K *y) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n / 256; i++) {
        uint8_t sc[8], mn[8];
        unpack_scale_min_k4(x[i].scales, sc, mn);
        int summs = 0;
        for (int j = 0; j < 8; j++) summs += mn[j] * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
        int isum = 0;
        for (int j = 0; j < 4; j++) {
            int s1 = 0, s2 = 0;
            for (int l = 0; l < 32; l++) {
                s1 += (x[i].qs[32 * j + l] & 0xF) * y[i].qs[64 * j + l];
                s2 += (x[i].qs[32 * j + l] >> 4) * y[i].qs[64 * j + 32 + l];
            }
            isum += sc[2 * j] * s1 + sc[2 * j + 1] * s2;
        }
        const float d = y[i].d * ck_h2f(x[i].d);
        const float dmin = y[i].d * ck_h2f(x[i].dmin);
        sum += d * (float)isum - dmin * (float)summs;
    }
    return sum;
}

static float dot_q5_K_scalar(int64_t n, const blk_q5_K *x, const blk_q8_K *y) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n / 256; i++) {
        uint8_t sc[8], mn[8];
        unpack_scale_min_k4(x[i].scales, sc, mn);
        int summs = 0;
        for (int j = 0; j < 8; j++) summs += mn[j] * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
        int isum = 0;
        for (int j = 0; j < 4; j++) {
            const int u1 = 1 << (2 * j), u2 = 2 << (2 * j);
            int s1 = 0, s2 = 0;
            for (int l = 0; l < 32; l++) {
                int q1 = (x[i].qs[32 * j + l] & 0xF) + ((x[i].qh[l] & u1) ? 16 : 0);
                int q2 = (x[i].qs[32 * j + l] >> 4) + ((x[i].qh[l] & u2) ? 16 : 0);
                s1 += q1 * y[i].qs[64 * j + l];
                s2 += q2 * y[i].qs[64 * j + 32 + l];
            }
            isum += sc[2 * j] * s1 + sc[2 * j + 1] * s2;
        }
        const float d = y[i].d * ck_h2f(x[i].d);
        const float dmin = y[i].d * ck_h2f(x[i].dmin);
        sum += d * (float)isum - dmin * (float)summs;
    }
    return sum;
}

static float dot_q6_K_scalar(int64_t n, const blk_q6_K *x, const blk_q8_K *y) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n / 256; i++) {
        int isum = 0;
        for (int nn = 0; nn < 2; nn++) {
            const uint8_t *ql = x[i].ql + 64 * nn, *qh = x[i].qh + 32 * nn;
            const int8_t *sc = x[i].scales + 8 * nn;
            const int8_t *q8 = y[i].qs + 128 * nn;
            for (int h = 0; h < 2; h++) {
                int s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                for (int l = 16 * h; l < 16 * h + 16; l++) {
                    int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                    int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                    int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                    int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                    s0 += q1 * q8[l];
                    s1 += q2 * q8[l + 32];
                    s2 += q3 * q8[l + 64];
                    s3 += q4 * q8[l + 96];
                }
                isum += sc[h] * s0 + sc[h + 2] * s1 + sc[h + 4] * s2 + sc[h + 6] * s3;
            }
        }
        sum += (ck_h2f(x[i].d) * y[i].d) * (float)isum;
    }
    return sum;
}

static float dot_f16_f32_scalar(int64_t n, const uint16_t *w, const float *a) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) s += ck_h2f(w[i]) * a[i];
    return s;
}

static float dot_bf16_f32_scalar(int64_t n, const uint16_t *w, const float *a) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        uint32_t b = (uint32_t)w[i] << 16;
        float f;
        memcpy(&f, &b, 4);
        s += f * a[i];
    }
    return s;
}

// ---------------------------------------------------------------------------------------------
// AVX2 kernels.

#if CK_X86

CK_AVX2 static inline float hsum_ps(__m256 v) {
    __m128 r = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    r = _mm_add_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}

CK_AVX2 static inline int hsum_epi32_128(__m128i v) {
    v = _mm_add_epi32(v, _mm_shuffle_epi32(v, _MM_SHUFFLE(1, 0, 3, 2)));
    v = _mm_add_epi32(v, _mm_shuffle_epi32(v, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(v);
}

// Sum of the 8 int32 lanes (exact).
CK_AVX2 static inline int hsum_i32x8(__m256i v) {
    return hsum_epi32_128(_mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)));
}

CK_AVX2 static inline float h2f_hw(uint16_t h) { return _cvtsh_ss(h); }

// 16 packed bytes -> 32 bytes: the low nibbles (elements 0..15) then the high nibbles (16..31).
CK_AVX2 static inline __m256i nibbles_32(const uint8_t *p) {
    const __m128i t = _mm_loadu_si128((const __m128i *)p);
    const __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(t), _mm_srli_epi16(t, 4), 1);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
}

// 32 bits -> 32 bytes, byte k = 0xFF if bit k is set, else 0.
CK_AVX2 static inline __m256i bits_to_bytes(uint32_t bits) {
    const __m256i shuf = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                          2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i sel = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), shuf);
    return _mm256_cmpeq_epi8(_mm256_and_si256(v, sel), sel);
}

// Unsigned bytes x signed bytes -> 8 int32 partial sums.
CK_AVX2 static inline __m256i dot_u8s8_i32(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// Signed bytes x signed bytes (neither -128 together with -128) -> 8 int32 partial sums.
CK_AVX2 static inline __m256i dot_s8s8_i32(__m256i x, __m256i y) {
    return dot_u8s8_i32(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

// The 32-element formats sum as ggml's AVX2 vec_dot does (the build llama.cpp's reference
// outputs come from): one accumulator of 8 lanes (lane l holds elements 4l..4l+3 of each
// block), fma(d_x * d_y, lane sums, acc) block after block, then the horizontal sum; for the
// formats with a minimum, fma(m_x, s_y, summs) block after block, added last.
CK_AVX2 static float dot_q4_0_avx2(int64_t n, const blk_q4_0 *x, const blk_q8_0 *y) {
    const __m256i off = _mm256_set1_epi8(8);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / 32; i++) {
        const __m256 d = _mm256_set1_ps(h2f_hw(x[i].d) * h2f_hw(y[i].d));
        const __m256i q = _mm256_sub_epi8(nibbles_32(x[i].qs), off);
        const __m256i p = dot_s8s8_i32(q, _mm256_loadu_si256((const __m256i *)y[i].qs));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
    }
    return hsum_ps(acc);
}

CK_AVX2 static float dot_q4_1_avx2(int64_t n, const blk_q4_1 *x, const blk_q8_1 *y) {
    __m256 acc = _mm256_setzero_ps();
    float summs = 0.0f;
    for (int64_t i = 0; i < n / 32; i++) {
        const __m256 d = _mm256_set1_ps(h2f_hw(x[i].d) * h2f_hw(y[i].d));
        summs = fmaf(h2f_hw(x[i].m), h2f_hw(y[i].s), summs);
        const __m256i p = dot_u8s8_i32(nibbles_32(x[i].qs), _mm256_loadu_si256((const __m256i *)y[i].qs));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
    }
    return hsum_ps(acc) + summs;
}

CK_AVX2 static inline __m256i q5_0_values(const blk_q5_0 *b) {
    // value = (nibble | 16*h) - 16: with h = 0 that is nibble | 0xF0 as a signed byte.
    uint32_t qh;
    memcpy(&qh, b->qh, 4);
    return _mm256_or_si256(nibbles_32(b->qs), _mm256_andnot_si256(bits_to_bytes(qh), _mm256_set1_epi8((char)0xF0)));
}

CK_AVX2 static float dot_q5_0_avx2(int64_t n, const blk_q5_0 *x, const blk_q8_0 *y) {
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / 32; i++) {
        const __m256 d = _mm256_set1_ps(h2f_hw(x[i].d) * h2f_hw(y[i].d));
        const __m256i p = dot_s8s8_i32(q5_0_values(x + i), _mm256_loadu_si256((const __m256i *)y[i].qs));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
    }
    return hsum_ps(acc);
}

CK_AVX2 static inline __m256i q5_1_values(const blk_q5_1 *b) {
    uint32_t qh;
    memcpy(&qh, b->qh, 4);
    return _mm256_or_si256(nibbles_32(b->qs), _mm256_and_si256(bits_to_bytes(qh), _mm256_set1_epi8(0x10)));
}

CK_AVX2 static float dot_q5_1_avx2(int64_t n, const blk_q5_1 *x, const blk_q8_1 *y) {
    __m256 acc = _mm256_setzero_ps();
    float summs = 0.0f;
    for (int64_t i = 0; i < n / 32; i++) {
        const __m256 d = _mm256_set1_ps(h2f_hw(x[i].d) * h2f_hw(y[i].d));
        summs = fmaf(h2f_hw(x[i].m), h2f_hw(y[i].s), summs);
        const __m256i p = dot_u8s8_i32(q5_1_values(x + i), _mm256_loadu_si256((const __m256i *)y[i].qs));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
    }
    return hsum_ps(acc) + summs;
}

CK_AVX2 static float dot_q8_0_avx2(int64_t n, const blk_q8_0 *x, const blk_q8_0 *y) {
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / 32; i++) {
        const __m256 d = _mm256_set1_ps(h2f_hw(x[i].d) * h2f_hw(y[i].d));
        const __m256i p = dot_s8s8_i32(_mm256_loadu_si256((const __m256i *)x[i].qs), _mm256_loadu_si256((const __m256i *)y[i].qs));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
    }
    return hsum_ps(acc);
}

// pshufb masks picking scale bytes (2p, 2p+1), each repeated 8 times: the scales of two
// consecutive groups of 16 elements, i.e. of one 32-element vector.
static const uint8_t k_pair_shuffle[8][16] __attribute__((aligned(16))) = {
    {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1},
    {2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3},
    {4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5},
    {6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7},
    {8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9},
    {10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11},
    {12, 12, 12, 12, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13},
    {14, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15},
};

// Signed 8-bit scales for the 32-element vector p (groups 2p, 2p+1) as 16 int16.
CK_AVX2 static inline __m256i pair_scales_s8(__m128i scales, int p) {
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales, _mm_load_si128((const __m128i *)k_pair_shuffle[p])));
}

// The same scales from int16 vectors made once per block: `half` holds scales 8h..8h+7 in both
// 128-bit lanes; vector j of that half takes scale 8h+2j in its low lane, 8h+2j+1 in its high one.
static const uint8_t k_half_pair_shuffle[4][32] __attribute__((aligned(32))) = {
    {0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3},
    {4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7},
    {8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11},
    {12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15},
};
CK_AVX2 static inline __m256i half_pair_scales(__m256i half, int j) {
    return _mm256_shuffle_epi8(half, _mm256_load_si256((const __m256i *)k_half_pair_shuffle[j]));
}

// Q2_K in two orders of llama.cpp's AVX2 build. Its vec_dot (up to 7 activation rows) keeps
// the min terms in the lanes: per block acc = fma(-dmin_x * d_y, 8 int32 lanes of min * bsum,
// acc), then acc = fma(d_x * d_y, 8 int32 lanes of the value sums, acc); the horizontal sum
// last. Q2_TILED, its tiled kernel (8 or more rows): Q5_K's K5_TILED formula below.
enum { Q2_VEC = 0, Q2_TILED = 1 };
CK_AVX2 static inline __attribute__((always_inline)) float dot_q2_K_ord(int64_t n, const blk_q2_K *x, const blk_q8_K *y, const int order) {
    const int64_t nb = n / 256;
    const __m256i m3 = _mm256_set1_epi8(3);
    const __m128i m4 = _mm_set1_epi8(0xF);
    __m256 acc = _mm256_setzero_ps();
    float accs = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        const __m128i sc8 = _mm_loadu_si128((const __m128i *)x[i].scales);
        const __m128i scl = _mm_and_si128(sc8, m4);
        const __m128i mins = _mm_and_si128(_mm_srli_epi16(sc8, 4), m4);
        const __m256i bs = _mm256_loadu_si256((const __m256i *)y[i].bsums);
        const __m256i pm = _mm256_madd_epi16(_mm256_cvtepu8_epi16(mins), bs);
        const __m256i s16 = _mm256_cvtepu8_epi16(scl);
        const __m256i half[2] = {_mm256_permute2x128_si256(s16, s16, 0x00), _mm256_permute2x128_si256(s16, s16, 0x11)};
        __m256i sumi = _mm256_setzero_si256();
        for (int nn = 0; nn < 2; nn++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * nn));
            for (int j = 0; j < 4; j++) {
                const __m256i u = _mm256_and_si256(q, m3);
                q = _mm256_srli_epi16(q, 2);
                const __m256i yv = _mm256_loadu_si256((const __m256i *)(y[i].qs + 128 * nn + 32 * j));
                const __m256i p = _mm256_maddubs_epi16(u, yv);
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, half_pair_scales(half[nn], j)));
            }
        }
        if (order == Q2_TILED) {
            const float r = fmaf(-h2f_hw(x[i].dmin), (float)hsum_i32x8(pm), h2f_hw(x[i].d) * (float)hsum_i32x8(sumi));
            accs = fmaf(r, y[i].d, accs);
        } else {
            const float dall = y[i].d * h2f_hw(x[i].d);
            const float dmin = y[i].d * h2f_hw(x[i].dmin);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(-dmin), _mm256_cvtepi32_ps(pm), acc);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(dall), _mm256_cvtepi32_ps(sumi), acc);
        }
    }
    return order == Q2_TILED ? accs : hsum_ps(acc);
}
CK_AVX2 static float dot_q2_K_avx2(int64_t n, const blk_q2_K *x, const blk_q8_K *y) { return dot_q2_K_ord(n, x, y, Q2_VEC); }
CK_AVX2 static float dot_q2_K_tiled_avx2(int64_t n, const blk_q2_K *x, const blk_q8_K *y) { return dot_q2_K_ord(n, x, y, Q2_TILED); }

// The 16 scales of a Q3_K block as signed bytes (bias removed), from 32-bit word operations.
CK_AVX2 static inline __m128i q3_K_scales_vec(const uint8_t *s) {
    uint32_t a0, a1, a2;
    memcpy(&a0, s, 4);
    memcpy(&a1, s + 4, 4);
    memcpy(&a2, s + 8, 4);
    const uint32_t m4 = 0x0f0f0f0fu, m2 = 0x03030303u;
    const uint32_t w0 = (a0 & m4) | ((a2 & m2) << 4);
    const uint32_t w1 = (a1 & m4) | (((a2 >> 2) & m2) << 4);
    const uint32_t w2 = ((a0 >> 4) & m4) | (((a2 >> 4) & m2) << 4);
    const uint32_t w3 = ((a1 >> 4) & m4) | (((a2 >> 6) & m2) << 4);
    return _mm_sub_epi8(_mm_setr_epi32((int)w0, (int)w1, (int)w2, (int)w3), _mm_set1_epi8(32));
}

// Q3_K in two orders of llama.cpp's AVX2 build. Its vec_dot (up to 7 activation rows):
// fma(d_x * d_y, 8 int32 lanes, acc) per block, then the horizontal sum, where lane l holds
// elements 4l..4l+3 of each 32-element vector times their scales, the -4 offsets included (so
// the offset is taken out in int16 per vector, not with the block's bsums at the end). Its
// tiled kernel (8 or more rows): per block, acc = fma(d_x * (block's integer sum), d_y, acc).
enum { Q3_VEC = 0, Q3_TILED = 1 };
CK_AVX2 static inline __attribute__((always_inline)) float dot_q3_K_ord(int64_t n, const blk_q3_K *x, const blk_q8_K *y, const int order) {
    const int64_t nb = n / 256;
    const __m256i m3 = _mm256_set1_epi8(3);
    const __m256i m1 = _mm256_set1_epi8(1);
    __m256 acc = _mm256_setzero_ps();
    float accs = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        const __m128i sc = q3_K_scales_vec(x[i].scales);
        const __m256i s16 = _mm256_cvtepi8_epi16(sc);
        const __m256i half[2] = {_mm256_permute2x128_si256(s16, s16, 0x00), _mm256_permute2x128_si256(s16, s16, 0x11)};
        __m256i sumi = _mm256_setzero_si256();
        __m256i hm = _mm256_loadu_si256((const __m256i *)x[i].hmask);
        for (int nn = 0; nn < 2; nn++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * nn));
            for (int j = 0; j < 4; j++) {
                // vec_dot: low bits times y, minus 4 times y where the high bit is clear; tiled:
                // (value + 4) times y, the offsets taken out with the bsums below.
                const __m256i lo = _mm256_and_si256(q, m3);
                const __m256i hb = order == Q3_VEC ? _mm256_andnot_si256(hm, m1) : _mm256_and_si256(hm, m1);
                const __m256i h = _mm256_slli_epi16(hb, 2);
                hm = _mm256_srli_epi16(hm, 1);
                q = _mm256_srli_epi16(q, 2);
                const __m256i yv = _mm256_loadu_si256((const __m256i *)(y[i].qs + 128 * nn + 32 * j));
                const __m256i p = order == Q3_VEC ? _mm256_sub_epi16(_mm256_maddubs_epi16(lo, yv), _mm256_maddubs_epi16(h, yv))
                                                  : _mm256_maddubs_epi16(_mm256_or_si256(lo, h), yv);
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, half_pair_scales(half[nn], j)));
            }
        }
        if (order == Q3_TILED) {
            // Only the block's integer total counts here: take the offsets out with the bsums.
            const __m256i bias = _mm256_madd_epi16(s16, _mm256_loadu_si256((const __m256i *)y[i].bsums));
            sumi = _mm256_sub_epi32(sumi, _mm256_slli_epi32(bias, 2));
            accs = fmaf(h2f_hw(x[i].d) * (float)hsum_i32x8(sumi), y[i].d, accs);
        } else {
            acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f_hw(x[i].d) * y[i].d), _mm256_cvtepi32_ps(sumi), acc);
        }
    }
    return order == Q3_TILED ? accs : hsum_ps(acc);
}
CK_AVX2 static float dot_q3_K_avx2(int64_t n, const blk_q3_K *x, const blk_q8_K *y) { return dot_q3_K_ord(n, x, y, Q3_VEC); }
CK_AVX2 static float dot_q3_K_tiled_avx2(int64_t n, const blk_q3_K *x, const blk_q8_K *y) { return dot_q3_K_ord(n, x, y, Q3_TILED); }

// pshufb masks on 8 int16 scales: broadcast int16 element k to all 8 positions of a lane.
static const uint8_t k_word_shuffle[8][16] __attribute__((aligned(16))) = {
    {0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1},
    {2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3},
    {4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5},
    {6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7},
    {8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9},
    {10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11},
    {12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13},
    {14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15},
};

CK_AVX2 static inline __m256i word_bcast(__m256i sc16x2, int k) {
    return _mm256_shuffle_epi8(sc16x2, _mm256_broadcastsi128_si256(_mm_load_si128((const __m128i *)k_word_shuffle[k])));
}

// Shared tail for Q4_K/Q5_K: the min term, sum_j min_j * (bsum[2j] + bsum[2j+1]).
CK_AVX2 static inline int k4_min_term(uint64_t mn, const int16_t *bsums) {
    const __m128i mins = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)mn));
    const __m128i b0 = _mm_loadu_si128((const __m128i *)bsums);
    const __m128i b1 = _mm_loadu_si128((const __m128i *)(bsums + 8));
    return hsum_epi32_128(_mm_madd_epi16(mins, _mm_hadd_epi16(b0, b1)));
}


// The min term of the 64-element pair j (sub-blocks 2j, 2j+1).
static inline int k4_pair_min_term(uint64_t mn, const int16_t *bsums, int j) {
    const int m0 = (int)((mn >> (16 * j)) & 0xFF), m1 = (int)((mn >> (16 * j + 8)) & 0xFF);
    return m0 * (bsums[4 * j] + bsums[4 * j + 1]) + m1 * (bsums[4 * j + 2] + bsums[4 * j + 3]);
}

// Q4_K adds its floats as llama.cpp's AVX2 build does with its repacked Q4_K weights: per
// output, one scalar chain fma(integer sum, d_x * d_y) and one fma(integer min term,
// dmin_x * d_y), subtracted at the end. K4_ROW adds a 256-element block's sums at a time (its
// kernel for a lone activation row), K4_ROWS4 each 64-element pair of sub-blocks (its kernel for
// groups of four activation rows). The integer sums are exact in any order.
// A Q4_K matrix whose row count is not a multiple of 8 is not repacked there: K4_VEC is its
// vec_dot (up to 7 activation rows): fma(d_x * d_y, 8 int32 lanes, acc) per block, the min terms
// in 4 lanes, fma(-(dmin_x * d_y), lane l = mins 2l, 2l+1 times their bsum pairs, accm), then
// hsum(acc) + hsum(accm); K4_TILED its tiled kernel (8 rows or more), Q5_K's tiled formula.
enum { K4_ROW = 0, K4_ROWS4 = 1, K4_VEC = 2, K4_TILED = 3 };
CK_AVX2 static inline __attribute__((always_inline)) float dot_q4_K_ord(int64_t n, const blk_q4_K *x, const blk_q8_K *y, const int order) {
    const int64_t nb = n / 256;
    const __m256i m4 = _mm256_set1_epi8(0xF);
    float acc = 0.0f, accm = 0.0f;
    __m256 vacc = _mm256_setzero_ps();
    __m128 vaccm = _mm_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const float d = h2f_hw(x[i].d) * y[i].d;
        const float dmin = h2f_hw(x[i].dmin) * y[i].d;
        uint64_t sc, mn;
        unpack_scale_min_k4_words(x[i].scales, &sc, &mn);
        const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc)));
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * j));
            const __m256i lo = _mm256_and_si256(q, m4);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            const __m256i y0 = _mm256_loadu_si256((const __m256i *)(y[i].qs + 64 * j));
            const __m256i y1 = _mm256_loadu_si256((const __m256i *)(y[i].qs + 64 * j + 32));
            const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, y0), word_bcast(sc16, 2 * j));
            const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, y1), word_bcast(sc16, 2 * j + 1));
            if (order == K4_ROWS4) {
                acc = fmaf((float)hsum_i32x8(_mm256_add_epi32(p0, p1)), d, acc);
                accm = fmaf((float)k4_pair_min_term(mn, y[i].bsums, j), dmin, accm);
            } else {
                sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p0, p1));
            }
        }
        if (order == K4_ROW) {
            acc = fmaf((float)hsum_i32x8(sumi), d, acc);
            accm = fmaf((float)k4_min_term(mn, y[i].bsums), dmin, accm);
        } else if (order == K4_VEC) {
            const __m128i b0 = _mm_loadu_si128((const __m128i *)y[i].bsums);
            const __m128i b1 = _mm_loadu_si128((const __m128i *)(y[i].bsums + 8));
            const __m128i prod = _mm_madd_epi16(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)mn)), _mm_hadd_epi16(b0, b1));
            vaccm = _mm_fmadd_ps(_mm_set1_ps(-dmin), _mm_cvtepi32_ps(prod), vaccm);
            vacc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), vacc);
        } else if (order == K4_TILED) {
            const float r = fmaf(-h2f_hw(x[i].dmin), (float)k4_min_term(mn, y[i].bsums), h2f_hw(x[i].d) * (float)hsum_i32x8(sumi));
            acc = fmaf(r, y[i].d, acc);
        }
    }
    if (order == K4_VEC) {
        vaccm = _mm_add_ps(vaccm, _mm_movehl_ps(vaccm, vaccm));
        vaccm = _mm_add_ss(vaccm, _mm_movehdup_ps(vaccm));
        return hsum_ps(vacc) + _mm_cvtss_f32(vaccm);
    }
    return order == K4_TILED ? acc : acc - accm;
}
CK_AVX2 static float dot_q4_K_avx2(int64_t n, const blk_q4_K *x, const blk_q8_K *y) { return dot_q4_K_ord(n, x, y, K4_ROW); }
CK_AVX2 static float dot_q4_K_rows4_avx2(int64_t n, const blk_q4_K *x, const blk_q8_K *y) { return dot_q4_K_ord(n, x, y, K4_ROWS4); }
CK_AVX2 static float dot_q4_K_vec_avx2(int64_t n, const blk_q4_K *x, const blk_q8_K *y) { return dot_q4_K_ord(n, x, y, K4_VEC); }
CK_AVX2 static float dot_q4_K_tiled_avx2(int64_t n, const blk_q4_K *x, const blk_q8_K *y) { return dot_q4_K_ord(n, x, y, K4_TILED); }

// Q5_K in two orders of llama.cpp's AVX2 build. K5_VEC, its vec_dot (up to 7 activation rows):
// fma(d_x * d_y, 8 int32 lanes, acc) per 256-element block, the min terms in a scalar chain
// fma(dmin_x * d_y, min term, accm), then the horizontal sum minus accm. K5_TILED, its tiled
// kernel (8 or more rows): per block, r = d_x * (integer sum), r = fma(-dmin_x, min term, r),
// acc = fma(r, d_y, acc). The same formula serves Q2_K's tiled order.
enum { K5_VEC = 0, K5_TILED = 1 };
CK_AVX2 static inline __attribute__((always_inline)) float dot_q5_K_ord(int64_t n, const blk_q5_K *x, const blk_q8_K *y, const int order) {
    const int64_t nb = n / 256;
    const __m256i m4 = _mm256_set1_epi8(0xF);
    const __m256i m1 = _mm256_set1_epi8(1);
    __m256 acc = _mm256_setzero_ps();
    float accm = 0.0f, accs = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        uint64_t sc, mn;
        unpack_scale_min_k4_words(x[i].scales, &sc, &mn);
        const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc)));
        __m256i hb = _mm256_loadu_si256((const __m256i *)x[i].qh);
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * j));
            const __m256i h0 = _mm256_slli_epi16(_mm256_and_si256(hb, m1), 4);
            hb = _mm256_srli_epi16(hb, 1);
            const __m256i h1 = _mm256_slli_epi16(_mm256_and_si256(hb, m1), 4);
            hb = _mm256_srli_epi16(hb, 1);
            const __m256i lo = _mm256_or_si256(_mm256_and_si256(q, m4), h0);
            const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), h1);
            const __m256i y0 = _mm256_loadu_si256((const __m256i *)(y[i].qs + 64 * j));
            const __m256i y1 = _mm256_loadu_si256((const __m256i *)(y[i].qs + 64 * j + 32));
            const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, y0), word_bcast(sc16, 2 * j));
            const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, y1), word_bcast(sc16, 2 * j + 1));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p0, p1));
        }
        if (order == K5_TILED) {
            const float r = fmaf(-h2f_hw(x[i].dmin), (float)k4_min_term(mn, y[i].bsums), h2f_hw(x[i].d) * (float)hsum_i32x8(sumi));
            accs = fmaf(r, y[i].d, accs);
        } else {
            const float d = y[i].d * h2f_hw(x[i].d);
            const float dmin = y[i].d * h2f_hw(x[i].dmin);
            accm = fmaf(dmin, (float)k4_min_term(mn, y[i].bsums), accm);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
        }
    }
    return order == K5_TILED ? accs : hsum_ps(acc) - accm;
}
CK_AVX2 static float dot_q5_K_avx2(int64_t n, const blk_q5_K *x, const blk_q8_K *y) { return dot_q5_K_ord(n, x, y, K5_VEC); }
CK_AVX2 static float dot_q5_K_tiled_avx2(int64_t n, const blk_q5_K *x, const blk_q8_K *y) { return dot_q5_K_ord(n, x, y, K5_TILED); }

// Q6_K in two orders of llama.cpp's AVX2 build. Q6_VEC, its vec_dot (up to 7 activation rows):
// fma(d_x * d_y, 8 int32 lanes, acc) per 256-element block, then the horizontal sum. Q6_TILED,
// its tiled kernel (8 or more rows): per block, acc = fma(d_x * (block's integer sum), d_y, acc).
enum { Q6_VEC = 0, Q6_TILED = 1 };
CK_AVX2 static inline __attribute__((always_inline)) float dot_q6_K_ord(int64_t n, const blk_q6_K *x, const blk_q8_K *y, const int order) {
    const int64_t nb = n / 256;
    const __m256i m4 = _mm256_set1_epi8(0xF);
    const __m256i m3 = _mm256_set1_epi8(3);
    __m256 acc = _mm256_setzero_ps();
    float accs = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        const float xd = h2f_hw(x[i].d);
        const __m128i sc = _mm_loadu_si128((const __m128i *)x[i].scales);
        // values are u - 32 with u in 0..63: subtract 32 * sum(scale * bsum) at the end.
        const __m256i bias = _mm256_madd_epi16(_mm256_cvtepi8_epi16(sc), _mm256_loadu_si256((const __m256i *)y[i].bsums));
        __m256i sumi = _mm256_setzero_si256();
        for (int nn = 0; nn < 2; nn++) {
            const __m256i qh = _mm256_loadu_si256((const __m256i *)(x[i].qh + 32 * nn));
            const __m256i l0 = _mm256_loadu_si256((const __m256i *)(x[i].ql + 64 * nn));
            const __m256i l1 = _mm256_loadu_si256((const __m256i *)(x[i].ql + 64 * nn + 32));
            const __m256i q0 = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m3), 4));
            const __m256i q1 = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m3), 4));
            const __m256i q2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m3), 4));
            const __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m3), 4));
            const int8_t *q8 = y[i].qs + 128 * nn;
            const __m256i p0 = _mm256_maddubs_epi16(q0, _mm256_loadu_si256((const __m256i *)(q8)));
            const __m256i p1 = _mm256_maddubs_epi16(q1, _mm256_loadu_si256((const __m256i *)(q8 + 32)));
            const __m256i p2 = _mm256_maddubs_epi16(q2, _mm256_loadu_si256((const __m256i *)(q8 + 64)));
            const __m256i p3 = _mm256_maddubs_epi16(q3, _mm256_loadu_si256((const __m256i *)(q8 + 96)));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p0, pair_scales_s8(sc, 4 * nn + 0)));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p1, pair_scales_s8(sc, 4 * nn + 1)));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p2, pair_scales_s8(sc, 4 * nn + 2)));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p3, pair_scales_s8(sc, 4 * nn + 3)));
        }
        sumi = _mm256_sub_epi32(sumi, _mm256_slli_epi32(bias, 5));
        if (order == Q6_TILED) accs = fmaf(xd * (float)hsum_i32x8(sumi), y[i].d, accs);
        else acc = _mm256_fmadd_ps(_mm256_set1_ps(xd * y[i].d), _mm256_cvtepi32_ps(sumi), acc);
    }
    return order == Q6_TILED ? accs : hsum_ps(acc);
}
CK_AVX2 static float dot_q6_K_avx2(int64_t n, const blk_q6_K *x, const blk_q8_K *y) { return dot_q6_K_ord(n, x, y, Q6_VEC); }
CK_AVX2 static float dot_q6_K_tiled_avx2(int64_t n, const blk_q6_K *x, const blk_q8_K *y) { return dot_q6_K_ord(n, x, y, Q6_TILED); }

CK_AVX2 static float dot_f16_f32_avx2(int64_t n, const uint16_t *w, const float *a) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i)));
        const __m256 w1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i + 8)));
        acc0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(a + i), acc0);
        acc1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(a + i + 8), acc1);
    }
    float s = hsum_ps(_mm256_add_ps(acc0, acc1));
    for (; i < n; i++) s += h2f_hw(w[i]) * a[i];
    return s;
}

CK_AVX2 static float dot_bf16_f32_avx2(int64_t n, const uint16_t *w, const float *a) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 w0 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(w + i))), 16));
        const __m256 w1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(w + i + 8))), 16));
        acc0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(a + i), acc0);
        acc1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(a + i + 8), acc1);
    }
    float s = hsum_ps(_mm256_add_ps(acc0, acc1));
    for (; i < n; i++) {
        uint32_t b = (uint32_t)w[i] << 16;
        float f;
        memcpy(&f, &b, 4);
        s += f * a[i];
    }
    return s;
}

CK_AVX2 static void f16_to_f32_avx2(const uint16_t *x, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))));
    for (; i < n; i++) y[i] = h2f_hw(x[i]);
}

CK_AVX2 static void f32_to_f16_avx2(const float *x, uint16_t *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    }
    for (; i < n; i++) y[i] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
}


// ---------------------------------------------------------------------------------------------
// Four-column kernels for batched matmul: one weight row against four activation rows
// (a, a + stride, a + 2*stride, a + 3*stride). The weights are unpacked once for all four.
// Each column's float accumulation is the same sequence of operations as the single-row
// kernel, so out[c] is bit-identical to ck_vec_dot_*(n, w, a + c*stride).

#define CK_COL(c) ((const void *)((const char *)a + (c) * stride))

CK_AVX2 static inline __attribute__((always_inline)) void gemmn_q4_K_ord_avx2(int64_t n, const blk_q4_K *x, const void *a, size_t stride, float *out, const int nc, const int order) {
    const int64_t nb = n / 256;
    const blk_q8_K *y[4] = {CK_COL(0), CK_COL(1), CK_COL(2), CK_COL(3)};
    const __m256i m4 = _mm256_set1_epi8(0xF);
    float acc[4] = {0, 0, 0, 0}, accm[4] = {0, 0, 0, 0};
    __m256 vacc[4];
    __m128 vaccm[4];
    for (int c = 0; c < nc; c++) { vacc[c] = _mm256_setzero_ps(); vaccm[c] = _mm_setzero_ps(); }
    for (int64_t i = 0; i < nb; i++) {
        const float xd = h2f_hw(x[i].d), xdmin = h2f_hw(x[i].dmin);
        uint64_t sc, mn;
        unpack_scale_min_k4_words(x[i].scales, &sc, &mn);
        const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc)));
        __m256i sumi[4];
        for (int c = 0; c < nc; c++) sumi[c] = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * j));
            const __m256i lo = _mm256_and_si256(q, m4);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            const __m256i s0 = word_bcast(sc16, 2 * j), s1 = word_bcast(sc16, 2 * j + 1);
            for (int c = 0; c < nc; c++) {
                const __m256i y0 = _mm256_loadu_si256((const __m256i *)(y[c][i].qs + 64 * j));
                const __m256i y1 = _mm256_loadu_si256((const __m256i *)(y[c][i].qs + 64 * j + 32));
                const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, y0), s0);
                const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, y1), s1);
                if (order == K4_ROWS4) {
                    acc[c] = fmaf((float)hsum_i32x8(_mm256_add_epi32(p0, p1)), xd * y[c][i].d, acc[c]);
                    accm[c] = fmaf((float)k4_pair_min_term(mn, y[c][i].bsums, j), xdmin * y[c][i].d, accm[c]);
                } else {
                    sumi[c] = _mm256_add_epi32(sumi[c], _mm256_add_epi32(p0, p1));
                }
            }
        }
        if (order == K4_ROW) {
            for (int c = 0; c < nc; c++) {
                acc[c] = fmaf((float)hsum_i32x8(sumi[c]), xd * y[c][i].d, acc[c]);
                accm[c] = fmaf((float)k4_min_term(mn, y[c][i].bsums), xdmin * y[c][i].d, accm[c]);
            }
        } else if (order == K4_TILED) {
            for (int c = 0; c < nc; c++) {
                const float r = fmaf(-xdmin, (float)k4_min_term(mn, y[c][i].bsums), xd * (float)hsum_i32x8(sumi[c]));
                acc[c] = fmaf(r, y[c][i].d, acc[c]);
            }
        } else if (order == K4_VEC) {
            const __m128i mins = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)mn));
            for (int c = 0; c < nc; c++) {
                const __m128i b0 = _mm_loadu_si128((const __m128i *)y[c][i].bsums);
                const __m128i b1 = _mm_loadu_si128((const __m128i *)(y[c][i].bsums + 8));
                const __m128i prod = _mm_madd_epi16(mins, _mm_hadd_epi16(b0, b1));
                vaccm[c] = _mm_fmadd_ps(_mm_set1_ps(-(y[c][i].d * xdmin)), _mm_cvtepi32_ps(prod), vaccm[c]);
                vacc[c] = _mm256_fmadd_ps(_mm256_set1_ps(y[c][i].d * xd), _mm256_cvtepi32_ps(sumi[c]), vacc[c]);
            }
        }
    }
    for (int c = 0; c < nc; c++) {
        if (order == K4_VEC) {
            __m128 m = _mm_add_ps(vaccm[c], _mm_movehl_ps(vaccm[c], vaccm[c]));
            m = _mm_add_ss(m, _mm_movehdup_ps(m));
            out[c] = hsum_ps(vacc[c]) + _mm_cvtss_f32(m);
        } else {
            out[c] = order == K4_TILED ? acc[c] : acc[c] - accm[c];
        }
    }
}
CK_AVX2 static inline __attribute__((always_inline)) void gemmn_q4_K_avx2(int64_t n, const blk_q4_K *x, const void *a, size_t stride, float *out, const int nc) {
    gemmn_q4_K_ord_avx2(n, x, a, stride, out, nc, K4_ROW);
}
CK_AVX2 static inline __attribute__((always_inline)) void gemmn_q4_K_rows4_avx2(int64_t n, const blk_q4_K *x, const void *a, size_t stride, float *out, const int nc) {
    gemmn_q4_K_ord_avx2(n, x, a, stride, out, nc, K4_ROWS4);
}
CK_AVX2 static inline __attribute__((always_inline)) void gemmn_q4_K_vec_avx2(int64_t n, const blk_q4_K *x, const void *a, size_t stride, float *out, const int nc) {
    gemmn_q4_K_ord_avx2(n, x, a, stride, out, nc, K4_VEC);
}
CK_AVX2 static inline __attribute__((always_inline)) void gemmn_q4_K_tiled_avx2(int64_t n, const blk_q4_K *x, const void *a, size_t stride, float *out, const int nc) {
    gemmn_q4_K_ord_avx2(n, x, a, stride, out, nc, K4_TILED);
}
CK_AVX2 static void gemm4_q4_K_avx2(int64_t n, const blk_q4_K *x, const void *a, size_t stride, float *out) { gemmn_q4_K_avx2(n, x, a, stride, out, 4); }

CK_AVX2 static inline __attribute__((always_inline)) void gemmn_q5_K_ord_avx2(int64_t n, const blk_q5_K *x, const void *a, size_t stride, float *out, const int nc, const int order) {
    const int64_t nb = n / 256;
    const blk_q8_K *y[4] = {CK_COL(0), CK_COL(1), CK_COL(2), CK_COL(3)};
    const __m256i m4 = _mm256_set1_epi8(0xF);
    const __m256i m1 = _mm256_set1_epi8(1);
    __m256 acc[4];
    float accm[4] = {0, 0, 0, 0}, accs[4] = {0, 0, 0, 0};
    for (int c = 0; c < nc; c++) acc[c] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const float xd = h2f_hw(x[i].d), xdmin = h2f_hw(x[i].dmin);
        uint64_t sc, mn;
        unpack_scale_min_k4_words(x[i].scales, &sc, &mn);
        const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc)));
        __m256i hb = _mm256_loadu_si256((const __m256i *)x[i].qh);
        __m256i sumi[4];
        for (int c = 0; c < nc; c++) sumi[c] = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * j));
            const __m256i h0 = _mm256_slli_epi16(_mm256_and_si256(hb, m1), 4);
            hb = _mm256_srli_epi16(hb, 1);
            const __m256i h1 = _mm256_slli_epi16(_mm256_and_si256(hb, m1), 4);
            hb = _mm256_srli_epi16(hb, 1);
            const __m256i lo = _mm256_or_si256(_mm256_and_si256(q, m4), h0);
            const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), h1);
            const __m256i s0 = word_bcast(sc16, 2 * j), s1 = word_bcast(sc16, 2 * j + 1);
            for (int c = 0; c < nc; c++) {
                const __m256i y0 = _mm256_loadu_si256((const __m256i *)(y[c][i].qs + 64 * j));
                const __m256i y1 = _mm256_loadu_si256((const __m256i *)(y[c][i].qs + 64 * j + 32));
                const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, y0), s0);
                const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, y1), s1);
                sumi[c] = _mm256_add_epi32(sumi[c], _mm256_add_epi32(p0, p1));
            }
        }
        for (int c = 0; c < nc; c++) {
            if (order == K5_TILED) {
                const float r = fmaf(-xdmin, (float)k4_min_term(mn, y[c][i].bsums), xd * (float)hsum_i32x8(sumi[c]));
                accs[c] = fmaf(r, y[c][i].d, accs[c]);
            } else {
                const float d = y[c][i].d * xd, dmin = y[c][i].d * xdmin;
                accm[c] = fmaf(dmin, (float)k4_min_term(mn, y[c][i].bsums), accm[c]);
                acc[c] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi[c]), acc[c]);
            }
        }
    }
    for (int c = 0; c < nc; c++) out[c] = order == K5_TILED ? accs[c] : hsum_ps(acc[c]) - accm[c];
}
CK_AVX2 static inline __attribute__((always_inline)) void gemmn_q5_K_avx2(int64_t n, const blk_q5_K *x, const void *a, size_t stride, float *out, const int nc) {
    gemmn_q5_K_ord_avx2(n, x, a, stride, out, nc, K5_VEC);
}
CK_AVX2 static inline __attribute__((always_inline)) void gemmn_q5_K_tiled_avx2(int64_t n, const blk_q5_K *x, const void *a, size_t stride, float *out, const int nc) {
    gemmn_q5_K_ord_avx2(n, x, a, stride, out, nc, K5_TILED);
}
CK_AVX2 static void gemm4_q5_K_avx2(int64_t n, const blk_q5_K *x, const void *a, size_t stride, float *out) { gemmn_q5_K_avx2(n, x, a, stride, out, 4); }

// Q2_K and Q3_K, up to four columns, in the orders of dot_q2_K_ord / dot_q3_K_ord per column.
CK_AVX2 static inline __attribute__((always_inline)) void gemmn_q2_K_ord_avx2(int64_t n, const blk_q2_K *x, const void *a, size_t stride, float *out, const int nc, const int order) {
    const int64_t nb = n / 256;
    const blk_q8_K *y[4] = {CK_COL(0), CK_COL(1), CK_COL(2), CK_COL(3)};
    const __m256i m3 = _mm256_set1_epi8(3);
    const __m128i m4 = _mm_set1_epi8(0xF);
    __m256 acc[4];
    float accs[4] = {0, 0, 0, 0};
    for (int c = 0; c < nc; c++) acc[c] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const float xd = h2f_hw(x[i].d), xdmin = h2f_hw(x[i].dmin);
        const __m128i sc8 = _mm_loadu_si128((const __m128i *)x[i].scales);
        const __m256i mins16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sc8, 4), m4));
        const __m256i s16 = _mm256_cvtepu8_epi16(_mm_and_si128(sc8, m4));
        const __m256i half[2] = {_mm256_permute2x128_si256(s16, s16, 0x00), _mm256_permute2x128_si256(s16, s16, 0x11)};
        __m256i sumi[4];
        for (int c = 0; c < nc; c++) sumi[c] = _mm256_setzero_si256();
        for (int nn = 0; nn < 2; nn++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * nn));
            for (int j = 0; j < 4; j++) {
                const __m256i u = _mm256_and_si256(q, m3);
                q = _mm256_srli_epi16(q, 2);
                const __m256i sj = half_pair_scales(half[nn], j);
                for (int c = 0; c < nc; c++) {
                    const __m256i yv = _mm256_loadu_si256((const __m256i *)(y[c][i].qs + 128 * nn + 32 * j));
                    sumi[c] = _mm256_add_epi32(sumi[c], _mm256_madd_epi16(_mm256_maddubs_epi16(u, yv), sj));
                }
            }
        }
        for (int c = 0; c < nc; c++) {
            const __m256i pm = _mm256_madd_epi16(mins16, _mm256_loadu_si256((const __m256i *)y[c][i].bsums));
            if (order == Q2_TILED) {
                const float r = fmaf(-xdmin, (float)hsum_i32x8(pm), xd * (float)hsum_i32x8(sumi[c]));
                accs[c] = fmaf(r, y[c][i].d, accs[c]);
            } else {
                acc[c] = _mm256_fmadd_ps(_mm256_set1_ps(-(y[c][i].d * xdmin)), _mm256_cvtepi32_ps(pm), acc[c]);
                acc[c] = _mm256_fmadd_ps(_mm256_set1_ps(y[c][i].d * xd), _mm256_cvtepi32_ps(sumi[c]), acc[c]);
            }
        }
    }
    for (int c = 0; c < nc; c++) out[c] = order == Q2_TILED ? accs[c] : hsum_ps(acc[c]);
}
CK_AVX2 static inline __attribute__((always_inline)) void gemmn_q2_K_avx2(int64_t n, const blk_q2_K *x, const void *a, size_t stride, float *out, const int nc) {
    gemmn_q2_K_ord_avx2(n, x, a, stride, out, nc, Q2_VEC);
}
CK_AVX2 static inline __attribute__((always_inline)) void gemmn_q2_K_tiled_avx2(int64_t n, const blk_q2_K *x, const void *a, size_t stride, float *out, const int nc) {
    gemmn_q2_K_ord_avx2(n, x, a, stride, out, nc, Q2_TILED);
}

CK_AVX2 static inline __attribute__((always_inline)) void gemmn_q3_K_ord_avx2(int64_t n, const blk_q3_K *x, const void *a, size_t stride, float *out, const int nc, const int order) {
    const int64_t nb = n / 256;
    const blk_q8_K *y[4] = {CK_COL(0), CK_COL(1), CK_COL(2), CK_COL(3)};
    const __m256i m3 = _mm256_set1_epi8(3);
    const __m256i m1 = _mm256_set1_epi8(1);
    __m256 acc[4];
    float accs[4] = {0, 0, 0, 0};
    for (int c = 0; c < nc; c++) acc[c] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const float xd = h2f_hw(x[i].d);
        const __m256i s16 = _mm256_cvtepi8_epi16(q3_K_scales_vec(x[i].scales));
        const __m256i half[2] = {_mm256_permute2x128_si256(s16, s16, 0x00), _mm256_permute2x128_si256(s16, s16, 0x11)};
        __m256i sumi[4];
        for (int c = 0; c < nc; c++) sumi[c] = _mm256_setzero_si256();
        __m256i hm = _mm256_loadu_si256((const __m256i *)x[i].hmask);
        for (int nn = 0; nn < 2; nn++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * nn));
            for (int j = 0; j < 4; j++) {
                const __m256i lo = _mm256_and_si256(q, m3);
                const __m256i hb = order == Q3_VEC ? _mm256_andnot_si256(hm, m1) : _mm256_and_si256(hm, m1);
                const __m256i h = _mm256_slli_epi16(hb, 2);
                const __m256i u = _mm256_or_si256(lo, h);
                hm = _mm256_srli_epi16(hm, 1);
                q = _mm256_srli_epi16(q, 2);
                const __m256i sj = half_pair_scales(half[nn], j);
                for (int c = 0; c < nc; c++) {
                    const __m256i yv = _mm256_loadu_si256((const __m256i *)(y[c][i].qs + 128 * nn + 32 * j));
                    const __m256i p = order == Q3_VEC ? _mm256_sub_epi16(_mm256_maddubs_epi16(lo, yv), _mm256_maddubs_epi16(h, yv))
                                                      : _mm256_maddubs_epi16(u, yv);
                    sumi[c] = _mm256_add_epi32(sumi[c], _mm256_madd_epi16(p, sj));
                }
            }
        }
        for (int c = 0; c < nc; c++) {
            if (order == Q3_TILED) {
                const __m256i bias = _mm256_madd_epi16(s16, _mm256_loadu_si256((const __m256i *)y[c][i].bsums));
                const __m256i t = _mm256_sub_epi32(sumi[c], _mm256_slli_epi32(bias, 2));
                accs[c] = fmaf(xd * (float)hsum_i32x8(t), y[c][i].d, accs[c]);
            } else {
                acc[c] = _mm256_fmadd_ps(_mm256_set1_ps(xd * y[c][i].d), _mm256_cvtepi32_ps(sumi[c]), acc[c]);
            }
        }
    }
    for (int c = 0; c < nc; c++) out[c] = order == Q3_TILED ? accs[c] : hsum_ps(acc[c]);
}
CK_AVX2 static inline __attribute__((always_inline)) void gemmn_q3_K_avx2(int64_t n, const blk_q3_K *x, const void *a, size_t stride, float *out, const int nc) {
    gemmn_q3_K_ord_avx2(n, x, a, stride, out, nc, Q3_VEC);
}
CK_AVX2 static inline __attribute__((always_inline)) void gemmn_q3_K_tiled_avx2(int64_t n, const blk_q3_K *x, const void *a, size_t stride, float *out, const int nc) {
    gemmn_q3_K_ord_avx2(n, x, a, stride, out, nc, Q3_TILED);
}

CK_AVX2 static inline __attribute__((always_inline)) void gemmn_q6_K_ord_avx2(int64_t n, const blk_q6_K *x, const void *a, size_t stride, float *out, const int nc, const int order) {
    const int64_t nb = n / 256;
    const blk_q8_K *y[4] = {CK_COL(0), CK_COL(1), CK_COL(2), CK_COL(3)};
    const __m256i m4 = _mm256_set1_epi8(0xF);
    const __m256i m3 = _mm256_set1_epi8(3);
    __m256 acc[4];
    float accs[4] = {0, 0, 0, 0};
    for (int c = 0; c < nc; c++) acc[c] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const float xd = h2f_hw(x[i].d);
        const __m128i sc = _mm_loadu_si128((const __m128i *)x[i].scales);
        const __m256i sc16 = _mm256_cvtepi8_epi16(sc);
        __m256i sumi[4];
        for (int c = 0; c < nc; c++) sumi[c] = _mm256_setzero_si256();
        for (int nn = 0; nn < 2; nn++) {
            const __m256i qh = _mm256_loadu_si256((const __m256i *)(x[i].qh + 32 * nn));
            const __m256i l0 = _mm256_loadu_si256((const __m256i *)(x[i].ql + 64 * nn));
            const __m256i l1 = _mm256_loadu_si256((const __m256i *)(x[i].ql + 64 * nn + 32));
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m3), 4));
            q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m3), 4));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m3), 4));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m3), 4));
            for (int k = 0; k < 4; k++) {
                const __m256i s = pair_scales_s8(sc, 4 * nn + k);
                for (int c = 0; c < nc; c++) {
                    const __m256i yv = _mm256_loadu_si256((const __m256i *)(y[c][i].qs + 128 * nn + 32 * k));
                    sumi[c] = _mm256_add_epi32(sumi[c], _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], yv), s));
                }
            }
        }
        for (int c = 0; c < nc; c++) {
            const __m256i bias = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)y[c][i].bsums));
            const __m256i t = _mm256_sub_epi32(sumi[c], _mm256_slli_epi32(bias, 5));
            if (order == Q6_TILED) accs[c] = fmaf(xd * (float)hsum_i32x8(t), y[c][i].d, accs[c]);
            else acc[c] = _mm256_fmadd_ps(_mm256_set1_ps(xd * y[c][i].d), _mm256_cvtepi32_ps(t), acc[c]);
        }
    }
    for (int c = 0; c < nc; c++) out[c] = order == Q6_TILED ? accs[c] : hsum_ps(acc[c]);
}
CK_AVX2 static inline __attribute__((always_inline)) void gemmn_q6_K_avx2(int64_t n, const blk_q6_K *x, const void *a, size_t stride, float *out, const int nc) {
    gemmn_q6_K_ord_avx2(n, x, a, stride, out, nc, Q6_VEC);
}
CK_AVX2 static inline __attribute__((always_inline)) void gemmn_q6_K_tiled_avx2(int64_t n, const blk_q6_K *x, const void *a, size_t stride, float *out, const int nc) {
    gemmn_q6_K_ord_avx2(n, x, a, stride, out, nc, Q6_TILED);
}
CK_AVX2 static void gemm4_q6_K_avx2(int64_t n, const blk_q6_K *x, const void *a, size_t stride, float *out) { gemmn_q6_K_avx2(n, x, a, stride, out, 4); }

// Q8_0, Q5_0 and Q4_0: signed weights, one accumulator per column as the single-row kernels.
CK_AVX2 static inline __m256i q8_0_values(const blk_q8_0 *b) { return _mm256_loadu_si256((const __m256i *)b->qs); }
CK_AVX2 static inline __m256i q4_0_values(const blk_q4_0 *b) { return _mm256_sub_epi8(nibbles_32(b->qs), _mm256_set1_epi8(8)); }

#define CK_GEMM4_SIGNED_32(NAME, BLK, VALUES_FN)                                                      \
CK_AVX2 static void NAME(int64_t n, const BLK *x, const void *a, size_t stride, float *out) {         \
    const blk_q8_0 *y[4] = {CK_COL(0), CK_COL(1), CK_COL(2), CK_COL(3)};                               \
    __m256 acc[4];                                                                                     \
    for (int c = 0; c < 4; c++) acc[c] = _mm256_setzero_ps();                                          \
    for (int64_t i = 0; i < n / 32; i++) {                                                             \
        const float xd = h2f_hw(x[i].d);                                                               \
        const __m256i q = VALUES_FN(x + i);                                                            \
        const __m256i aq = _mm256_sign_epi8(q, q);                                                     \
        for (int c = 0; c < 4; c++) {                                                                  \
            const __m256 d = _mm256_set1_ps(xd * h2f_hw(y[c][i].d));                                   \
            const __m256i yv = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)y[c][i].qs), q);   \
            const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(aq, yv), _mm256_set1_epi16(1));   \
            acc[c] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc[c]);                                \
        }                                                                                              \
    }                                                                                                  \
    for (int c = 0; c < 4; c++) out[c] = hsum_ps(acc[c]);                                              \
}

CK_GEMM4_SIGNED_32(gemm4_q8_0_avx2, blk_q8_0, q8_0_values)
CK_GEMM4_SIGNED_32(gemm4_q5_0_avx2, blk_q5_0, q5_0_values)
CK_GEMM4_SIGNED_32(gemm4_q4_0_avx2, blk_q4_0, q4_0_values)

// Q4_1 and Q5_1: unsigned weights with a per-block minimum, against Q8_1 (d and s = d * sum q),
// in the single-row kernels' order per column.
#define CK_GEMM4_MIN_32(NAME, BLK, VALUES_FN)                                                         \
CK_AVX2 static void NAME(int64_t n, const BLK *x, const void *a, size_t stride, float *out) {         \
    const blk_q8_1 *y[4] = {CK_COL(0), CK_COL(1), CK_COL(2), CK_COL(3)};                               \
    __m256 acc[4];                                                                                     \
    float summs[4] = {0, 0, 0, 0};                                                                     \
    for (int c = 0; c < 4; c++) acc[c] = _mm256_setzero_ps();                                          \
    for (int64_t i = 0; i < n / 32; i++) {                                                             \
        const float xd = h2f_hw(x[i].d), xm = h2f_hw(x[i].m);                                          \
        const __m256i q = VALUES_FN(x + i);                                                            \
        for (int c = 0; c < 4; c++) {                                                                  \
            const __m256 d = _mm256_set1_ps(xd * h2f_hw(y[c][i].d));                                   \
            summs[c] = fmaf(xm, h2f_hw(y[c][i].s), summs[c]);                                          \
            const __m256i p = dot_u8s8_i32(q, _mm256_loadu_si256((const __m256i *)y[c][i].qs));        \
            acc[c] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc[c]);                                \
        }                                                                                              \
    }                                                                                                  \
    for (int c = 0; c < 4; c++) out[c] = hsum_ps(acc[c]) + summs[c];                                   \
}

CK_AVX2 static inline __m256i q4_1_values(const blk_q4_1 *b) { return nibbles_32(b->qs); }
CK_GEMM4_MIN_32(gemm4_q4_1_avx2, blk_q4_1, q4_1_values)
CK_GEMM4_MIN_32(gemm4_q5_1_avx2, blk_q5_1, q5_1_values)



// AVX2 activation quantizers: same arithmetic as the scalar ones (nearest-even rounding of
// x * id with id = 127/amax, or of iscale * x for Q8_K), so the bytes are identical.

CK_AVX2 static inline float hmax_ps(__m256 v) {
    __m128 r = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    r = _mm_max_ps(r, _mm_movehl_ps(r, r));
    r = _mm_max_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}

// 32 floats (already scaled) -> 32 int8, rounding to nearest even, saturating.
CK_AVX2 static inline __m256i round_pack_32(__m256 a, __m256 b, __m256 c, __m256 d, __m256i *sum16) {
    const __m256i i0 = _mm256_cvtps_epi32(_mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    const __m256i i1 = _mm256_cvtps_epi32(_mm256_round_ps(b, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    const __m256i i2 = _mm256_cvtps_epi32(_mm256_round_ps(c, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    const __m256i i3 = _mm256_cvtps_epi32(_mm256_round_ps(d, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    if (sum16) *sum16 = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
    const __m256i p01 = _mm256_packs_epi32(i0, i1);
    const __m256i p23 = _mm256_packs_epi32(i2, i3);
    const __m256i p = _mm256_packs_epi16(p01, p23);
    return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

CK_AVX2 static inline int hsum_epi32_256(__m256i v) {
    return hsum_epi32_128(_mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)));
}

CK_AVX2 static void quantize_q8_0_1_avx2(const float *x, void *vy, int64_t n, int with_sum) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const int64_t nb = n / 32;
    const size_t bsz = with_sum ? sizeof(blk_q8_1) : sizeof(blk_q8_0);
    for (int64_t i = 0; i < nb; i++) {
        const float *xb = x + i * 32;
        __m256 v0 = _mm256_loadu_ps(xb), v1 = _mm256_loadu_ps(xb + 8);
        __m256 v2 = _mm256_loadu_ps(xb + 16), v3 = _mm256_loadu_ps(xb + 24);
        __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
                                 _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)));
        const float amax = hmax_ps(m);
        const float d = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        const __m256 vid = _mm256_set1_ps(id);
        __m256i sum;
        const __m256i q = round_pack_32(_mm256_mul_ps(v0, vid), _mm256_mul_ps(v1, vid), _mm256_mul_ps(v2, vid),
                                        _mm256_mul_ps(v3, vid), &sum);
        char *blk = (char *)vy + i * bsz;
        if (with_sum) {
            blk_q8_1 *y = (blk_q8_1 *)blk;
            y->d = ck_f2h(d);
            y->s = ck_f2h(d * (float)hsum_epi32_256(sum));
            _mm256_storeu_si256((__m256i *)y->qs, q);
        } else {
            blk_q8_0 *y = (blk_q8_0 *)blk;
            y->d = ck_f2h(d);
            _mm256_storeu_si256((__m256i *)y->qs, q);
        }
    }
}

CK_AVX2 static void quantize_q8_K_avx2(const float *x, void *vy, int64_t n) {
    blk_q8_K *y = (blk_q8_K *)vy;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const int64_t nb = n / 256;
    for (int64_t i = 0; i < nb; i++) {
        const float *xb = x + i * 256;
        __m256 m = _mm256_setzero_ps();
        for (int j = 0; j < 256; j += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(xb + j)));
        const float amax = hmax_ps(m);
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof(blk_q8_K));
            continue;
        }
        // the signed value of the first element with the largest magnitude
        float max = 0.0f;
        const __m256 vamax = _mm256_set1_ps(amax);
        for (int j = 0; j < 256; j += 8) {
            const int mask = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(xb + j)), vamax, _CMP_EQ_OQ));
            if (mask) { max = xb[j + __builtin_ctz((unsigned)mask)]; break; }
        }
        const float iscale = -127.0f / max;
        const __m256 vs = _mm256_set1_ps(iscale);
        for (int j = 0; j < 256; j += 32) {
            const __m256i q = round_pack_32(_mm256_mul_ps(vs, _mm256_loadu_ps(xb + j)), _mm256_mul_ps(vs, _mm256_loadu_ps(xb + j + 8)),
                                            _mm256_mul_ps(vs, _mm256_loadu_ps(xb + j + 16)), _mm256_mul_ps(vs, _mm256_loadu_ps(xb + j + 24)), NULL);
            _mm256_storeu_si256((__m256i *)(y[i].qs + j), q);
        }
        // group sums of 16: sign-extend to int16 and add adjacent pairs down to one per group
        const __m256i ones = _mm256_set1_epi16(1);
        for (int g = 0; g < 16; g += 2) {
            const __m256i w = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(y[i].qs + 16 * g)));
            const __m256i w2 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(y[i].qs + 16 * g + 16)));
            y[i].bsums[g] = (int16_t)hsum_epi32_256(_mm256_madd_epi16(w, ones));
            y[i].bsums[g + 1] = (int16_t)hsum_epi32_256(_mm256_madd_epi16(w2, ones));
        }
        y[i].d = 1.0f / iscale;
    }
}

#define CK_DISPATCH(avx2call, scalarcall) \
    do { if (use_avx2()) return avx2call; return scalarcall; } while (0)
#else
#define CK_DISPATCH(avx2call, scalarcall) do { return scalarcall; } while (0)
#endif

// ---------------------------------------------------------------------------------------------
// Public entry points.

float ck_vec_dot_q4_0_q8_0(int64_t n, const void *w, const void *a) {
    CK_DISPATCH(dot_q4_0_avx2(n, w, a), dot_q4_0_scalar(n, w, a));
}
float ck_vec_dot_q4_1_q8_1(int64_t n, const void *w, const void *a) {
    CK_DISPATCH(dot_q4_1_avx2(n, w, a), dot_q4_1_scalar(n, w, a));
}
float ck_vec_dot_q5_0_q8_0(int64_t n, const void *w, const void *a) {
    CK_DISPATCH(dot_q5_0_avx2(n, w, a), dot_q5_0_scalar(n, w, a));
}
float ck_vec_dot_q5_1_q8_1(int64_t n, const void *w, const void *a) {
    CK_DISPATCH(dot_q5_1_avx2(n, w, a), dot_q5_1_scalar(n, w, a));
}
float ck_vec_dot_q8_0_q8_0(int64_t n, const void *w, const void *a) {
    CK_DISPATCH(dot_q8_0_avx2(n, w, a), dot_q8_0_scalar(n, w, a));
}
float ck_vec_dot_q2_K_q8_K(int64_t n, const void *w, const void *a) {
    CK_DISPATCH(dot_q2_K_avx2(n, w, a), dot_q2_K_scalar(n, w, a));
}
float ck_vec_dot_q3_K_q8_K(int64_t n, const void *w, const void *a) {
    CK_DISPATCH(dot_q3_K_avx2(n, w, a), dot_q3_K_scalar(n, w, a));
}
float ck_vec_dot_q4_K_q8_K(int64_t n, const void *w, const void *a) {
    CK_DISPATCH(dot_q4_K_avx2(n, w, a), dot_q4_K_scalar(n, w, a));
}
float ck_vec_dot_q5_K_q8_K(int64_t n, const void *w, const void *a) {
    CK_DISPATCH(dot_q5_K_avx2(n, w, a), dot_q5_K_scalar(n, w, a));
}
float ck_vec_dot_q6_K_q8_K(int64_t n, const void *w, const void *a) {
    CK_DISPATCH(dot_q6_K_avx2(n, w, a), dot_q6_K_scalar(n, w, a));
}
float ck_vec_dot_q4_K_q8_K_rows4(int64_t n, const void *w, const void *a) {
    CK_DISPATCH(dot_q4_K_rows4_avx2(n, w, a), dot_q4_K_scalar(n, w, a));
}
float ck_vec_dot_q4_K_q8_K_vec(int64_t n, const void *w, const void *a) {
    CK_DISPATCH(dot_q4_K_vec_avx2(n, w, a), dot_q4_K_scalar(n, w, a));
}
float ck_vec_dot_q4_K_q8_K_tiled(int64_t n, const void *w, const void *a) {
    CK_DISPATCH(dot_q4_K_tiled_avx2(n, w, a), dot_q4_K_scalar(n, w, a));
}
float ck_vec_dot_q2_K_q8_K_tiled(int64_t n, const void *w, const void *a) {
    CK_DISPATCH(dot_q2_K_tiled_avx2(n, w, a), dot_q2_K_scalar(n, w, a));
}
float ck_vec_dot_q3_K_q8_K_tiled(int64_t n, const void *w, const void *a) {
    CK_DISPATCH(dot_q3_K_tiled_avx2(n, w, a), dot_q3_K_scalar(n, w, a));
}
float ck_vec_dot_q5_K_q8_K_tiled(int64_t n, const void *w, const void *a) {
    CK_DISPATCH(dot_q5_K_tiled_avx2(n, w, a), dot_q5_K_scalar(n, w, a));
}
float ck_vec_dot_q6_K_q8_K_tiled(int64_t n, const void *w, const void *a) {
    CK_DISPATCH(dot_q6_K_tiled_avx2(n, w, a), dot_q6_K_scalar(n, w, a));
}
float ck_vec_dot_f16_f32(int64_t n, const uint16_t *w, const float *a) {
    CK_DISPATCH(dot_f16_f32_avx2(n, w, a), dot_f16_f32_scalar(n, w, a));
}
float ck_vec_dot_bf16_f32(int64_t n, const uint16_t *w, const float *a) {
    CK_DISPATCH(dot_bf16_f32_avx2(n, w, a), dot_bf16_f32_scalar(n, w, a));
}

// Four-column entry points: AVX2 micro-kernel, or four single dot products.
#if CK_X86
#define CK_GEMM4(NAME, KERNEL, DOT)                                                           \
void NAME(int64_t n, const void *w, const void *a, size_t stride, float *out) {               \
    if (use_avx2()) { KERNEL(n, w, a, stride, out); return; }                                 \
    for (int c = 0; c < 4; c++) out[c] = DOT(n, w, CK_COL(c));                                \
}
#else
#define CK_GEMM4(NAME, KERNEL, DOT)                                                           \
void NAME(int64_t n, const void *w, const void *a, size_t stride, float *out) {               \
    for (int c = 0; c < 4; c++) out[c] = DOT(n, w, (const char *)a + c * stride);              \
}
#endif
CK_GEMM4(ck_gemm4_q4_0_q8_0, gemm4_q4_0_avx2, ck_vec_dot_q4_0_q8_0)
CK_GEMM4(ck_gemm4_q5_0_q8_0, gemm4_q5_0_avx2, ck_vec_dot_q5_0_q8_0)
CK_GEMM4(ck_gemm4_q4_1_q8_1, gemm4_q4_1_avx2, ck_vec_dot_q4_1_q8_1)
CK_GEMM4(ck_gemm4_q5_1_q8_1, gemm4_q5_1_avx2, ck_vec_dot_q5_1_q8_1)
CK_GEMM4(ck_gemm4_q8_0_q8_0, gemm4_q8_0_avx2, ck_vec_dot_q8_0_q8_0)
CK_GEMM4(ck_gemm4_q4_K_q8_K, gemm4_q4_K_avx2, ck_vec_dot_q4_K_q8_K)
CK_GEMM4(ck_gemm4_q5_K_q8_K, gemm4_q5_K_avx2, ck_vec_dot_q5_K_q8_K)
CK_GEMM4(ck_gemm4_q6_K_q8_K, gemm4_q6_K_avx2, ck_vec_dot_q6_K_q8_K)

void ck_quantize_row_q8_0(const float *x, void *y, int64_t n) {
#if CK_X86
    if (use_avx2()) { quantize_q8_0_1_avx2(x, y, n, 0); return; }
#endif
    quantize_q8_0_scalar(x, y, n);
}
void ck_quantize_row_q8_1(const float *x, void *y, int64_t n) {
#if CK_X86
    if (use_avx2()) { quantize_q8_0_1_avx2(x, y, n, 1); return; }
#endif
    quantize_q8_1_scalar(x, y, n);
}
void ck_quantize_row_q8_K(const float *x, void *y, int64_t n) {
#if CK_X86
    if (use_avx2()) { quantize_q8_K_avx2(x, y, n); return; }
#endif
    quantize_q8_K_scalar(x, y, n);
}

void ck_f16_to_f32(const uint16_t *x, float *y, int64_t n) {
#if CK_X86
    if (use_avx2()) { f16_to_f32_avx2(x, y, n); return; }
#endif
    for (int64_t i = 0; i < n; i++) y[i] = ck_h2f(x[i]);
}

void ck_f32_to_f16(const float *x, uint16_t *y, int64_t n) {
#if CK_X86
    if (use_avx2()) { f32_to_f16_avx2(x, y, n); return; }
#endif
    for (int64_t i = 0; i < n; i++) y[i] = ck_f2h(x[i]);
}

// ---------------------------------------------------------------------------------------------
// Prepared activations for the 32-element weight formats (see CKernels.h).
//
// The activation row is quantized exactly as for Q8_0/Q8_1 (same int8 values, same f16-rounded
// scales), then laid out for the matmul: scales already converted to float, and for the
// offset formats (Q5_0: values u - 16, Q4_0: u - 8) the per-lane correction -16 * (sum of the
// four int8 activations of each 32-bit lane), halved for Q4_0. One prepared row serves every
// 32-element format, so q/k/v of mixed formats share it. The kernels then multiply the unsigned weights u
// directly and add the (negative) correction: every int32 lane equals the one the sign-trick kernels
// produce, and the float operations are the same, so results are bit-identical to
// ck_vec_dot_*_q8_0 / _q8_1 while doing less work per block.

// A prepared row is a sequence of block pairs (2p, 2p+1), 144 bytes each: int8 values of both
// blocks (64), their per-lane corrections (2 x 8 int32), the two scales d, then the two s. The
// 512-bit kernels read a pair with single loads; a row with an odd block count ends in a pair
// whose second half is zero.
#define P_PAIR 144
#define P_BASE(y, i) ((const char *)(y) + ((i) >> 1) * P_PAIR)
#define P_QS(y, i) ((const int8_t *)(P_BASE(y, i) + ((i) & 1) * 32))
#define P_CORR(y, i) ((const int32_t *)(P_BASE(y, i) + 64 + ((i) & 1) * 32))
#define P_D(y, i) (((const float *)(P_BASE(y, i) + 128))[(i) & 1])
#define P_S(y, i) (((const float *)(P_BASE(y, i) + 136))[(i) & 1])
_Static_assert(P_PAIR == CK_Q8P_PAIR_BYTES, "q8_p pair");

void ck_quantize_row_q8_p(const float *x, void *vy, int64_t n) {
    char *y = (char *)vy;
    const int64_t nb = n / 32;
    for (int64_t i = 0; i < nb; i++) {
        blk_q8_1 t;
        ck_quantize_row_q8_1(x + i * 32, &t, 32);
        char *base = y + (i >> 1) * P_PAIR;
        const int h = (int)(i & 1);
        memcpy(base + h * 32, t.qs, 32);
        int32_t corr[8];
        for (int j = 0; j < 8; j++) {
            corr[j] = -16 * (t.qs[4 * j] + t.qs[4 * j + 1] + t.qs[4 * j + 2] + t.qs[4 * j + 3]);
        }
        memcpy(base + 64 + h * 32, corr, 32);
        const float d = ck_h2f(t.d), s = ck_h2f(t.s);
        memcpy(base + 128 + h * 4, &d, 4);
        memcpy(base + 136 + h * 4, &s, 4);
    }
    if (nb & 1) {  // zero second half of the last pair
        char *base = y + (nb >> 1) * P_PAIR;
        memset(base + 32, 0, 32);
        memset(base + 96, 0, 32);
        memset(base + 132, 0, 4);
        memset(base + 140, 0, 4);
    }
}

// Scalar versions: the formulas of the scalar Q8_0/Q8_1 kernels.
static inline int p_value_q4_0(const blk_q4_0 *b, int j) { return j < 16 ? (b->qs[j] & 0xF) - 8 : (b->qs[j - 16] >> 4) - 8; }
static inline int p_value_q4_1(const blk_q4_1 *b, int j) { return j < 16 ? (b->qs[j] & 0xF) : (b->qs[j - 16] >> 4); }
static inline int p_value_q8_0(const blk_q8_0 *b, int j) { return b->qs[j]; }
static inline int p_value_q5_0(const blk_q5_0 *b, int j) {
    uint32_t qh;
    memcpy(&qh, b->qh, 4);
    const int lo = j < 16 ? (b->qs[j] & 0xF) : (b->qs[j - 16] >> 4);
    return (lo | (int)(((qh >> j) & 1) << 4)) - 16;
}
static inline int p_value_q5_1(const blk_q5_1 *b, int j) {
    uint32_t qh;
    memcpy(&qh, b->qh, 4);
    const int lo = j < 16 ? (b->qs[j] & 0xF) : (b->qs[j - 16] >> 4);
    return lo | (int)(((qh >> j) & 1) << 4);
}

#define CK_P_SCALAR_SIGNED(NAME, BLK, VALUE)                                                          \
static float NAME(int64_t n, const BLK *x, const char *y) {                                       \
    float sum = 0.0f;                                                                                  \
    for (int64_t i = 0; i < n / 32; i++) {                                                             \
        int s = 0;                                                                                     \
        for (int j = 0; j < 32; j++) s += VALUE(x + i, j) * P_QS(y, i)[j];                                \
        sum += (float)s * (ck_h2f(x[i].d) * P_D(y, i));                                                   \
    }                                                                                                  \
    return sum;                                                                                        \
}
#define CK_P_SCALAR_MIN(NAME, BLK, VALUE)                                                             \
static float NAME(int64_t n, const BLK *x, const char *y) {                                       \
    float sum = 0.0f;                                                                                  \
    for (int64_t i = 0; i < n / 32; i++) {                                                             \
        int s = 0;                                                                                     \
        for (int j = 0; j < 32; j++) s += VALUE(x + i, j) * P_QS(y, i)[j];                                \
        sum += (ck_h2f(x[i].d) * P_D(y, i)) * (float)s + ck_h2f(x[i].m) * P_S(y, i);                         \
    }                                                                                                  \
    return sum;                                                                                        \
}
CK_P_SCALAR_SIGNED(dot_q4_0_p_scalar, blk_q4_0, p_value_q4_0)
CK_P_SCALAR_SIGNED(dot_q5_0_p_scalar, blk_q5_0, p_value_q5_0)
CK_P_SCALAR_SIGNED(dot_q8_0_p_scalar, blk_q8_0, p_value_q8_0)
CK_P_SCALAR_MIN(dot_q4_1_p_scalar, blk_q4_1, p_value_q4_1)
CK_P_SCALAR_MIN(dot_q5_1_p_scalar, blk_q5_1, p_value_q5_1)

#if CK_X86

// int32 lanes of (weights) . (activation block), per format: unsigned u with the correction
// subtracted, or the sign trick for Q8_0's signed bytes.
CK_AVX2 static inline __m256i p_lanes_off(__m256i u, const char *y, int64_t i) {
    const __m256i p = dot_u8s8_i32(u, _mm256_loadu_si256((const __m256i *)P_QS(y, i)));
    return _mm256_add_epi32(p, _mm256_loadu_si256((const __m256i *)P_CORR(y, i)));
}
CK_AVX2 static inline __m256i p_lanes_off8(__m256i u, const char *y, int64_t i) {
    const __m256i p = dot_u8s8_i32(u, _mm256_loadu_si256((const __m256i *)P_QS(y, i)));
    return _mm256_add_epi32(p, _mm256_srai_epi32(_mm256_loadu_si256((const __m256i *)P_CORR(y, i)), 1));
}
CK_AVX2 static inline __m256i p_lanes_u(__m256i u, const char *y, int64_t i) {
    return dot_u8s8_i32(u, _mm256_loadu_si256((const __m256i *)P_QS(y, i)));
}
CK_AVX2 static inline __m256i p_lanes_s(__m256i q, const char *y, int64_t i) {
    return dot_s8s8_i32(q, _mm256_loadu_si256((const __m256i *)P_QS(y, i)));
}
CK_AVX2 static inline __m256i p_u_q4_0(const blk_q4_0 *b) { return nibbles_32(b->qs); }
CK_AVX2 static inline __m256i p_u_q5_0(const blk_q5_0 *b) {
    uint32_t qh;
    memcpy(&qh, b->qh, 4);
    return _mm256_or_si256(nibbles_32(b->qs), _mm256_and_si256(bits_to_bytes(qh), _mm256_set1_epi8(0x10)));
}
CK_AVX2 static inline __m256i p_u_q8_0(const blk_q8_0 *b) { return _mm256_loadu_si256((const __m256i *)b->qs); }

// Signed formats: one row, one accumulator over the blocks in order (ggml's AVX2 vec_dot).
#define CK_P_DOT_SIGNED(NAME, BLK, VALUES, LANES, ATTR)                                               \
ATTR static inline float NAME(int64_t n, const BLK *x, const char *y) {                        \
    __m256 acc = _mm256_setzero_ps();                                                                  \
    for (int64_t i = 0; i < n / 32; i++) {                                                             \
        const __m256 d = _mm256_set1_ps(h2f_hw(x[i].d) * P_D(y, i));                                      \
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(LANES(VALUES(x + i), y, i)), acc);                 \
    }                                                                                                  \
    return hsum_ps(acc);                                                                               \
}
// Minimum formats: as the Q4_1/Q5_1 kernels, minimum terms fused into a scalar block by block.
#define CK_P_DOT_MIN(NAME, BLK, VALUES, LANES, ATTR)                                                  \
ATTR static inline float NAME(int64_t n, const BLK *x, const char *y) {                        \
    __m256 acc = _mm256_setzero_ps();                                                                  \
    float summs = 0.0f;                                                                                \
    for (int64_t i = 0; i < n / 32; i++) {                                                             \
        const __m256 d = _mm256_set1_ps(h2f_hw(x[i].d) * P_D(y, i));                                      \
        summs = fmaf(h2f_hw(x[i].m), P_S(y, i), summs);                                                   \
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(LANES(VALUES(x + i), y, i)), acc);                 \
    }                                                                                                  \
    return hsum_ps(acc) + summs;                                                                       \
}

CK_P_DOT_SIGNED(dot_q4_0_p_avx2, blk_q4_0, p_u_q4_0, p_lanes_off8, CK_AVX2)
CK_P_DOT_SIGNED(dot_q5_0_p_avx2, blk_q5_0, p_u_q5_0, p_lanes_off, CK_AVX2)
CK_P_DOT_SIGNED(dot_q8_0_p_avx2, blk_q8_0, p_u_q8_0, p_lanes_s, CK_AVX2)
CK_P_DOT_MIN(dot_q4_1_p_avx2, blk_q4_1, q4_1_values, p_lanes_u, CK_AVX2)
CK_P_DOT_MIN(dot_q5_1_p_avx2, blk_q5_1, q5_1_values, p_lanes_u, CK_AVX2)


// Four columns: the weights of a block are unpacked once; each column keeps the single-row
// sequence of float operations.
#define CK_P_GEMM4_SIGNED(NAME, BLK, VALUES, LANES, ATTR)                                             \
ATTR static inline __attribute__((always_inline)) void NAME##_n(int64_t n, const BLK *x, const void *a, size_t stride, float *out, const int nc) {         \
    const char *y[4] = {CK_COL(0), CK_COL(1), CK_COL(2), CK_COL(3)};                               \
    __m256 acc[4];                                                                                     \
    for (int c = 0; c < nc; c++) acc[c] = _mm256_setzero_ps();                                         \
    for (int64_t i = 0; i < n / 32; i++) {                                                             \
        const float xd = h2f_hw(x[i].d);                                                               \
        const __m256i q = VALUES(x + i);                                                               \
        for (int c = 0; c < nc; c++) {                                                                  \
            const __m256 d = _mm256_set1_ps(xd * P_D(y[c], i));                                           \
            acc[c] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(LANES(q, y[c], i)), acc[c]);               \
        }                                                                                              \
    }                                                                                                  \
    for (int c = 0; c < nc; c++) out[c] = hsum_ps(acc[c]);                                             \
}                                                                                                      \
ATTR static void NAME(int64_t n, const BLK *x, const void *a, size_t stride, float *out) { NAME##_n(n, x, a, stride, out, 4); }
#define CK_P_GEMM4_MIN(NAME, BLK, VALUES, LANES, ATTR)                                                \
ATTR static inline __attribute__((always_inline)) void NAME##_n(int64_t n, const BLK *x, const void *a, size_t stride, float *out, const int nc) {         \
    const char *y[4] = {CK_COL(0), CK_COL(1), CK_COL(2), CK_COL(3)};                               \
    __m256 acc[4];                                                                                     \
    float summs[4] = {0, 0, 0, 0};                                                                     \
    for (int c = 0; c < nc; c++) acc[c] = _mm256_setzero_ps();                                         \
    for (int64_t i = 0; i < n / 32; i++) {                                                             \
        const float xd = h2f_hw(x[i].d), xm = h2f_hw(x[i].m);                                          \
        const __m256i q = VALUES(x + i);                                                               \
        for (int c = 0; c < nc; c++) {                                                                  \
            const __m256 d = _mm256_set1_ps(xd * P_D(y[c], i));                                           \
            summs[c] = fmaf(xm, P_S(y[c], i), summs[c]);                                                  \
            acc[c] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(LANES(q, y[c], i)), acc[c]);               \
        }                                                                                              \
    }                                                                                                  \
    for (int c = 0; c < nc; c++) out[c] = hsum_ps(acc[c]) + summs[c];                                  \
}                                                                                                      \
ATTR static void NAME(int64_t n, const BLK *x, const void *a, size_t stride, float *out) { NAME##_n(n, x, a, stride, out, 4); }

CK_P_GEMM4_SIGNED(gemm4_q4_0_p_avx2, blk_q4_0, p_u_q4_0, p_lanes_off8, CK_AVX2)
CK_P_GEMM4_SIGNED(gemm4_q5_0_p_avx2, blk_q5_0, p_u_q5_0, p_lanes_off, CK_AVX2)
CK_P_GEMM4_SIGNED(gemm4_q8_0_p_avx2, blk_q8_0, p_u_q8_0, p_lanes_s, CK_AVX2)
CK_P_GEMM4_MIN(gemm4_q4_1_p_avx2, blk_q4_1, q4_1_values, p_lanes_u, CK_AVX2)
CK_P_GEMM4_MIN(gemm4_q5_1_p_avx2, blk_q5_1, q5_1_values, p_lanes_u, CK_AVX2)

// Q4_0 as llama.cpp's AVX2 build multiplies the matrices it repacks (q4_0 8x8: row count a
// multiple of 8), at every batch size: per output, one chain acc = fma(block's integer sum,
// d_x * d_y, acc). Eight weight rows go together: their eight integer sums per block are
// reduced into one vector, so one vector fma serves eight outputs.
CK_AVX2 static inline __m256i hsum_8x8_epi32(__m256i v0, __m256i v1, __m256i v2, __m256i v3,
                                              __m256i v4, __m256i v5, __m256i v6, __m256i v7) {
    const __m256i t0 = _mm256_hadd_epi32(_mm256_hadd_epi32(v0, v1), _mm256_hadd_epi32(v2, v3));
    const __m256i t1 = _mm256_hadd_epi32(_mm256_hadd_epi32(v4, v5), _mm256_hadd_epi32(v6, v7));
    return _mm256_add_epi32(_mm256_permute2x128_si256(t0, t1, 0x20), _mm256_permute2x128_si256(t0, t1, 0x31));
}
CK_AVX2 static inline void rows8_q4_0_p_repacked_avx2(int64_t n, const char *w, size_t row_bytes, const char *y, float *out) {
    const blk_q4_0 *x[8];
    for (int r = 0; r < 8; r++) x[r] = (const blk_q4_0 *)(w + r * row_bytes);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / 32; i++) {
        const __m256i s = hsum_8x8_epi32(
            p_lanes_off8(p_u_q4_0(x[0] + i), y, i), p_lanes_off8(p_u_q4_0(x[1] + i), y, i),
            p_lanes_off8(p_u_q4_0(x[2] + i), y, i), p_lanes_off8(p_u_q4_0(x[3] + i), y, i),
            p_lanes_off8(p_u_q4_0(x[4] + i), y, i), p_lanes_off8(p_u_q4_0(x[5] + i), y, i),
            p_lanes_off8(p_u_q4_0(x[6] + i), y, i), p_lanes_off8(p_u_q4_0(x[7] + i), y, i));
        const __m128i dh = _mm_setr_epi16((short)x[0][i].d, (short)x[1][i].d, (short)x[2][i].d, (short)x[3][i].d,
                                          (short)x[4][i].d, (short)x[5][i].d, (short)x[6][i].d, (short)x[7][i].d);
        const __m256 d = _mm256_mul_ps(_mm256_cvtph_ps(dh), _mm256_set1_ps(P_D(y, i)));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), d, acc);
    }
    _mm256_storeu_ps(out, acc);
}
CK_AVX2 static inline float dot_q4_0_p_repacked_avx2(int64_t n, const blk_q4_0 *x, const char *y) {
    float acc = 0.0f;
    for (int64_t i = 0; i < n / 32; i++) {
        acc = fmaf((float)hsum_i32x8(p_lanes_off8(p_u_q4_0(x + i), y, i)), h2f_hw(x[i].d) * P_D(y, i), acc);
    }
    return acc;
}
CK_AVX2 static void gemv_q4_0_p_repacked_avx2(int64_t n, const char *w, size_t row_bytes, int64_t rows, const char *a, float *y) {
    int64_t r = 0;
    for (; r + 8 <= rows; r += 8) rows8_q4_0_p_repacked_avx2(n, w + r * row_bytes, row_bytes, a, y + r);
    for (; r < rows; r++) y[r] = dot_q4_0_p_repacked_avx2(n, (const blk_q4_0 *)(w + r * row_bytes), a);
}
// Block i of eight weight rows against `nc` columns: per column, the rows' integer sums as eight
// float lanes, acc = fma(sums, d_w * d_a, acc).
CK_AVX2 static inline __attribute__((always_inline)) void block8_cols_q4_0_p_repacked_avx2(
        const blk_q4_0 *const *x, int64_t i, const char *a, size_t stride, int nc, __m256 *acc) {
    __m256i u[8];
    for (int r = 0; r < 8; r++) u[r] = p_u_q4_0(x[r] + i);
    const __m256 dw = _mm256_cvtph_ps(_mm_setr_epi16((short)x[0][i].d, (short)x[1][i].d, (short)x[2][i].d, (short)x[3][i].d,
                                                     (short)x[4][i].d, (short)x[5][i].d, (short)x[6][i].d, (short)x[7][i].d));
    for (int c = 0; c < nc; c++) {
        const char *yc = a + c * stride;
        const __m256i s = hsum_8x8_epi32(p_lanes_off8(u[0], yc, i), p_lanes_off8(u[1], yc, i), p_lanes_off8(u[2], yc, i),
                                         p_lanes_off8(u[3], yc, i), p_lanes_off8(u[4], yc, i), p_lanes_off8(u[5], yc, i),
                                         p_lanes_off8(u[6], yc, i), p_lanes_off8(u[7], yc, i));
        acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(dw, _mm256_set1_ps(P_D(yc, i))), acc[c]);
    }
}
// Eight weight rows against `NC` (1 to 4) columns: the rows' weights are unpacked once per block.
CK_AVX2 static inline __attribute__((always_inline)) void rows8_cols_q4_0_p_repacked_avx2(
        int64_t n, const char *w, size_t row_bytes, const char *a, size_t stride, float *y, size_t y_stride, const int nc) {
    const blk_q4_0 *x[8];
    for (int r = 0; r < 8; r++) x[r] = (const blk_q4_0 *)(w + r * row_bytes);
    __m256 acc[4];
    for (int c = 0; c < nc; c++) acc[c] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / 32; i++) block8_cols_q4_0_p_repacked_avx2(x, i, a, stride, nc, acc);
    for (int c = 0; c < nc; c++) _mm256_storeu_ps(y + c * y_stride, acc[c]);
}
CK_AVX2 static void cols_q4_0_p_repacked_avx2(int64_t n, const char *w, size_t row_bytes, int64_t rows, const char *a, size_t stride,
                                              int cols, float *y, size_t y_stride) {
    int64_t r = 0;
    for (; r + 8 <= rows; r += 8) {
        for (int c = 0; c < cols; c += 4) {
            const char *wr = w + r * row_bytes, *ac = a + c * stride;
            float *yr = y + c * y_stride + r;
            switch (cols - c) {
            case 1: rows8_cols_q4_0_p_repacked_avx2(n, wr, row_bytes, ac, stride, yr, y_stride, 1); break;
            case 2: rows8_cols_q4_0_p_repacked_avx2(n, wr, row_bytes, ac, stride, yr, y_stride, 2); break;
            case 3: rows8_cols_q4_0_p_repacked_avx2(n, wr, row_bytes, ac, stride, yr, y_stride, 3); break;
            default: rows8_cols_q4_0_p_repacked_avx2(n, wr, row_bytes, ac, stride, yr, y_stride, 4); break;
            }
        }
    }
    for (; r < rows; r++)
        for (int c = 0; c < cols; c++)
            y[c * y_stride + r] = dot_q4_0_p_repacked_avx2(n, (const blk_q4_0 *)(w + r * row_bytes), a + c * stride);
}

// Up to eight columns per weight row where the CPU has AVX-512 F/VL/BW/VNNI (prefill, and
// decode over two or more sequences; a single column stays on AVX2: on the AMD machine we
// measure, a single-row kernel with vpdpbusd was slower than the AVX2 one, and the VEX AVX-VNNI
// form slower still). vpdpbusd sums four u8 x s8 products into each int32 lane
// without saturation; for the offset formats the correction is the accumulator's start value,
// so the lanes are the same integers as the AVX2 kernels'. Each unpacked weight block serves
// eight activation rows, on 512-bit registers (below); Q8_0's signed weights enter biased by 128.
// All bit-identical to the four-column and single-row kernels.
#define CK_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")))
// Q5_0's unsigned values for the AVX-512 kernels: the fifth bits added with a byte mask taken
// straight from qh (the same bytes as p_u_q5_0, in two instructions instead of six). Faster in
// the one-row kernel (Q5_0 4864x896, 4 columns: 0.233 vs 0.241 ms), slower in the two-row one.
CK_AVX512 static inline __m256i p_u_q5_0_k(const blk_q5_0 *b) {
    uint32_t qh;
    memcpy(&qh, b->qh, 4);
    const __m256i lo = nibbles_32(b->qs);
    return _mm256_mask_add_epi8(lo, (__mmask32)qh, lo, _mm256_set1_epi8(0x10));
}
#define CK_COLS8 {CK_COL(0), CK_COL(1), CK_COL(2), CK_COL(3), CK_COL(4), CK_COL(5), CK_COL(6), CK_COL(7)}
// The same eight-column kernels on 512-bit registers, two columns per register: column 2k in
// the low half and 2k+1 in the high half, the block's unpacked weights in both. Each half runs
// its column's single-row sequence (one accumulator, blocks in order), so the results are
// bit-identical to the 256-bit kernels. With an odd column count the last high half repeats the
// last column and is dropped.
// Two floats as [a x 8 | b x 8].
CK_AVX512 static inline __m512 z_halves_ps(float a, float b) {
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(_mm256_set1_ps(a))),
                                               _mm256_castps_pd(_mm256_set1_ps(b)), 1));
}
// 32 bytes at p (low half) and at q (high half).
CK_AVX512 static inline __m512i z_halves_si(const void *p, const void *q) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)p)),
                              _mm256_loadu_si256((const __m256i *)q), 1);
}
// CORR: 0 none, 1 the stored correction (Q5_0), 2 half of it (Q4_0), 3 eight times it (Q8_0,
// whose signed values q enter as q + 128: the correction -16 * lane sum times 8 removes the
// 128 * lane sum they add; the lane sums are exact, so the int32 lanes equal the signed ones).
// MIN: Z_MIN to add the minimum terms xm * s (Q4_1/Q5_1) as the single-row kernels, Z_NOMIN
// for none (the sum then adds 0.0f, which leaves every value unchanged).
#define Z_MIN(c0, c1)                                                                                  \
    do {                                                                                               \
        summs[c0] = fmaf(xm, P_S(y[c0], i), summs[c0]);                                                \
        if (c1 != c0) summs[c1] = fmaf(xm, P_S(y[c1], i), summs[c1]);                                  \
    } while (0)
#define Z_NOMIN(c0, c1) (void)0
#define Z_XM_Z_MIN const float xm = h2f_hw(x[i].m)
#define Z_XM_Z_NOMIN (void)0
#define Z_START(CORR, c0, c1)                                                                          \
    (CORR == 0 ? _mm512_setzero_si512()                                                                \
     : CORR == 1 ? z_halves_si(P_CORR(y[c0], i), P_CORR(y[c1], i))                                     \
     : CORR == 2 ? _mm512_srai_epi32(z_halves_si(P_CORR(y[c0], i), P_CORR(y[c1], i)), 1)              \
                 : _mm512_slli_epi32(z_halves_si(P_CORR(y[c0], i), P_CORR(y[c1], i)), 3))
#define Z_OUT(acc, summs, out, k, nc)                                                                  \
    do {                                                                                               \
        out[2 * (k)] = hsum_ps(_mm512_castps512_ps256(acc)) + summs[2 * (k)];                          \
        if (2 * (k) + 1 < nc)                                                                          \
            out[2 * (k) + 1] = hsum_ps(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc), 1))) + summs[2 * (k) + 1]; \
    } while (0)
#define CK_Z_GEMM8(NAME, BLK, VALUES, CORR, MIN)                                                      \
CK_AVX512 static inline __attribute__((always_inline)) void NAME##_n(int64_t n, const BLK *x, const void *a, size_t stride, float *out, const int nc) {       \
    const char *y[8] = CK_COLS8;                                                                       \
    const int np = (nc + 1) / 2;                                                                       \
    __m512 acc[4];                                                                                     \
    float summs[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                                         \
    for (int k = 0; k < np; k++) acc[k] = _mm512_setzero_ps();                                         \
    for (int64_t i = 0; i < n / 32; i++) {                                                             \
        const __m256i u1 = VALUES(x + i);                                                              \
        const __m512i u = _mm512_inserti64x4(_mm512_castsi256_si512(u1), u1, 1);                       \
        const float xd = h2f_hw(x[i].d);                                                               \
        Z_XM_##MIN;                                                                                    \
        for (int k = 0; k < np; k++) {                                                                 \
            const int c0 = 2 * k, c1 = 2 * k + 1 < nc ? 2 * k + 1 : 2 * k;                             \
            const __m512i p = _mm512_dpbusd_epi32(Z_START(CORR, c0, c1), u, z_halves_si(P_QS(y[c0], i), P_QS(y[c1], i))); \
            MIN(c0, c1);                                                                               \
            const __m512 d = _mm512_mul_ps(_mm512_set1_ps(xd), z_halves_ps(P_D(y[c0], i), P_D(y[c1], i))); \
            acc[k] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(p), acc[k]);                                \
        }                                                                                              \
    }                                                                                                  \
    for (int k = 0; k < np; k++) Z_OUT(acc[k], summs, out, k, nc);                                     \
}                                                                                                      \
CK_AVX512 static void NAME(int64_t n, const BLK *x, const void *a, size_t stride, float *out) { NAME##_n(n, x, a, stride, out, 8); }
CK_AVX2 static inline __m256i p_u_q8_0_biased(const blk_q8_0 *b) {
    return _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)b->qs), _mm256_set1_epi8((char)0x80));
}
CK_Z_GEMM8(gemm8_q8_0_p_zmm, blk_q8_0, p_u_q8_0_biased, 3, Z_NOMIN)
CK_Z_GEMM8(gemm8_q4_0_p_zmm, blk_q4_0, p_u_q4_0, 2, Z_NOMIN)
CK_Z_GEMM8(gemm8_q5_0_p_zmm, blk_q5_0, p_u_q5_0, 1, Z_NOMIN)
CK_Z_GEMM8(gemm8_q4_1_p_zmm, blk_q4_1, q4_1_values, 0, Z_MIN)
CK_Z_GEMM8(gemm8_q5_1_p_zmm, blk_q5_1, q5_1_values, 0, Z_MIN)

// Full blocks of eight columns: the columns' prepared blocks re-laid out once per block of
// columns (`ck_column_pairs`) as column pairs, one 64-byte aligned record per pair and block:
// both columns' values (64 bytes), corrections (64), scales d each repeated 8 times (64), then
// both s, so every operand of the two-columns-per-register kernels is one aligned load. C microbenchmark on this
// machine, eight columns of a 4864x896 Q5_0 matrix: 2.17 ms, against 2.92 ms loading each
// column's half separately (the pre-fidelity kernel, blocks in halves: 2.16 ms). With d
// repeated in the record (no permute per block): 4 columns 0.209 ms against 0.242.
#define PC_RECORD 256
static _Thread_local char *g_pairs = NULL;
static _Thread_local size_t g_pairs_cap = 0;
// The prepared rows a + c * stride (c < 8) as column pairs: record (k, i) at (k * nb + i) *
// PC_RECORD. One buffer per thread, grown as needed; NULL if it cannot grow.
static const char *ck_column_pairs(const void *a, size_t stride, int64_t nb, int nc) {
    const int np = (nc + 1) / 2;
    const size_t need = (size_t)np * (size_t)nb * PC_RECORD;
    if (need > g_pairs_cap) {
        char *p = NULL;
        if (posix_memalign((void **)&p, 64, need) != 0) return NULL;
        free(g_pairs);
        g_pairs = p;
        g_pairs_cap = need;
    }
    for (int k = 0; k < np; k++) {
        const char *y0 = (const char *)a + (size_t)(2 * k) * stride, *y1 = 2 * k + 1 < nc ? y0 + stride : y0;
        for (int64_t i = 0; i < nb; i++) {
            char *dst = g_pairs + ((size_t)k * nb + i) * PC_RECORD;
            memcpy(dst, P_QS(y0, i), 32);
            memcpy(dst + 32, P_QS(y1, i), 32);
            memcpy(dst + 64, P_CORR(y0, i), 32);
            memcpy(dst + 96, P_CORR(y1, i), 32);
            const float ds[4] = {P_D(y0, i), P_D(y1, i), P_S(y0, i), P_S(y1, i)};
            for (int l = 0; l < 8; l++) { memcpy(dst + 128 + 4 * l, &ds[0], 4); memcpy(dst + 160 + 4 * l, &ds[1], 4); }
            memcpy(dst + 192, ds + 2, 8);
        }
    }
    return g_pairs;
}
#define ZP_START(CORR, pb)                                                                             \
    (CORR == 0 ? _mm512_setzero_si512()                                                                \
     : CORR == 1 ? _mm512_load_si512((const void *)((pb) + 64))                                        \
     : CORR == 2 ? _mm512_srai_epi32(_mm512_load_si512((const void *)((pb) + 64)), 1)                 \
                 : _mm512_slli_epi32(_mm512_load_si512((const void *)((pb) + 64)), 3))
#define ZP_MIN_Z_MIN(summs, xm, pb, k)                                                                 \
    do {                                                                                               \
        summs[2 * (k)] = fmaf(xm, ((const float *)((pb) + 192))[0], summs[2 * (k)]);                  \
        summs[2 * (k) + 1] = fmaf(xm, ((const float *)((pb) + 192))[1], summs[2 * (k) + 1]);          \
    } while (0)
#define ZP_MIN_Z_NOMIN(summs, xm, pb, k) (void)0
#define ZP_XM_Z_MIN(x) h2f_hw(x[i].m)
#define ZP_XM_Z_NOMIN(x) 0.0f
// One weight row against eight columns given as column pairs.
#define CK_ZP_GEMM8(NAME, BLK, VALUES, CORR, MIN)                                                     \
CK_AVX512 static inline __attribute__((always_inline)) void NAME##_n(int64_t n, const BLK *x, const char *pairs, float *out, const int nc) { \
    const int64_t nb = n / 32;                                                                         \
    const int np = (nc + 1) / 2;                                                                       \
    __m512 acc[4];                                                                                     \
    float summs[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                                         \
    for (int k = 0; k < np; k++) acc[k] = _mm512_setzero_ps();                                         \
    for (int64_t i = 0; i < nb; i++) {                                                                 \
        const __m256i u1 = VALUES(x + i);                                                              \
        const __m512i u = _mm512_inserti64x4(_mm512_castsi256_si512(u1), u1, 1);                       \
        const __m512 xd = _mm512_set1_ps(h2f_hw(x[i].d));                                              \
        const float xm = ZP_XM_##MIN(x);                                                               \
        (void)xm;                                                                                      \
        for (int k = 0; k < np; k++) {                                                                 \
            const char *pb = pairs + ((size_t)k * nb + i) * PC_RECORD;                                 \
            const __m512i p = _mm512_dpbusd_epi32(ZP_START(CORR, pb), u, _mm512_load_si512((const void *)pb)); \
            ZP_MIN_##MIN(summs, xm, pb, k);                                                            \
            const __m512 d = _mm512_mul_ps(xd, _mm512_load_ps((const void *)(pb + 128)));                 \
            acc[k] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(p), acc[k]);                                \
        }                                                                                              \
    }                                                                                                  \
    for (int k = 0; k < np; k++) Z_OUT(acc[k], summs, out, k, nc);                                     \
}                                                                                                      \
CK_AVX512 static void NAME(int64_t n, const BLK *x, const char *pairs, float *out) { NAME##_n(n, x, pairs, out, 8); } \
CK_AVX512 static void NAME##_few(int64_t n, const BLK *x, const char *pairs, float *out, int nc) {      \
    switch (nc) {                                                                                      \
    case 2: NAME##_n(n, x, pairs, out, 2); break;                                                      \
    case 3: NAME##_n(n, x, pairs, out, 3); break;                                                      \
    case 4: NAME##_n(n, x, pairs, out, 4); break;                                                      \
    case 5: NAME##_n(n, x, pairs, out, 5); break;                                                      \
    case 6: NAME##_n(n, x, pairs, out, 6); break;                                                      \
    default: NAME##_n(n, x, pairs, out, 7); break;                                                     \
    }                                                                                                  \
}
// Two weight rows against eight columns given as column pairs: each record is loaded once for
// both rows. Per (row, column) the operations are the one-row kernel's.
#define CK_ZP_GEMM8X2(NAME, BLK, VALUES, CORR, MIN)                                                   \
CK_AVX512 static void NAME(int64_t n, const BLK *x0, const BLK *x1, const char *pairs, float *out0, float *out1) { \
    const int64_t nb = n / 32;                                                                         \
    __m512 acc0[4], acc1[4];                                                                           \
    float summs0[8] = {0, 0, 0, 0, 0, 0, 0, 0}, summs1[8] = {0, 0, 0, 0, 0, 0, 0, 0};                  \
    for (int k = 0; k < 4; k++) { acc0[k] = _mm512_setzero_ps(); acc1[k] = _mm512_setzero_ps(); }     \
    for (int64_t i = 0; i < nb; i++) {                                                                 \
        const __m256i v0 = VALUES(x0 + i), v1 = VALUES(x1 + i);                                        \
        const __m512i u0 = _mm512_inserti64x4(_mm512_castsi256_si512(v0), v0, 1);                      \
        const __m512i u1 = _mm512_inserti64x4(_mm512_castsi256_si512(v1), v1, 1);                      \
        const __m512 xd0 = _mm512_set1_ps(h2f_hw(x0[i].d)), xd1 = _mm512_set1_ps(h2f_hw(x1[i].d));     \
        const float xm0 = ZP_XM_##MIN(x0), xm1 = ZP_XM_##MIN(x1);                                      \
        (void)xm0; (void)xm1;                                                                          \
        for (int k = 0; k < 4; k++) {                                                                  \
            const char *pb = pairs + ((size_t)k * nb + i) * PC_RECORD;                                 \
            const __m512i start = ZP_START(CORR, pb);                                                  \
            const __m512i yq = _mm512_load_si512((const void *)pb);                                    \
            const __m512i p0 = _mm512_dpbusd_epi32(start, u0, yq);                                     \
            const __m512i p1 = _mm512_dpbusd_epi32(start, u1, yq);                                     \
            ZP_MIN_##MIN(summs0, xm0, pb, k);                                                          \
            ZP_MIN_##MIN(summs1, xm1, pb, k);                                                          \
            const __m512 ys = _mm512_load_ps((const void *)(pb + 128));                                   \
            acc0[k] = _mm512_fmadd_ps(_mm512_mul_ps(xd0, ys), _mm512_cvtepi32_ps(p0), acc0[k]);        \
            acc1[k] = _mm512_fmadd_ps(_mm512_mul_ps(xd1, ys), _mm512_cvtepi32_ps(p1), acc1[k]);        \
        }                                                                                              \
    }                                                                                                  \
    for (int k = 0; k < 4; k++) { Z_OUT(acc0[k], summs0, out0, k, 8); Z_OUT(acc1[k], summs1, out1, k, 8); } \
}
CK_ZP_GEMM8(gemm8p_q4_0_zmm, blk_q4_0, p_u_q4_0, 2, Z_NOMIN)
CK_ZP_GEMM8(gemm8p_q5_0_zmm, blk_q5_0, p_u_q5_0_k, 1, Z_NOMIN)
CK_ZP_GEMM8(gemm8p_q8_0_zmm, blk_q8_0, p_u_q8_0_biased, 3, Z_NOMIN)
CK_ZP_GEMM8(gemm8p_q4_1_zmm, blk_q4_1, q4_1_values, 0, Z_MIN)
CK_ZP_GEMM8(gemm8p_q5_1_zmm, blk_q5_1, q5_1_values, 0, Z_MIN)
CK_ZP_GEMM8X2(gemm8px2_q4_0_zmm, blk_q4_0, p_u_q4_0, 2, Z_NOMIN)
CK_ZP_GEMM8X2(gemm8px2_q5_0_zmm, blk_q5_0, p_u_q5_0, 1, Z_NOMIN)
CK_ZP_GEMM8X2(gemm8px2_q8_0_zmm, blk_q8_0, p_u_q8_0_biased, 3, Z_NOMIN)
CK_ZP_GEMM8X2(gemm8px2_q4_1_zmm, blk_q4_1, q4_1_values, 0, Z_MIN)
CK_ZP_GEMM8X2(gemm8px2_q5_1_zmm, blk_q5_1, q5_1_values, 0, Z_MIN)


#define gemm8_q4_0_p_best gemm8_q4_0_p_zmm
#define gemm8_q5_0_p_best gemm8_q5_0_p_zmm
#define gemm8_q8_0_p_best gemm8_q8_0_p_zmm
#define gemm8_q4_1_p_best gemm8_q4_1_p_zmm
#define gemm8_q5_1_p_best gemm8_q5_1_p_zmm
static int g_avx512 = -1;  // AVX-512 F/VL/BW/VNNI present
static inline int use_avx512(void) {
    int v = __atomic_load_n(&g_avx512, __ATOMIC_RELAXED);
    if (__builtin_expect(v < 0, 0)) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
            __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
        __atomic_store_n(&g_avx512, v, __ATOMIC_RELAXED);
    }
    return v && !__atomic_load_n(&g_force_avx2_only, __ATOMIC_RELAXED);
}

// Eight int32 vectors (one per column) -> one vector of their eight lane sums, column c in lane c.
// Integer additions are exact, so any reduction order gives the same sums.
CK_AVX2 static inline __m256i hsum_i32x8_cols8(const __m256i v[8]) {
    const __m256i t0 = _mm256_hadd_epi32(v[0], v[1]), t1 = _mm256_hadd_epi32(v[2], v[3]);
    const __m256i t2 = _mm256_hadd_epi32(v[4], v[5]), t3 = _mm256_hadd_epi32(v[6], v[7]);
    const __m256i u0 = _mm256_hadd_epi32(t0, t1), u1 = _mm256_hadd_epi32(t2, t3);
    return _mm256_add_epi32(_mm256_permute2x128_si256(u0, u1, 0x20), _mm256_permute2x128_si256(u0, u1, 0x31));
}

// K-quants, eight columns: the weights and scales of a block unpacked once for eight activation
// rows, two 32-element groups per 512-bit register. Q4_K's float work runs with columns in
// lanes: lane c does fma(float(integer sum), d_x * d_y[c], acc) exactly as the single-row
// kernel does for column c (one rounding each, same order), so the results are bit-identical;
// only the exact integer sums are reduced across columns at once instead of one by one.
CK_AVX512 static inline __attribute__((always_inline)) void gemmn_q4_K_ord_avx512(int64_t n, const blk_q4_K *x, const void *a, size_t stride, float *out, const int nc, const int order) {
    const int64_t nb = n / 256;
    const blk_q8_K *y[8] = CK_COLS8;
    const __m256i m4 = _mm256_set1_epi8(0xF);
    const __mmask8 live = (__mmask8)((1u << nc) - 1);
    // Byte offsets of the columns' activation rows, for gathering their scales.
    const __m256i column = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)stride));
    __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const __m256 yd = _mm256_mmask_i32gather_ps(_mm256_setzero_ps(), live, column, &y[0][i].d, 1);
        const __m256 d = _mm256_mul_ps(_mm256_set1_ps(h2f_hw(x[i].d)), yd);
        const __m256 dmin = _mm256_mul_ps(_mm256_set1_ps(h2f_hw(x[i].dmin)), yd);
        uint64_t sc, mn;
        unpack_scale_min_k4_words(x[i].scales, &sc, &mn);
        const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc)));
        const __m128i mins16 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)mn));
        // Min terms: per column, the four 64-element pairs' terms in one madd; then transposed
        // so that minTerm[j] holds pair j of all eight columns.
        __m128i m[8];
        for (int c = 0; c < 8; c++) {
            if (c < nc) {
                const __m128i b0 = _mm_loadu_si128((const __m128i *)y[c][i].bsums);
                const __m128i b1 = _mm_loadu_si128((const __m128i *)(y[c][i].bsums + 8));
                m[c] = _mm_madd_epi16(mins16, _mm_hadd_epi16(b0, b1));
            } else {
                m[c] = _mm_setzero_si128();
            }
        }
        const __m256i A = _mm256_set_m128i(m[4], m[0]), B = _mm256_set_m128i(m[5], m[1]);
        const __m256i C = _mm256_set_m128i(m[6], m[2]), D = _mm256_set_m128i(m[7], m[3]);
        const __m256i t0 = _mm256_unpacklo_epi32(A, B), t1 = _mm256_unpacklo_epi32(C, D);
        const __m256i t2 = _mm256_unpackhi_epi32(A, B), t3 = _mm256_unpackhi_epi32(C, D);
        const __m256i minTerm[4] = {
            _mm256_unpacklo_epi64(t0, t1), _mm256_unpackhi_epi64(t0, t1),
            _mm256_unpacklo_epi64(t2, t3), _mm256_unpackhi_epi64(t2, t3),
        };
        __m256i blockSum[8];
        for (int c = 0; c < 8; c++) blockSum[c] = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * j));
            const __m256i lo = _mm256_and_si256(q, m4);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            const __m512i qz = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
            const __m512i sz = _mm512_inserti64x4(_mm512_castsi256_si512(word_bcast(sc16, 2 * j)), word_bcast(sc16, 2 * j + 1), 1);
            __m256i pairSum[8];
            for (int c = 0; c < 8; c++) {
                if (c < nc) {
                    const __m512i yz = _mm512_loadu_si512((const void *)(y[c][i].qs + 64 * j));
                    const __m512i pz = _mm512_madd_epi16(_mm512_maddubs_epi16(qz, yz), sz);
                    pairSum[c] = _mm256_add_epi32(_mm512_castsi512_si256(pz), _mm512_extracti64x4_epi64(pz, 1));
                } else {
                    pairSum[c] = _mm256_setzero_si256();
                }
            }
            if (order == K4_ROWS4) {
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(hsum_i32x8_cols8(pairSum)), d, acc);
                accm = _mm256_fmadd_ps(_mm256_cvtepi32_ps(minTerm[j]), dmin, accm);
            } else {
                for (int c = 0; c < 8; c++) blockSum[c] = _mm256_add_epi32(blockSum[c], pairSum[c]);
            }
        }
        if (order == K4_ROW) {
            const __m256i allMins = _mm256_add_epi32(_mm256_add_epi32(minTerm[0], minTerm[1]), _mm256_add_epi32(minTerm[2], minTerm[3]));
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(hsum_i32x8_cols8(blockSum)), d, acc);
            accm = _mm256_fmadd_ps(_mm256_cvtepi32_ps(allMins), dmin, accm);
        } else if (order == K4_TILED) {  // accm stays 0
            const __m256i allMins = _mm256_add_epi32(_mm256_add_epi32(minTerm[0], minTerm[1]), _mm256_add_epi32(minTerm[2], minTerm[3]));
            const __m256 r = _mm256_fmadd_ps(_mm256_set1_ps(-h2f_hw(x[i].dmin)), _mm256_cvtepi32_ps(allMins),
                                             _mm256_mul_ps(_mm256_set1_ps(h2f_hw(x[i].d)), _mm256_cvtepi32_ps(hsum_i32x8_cols8(blockSum))));
            acc = _mm256_fmadd_ps(r, yd, acc);
        }
    }
    float result[8];
    _mm256_storeu_ps(result, _mm256_sub_ps(acc, accm));
    for (int c = 0; c < nc; c++) out[c] = result[c];
}
CK_AVX512 static inline __attribute__((always_inline)) void gemmn_q4_K_avx512(int64_t n, const blk_q4_K *x, const void *a, size_t stride, float *out, const int nc) {
    gemmn_q4_K_ord_avx512(n, x, a, stride, out, nc, K4_ROW);
}
CK_AVX512 static inline __attribute__((always_inline)) void gemmn_q4_K_rows4_avx512(int64_t n, const blk_q4_K *x, const void *a, size_t stride, float *out, const int nc) {
    gemmn_q4_K_ord_avx512(n, x, a, stride, out, nc, K4_ROWS4);
}
CK_AVX512 static inline __attribute__((always_inline)) void gemmn_q4_K_tiled_avx512(int64_t n, const blk_q4_K *x, const void *a, size_t stride, float *out, const int nc) {
    gemmn_q4_K_ord_avx512(n, x, a, stride, out, nc, K4_TILED);
}
CK_AVX512 static void gemm8_q4_K_avx512(int64_t n, const blk_q4_K *x, const void *a, size_t stride, float *out) { gemmn_q4_K_avx512(n, x, a, stride, out, 8); }

CK_AVX512 static inline __attribute__((always_inline)) void gemmn_q6_K_ord_avx512(int64_t n, const blk_q6_K *x, const void *a, size_t stride, float *out, const int nc, const int order) {
    const int64_t nb = n / 256;
    const blk_q8_K *y[8] = CK_COLS8;
    const __m256i m4 = _mm256_set1_epi8(0xF);
    const __m256i m3 = _mm256_set1_epi8(3);
    __m256 acc[8];
    float accs[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int c = 0; c < nc; c++) acc[c] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const float xd = h2f_hw(x[i].d);
        const __m128i sc = _mm_loadu_si128((const __m128i *)x[i].scales);
        const __m256i sc16 = _mm256_cvtepi8_epi16(sc);
        __m512i sumz[8];
        for (int c = 0; c < nc; c++) sumz[c] = _mm512_setzero_si512();
        for (int nn = 0; nn < 2; nn++) {
            const __m256i qh = _mm256_loadu_si256((const __m256i *)(x[i].qh + 32 * nn));
            const __m256i l0 = _mm256_loadu_si256((const __m256i *)(x[i].ql + 64 * nn));
            const __m256i l1 = _mm256_loadu_si256((const __m256i *)(x[i].ql + 64 * nn + 32));
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m3), 4));
            q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m3), 4));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m3), 4));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m3), 4));
            // groups k and k+1 side by side (their activations are contiguous)
            for (int k = 0; k < 4; k += 2) {
                const __m512i qz = _mm512_inserti64x4(_mm512_castsi256_si512(q[k]), q[k + 1], 1);
                const __m512i sz = _mm512_inserti64x4(_mm512_castsi256_si512(pair_scales_s8(sc, 4 * nn + k)),
                                                      pair_scales_s8(sc, 4 * nn + k + 1), 1);
                for (int c = 0; c < nc; c++) {
                    const __m512i yz = _mm512_loadu_si512((const void *)(y[c][i].qs + 128 * nn + 32 * k));
                    sumz[c] = _mm512_add_epi32(sumz[c], _mm512_madd_epi16(_mm512_maddubs_epi16(qz, yz), sz));
                }
            }
        }
        for (int c = 0; c < nc; c++) {
            const __m256i sumi = _mm256_add_epi32(_mm512_castsi512_si256(sumz[c]), _mm512_extracti64x4_epi64(sumz[c], 1));
            const __m256i bias = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)y[c][i].bsums));
            const __m256i t = _mm256_sub_epi32(sumi, _mm256_slli_epi32(bias, 5));
            if (order == Q6_TILED) accs[c] = fmaf(xd * (float)hsum_i32x8(t), y[c][i].d, accs[c]);
            else acc[c] = _mm256_fmadd_ps(_mm256_set1_ps(xd * y[c][i].d), _mm256_cvtepi32_ps(t), acc[c]);
        }
    }
    for (int c = 0; c < nc; c++) out[c] = order == Q6_TILED ? accs[c] : hsum_ps(acc[c]);
}
CK_AVX512 static inline __attribute__((always_inline)) void gemmn_q6_K_avx512(int64_t n, const blk_q6_K *x, const void *a, size_t stride, float *out, const int nc) {
    gemmn_q6_K_ord_avx512(n, x, a, stride, out, nc, Q6_VEC);
}
CK_AVX512 static inline __attribute__((always_inline)) void gemmn_q6_K_tiled_avx512(int64_t n, const blk_q6_K *x, const void *a, size_t stride, float *out, const int nc) {
    gemmn_q6_K_ord_avx512(n, x, a, stride, out, nc, Q6_TILED);
}
CK_AVX512 static void gemm8_q6_K_avx512(int64_t n, const blk_q6_K *x, const void *a, size_t stride, float *out) { gemmn_q6_K_avx512(n, x, a, stride, out, 8); }

int ck_gemm8_q4_K_q8_K(int64_t n, const void *w, const void *a, size_t stride, float *out) {
    if (use_avx2() && use_avx512()) { gemm8_q4_K_avx512(n, w, a, stride, out); return 1; }
    return 0;
}
int ck_gemm8_q6_K_q8_K(int64_t n, const void *w, const void *a, size_t stride, float *out) {
    if (use_avx2() && use_avx512()) { gemm8_q6_K_avx512(n, w, a, stride, out); return 1; }
    return 0;
}

#else
int ck_gemm8_q4_K_q8_K(int64_t n, const void *w, const void *a, size_t stride, float *out) {
    (void)n; (void)w; (void)a; (void)stride; (void)out;
    return 0;
}
int ck_gemm8_q6_K_q8_K(int64_t n, const void *w, const void *a, size_t stride, float *out) {
    (void)n; (void)w; (void)a; (void)stride; (void)out;
    return 0;
}
#endif

// Entry points: rows `rows` of `w` (row stride `row_bytes`) against one prepared activation
// row, and one weight row against four prepared activation rows.
#if CK_X86
#define CK_P_ENTRY(FMT, BLK)                                                                          \
void ck_gemv_##FMT##_p(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, float *y) { \
    const char *wr = (const char *)w;                                                                  \
    if (use_avx2()) {                                                                                  \
        for (int64_t r = 0; r < rows; r++) y[r] = dot_##FMT##_p_avx2(n, (const BLK *)(wr + r * row_bytes), a); \
    } else {                                                                                           \
        for (int64_t r = 0; r < rows; r++) y[r] = dot_##FMT##_p_scalar(n, (const BLK *)(wr + r * row_bytes), a); \
    }                                                                                                  \
}                                                                                                      \
int ck_gemm8_##FMT##_p(int64_t n, const void *w, const void *a, size_t stride, float *out) {          \
    if (use_avx2() && use_avx512()) { gemm8_##FMT##_p_best(n, w, a, stride, out); return 1; }         \
    return 0;                                                                                          \
}                                                                                                      \
void ck_gemm4_##FMT##_p(int64_t n, const void *w, const void *a, size_t stride, float *out) {         \
    if (use_avx2()) {                                                                                  \
        gemm4_##FMT##_p_avx2(n, w, a, stride, out);                                                    \
        return;                                                                                        \
    }                                                                                                  \
    for (int c = 0; c < 4; c++) out[c] = dot_##FMT##_p_scalar(n, w, CK_COL(c));                       \
}
#else
#define CK_P_ENTRY(FMT, BLK)                                                                          \
void ck_gemv_##FMT##_p(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, float *y) { \
    const char *wr = (const char *)w;                                                                  \
    for (int64_t r = 0; r < rows; r++) y[r] = dot_##FMT##_p_scalar(n, (const BLK *)(wr + r * row_bytes), a); \
}                                                                                                      \
int ck_gemm8_##FMT##_p(int64_t n, const void *w, const void *a, size_t stride, float *out) {          \
    (void)n; (void)w; (void)a; (void)stride; (void)out;                                                \
    return 0;                                                                                          \
}                                                                                                      \
void ck_gemm4_##FMT##_p(int64_t n, const void *w, const void *a, size_t stride, float *out) {         \
    for (int c = 0; c < 4; c++) out[c] = dot_##FMT##_p_scalar(n, w, (const char *)a + c * stride);     \
}
#endif
CK_P_ENTRY(q4_0, blk_q4_0)
CK_P_ENTRY(q5_0, blk_q5_0)
CK_P_ENTRY(q8_0, blk_q8_0)
CK_P_ENTRY(q4_1, blk_q4_1)
CK_P_ENTRY(q5_1, blk_q5_1)

// Q4_0 in the order of llama.cpp's repacked kernels (see rows8_q4_0_p_repacked_avx2).
static float dot_q4_0_p_repacked_scalar(int64_t n, const blk_q4_0 *x, const char *y) {
    float acc = 0.0f;
    for (int64_t i = 0; i < n / 32; i++) {
        int s = 0;
        for (int j = 0; j < 32; j++) s += p_value_q4_0(x + i, j) * P_QS(y, i)[j];
        acc = fmaf((float)s, ck_h2f(x[i].d) * P_D(y, i), acc);
    }
    return acc;
}
void ck_gemv_q4_0_p_repacked(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, float *y) {
#if CK_X86
    if (use_avx2()) { gemv_q4_0_p_repacked_avx2(n, w, row_bytes, rows, a, y); return; }
#endif
    for (int64_t r = 0; r < rows; r++) y[r] = dot_q4_0_p_repacked_scalar(n, (const blk_q4_0 *)((const char *)w + r * row_bytes), a);
}
static int g_wide_min_cols;  // defined with the column entries below
#if CK_X86
// AVX-512 VNNI: a pair of blocks of eight rows per step. vpdpbusd gives each row 16 int32 lanes
// (8 per block); an add-tree reduces the eight rows to one vector of 8 rows x 2 block sums, and
// the floats follow the same chain, block 2p then 2p + 1.
CK_AVX512 static inline __m512i hadd_epi32_x16(__m512i a, __m512i b) {
    const __m512 fa = _mm512_castsi512_ps(a), fb = _mm512_castsi512_ps(b);
    return _mm512_add_epi32(_mm512_castps_si512(_mm512_shuffle_ps(fa, fb, 0x88)), _mm512_castps_si512(_mm512_shuffle_ps(fa, fb, 0xDD)));
}
CK_AVX512 static inline __attribute__((always_inline)) void rows8_cols_q4_0_p_repacked_zmm(
        int64_t n, const char *w, size_t row_bytes, const char *a, size_t stride, float *y, size_t y_stride, const int nc) {
    const blk_q4_0 *x[8];
    for (int r = 0; r < 8; r++) x[r] = (const blk_q4_0 *)(w + r * row_bytes);
    const __m512i idx_a = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
    const __m512i idx_b = _mm512_setr_epi32(4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
    __m256 acc[8];
    for (int c = 0; c < nc; c++) acc[c] = _mm256_setzero_ps();
    const int64_t nb = n / 32;
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        __m512i u[8];
        for (int r = 0; r < 8; r++) u[r] = _mm512_inserti64x4(_mm512_castsi256_si512(p_u_q4_0(x[r] + i)), p_u_q4_0(x[r] + i + 1), 1);
        const __m256 dw0 = _mm256_cvtph_ps(_mm_setr_epi16((short)x[0][i].d, (short)x[1][i].d, (short)x[2][i].d, (short)x[3][i].d,
                                                          (short)x[4][i].d, (short)x[5][i].d, (short)x[6][i].d, (short)x[7][i].d));
        const __m256 dw1 = _mm256_cvtph_ps(_mm_setr_epi16((short)x[0][i + 1].d, (short)x[1][i + 1].d, (short)x[2][i + 1].d, (short)x[3][i + 1].d,
                                                          (short)x[4][i + 1].d, (short)x[5][i + 1].d, (short)x[6][i + 1].d, (short)x[7][i + 1].d));
        for (int c = 0; c < nc; c++) {
            const char *base = P_BASE(a + c * stride, i);
            const __m512i q = _mm512_loadu_si512((const void *)base);
            const __m512i corr = _mm512_srai_epi32(_mm512_loadu_si512((const void *)(base + 64)), 1);
            __m512i v[8];
            for (int r = 0; r < 8; r++) v[r] = _mm512_dpbusd_epi32(corr, u[r], q);
            const __m512i t0 = hadd_epi32_x16(hadd_epi32_x16(v[0], v[1]), hadd_epi32_x16(v[2], v[3]));
            const __m512i t1 = hadd_epi32_x16(hadd_epi32_x16(v[4], v[5]), hadd_epi32_x16(v[6], v[7]));
            const __m512i s = _mm512_add_epi32(_mm512_permutex2var_epi32(t0, idx_a, t1), _mm512_permutex2var_epi32(t0, idx_b, t1));
            const float *d = (const float *)(base + 128);
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm512_castsi512_si256(s)), _mm256_mul_ps(dw0, _mm256_set1_ps(d[0])), acc[c]);
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm512_extracti64x4_epi64(s, 1)), _mm256_mul_ps(dw1, _mm256_set1_ps(d[1])), acc[c]);
        }
    }
    if (i < nb) block8_cols_q4_0_p_repacked_avx2(x, i, a, stride, nc, acc);  // odd block count: the last block alone
    for (int c = 0; c < nc; c++) _mm256_storeu_ps(y + c * y_stride, acc[c]);
}
CK_AVX512 static void cols_q4_0_p_repacked_zmm(int64_t n, const char *w, size_t row_bytes, int64_t rows, const char *a, size_t stride,
                                               int cols, float *y, size_t y_stride) {
    int64_t r = 0;
    for (; r + 8 <= rows; r += 8) {
        for (int c = 0; c < cols; c += 8) {
            const char *wr = w + r * row_bytes, *ac = a + c * stride;
            float *yr = y + c * y_stride + r;
            switch (cols - c) {
            case 1: rows8_cols_q4_0_p_repacked_zmm(n, wr, row_bytes, ac, stride, yr, y_stride, 1); break;
            case 2: rows8_cols_q4_0_p_repacked_zmm(n, wr, row_bytes, ac, stride, yr, y_stride, 2); break;
            case 3: rows8_cols_q4_0_p_repacked_zmm(n, wr, row_bytes, ac, stride, yr, y_stride, 3); break;
            case 4: rows8_cols_q4_0_p_repacked_zmm(n, wr, row_bytes, ac, stride, yr, y_stride, 4); break;
            case 5: rows8_cols_q4_0_p_repacked_zmm(n, wr, row_bytes, ac, stride, yr, y_stride, 5); break;
            case 6: rows8_cols_q4_0_p_repacked_zmm(n, wr, row_bytes, ac, stride, yr, y_stride, 6); break;
            case 7: rows8_cols_q4_0_p_repacked_zmm(n, wr, row_bytes, ac, stride, yr, y_stride, 7); break;
            default: rows8_cols_q4_0_p_repacked_zmm(n, wr, row_bytes, ac, stride, yr, y_stride, 8); break;
            }
        }
    }
    for (; r < rows; r++)
        for (int c = 0; c < cols; c++)
            y[c * y_stride + r] = dot_q4_0_p_repacked_avx2(n, (const blk_q4_0 *)(w + r * row_bytes), a + c * stride);
}
#endif
void ck_gemm_cols_q4_0_p_repacked(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, size_t stride, int cols, float *y, size_t y_stride) {
#if CK_X86
    if (use_avx2() && cols > 1 && cols >= __atomic_load_n(&g_wide_min_cols, __ATOMIC_RELAXED) && use_avx512()) {
        cols_q4_0_p_repacked_zmm(n, w, row_bytes, rows, a, stride, cols, y, y_stride);
        return;
    }
    if (use_avx2()) { cols_q4_0_p_repacked_avx2(n, w, row_bytes, rows, a, stride, cols, y, y_stride); return; }
#endif
    for (int c = 0; c < cols; c++) ck_gemv_q4_0_p_repacked(n, w, row_bytes, rows, (const char *)a + (size_t)c * stride, y + (size_t)c * y_stride);
}
float ck_vec_dot_q4_0_q8_0_repacked(int64_t n, const void *w, const void *a) {
    const blk_q4_0 *x = w;
    const blk_q8_0 *q = a;
    float acc = 0.0f;
    for (int64_t i = 0; i < n / 32; i++) {
        int s = 0;
        for (int j = 0; j < 32; j++) s += p_value_q4_0(x + i, j) * q[i].qs[j];
        acc = fmaf((float)s, ck_h2f(x[i].d) * ck_h2f(q[i].d), acc);
    }
    return acc;
}

// ---------------------------------------------------------------------------------------------
// The value sum of llama.cpp-rounding attention (see Kernels/Attention.swift): per lane,
// acc = 0; for each key i: if grew[i] != 0, acc = f16(acc * rescale[i]); acc = f16(fma(v_i, weight[i], acc));
// then out = acc * norm. f16() rounds to the nearest half (ties to even) and back. Two heads
// (weights of head h at weight[h], ...) share each converted value vector. Swift lowers these
// conversions to half-width instructions with spills; here they are one instruction per 8 lanes.

static void value_sum_scalar(int64_t n, const uint16_t *v, size_t stride, int64_t lanes, int heads,
                             const float *const *weight, const float *const *rescale, const float *const *grew,
                             const float *norm, float *const *out) {
    for (int h = 0; h < heads; h++) {
        for (int64_t c = 0; c < lanes; c++) {
            float acc = 0.0f;
            for (int64_t i = 0; i < n; i++) {
                if (grew[h][i] != 0.0f) acc = ck_h2f(ck_f2h(acc * rescale[h][i]));
                acc = ck_h2f(ck_f2h(fmaf(ck_h2f(v[(size_t)i * stride + c]), weight[h][i], acc)));
            }
            out[h][c] = acc * norm[h];
        }
    }
}

#if CK_X86
CK_AVX2 static inline __m256 f16_round8(__m256 x) {
    return _mm256_cvtph_ps(_mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT));
}

// HEADS (1 or 2) heads, W (1..4) vectors of 8 lanes starting at lane c.
#define CK_VALUE_SUM_BLOCK(HEADS, W)                                                                   \
    do {                                                                                               \
        __m256 acc[2][4];                                                                              \
        for (int h = 0; h < HEADS; h++) for (int k = 0; k < W; k++) acc[h][k] = _mm256_setzero_ps();  \
        for (int64_t i = 0; i < n; i++) {                                                              \
            const uint16_t *vr = v + (size_t)i * stride + c;                                           \
            __m256 vv[4];                                                                              \
            for (int k = 0; k < W; k++) vv[k] = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(vr + 8 * k))); \
            for (int h = 0; h < HEADS; h++) {                                                          \
                if (grew[h][i] != 0.0f) {                                                              \
                    const __m256 r = _mm256_set1_ps(rescale[h][i]);                                    \
                    for (int k = 0; k < W; k++) acc[h][k] = f16_round8(_mm256_mul_ps(acc[h][k], r));   \
                }                                                                                      \
                const __m256 w = _mm256_set1_ps(weight[h][i]);                                         \
                for (int k = 0; k < W; k++) acc[h][k] = f16_round8(_mm256_fmadd_ps(vv[k], w, acc[h][k])); \
            }                                                                                          \
        }                                                                                              \
        for (int h = 0; h < HEADS; h++) {                                                              \
            const __m256 nv = _mm256_set1_ps(norm[h]);                                                 \
            for (int k = 0; k < W; k++) _mm256_storeu_ps(out[h] + c + 8 * k, _mm256_mul_ps(acc[h][k], nv)); \
        }                                                                                              \
    } while (0)

CK_AVX2 static void value_sum_avx2(int64_t n, const uint16_t *v, size_t stride, int64_t lanes, int heads,
                                   const float *const *weight, const float *const *rescale, const float *const *grew,
                                   const float *norm, float *const *out) {
    int64_t c = 0;
    if (heads == 2) {
        for (; c + 32 <= lanes; c += 32) CK_VALUE_SUM_BLOCK(2, 4);
        for (; c + 8 <= lanes; c += 8) CK_VALUE_SUM_BLOCK(2, 1);
    } else {
        for (; c + 32 <= lanes; c += 32) CK_VALUE_SUM_BLOCK(1, 4);
        for (; c + 8 <= lanes; c += 8) CK_VALUE_SUM_BLOCK(1, 1);
    }
    if (c < lanes) {
        float *tail[2] = {out[0] + c, heads == 2 ? out[1] + c : NULL};
        value_sum_scalar(n, v + c, stride, lanes - c, heads, weight, rescale, grew, norm, tail);
    }
}
#endif

void ck_f16_value_sum(int64_t n, const uint16_t *v, size_t stride, int64_t lanes, int heads,
                      const float *const *weight, const float *const *rescale, const float *const *grew,
                      const float *norm, float *const *out) {
#if CK_X86
    if (use_avx2()) { value_sum_avx2(n, v, stride, lanes, heads, weight, rescale, grew, norm, out); return; }
#endif
    value_sum_scalar(n, v, stride, lanes, heads, weight, rescale, grew, norm, out);
}

// ---------------------------------------------------------------------------------------------
// Matmul against a few activation rows (decode of several sequences, the tail of a prefill
// batch): y[c * y_stride + r] = row r of w . column c, for r < rows and c < cols. Each weight
// row is unpacked once per block of columns: up to eight with AVX-512 (when the block has at
// least ck_wide_min_columns columns), else up to four; a lone column uses the single-row
// kernel. Every kernel keeps the single-row sequence of float operations per column, so the
// results are bit-identical to one dot product per (row, column).

static int g_wide_min_cols = 2;
void ck_set_wide_min_columns(int cols) { __atomic_store_n(&g_wide_min_cols, cols, __ATOMIC_RELAXED); }

#define CK_NC_CASES4(FN, x, ab, o, nc)                                                                 \
    switch (nc) {                                                                                      \
    case 2: FN(n, x, ab, stride, o, 2); break;                                                         \
    case 3: FN(n, x, ab, stride, o, 3); break;                                                         \
    default: FN(n, x, ab, stride, o, 4); break;                                                        \
    }
#define CK_NC_CASES8(FN, x, ab, o, nc)                                                                 \
    switch (nc) {                                                                                      \
    case 2: FN(n, x, ab, stride, o, 2); break;                                                         \
    case 3: FN(n, x, ab, stride, o, 3); break;                                                         \
    case 4: FN(n, x, ab, stride, o, 4); break;                                                         \
    case 5: FN(n, x, ab, stride, o, 5); break;                                                         \
    case 6: FN(n, x, ab, stride, o, 6); break;                                                         \
    case 7: FN(n, x, ab, stride, o, 7); break;                                                         \
    default: FN(n, x, ab, stride, o, 8); break;                                                        \
    }
// Blocks of up to WIDTH columns (outer), each meeting every row (inner); CASES picks the
// kernel instance for the block's width; X2 (or 0) is a two-row kernel for full blocks of 8.
#define CK_COLS_LOOP(BLK, WIDTH, DOT1, CASES, NFN, X2)                                                 \
    const char *wr = (const char *)w, *ac = (const char *)a;                                           \
    float o[16];                                                                                       \
    for (int c0 = 0; c0 < cols;) {                                                                     \
        const int nc = cols - c0 > WIDTH ? WIDTH : cols - c0;                                          \
        const char *ab = ac + (size_t)c0 * stride;                                                     \
        float *yb = y + (size_t)c0 * y_stride;                                                         \
        int64_t r = 0;                                                                                 \
        if (X2 != ck_x2_none && nc == 8) {                                                             \
            for (; r + 2 <= rows; r += 2) {                                                            \
                X2(n, wr + r * row_bytes, wr + (r + 1) * row_bytes, ab, stride, o, o + 8);            \
                for (int c = 0; c < 8; c++) { yb[(size_t)c * y_stride + r] = o[c]; yb[(size_t)c * y_stride + r + 1] = o[8 + c]; } \
            }                                                                                          \
        }                                                                                              \
        for (; r < rows; r++) {                                                                        \
            const BLK *x = (const BLK *)(wr + r * row_bytes);                                          \
            if (nc == 1) o[0] = DOT1(n, x, (const void *)ab);                                          \
            else { CASES(NFN, x, ab, o, nc) }                                                          \
            for (int c = 0; c < nc; c++) yb[(size_t)c * y_stride + r] = o[c];                          \
        }                                                                                              \
        c0 += nc;                                                                                      \
    }
// The prepared formats on AVX-512: a full block of eight columns is re-laid out as column pairs
// once (`ck_column_pairs`) and meets the rows two at a time (X2P), a last odd row alone (N8P);
// smaller blocks run the one-row kernels of their width.
#define CK_COLS_LOOP_PAIRS(BLK, DOT1, NFN, N8P, X2P)                                                   \
    const char *wr = (const char *)w, *ac = (const char *)a;                                           \
    float o[16];                                                                                       \
    for (int c0 = 0; c0 < cols;) {                                                                     \
        const int nc = cols - c0 > 8 ? 8 : cols - c0;                                                  \
        const char *ab = ac + (size_t)c0 * stride;                                                     \
        float *yb = y + (size_t)c0 * y_stride;                                                         \
        const char *pairs = nc == 8 ? ck_column_pairs(ab, stride, n / 32, 8) : NULL;                   \
        int64_t r = 0;                                                                                 \
        if (pairs != NULL) {                                                                           \
            for (; r + 2 <= rows; r += 2) {                                                            \
                X2P(n, (const BLK *)(wr + r * row_bytes), (const BLK *)(wr + (r + 1) * row_bytes), pairs, o, o + 8); \
                for (int c = 0; c < 8; c++) { yb[(size_t)c * y_stride + r] = o[c]; yb[(size_t)c * y_stride + r + 1] = o[8 + c]; } \
            }                                                                                          \
            if (r < rows) {                                                                            \
                N8P(n, (const BLK *)(wr + r * row_bytes), pairs, o);                                   \
                for (int c = 0; c < 8; c++) yb[(size_t)c * y_stride + r] = o[c];                       \
                r++;                                                                                   \
            }                                                                                          \
        }                                                                                              \
        for (; r < rows; r++) {                                                                        \
            const BLK *x = (const BLK *)(wr + r * row_bytes);                                          \
            if (nc == 1) o[0] = DOT1(n, x, (const void *)ab);                                          \
            else { CK_NC_CASES8(NFN, x, ab, o, nc) }                                                   \
            for (int c = 0; c < nc; c++) yb[(size_t)c * y_stride + r] = o[c];                          \
        }                                                                                              \
        c0 += nc;                                                                                      \
    }
// The X2 argument of formats without a two-row kernel.
static inline void ck_x2_none(int64_t n, const void *w0, const void *w1, const void *a, size_t stride, float *o0, float *o1) {
    (void)n; (void)w0; (void)w1; (void)a; (void)stride; (void)o0; (void)o1;
}
#define CK_COLS_SCALAR(BLK, DOT1)                                                                      \
    const char *wr = (const char *)w, *ac = (const char *)a;                                           \
    for (int64_t r = 0; r < rows; r++)                                                                 \
        for (int c = 0; c < cols; c++)                                                                 \
            y[(size_t)c * y_stride + r] = DOT1(n, (const BLK *)(wr + r * row_bytes), (const void *)(ac + (size_t)c * stride));

#define CK_COLS_SIGNATURE(NAME) \
    void NAME(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, size_t stride, int cols, float *y, size_t y_stride)

#if CK_X86
// Formats with four- and eight-column kernels.
#define CK_COLS_ENTRY_WIDE(NAME, BLK, DOT_AVX2, DOT_SCALAR, N4, N8, X2)                                \
CK_AVX2 static void NAME##_avx2(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, size_t stride, int cols, float *y, size_t y_stride) { \
    CK_COLS_LOOP(BLK, 4, DOT_AVX2, CK_NC_CASES4, N4, ck_x2_none)                                              \
}                                                                                                      \
CK_AVX512 static void NAME##_avx512(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, size_t stride, int cols, float *y, size_t y_stride) { \
    CK_COLS_LOOP(BLK, 8, DOT_AVX2, CK_NC_CASES8, N8, X2)                                               \
}                                                                                                      \
CK_COLS_SIGNATURE(NAME) {                                                                              \
    if (!use_avx2()) { CK_COLS_SCALAR(BLK, DOT_SCALAR) return; }                                       \
    if (cols > 1 && cols >= __atomic_load_n(&g_wide_min_cols, __ATOMIC_RELAXED) && use_avx512())       \
        NAME##_avx512(n, w, row_bytes, rows, a, stride, cols, y, y_stride);                            \
    else                                                                                               \
        NAME##_avx2(n, w, row_bytes, rows, a, stride, cols, y, y_stride);                              \
}
// The prepared formats: four-column kernels on AVX2, `CK_COLS_LOOP_PAIRS` on AVX-512.
#define CK_COLS_ENTRY_PAIRS(NAME, BLK, DOT_AVX2, DOT_SCALAR, N4, N8, N8P, X2P)                         \
CK_AVX2 static void NAME##_avx2(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, size_t stride, int cols, float *y, size_t y_stride) { \
    CK_COLS_LOOP(BLK, 4, DOT_AVX2, CK_NC_CASES4, N4, ck_x2_none)                                              \
}                                                                                                      \
CK_AVX512 static void NAME##_avx512(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, size_t stride, int cols, float *y, size_t y_stride) { \
    CK_COLS_LOOP_PAIRS(BLK, DOT_AVX2, N8, N8P, X2P)                                                    \
}                                                                                                      \
/* Fewer than eight columns (a server's decode step) in a function of their own: inside the    */     \
/* eight-column one they ran 1.6-1.8x slower (C microbenchmark, Q8_0 151936x896, 2-4 columns). */     \
CK_AVX512 static void NAME##_avx512_few(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, size_t stride, int cols, float *y, size_t y_stride) { \
    const char *pairs = ck_column_pairs(a, stride, n / 32, cols);                                      \
    if (!pairs) { CK_COLS_SCALAR(BLK, DOT_AVX2) return; }                                              \
    float o[8];                                                                                        \
    for (int64_t r = 0; r < rows; r++) {                                                               \
        N8P##_few(n, (const BLK *)((const char *)w + r * row_bytes), pairs, o, cols);                  \
        for (int c = 0; c < cols; c++) y[(size_t)c * y_stride + r] = o[c];                             \
    }                                                                                                  \
}                                                                                                      \
CK_COLS_SIGNATURE(NAME) {                                                                              \
    if (!use_avx2()) { CK_COLS_SCALAR(BLK, DOT_SCALAR) return; }                                       \
    if (cols > 1 && cols < 8 && cols >= __atomic_load_n(&g_wide_min_cols, __ATOMIC_RELAXED) && use_avx512()) \
        NAME##_avx512_few(n, w, row_bytes, rows, a, stride, cols, y, y_stride);                        \
    else if (cols > 1 && cols >= __atomic_load_n(&g_wide_min_cols, __ATOMIC_RELAXED) && use_avx512())  \
        NAME##_avx512(n, w, row_bytes, rows, a, stride, cols, y, y_stride);                            \
    else                                                                                               \
        NAME##_avx2(n, w, row_bytes, rows, a, stride, cols, y, y_stride);                              \
}
// Formats with a four-column kernel only.
#define CK_COLS_ENTRY_NARROW(NAME, BLK, DOT_AVX2, DOT_SCALAR, N4)                                      \
CK_AVX2 static void NAME##_avx2(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, size_t stride, int cols, float *y, size_t y_stride) { \
    CK_COLS_LOOP(BLK, 4, DOT_AVX2, CK_NC_CASES4, N4, ck_x2_none)                                              \
}                                                                                                      \
CK_COLS_SIGNATURE(NAME) {                                                                              \
    if (!use_avx2()) { CK_COLS_SCALAR(BLK, DOT_SCALAR) return; }                                       \
    NAME##_avx2(n, w, row_bytes, rows, a, stride, cols, y, y_stride);                                  \
}
// Formats without a multi-column kernel: one dot product per (row, column).
#define CK_COLS_ENTRY_DOTS(NAME, BLK, DOT)                                                             \
CK_COLS_SIGNATURE(NAME) { CK_COLS_SCALAR(BLK, DOT) }

CK_COLS_ENTRY_PAIRS(ck_gemm_cols_q4_0_p, blk_q4_0, dot_q4_0_p_avx2, dot_q4_0_p_scalar, gemm4_q4_0_p_avx2_n, gemm8_q4_0_p_zmm_n, gemm8p_q4_0_zmm, gemm8px2_q4_0_zmm)
CK_COLS_ENTRY_PAIRS(ck_gemm_cols_q5_0_p, blk_q5_0, dot_q5_0_p_avx2, dot_q5_0_p_scalar, gemm4_q5_0_p_avx2_n, gemm8_q5_0_p_zmm_n, gemm8p_q5_0_zmm, gemm8px2_q5_0_zmm)
CK_COLS_ENTRY_PAIRS(ck_gemm_cols_q8_0_p, blk_q8_0, dot_q8_0_p_avx2, dot_q8_0_p_scalar, gemm4_q8_0_p_avx2_n, gemm8_q8_0_p_zmm_n, gemm8p_q8_0_zmm, gemm8px2_q8_0_zmm)
CK_COLS_ENTRY_PAIRS(ck_gemm_cols_q4_1_p, blk_q4_1, dot_q4_1_p_avx2, dot_q4_1_p_scalar, gemm4_q4_1_p_avx2_n, gemm8_q4_1_p_zmm_n, gemm8p_q4_1_zmm, gemm8px2_q4_1_zmm)
CK_COLS_ENTRY_PAIRS(ck_gemm_cols_q5_1_p, blk_q5_1, dot_q5_1_p_avx2, dot_q5_1_p_scalar, gemm4_q5_1_p_avx2_n, gemm8_q5_1_p_zmm_n, gemm8p_q5_1_zmm, gemm8px2_q5_1_zmm)
CK_COLS_ENTRY_WIDE(ck_gemm_cols_q4_K, blk_q4_K, dot_q4_K_avx2, dot_q4_K_scalar, gemmn_q4_K_avx2, gemmn_q4_K_avx512, ck_x2_none)
CK_COLS_ENTRY_WIDE(ck_gemm_cols_q6_K, blk_q6_K, dot_q6_K_avx2, dot_q6_K_scalar, gemmn_q6_K_avx2, gemmn_q6_K_avx512, ck_x2_none)
CK_COLS_ENTRY_WIDE(ck_gemm_cols_q4_K_rows4, blk_q4_K, dot_q4_K_rows4_avx2, dot_q4_K_scalar, gemmn_q4_K_rows4_avx2, gemmn_q4_K_rows4_avx512, ck_x2_none)
CK_COLS_ENTRY_WIDE(ck_gemm_cols_q6_K_tiled, blk_q6_K, dot_q6_K_tiled_avx2, dot_q6_K_scalar, gemmn_q6_K_tiled_avx2, gemmn_q6_K_tiled_avx512, ck_x2_none)
CK_COLS_ENTRY_NARROW(ck_gemm_cols_q5_K, blk_q5_K, dot_q5_K_avx2, dot_q5_K_scalar, gemmn_q5_K_avx2)
CK_COLS_ENTRY_NARROW(ck_gemm_cols_q5_K_tiled, blk_q5_K, dot_q5_K_tiled_avx2, dot_q5_K_scalar, gemmn_q5_K_tiled_avx2)
CK_COLS_ENTRY_NARROW(ck_gemm_cols_q2_K, blk_q2_K, dot_q2_K_avx2, dot_q2_K_scalar, gemmn_q2_K_avx2)
CK_COLS_ENTRY_NARROW(ck_gemm_cols_q2_K_tiled, blk_q2_K, dot_q2_K_tiled_avx2, dot_q2_K_scalar, gemmn_q2_K_tiled_avx2)
CK_COLS_ENTRY_NARROW(ck_gemm_cols_q3_K, blk_q3_K, dot_q3_K_avx2, dot_q3_K_scalar, gemmn_q3_K_avx2)
CK_COLS_ENTRY_NARROW(ck_gemm_cols_q3_K_tiled, blk_q3_K, dot_q3_K_tiled_avx2, dot_q3_K_scalar, gemmn_q3_K_tiled_avx2)
// Q4_K matrices that llama.cpp does not repack (row count not a multiple of 8).
CK_COLS_ENTRY_NARROW(ck_gemm_cols_q4_K_vec, blk_q4_K, dot_q4_K_vec_avx2, dot_q4_K_scalar, gemmn_q4_K_vec_avx2)
CK_COLS_ENTRY_WIDE(ck_gemm_cols_q4_K_tiled, blk_q4_K, dot_q4_K_tiled_avx2, dot_q4_K_scalar, gemmn_q4_K_tiled_avx2, gemmn_q4_K_tiled_avx512, ck_x2_none)
#else
#define CK_COLS_ENTRY_DOTS(NAME, BLK, DOT)                                                             \
CK_COLS_SIGNATURE(NAME) { CK_COLS_SCALAR(BLK, DOT) }
CK_COLS_ENTRY_DOTS(ck_gemm_cols_q4_0_p, blk_q4_0, dot_q4_0_p_scalar)
CK_COLS_ENTRY_DOTS(ck_gemm_cols_q5_0_p, blk_q5_0, dot_q5_0_p_scalar)
CK_COLS_ENTRY_DOTS(ck_gemm_cols_q8_0_p, blk_q8_0, dot_q8_0_p_scalar)
CK_COLS_ENTRY_DOTS(ck_gemm_cols_q4_1_p, blk_q4_1, dot_q4_1_p_scalar)
CK_COLS_ENTRY_DOTS(ck_gemm_cols_q5_1_p, blk_q5_1, dot_q5_1_p_scalar)
CK_COLS_ENTRY_DOTS(ck_gemm_cols_q4_K, blk_q4_K, dot_q4_K_scalar)
CK_COLS_ENTRY_DOTS(ck_gemm_cols_q6_K, blk_q6_K, dot_q6_K_scalar)
CK_COLS_ENTRY_DOTS(ck_gemm_cols_q4_K_rows4, blk_q4_K, dot_q4_K_scalar)
CK_COLS_ENTRY_DOTS(ck_gemm_cols_q6_K_tiled, blk_q6_K, dot_q6_K_scalar)
CK_COLS_ENTRY_DOTS(ck_gemm_cols_q5_K, blk_q5_K, dot_q5_K_scalar)
CK_COLS_ENTRY_DOTS(ck_gemm_cols_q5_K_tiled, blk_q5_K, dot_q5_K_scalar)
CK_COLS_ENTRY_DOTS(ck_gemm_cols_q2_K, blk_q2_K, dot_q2_K_scalar)
CK_COLS_ENTRY_DOTS(ck_gemm_cols_q2_K_tiled, blk_q2_K, dot_q2_K_scalar)
CK_COLS_ENTRY_DOTS(ck_gemm_cols_q3_K, blk_q3_K, dot_q3_K_scalar)
CK_COLS_ENTRY_DOTS(ck_gemm_cols_q3_K_tiled, blk_q3_K, dot_q3_K_scalar)
CK_COLS_ENTRY_DOTS(ck_gemm_cols_q4_K_vec, blk_q4_K, dot_q4_K_scalar)
CK_COLS_ENTRY_DOTS(ck_gemm_cols_q4_K_tiled, blk_q4_K, dot_q4_K_scalar)
#endif

int ck_uses_vnni(void) {
#if CK_X86
    return use_avx2() && use_avx512();
#else
    return 0;
#endif
}
