// Tiled prefill attention with llama.cpp's roundings (see Kernels/TiledAttention.swift): the
// conversion of a block of F16 cache rows to F32, and the F16-rounded value sums of a tile of
// query rows over one such block, their accumulators kept between blocks.

#include "CKernels.h"
#include "ck_half.h"

#include <math.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define CKA_X86 1
#define CKA_AVX2 __attribute__((target("avx2,fma,f16c")))
#define CKA_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512vl")))
#else
#define CKA_X86 0
#endif


static inline float cka_round(float x) { return ck_h2f(ck_f2h(x)); }

static int cka_mode = -1;  // -1 unknown, else bit 0: AVX2 + FMA + F16C, bit 1: AVX-512 F/VL too
static _Thread_local int cka_allowed = 3;  // the bits a test lets run on this thread (ck_attention_set_isa)

static inline int cka_isa(void) {
    int m = __atomic_load_n(&cka_mode, __ATOMIC_RELAXED);
    if (__builtin_expect(m < 0, 0)) {
        m = 0;
#if CKA_X86
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) {
            m = 1;
            if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")) m = 3;
        }
#endif
        __atomic_store_n(&cka_mode, m, __ATOMIC_RELAXED);
    }
    return m & cka_allowed;
}

static inline int cka_avx2(void) { return cka_isa() & 1; }

void ck_attention_set_isa(int allowed) { cka_allowed = allowed; }

// ---------------------------------------------------------------------------------------------
// F16 rows to F32.

static void rows_to_f32_scalar(int64_t rows, int64_t width, const uint16_t *src, size_t src_stride, float *dst, size_t dst_stride) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < width; c++) dst[(size_t)r * dst_stride + c] = ck_h2f(src[(size_t)r * src_stride + c]);
}

#if CKA_X86
CKA_AVX2 static void rows_to_f32_avx2(int64_t rows, int64_t width, const uint16_t *src, size_t src_stride, float *dst, size_t dst_stride) {
    for (int64_t r = 0; r < rows; r++) {
        const uint16_t *s = src + (size_t)r * src_stride;
        float *d = dst + (size_t)r * dst_stride;
        int64_t c = 0;
        for (; c + 8 <= width; c += 8) _mm256_storeu_ps(d + c, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + c))));
        for (; c < width; c++) d[c] = ck_h2f(s[c]);
    }
}
#endif

void ck_f16_rows_to_f32(int64_t rows, int64_t width, const uint16_t *src, size_t src_stride, float *dst, size_t dst_stride) {
#if CKA_X86
    if (cka_avx2()) { rows_to_f32_avx2(rows, width, src, src_stride, dst, dst_stride); return; }
#endif
    rows_to_f32_scalar(rows, width, src, src_stride, dst, dst_stride);
}

// ---------------------------------------------------------------------------------------------
// Scores of one F16-rounded query row against F32 keys: per key, four 8-lane FMA chains over
// each 32 elements (chain j takes elements 32b + 8j ... + 7), combined as (c0 + c2) + (c1 + c3),
// then lanes l and l + 4 added, then (h0 + h1) + (h2 + h3); elements past the last 32 are added
// in double; the result times `scale`. The vector kernels reduce eight keys at once by a
// transpose (same additions, same order).

static float score_scalar(int64_t dim, const float *q, const float *k, float scale) {
    float c[4][8] = {{0}};
    const int64_t blocked = dim & ~(int64_t)31;
    for (int64_t d = 0; d < blocked; d += 32)
        for (int j = 0; j < 4; j++)
            for (int l = 0; l < 8; l++) c[j][l] = fmaf(q[d + 8 * j + l], k[d + 8 * j + l], c[j][l]);
    float a[8], h[4];
    for (int l = 0; l < 8; l++) a[l] = (c[0][l] + c[2][l]) + (c[1][l] + c[3][l]);
    for (int l = 0; l < 4; l++) h[l] = a[l] + a[l + 4];
    double dot = (double)((h[0] + h[1]) + (h[2] + h[3]));
    for (int64_t d = blocked; d < dim; d++) {
        const float p = q[d] * k[d];
        dot += (double)p;
    }
    return (float)dot * scale;
}

static void scores_scalar(int64_t dim, const float *q, const float *k, size_t k_stride, int64_t from, int64_t to,
                          float scale, float *out) {
    for (int64_t i = from; i < to; i++) out[i] = score_scalar(dim, q, k + (size_t)i * k_stride, scale);
}

#if CKA_X86
// Eight keys' combined chains (a[k] = (c0 + c2) + (c1 + c3) of key k) to their eight sums.
CKA_AVX2 static inline __m256 reduce8(const __m256 a[8]) {
    __m256 h[4];
    for (int k = 0; k < 4; k++)
        h[k] = _mm256_add_ps(_mm256_permute2f128_ps(a[k], a[k + 4], 0x20), _mm256_permute2f128_ps(a[k], a[k + 4], 0x31));
    return _mm256_hadd_ps(_mm256_hadd_ps(h[0], h[1]), _mm256_hadd_ps(h[2], h[3]));
}

// One key (dim a multiple of 32), reduced in the same order: lanes l and l + 4, then
// (h0 + h1) + (h2 + h3).
CKA_AVX2 static inline float score1_avx2(int64_t dim, const float *q, const float *kr, float scale) {
    __m256 c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps(), c2 = _mm256_setzero_ps(), c3 = _mm256_setzero_ps();
    for (int64_t d = 0; d < dim; d += 32) {
        c0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), _mm256_loadu_ps(kr + d), c0);
        c1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + d + 8), _mm256_loadu_ps(kr + d + 8), c1);
        c2 = _mm256_fmadd_ps(_mm256_loadu_ps(q + d + 16), _mm256_loadu_ps(kr + d + 16), c2);
        c3 = _mm256_fmadd_ps(_mm256_loadu_ps(q + d + 24), _mm256_loadu_ps(kr + d + 24), c3);
    }
    const __m256 a = _mm256_add_ps(_mm256_add_ps(c0, c2), _mm256_add_ps(c1, c3));
    const __m128 h = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    const __m128 t = _mm_hadd_ps(h, h);
    return _mm_cvtss_f32(_mm_hadd_ps(t, t)) * scale;
}

CKA_AVX2 static void scores_avx2(int64_t dim, const float *q, const float *k, size_t k_stride, int64_t from, int64_t to,
                                 float scale, float *out) {
    int64_t i = from;
    if ((dim & 31) == 0) {
        const __m256 sv = _mm256_set1_ps(scale);
        for (; i + 8 <= to; i += 8) {
            __m256 a[8];
            // Two keys at a time: eight chains in flight, each query vector loaded once for both.
            for (int u = 0; u < 8; u += 2) {
                const float *k0 = k + (size_t)(i + u) * k_stride, *k1 = k0 + k_stride;
                __m256 c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps(), c2 = _mm256_setzero_ps(), c3 = _mm256_setzero_ps();
                __m256 e0 = _mm256_setzero_ps(), e1 = _mm256_setzero_ps(), e2 = _mm256_setzero_ps(), e3 = _mm256_setzero_ps();
                for (int64_t d = 0; d < dim; d += 32) {
                    const __m256 q0 = _mm256_loadu_ps(q + d), q1 = _mm256_loadu_ps(q + d + 8);
                    const __m256 q2 = _mm256_loadu_ps(q + d + 16), q3 = _mm256_loadu_ps(q + d + 24);
                    c0 = _mm256_fmadd_ps(q0, _mm256_loadu_ps(k0 + d), c0);
                    e0 = _mm256_fmadd_ps(q0, _mm256_loadu_ps(k1 + d), e0);
                    c1 = _mm256_fmadd_ps(q1, _mm256_loadu_ps(k0 + d + 8), c1);
                    e1 = _mm256_fmadd_ps(q1, _mm256_loadu_ps(k1 + d + 8), e1);
                    c2 = _mm256_fmadd_ps(q2, _mm256_loadu_ps(k0 + d + 16), c2);
                    e2 = _mm256_fmadd_ps(q2, _mm256_loadu_ps(k1 + d + 16), e2);
                    c3 = _mm256_fmadd_ps(q3, _mm256_loadu_ps(k0 + d + 24), c3);
                    e3 = _mm256_fmadd_ps(q3, _mm256_loadu_ps(k1 + d + 24), e3);
                }
                a[u] = _mm256_add_ps(_mm256_add_ps(c0, c2), _mm256_add_ps(c1, c3));
                a[u + 1] = _mm256_add_ps(_mm256_add_ps(e0, e2), _mm256_add_ps(e1, e3));
            }
            _mm256_storeu_ps(out + i, _mm256_mul_ps(reduce8(a), sv));
        }
        for (; i < to; i++) out[i] = score1_avx2(dim, q, k + (size_t)i * k_stride, scale);
    }
    scores_scalar(dim, q, k, k_stride, i, to, scale, out);
}

// 512-bit chains: lanes 0-7 of one register are chain 0, lanes 8-15 chain 1 (and chains 2, 3 in
// a second register), so their sum holds c0 + c2 and c1 + c3 side by side.
CKA_AVX512 static void scores_avx512(int64_t dim, const float *q, const float *k, size_t k_stride, int64_t from, int64_t to,
                                     float scale, float *out) {
    int64_t i = from;
    if ((dim & 31) == 0) {
        const __m256 sv = _mm256_set1_ps(scale);
        for (; i + 8 <= to; i += 8) {
            __m512 z0[8], z1[8];
            for (int u = 0; u < 8; u++) { z0[u] = _mm512_setzero_ps(); z1[u] = _mm512_setzero_ps(); }
            for (int64_t d = 0; d < dim; d += 32) {
                const __m512 q0 = _mm512_loadu_ps(q + d), q1 = _mm512_loadu_ps(q + d + 16);
                for (int u = 0; u < 8; u++) {
                    const float *kr = k + (size_t)(i + u) * k_stride + d;
                    z0[u] = _mm512_fmadd_ps(q0, _mm512_loadu_ps(kr), z0[u]);
                    z1[u] = _mm512_fmadd_ps(q1, _mm512_loadu_ps(kr + 16), z1[u]);
                }
            }
            __m256 a[8];
            for (int u = 0; u < 8; u++) {
                const __m512 z = _mm512_add_ps(z0[u], z1[u]);
                a[u] = _mm256_add_ps(_mm512_castps512_ps256(z), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(z), 1)));
            }
            _mm256_storeu_ps(out + i, _mm256_mul_ps(reduce8(a), sv));
        }
        for (; i < to; i++) out[i] = score1_avx2(dim, q, k + (size_t)i * k_stride, scale);
    }
    scores_scalar(dim, q, k, k_stride, i, to, scale, out);
}
#endif

void ck_f16_attention_scores(int64_t dim, const float *q, const float *k, size_t k_stride, int64_t from, int64_t to,
                             float scale, float *out) {
#if CKA_X86
    const int isa = cka_isa();
    if (isa & 2) { scores_avx512(dim, q, k, k_stride, from, to, scale, out); return; }
    if (isa & 1) { scores_avx2(dim, q, k, k_stride, from, to, scale, out); return; }
#endif
    scores_scalar(dim, q, k, k_stride, from, to, scale, out);
}

// ---------------------------------------------------------------------------------------------
// Value sums of a tile. Row r visits keys lo[r] <= i < hi[r] of the block in order; per lane:
// if grew[i] != 0, acc = f16(acc * rescale[i]); acc = f16(fma(v_i, weight[i], acc)).

static void tile_value_sum_scalar(int64_t rows, int64_t lanes, int64_t first_lane, const float *v, size_t v_stride,
                                  const int32_t *lo, const int32_t *hi, const float *weight, const float *rescale,
                                  const float *grew, size_t w_stride, float *acc, size_t acc_stride) {
    for (int64_t r = 0; r < rows; r++) {
        const float *w = weight + (size_t)r * w_stride, *rs = rescale + (size_t)r * w_stride, *g = grew + (size_t)r * w_stride;
        float *a = acc + (size_t)r * acc_stride;
        for (int64_t c = first_lane; c < lanes; c++) {
            float x = a[c];
            for (int32_t i = lo[r]; i < hi[r]; i++) {
                if (g[i] != 0.0f) x = cka_round(x * rs[i]);
                x = cka_round(fmaf(v[(size_t)i * v_stride + c], w[i], x));
            }
            a[c] = x;
        }
    }
}

#if CKA_X86
CKA_AVX2 static inline __m256 f16_round8(__m256 x) {
    return _mm256_cvtph_ps(_mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT));
}

// HEADS rows (1 or 2) of the tile starting at row r, W vectors of 8 lanes starting at lane c.
// With SAME, both rows visit the same keys; otherwise each key is checked against each row's range.
#define CKA_TILE_BLOCK(HEADS, W, SAME)                                                                 \
    do {                                                                                               \
        __m256 a[2][8];                                                                                \
        const float *wt[2], *rs[2], *gr[2];                                                            \
        int32_t l[2], h[2];                                                                            \
        for (int k = 0; k < HEADS; k++) {                                                              \
            wt[k] = weight + (size_t)(r + k) * w_stride;                                               \
            rs[k] = rescale + (size_t)(r + k) * w_stride;                                              \
            gr[k] = grew + (size_t)(r + k) * w_stride;                                                 \
            l[k] = lo[r + k];                                                                          \
            h[k] = hi[r + k];                                                                          \
            for (int u = 0; u < W; u++) a[k][u] = _mm256_loadu_ps(acc + (size_t)(r + k) * acc_stride + c + 8 * u); \
        }                                                                                              \
        int32_t from = l[0], to = h[0];                                                                \
        if (HEADS == 2) {                                                                              \
            if (l[1] < from) from = l[1];                                                              \
            if (h[1] > to) to = h[1];                                                                  \
        }                                                                                              \
        for (int32_t i = from; i < to; i++) {                                                          \
            const float *vr = v + (size_t)i * v_stride + c;                                            \
            for (int k = 0; k < HEADS; k++) {                                                          \
                if (!(SAME) && (i < l[k] || i >= h[k])) continue;                                      \
                if (gr[k][i] != 0.0f) {                                                                \
                    const __m256 s = _mm256_set1_ps(rs[k][i]);                                         \
                    for (int u = 0; u < W; u++) a[k][u] = f16_round8(_mm256_mul_ps(a[k][u], s));       \
                }                                                                                      \
                const __m256 w = _mm256_set1_ps(wt[k][i]);                                             \
                for (int u = 0; u < W; u++) a[k][u] = f16_round8(_mm256_fmadd_ps(_mm256_loadu_ps(vr + 8 * u), w, a[k][u])); \
            }                                                                                          \
        }                                                                                              \
        for (int k = 0; k < HEADS; k++)                                                                \
            for (int u = 0; u < W; u++) _mm256_storeu_ps(acc + (size_t)(r + k) * acc_stride + c + 8 * u, a[k][u]); \
    } while (0)

CKA_AVX512 static inline __m512 f16_round16(__m512 x) {
    return _mm512_cvtph_ps(_mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT));
}

// HEADS rows (1 to 4) starting at row r, W vectors of 16 lanes starting at lane c.
#define CKA_TILE_BLOCK512(HEADS, W, SAME)                                                              \
    do {                                                                                               \
        __m512 a[4][4];                                                                                \
        const float *wt[4], *rs[4], *gr[4];                                                            \
        int32_t l[4], h[4], from = lo[r], to = hi[r];                                                  \
        for (int k = 0; k < HEADS; k++) {                                                              \
            wt[k] = weight + (size_t)(r + k) * w_stride;                                               \
            rs[k] = rescale + (size_t)(r + k) * w_stride;                                              \
            gr[k] = grew + (size_t)(r + k) * w_stride;                                                 \
            l[k] = lo[r + k];                                                                          \
            h[k] = hi[r + k];                                                                          \
            if (l[k] < from) from = l[k];                                                              \
            if (h[k] > to) to = h[k];                                                                  \
            for (int u = 0; u < W; u++) a[k][u] = _mm512_loadu_ps(acc + (size_t)(r + k) * acc_stride + c + 16 * u); \
        }                                                                                              \
        for (int32_t i = from; i < to; i++) {                                                          \
            const float *vr = v + (size_t)i * v_stride + c;                                            \
            for (int k = 0; k < HEADS; k++) {                                                          \
                if (!(SAME) && (i < l[k] || i >= h[k])) continue;                                      \
                if (gr[k][i] != 0.0f) {                                                                \
                    const __m512 s = _mm512_set1_ps(rs[k][i]);                                         \
                    for (int u = 0; u < W; u++) a[k][u] = f16_round16(_mm512_mul_ps(a[k][u], s));      \
                }                                                                                      \
                const __m512 w = _mm512_set1_ps(wt[k][i]);                                             \
                for (int u = 0; u < W; u++) a[k][u] = f16_round16(_mm512_fmadd_ps(_mm512_loadu_ps(vr + 16 * u), w, a[k][u])); \
            }                                                                                          \
        }                                                                                              \
        for (int k = 0; k < HEADS; k++)                                                                \
            for (int u = 0; u < W; u++) _mm512_storeu_ps(acc + (size_t)(r + k) * acc_stride + c + 16 * u, a[k][u]); \
    } while (0)

#define CKA_TILE_ROWS512(HEADS)                                                                        \
    do {                                                                                               \
        int same = 1;                                                                                  \
        for (int k = 1; k < HEADS; k++) same &= lo[r + k] == lo[r] && hi[r + k] == hi[r];              \
        if (same) {                                                                                    \
            for (; c + 64 <= wide_lanes; c += 64) CKA_TILE_BLOCK512(HEADS, 4, 1);                      \
            for (; c + 16 <= wide_lanes; c += 16) CKA_TILE_BLOCK512(HEADS, 1, 1);                      \
        } else {                                                                                       \
            for (; c + 64 <= wide_lanes; c += 64) CKA_TILE_BLOCK512(HEADS, 4, 0);                      \
            for (; c + 16 <= wide_lanes; c += 16) CKA_TILE_BLOCK512(HEADS, 1, 0);                      \
        }                                                                                              \
    } while (0)

// Rows four at a time over 64 lanes (sixteen rounding chains in 32 registers); lanes past the
// last 16 go to the AVX2 kernel.
CKA_AVX512 static void tile_value_sum_avx512(int64_t rows, int64_t lanes, const float *v, size_t v_stride,
                                             const int32_t *lo, const int32_t *hi, const float *weight, const float *rescale,
                                             const float *grew, size_t w_stride, float *acc, size_t acc_stride) {
    const int64_t wide_lanes = lanes & ~(int64_t)15;
    for (int64_t r = 0; r < rows;) {
        int64_t c = 0;
        switch (rows - r >= 4 ? 4 : rows - r) {
        case 4: CKA_TILE_ROWS512(4); r += 4; break;
        case 3: CKA_TILE_ROWS512(3); r += 3; break;
        case 2: CKA_TILE_ROWS512(2); r += 2; break;
        default: CKA_TILE_ROWS512(1); r += 1; break;
        }
    }
}

CKA_AVX2 static void tile_value_sum_avx2(int64_t rows, int64_t lanes, const float *v, size_t v_stride,
                                         const int32_t *lo, const int32_t *hi, const float *weight, const float *rescale,
                                         const float *grew, size_t w_stride, float *acc, size_t acc_stride) {
    const int64_t vector_lanes = lanes & ~(int64_t)7;
    int64_t r = 0;
    // Two rows at a time: eight independent rounding chains (two rows x 32 lanes) hide the
    // latency of the conversions.
    for (; r + 2 <= rows; r += 2) {
        const int same = lo[r] == lo[r + 1] && hi[r] == hi[r + 1];
        int64_t c = 0;
        if (same) {
            for (; c + 32 <= vector_lanes; c += 32) CKA_TILE_BLOCK(2, 4, 1);
            for (; c + 8 <= vector_lanes; c += 8) CKA_TILE_BLOCK(2, 1, 1);
        } else {
            for (; c + 32 <= vector_lanes; c += 32) CKA_TILE_BLOCK(2, 4, 0);
            for (; c + 8 <= vector_lanes; c += 8) CKA_TILE_BLOCK(2, 1, 0);
        }
    }
    if (r < rows) {
        int64_t c = 0;
        for (; c + 64 <= vector_lanes; c += 64) CKA_TILE_BLOCK(1, 8, 1);
        for (; c + 32 <= vector_lanes; c += 32) CKA_TILE_BLOCK(1, 4, 1);
        for (; c + 8 <= vector_lanes; c += 8) CKA_TILE_BLOCK(1, 1, 1);
    }
    if (vector_lanes < lanes)
        tile_value_sum_scalar(rows, lanes, vector_lanes, v, v_stride, lo, hi, weight, rescale, grew, w_stride, acc, acc_stride);
}
#endif

void ck_f16_tile_value_sum(int64_t rows, int64_t lanes, const float *v, size_t v_stride, const int32_t *lo, const int32_t *hi,
                           const float *weight, const float *rescale, const float *grew, size_t w_stride,
                           float *acc, size_t acc_stride) {
#if CKA_X86
    const int isa = cka_isa();
    if (isa & 2) {
        const int64_t wide_lanes = lanes & ~(int64_t)15;
        tile_value_sum_avx512(rows, wide_lanes, v, v_stride, lo, hi, weight, rescale, grew, w_stride, acc, acc_stride);
        if (wide_lanes < lanes)
            tile_value_sum_avx2(rows, lanes - wide_lanes, v + wide_lanes, v_stride, lo, hi, weight, rescale, grew, w_stride,
                                acc + wide_lanes, acc_stride);
        return;
    }
    if (isa & 1) {
        tile_value_sum_avx2(rows, lanes, v, v_stride, lo, hi, weight, rescale, grew, w_stride, acc, acc_stride);
        return;
    }
#endif
    tile_value_sum_scalar(rows, lanes, 0, v, v_stride, lo, hi, weight, rescale, grew, w_stride, acc, acc_stride);
}

// ---------------------------------------------------------------------------------------------
// Block attention as llama.cpp's tiled CPU flash attention, the kernel it runs for a batch of 64
// or more query rows: keys in blocks of 64 aligned to cache row 0, F32 query and keys (each
// score one FMA chain over the head dimension), the block's maximum folded into the running one
// (rescaling by expf of the difference), its weights from the vectorized exp below and summed
// eight lanes at a time in a fixed tree into a double, and an F32 value sum, one FMA per key.

#define CKA_BLOCK 64

// exp(x) as llama.cpp's AVX2 build computes it inside its softmax: x = n ln2 + b with n rounded
// to an integer (shift trick), ln2 split in two parts; exp(b) by a degree-5 polynomial in b
// evaluated as (c5 b + c4) u + (c3 b + c2), times u, plus c1 b (u = b b); 2^n put in the exponent
// bits, with a slower scaling where |n| > 126 so that results underflow or overflow cleanly.
// One lane; the AVX2 version below does the same operations eight lanes at a time.
static inline uint32_t cka_bits(float x) { uint32_t u; memcpy(&u, &x, 4); return u; }
static inline float cka_float(uint32_t u) { float x; memcpy(&x, &u, 4); return x; }

static const float cka_exp_shift = 0x1.8p23f, cka_log2e = 0x1.715476p+0f;
static const float cka_ln2_hi = 0x1.62e4p-1f, cka_ln2_lo = 0x1.7f7d1cp-20f;
static const float cka_c1 = 0x1.ffffecp-1f, cka_c2 = 0x1.fffdb6p-2f, cka_c3 = 0x1.555e66p-3f;
static const float cka_c4 = 0x1.573e2ep-5f, cka_c5 = 0x1.0e4020p-7f;

static float block_exp_scalar(float x) {
    const float z = fmaf(x, cka_log2e, cka_exp_shift);
    const float n = z - cka_exp_shift;
    const float b = fmaf(-n, cka_ln2_lo, fmaf(-n, cka_ln2_hi, x));
    const uint32_t e = cka_bits(z) << 23;
    const float k = cka_float(e + cka_bits(1.0f));
    const float u = b * b;
    const float j = fmaf(fmaf(fmaf(cka_c5, b, cka_c4), u, fmaf(cka_c3, b, cka_c2)), u, cka_c1 * b);
    const float an = fabsf(n);
    if (!(an > 126.0f)) return fmaf(j, k, k);
    const uint32_t g = n <= 0.0f ? 0x82000000u : 0u;
    const float s1 = cka_float(g + 0x7f000000u), s2 = cka_float(e - g);
    if (an > 192.0f) return s1 * s1;
    return fmaf(s2, j, s2) * s1;
}

// The 64 weights exp(score - max) of a block and their sum: per eight lanes
// ((w0 + w4) + (w2 + w6)) + ((w1 + w5) + (w3 + w7)) in float, the eights added in double.
static double block_weights_scalar(float *w, float max) {
    double sum = 0;
    for (int g = 0; g < CKA_BLOCK; g += 8) {
        float *x = w + g;
        for (int i = 0; i < 8; i++) x[i] = block_exp_scalar(x[i] - max);
        sum += (double)(((x[0] + x[4]) + (x[2] + x[6])) + ((x[1] + x[5]) + (x[3] + x[7])));
    }
    return sum;
}

static void block_scores_scalar(int64_t dk, const float *q, const float *kt, float *w) {
    for (int i = 0; i < CKA_BLOCK; i++) {
        float s = 0;
        for (int64_t d = 0; d < dk; d++) s = fmaf(kt[d * CKA_BLOCK + i], q[d], s);
        w[i] = s;
    }
}

static void block_values_scalar(int64_t dv, const float *v, size_t v_stride, const float *w, int64_t from, int64_t to, float *acc) {
    for (int64_t i = from; i < to; i++)
        for (int64_t d = 0; d < dv; d++) acc[d] = fmaf(v[(size_t)i * v_stride + d], w[i], acc[d]);
}

#if CKA_X86
CKA_AVX2 static inline __m256 block_exp_avx2(__m256 x) {
    const __m256 shift = _mm256_set1_ps(cka_exp_shift);
    const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(cka_log2e), shift);
    const __m256 n = _mm256_sub_ps(z, shift);
    const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(cka_ln2_lo), _mm256_fnmadd_ps(n, _mm256_set1_ps(cka_ln2_hi), x));
    const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
    const __m256 k = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(_mm256_set1_ps(1.0f))));
    const __m256 an = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), n);
    const __m256 big = _mm256_cmp_ps(an, _mm256_set1_ps(126.0f), _CMP_GT_OQ);
    const __m256 u = _mm256_mul_ps(b, b);
    const __m256 j = _mm256_fmadd_ps(
        _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(cka_c5), b, _mm256_set1_ps(cka_c4)), u,
                        _mm256_fmadd_ps(_mm256_set1_ps(cka_c3), b, _mm256_set1_ps(cka_c2))),
        u, _mm256_mul_ps(_mm256_set1_ps(cka_c1), b));
    const __m256 normal = _mm256_fmadd_ps(j, k, k);
    if (!_mm256_movemask_ps(big)) return normal;
    const __m256i g = _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ)),
                                       _mm256_set1_epi32((int)0x82000000u));
    const __m256 s1 = _mm256_castsi256_ps(_mm256_add_epi32(g, _mm256_set1_epi32(0x7f000000)));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_sub_epi32(e, g));
    const __m256 huge = _mm256_cmp_ps(an, _mm256_set1_ps(192.0f), _CMP_GT_OQ);
    const __m256 scaled = _mm256_blendv_ps(normal, _mm256_mul_ps(_mm256_fmadd_ps(s2, j, s2), s1), big);
    return _mm256_blendv_ps(scaled, _mm256_mul_ps(s1, s1), huge);
}

CKA_AVX2 static double block_weights_avx2(float *w, float max) {
    const __m256 m = _mm256_set1_ps(max);
    double sum = 0;
    for (int g = 0; g < CKA_BLOCK; g += 8) {
        const __m256 x = block_exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(w + g), m));
        _mm256_storeu_ps(w + g, x);
        __m128 h = _mm_add_ps(_mm256_extractf128_ps(x, 1), _mm256_castps256_ps128(x));
        h = _mm_add_ps(h, _mm_movehl_ps(h, h));
        h = _mm_add_ss(h, _mm_movehdup_ps(h));
        sum += (double)_mm_cvtss_f32(h);
    }
    return sum;
}

CKA_AVX2 static void block_scores_avx2(int64_t dk, const float *q, const float *kt, float *w) {
    __m256 acc[CKA_BLOCK / 8];
    for (int l = 0; l < CKA_BLOCK / 8; l++) acc[l] = _mm256_setzero_ps();
    for (int64_t d = 0; d < dk; d++) {
        const __m256 qd = _mm256_set1_ps(q[d]);
        const float *row = kt + d * CKA_BLOCK;
        for (int l = 0; l < CKA_BLOCK / 8; l++) acc[l] = _mm256_fmadd_ps(_mm256_loadu_ps(row + 8 * l), qd, acc[l]);
    }
    for (int l = 0; l < CKA_BLOCK / 8; l++) _mm256_storeu_ps(w + 8 * l, acc[l]);
}

CKA_AVX2 static void block_values_avx2(int64_t dv, const float *v, size_t v_stride, const float *w, int64_t from, int64_t to, float *acc) {
    int64_t d = 0;
    for (; d + 32 <= dv; d += 32) {
        __m256 a0 = _mm256_loadu_ps(acc + d), a1 = _mm256_loadu_ps(acc + d + 8);
        __m256 a2 = _mm256_loadu_ps(acc + d + 16), a3 = _mm256_loadu_ps(acc + d + 24);
        for (int64_t i = from; i < to; i++) {
            const float *vr = v + (size_t)i * v_stride + d;
            const __m256 wi = _mm256_set1_ps(w[i]);
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(vr), wi, a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(vr + 8), wi, a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(vr + 16), wi, a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(vr + 24), wi, a3);
        }
        _mm256_storeu_ps(acc + d, a0); _mm256_storeu_ps(acc + d + 8, a1);
        _mm256_storeu_ps(acc + d + 16, a2); _mm256_storeu_ps(acc + d + 24, a3);
    }
    for (; d + 8 <= dv; d += 8) {
        __m256 a = _mm256_loadu_ps(acc + d);
        for (int64_t i = from; i < to; i++) a = _mm256_fmadd_ps(_mm256_loadu_ps(v + (size_t)i * v_stride + d), _mm256_set1_ps(w[i]), a);
        _mm256_storeu_ps(acc + d, a);
    }
    if (d < dv) block_values_scalar(dv - d, v + d, v_stride, w, from, to, acc + d);
}
// The same per-lane arithmetic on 16 lanes, for `NH` (1 to 4) query heads of one KV head at once,
// so each key and value vector loaded serves every head: each score an FMA chain over the head
// dimension, each value lane an FMA chain over the keys.
CKA_AVX512 static inline __attribute__((always_inline)) void block_scores_heads_avx512(
        int64_t dk, const float *q, const float *kt, float (*w)[CKA_BLOCK], const int nh) {
    __m512 a[4][4];
    for (int h = 0; h < nh; h++)
        for (int l = 0; l < 4; l++) a[h][l] = _mm512_setzero_ps();
    for (int64_t d = 0; d < dk; d++) {
        const float *row = kt + d * CKA_BLOCK;
        const __m512 k0 = _mm512_loadu_ps(row), k1 = _mm512_loadu_ps(row + 16);
        const __m512 k2 = _mm512_loadu_ps(row + 32), k3 = _mm512_loadu_ps(row + 48);
        for (int h = 0; h < nh; h++) {
            const __m512 qd = _mm512_set1_ps(q[h * dk + d]);
            a[h][0] = _mm512_fmadd_ps(k0, qd, a[h][0]);
            a[h][1] = _mm512_fmadd_ps(k1, qd, a[h][1]);
            a[h][2] = _mm512_fmadd_ps(k2, qd, a[h][2]);
            a[h][3] = _mm512_fmadd_ps(k3, qd, a[h][3]);
        }
    }
    for (int h = 0; h < nh; h++)
        for (int l = 0; l < 4; l++) _mm512_storeu_ps(w[h] + 16 * l, a[h][l]);
}

CKA_AVX512 static inline __attribute__((always_inline)) void block_values_heads_avx512(
        int64_t dv, const float *v, size_t v_stride, const float (*w)[CKA_BLOCK], int64_t from, int64_t to, float *acc, const int nh) {
    int64_t d = 0;
    for (; d + 64 <= dv; d += 64) {
        __m512 a[4][4];
        for (int h = 0; h < nh; h++)
            for (int l = 0; l < 4; l++) a[h][l] = _mm512_loadu_ps(acc + h * dv + d + 16 * l);
        for (int64_t i = from; i < to; i++) {
            const float *vr = v + (size_t)i * v_stride + d;
            const __m512 v0 = _mm512_loadu_ps(vr), v1 = _mm512_loadu_ps(vr + 16);
            const __m512 v2 = _mm512_loadu_ps(vr + 32), v3 = _mm512_loadu_ps(vr + 48);
            for (int h = 0; h < nh; h++) {
                const __m512 wi = _mm512_set1_ps(w[h][i]);
                a[h][0] = _mm512_fmadd_ps(v0, wi, a[h][0]);
                a[h][1] = _mm512_fmadd_ps(v1, wi, a[h][1]);
                a[h][2] = _mm512_fmadd_ps(v2, wi, a[h][2]);
                a[h][3] = _mm512_fmadd_ps(v3, wi, a[h][3]);
            }
        }
        for (int h = 0; h < nh; h++)
            for (int l = 0; l < 4; l++) _mm512_storeu_ps(acc + h * dv + d + 16 * l, a[h][l]);
    }
    if (d < dv)
        for (int h = 0; h < nh; h++) block_values_avx2(dv - d, v + d, v_stride, w[h], from, to, acc + h * dv + d);
}

#define CKA_HEADS_CASES(CALL) \
    switch (nh) { case 1: CALL(1); break; case 2: CALL(2); break; case 3: CALL(3); break; default: CALL(4); break; }
CKA_AVX512 static void block_scores_avx512(int64_t dk, const float *q, const float *kt, float (*w)[CKA_BLOCK], int nh) {
#define CKA_SCORES(N) block_scores_heads_avx512(dk, q, kt, w, N)
    CKA_HEADS_CASES(CKA_SCORES)
#undef CKA_SCORES
}
CKA_AVX512 static void block_values_avx512(int64_t dv, const float *v, size_t v_stride, const float (*w)[CKA_BLOCK], int64_t from, int64_t to,
                                          float *acc, int nh) {
#define CKA_VALUES(N) block_values_heads_avx512(dv, v, v_stride, w, from, to, acc, N)
    CKA_HEADS_CASES(CKA_VALUES)
#undef CKA_VALUES
}
#endif

void ck_f16_rows_to_f32_transposed64(int64_t rows, int64_t width, const uint16_t *src, size_t src_stride, float *dst) {
    for (int64_t r = 0; r < CKA_BLOCK; r++) {
        const uint16_t *s = src + (size_t)r * src_stride;
        for (int64_t c = 0; c < width; c++) dst[c * CKA_BLOCK + r] = r < rows ? ck_h2f(s[c]) : 0.0f;
    }
}

void ck_attention_block64_heads(int64_t heads, int64_t dk, int64_t dv, const float *q, const float *kt, const float *v,
                                size_t v_stride, int64_t from, int64_t to, float scale, float *max, float *sum, float *acc) {
    if (from >= to) return;
    float w[4][CKA_BLOCK] __attribute__((aligned(64)));
#if CKA_X86
    const int isa = cka_isa(), avx2 = isa & 1;
#endif
    for (int64_t h0 = 0; h0 < heads; h0 += 4) {
        const int nh = heads - h0 < 4 ? (int)(heads - h0) : 4;
        const float *qh = q + h0 * dk;
        float *acch = acc + h0 * dv;
#if CKA_X86
        if (isa & 2) block_scores_avx512(dk, qh, kt, w, nh); else
        if (avx2) { for (int h = 0; h < nh; h++) block_scores_avx2(dk, qh + h * dk, kt, w[h]); } else
#endif
        for (int h = 0; h < nh; h++) block_scores_scalar(dk, qh + h * dk, kt, w[h]);
        for (int h = 0; h < nh; h++) {
            float *wh = w[h];
            float block_max = -INFINITY;
            for (int i = 0; i < CKA_BLOCK; i++) {
                wh[i] = (i >= from && i < to) ? wh[i] * scale : -INFINITY;
                block_max = fmaxf(block_max, wh[i]);
            }
            // A head that sees nothing here adds nothing (zero weights, as llama.cpp zeroes its row).
            if (block_max == -INFINITY) { memset(wh, 0, sizeof w[0]); continue; }
            const float old = max[h0 + h], m = fmaxf(old, block_max);
            if (m > old) {
                const float r = expf(old - m);
                for (int64_t d = 0; d < dv; d++) acch[h * dv + d] *= r;
                sum[h0 + h] *= r;
            }
            max[h0 + h] = m;
            double s;
#if CKA_X86
            if (avx2) s = block_weights_avx2(wh, m); else
#endif
            s = block_weights_scalar(wh, m);
            sum[h0 + h] = (float)((double)sum[h0 + h] + s);
        }
#if CKA_X86
        if (isa & 2) { block_values_avx512(dv, v, v_stride, (const float (*)[CKA_BLOCK])w, from, to, acch, nh); continue; }
        if (avx2) { for (int h = 0; h < nh; h++) block_values_avx2(dv, v, v_stride, w[h], from, to, acch + h * dv); continue; }
#endif
        for (int h = 0; h < nh; h++) block_values_scalar(dv, v, v_stride, w[h], from, to, acch + h * dv);
    }
}
