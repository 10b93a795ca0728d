#ifndef CKERNELS_H
#define CKERNELS_H

// Quantized inner dot products and activation quantizers for the Kernels module.
//
// Block layouts are those of GGUF / ggml (see Sources/Kernels/QuantFormat.swift).
// Every function is pure: `n` is the number of elements (a multiple of the block size),
// `w` points at weight blocks, `a` at activation blocks of the paired format.
// AVX2/FMA/F16C versions are chosen at run time when the CPU has them; otherwise
// portable scalar code runs. Both give the same integer sums; only float rounding order differs
// (the AVX2 kernels use the orders of ggml's AVX2 build, see ckernels.c).

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

/// Force the portable scalar kernels (nonzero) or restore automatic selection (0) on the
/// calling thread only. For tests.
void ck_force_scalar(int on);

/// Skip the AVX-512 VL/VNNI kernels (nonzero) on the calling thread, keeping plain AVX2. For tests.
void ck_force_avx2_only(int on);

/// 1 if the AVX-512 VL/VNNI prefill kernels (ck_gemm8_*) are in use.
int ck_uses_vnni(void);

/// Logical CPUs this process may run on (affinity mask), at least 1.
int ck_available_cpus(void);

// Activation quantizers: F32 -> Q8_0 / Q8_1 / Q8_K, as ggml's x86 CPU backend does.
void ck_quantize_row_q8_0(const float *x, void *y, int64_t n);
void ck_quantize_row_q8_1(const float *x, void *y, int64_t n);
void ck_quantize_row_q8_K(const float *x, void *y, int64_t n);

// Weight-row x activation-row dot products.
float ck_vec_dot_q4_0_q8_0(int64_t n, const void *w, const void *a);
float ck_vec_dot_q4_1_q8_1(int64_t n, const void *w, const void *a);
float ck_vec_dot_q5_0_q8_0(int64_t n, const void *w, const void *a);
float ck_vec_dot_q5_1_q8_1(int64_t n, const void *w, const void *a);
float ck_vec_dot_q8_0_q8_0(int64_t n, const void *w, const void *a);
float ck_vec_dot_q2_K_q8_K(int64_t n, const void *w, const void *a);
float ck_vec_dot_q3_K_q8_K(int64_t n, const void *w, const void *a);
float ck_vec_dot_q4_K_q8_K(int64_t n, const void *w, const void *a);
float ck_vec_dot_q5_K_q8_K(int64_t n, const void *w, const void *a);
float ck_vec_dot_q6_K_q8_K(int64_t n, const void *w, const void *a);

// One weight row against four activation rows a + c*stride (c = 0..3): out[c] is bit-identical
// to the single dot product, but the weights are unpacked once. For batched matmul (prefill).
void ck_gemm4_q4_0_q8_0(int64_t n, const void *w, const void *a, size_t stride, float *out);
void ck_gemm4_q5_0_q8_0(int64_t n, const void *w, const void *a, size_t stride, float *out);
void ck_gemm4_q4_1_q8_1(int64_t n, const void *w, const void *a, size_t stride, float *out);
void ck_gemm4_q5_1_q8_1(int64_t n, const void *w, const void *a, size_t stride, float *out);
void ck_gemm4_q8_0_q8_0(int64_t n, const void *w, const void *a, size_t stride, float *out);
void ck_gemm4_q4_K_q8_K(int64_t n, const void *w, const void *a, size_t stride, float *out);
void ck_gemm4_q5_K_q8_K(int64_t n, const void *w, const void *a, size_t stride, float *out);
void ck_gemm4_q6_K_q8_K(int64_t n, const void *w, const void *a, size_t stride, float *out);

// Prepared activations for the 32-element weight formats (Q4_0, Q5_0, Q8_0, Q4_1, Q5_1): each
// block of 32 holds the Q8_0/Q8_1 int8 values, float scales, and per-lane corrections for the
// offset formats; one prepared row serves all five. Results of the kernels below are
// bit-identical to ck_vec_dot_* on Q8_0/Q8_1 activations.
// A prepared row is ceil(n / 64) pairs of CK_Q8P_PAIR_BYTES bytes.
#define CK_Q8P_PAIR_BYTES 144
void ck_quantize_row_q8_p(const float *x, void *y, int64_t n);
// y[r] = row r of w (rows of `row_bytes`) . a, for r < rows.
void ck_gemv_q4_0_p(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, float *y);
void ck_gemv_q5_0_p(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, float *y);
void ck_gemv_q8_0_p(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, float *y);
void ck_gemv_q4_1_p(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, float *y);
void ck_gemv_q5_1_p(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, float *y);
// Q4_0 in the order llama.cpp's AVX2 build uses for the Q4_0 matrices it repacks (row count a
// multiple of 8), at every batch size: per output, acc = fma(block's integer sum, d_x * d_y, acc).
// The vec_dot form takes a Q8_0 activation row (for tests); the others prepared rows.
void ck_gemv_q4_0_p_repacked(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, float *y);
void ck_gemm_cols_q4_0_p_repacked(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, size_t stride, int cols, float *y, size_t y_stride);
float ck_vec_dot_q4_0_q8_0_repacked(int64_t n, const void *w, const void *a);
// out[c] = w . (a + c*stride), c = 0..7, bit-identical to the gemv results, where the CPU has
// AVX-512 VL/BW/VNNI: returns 1 then, else 0 without touching `out` (use the 4-column kernel).
int ck_gemm8_q4_0_p(int64_t n, const void *w, const void *a, size_t stride, float *out);
int ck_gemm8_q5_0_p(int64_t n, const void *w, const void *a, size_t stride, float *out);
int ck_gemm8_q8_0_p(int64_t n, const void *w, const void *a, size_t stride, float *out);
int ck_gemm8_q4_1_p(int64_t n, const void *w, const void *a, size_t stride, float *out);
int ck_gemm8_q5_1_p(int64_t n, const void *w, const void *a, size_t stride, float *out);
// out[c] = w . (a + c*stride), c = 0..3, bit-identical to the gemv results.
void ck_gemm4_q4_0_p(int64_t n, const void *w, const void *a, size_t stride, float *out);
void ck_gemm4_q5_0_p(int64_t n, const void *w, const void *a, size_t stride, float *out);
void ck_gemm4_q8_0_p(int64_t n, const void *w, const void *a, size_t stride, float *out);
void ck_gemm4_q4_1_p(int64_t n, const void *w, const void *a, size_t stride, float *out);
void ck_gemm4_q5_1_p(int64_t n, const void *w, const void *a, size_t stride, float *out);

// K-quant weight row against eight Q8_K activation rows, bit-identical to the single dot
// products, where the CPU has AVX-512 VL/BW: returns 1 then, else 0 without touching `out`.
int ck_gemm8_q4_K_q8_K(int64_t n, const void *w, const void *a, size_t stride, float *out);
int ck_gemm8_q6_K_q8_K(int64_t n, const void *w, const void *a, size_t stride, float *out);

// A block of weight rows against a few activation rows: y[c * y_stride + r] = row r of w (rows
// of `row_bytes`) . (a + c * stride), for r < rows, c < cols. Each weight row is unpacked once
// per block of up to 8 (AVX-512) or 4 (AVX2) columns; results are bit-identical to one single
// dot product (ck_gemv_*_p / ck_vec_dot_*) per row and column. Activations are prepared rows
// for the 32-element formats (_p), Q8_K rows for the K-quants.
void ck_gemm_cols_q4_0_p(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, size_t stride, int cols, float *y, size_t y_stride);
void ck_gemm_cols_q5_0_p(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, size_t stride, int cols, float *y, size_t y_stride);
void ck_gemm_cols_q8_0_p(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, size_t stride, int cols, float *y, size_t y_stride);
void ck_gemm_cols_q4_1_p(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, size_t stride, int cols, float *y, size_t y_stride);
void ck_gemm_cols_q5_1_p(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, size_t stride, int cols, float *y, size_t y_stride);
void ck_gemm_cols_q2_K(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, size_t stride, int cols, float *y, size_t y_stride);
void ck_gemm_cols_q3_K(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, size_t stride, int cols, float *y, size_t y_stride);
void ck_gemm_cols_q4_K(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, size_t stride, int cols, float *y, size_t y_stride);
void ck_gemm_cols_q5_K(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, size_t stride, int cols, float *y, size_t y_stride);
void ck_gemm_cols_q6_K(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, size_t stride, int cols, float *y, size_t y_stride);
// The orders llama.cpp's AVX2 build uses for some batch shapes (see Kernels/MatMul.swift): Q4_K
// for activation rows in full groups of four (its repacked-weight GEMM adds each 64-element pair
// of sub-blocks, where its lone-row kernel, ck_vec_dot_q4_K_q8_K, adds whole 256-element blocks),
// Q6_K in batches of eight rows or more (its tiled kernel: per block, d_x * integer sum, then
// fused with d_y), and Q2_K, Q3_K and Q5_K the same way (its tiled kernel; with a minimum,
// r = fma(-dmin_x, min term, d_x * integer sum), then fma(r, d_y, acc)). Same arguments as above;
// the scalar fallbacks are the plain dot products.
float ck_vec_dot_q4_K_q8_K_rows4(int64_t n, const void *w, const void *a);
float ck_vec_dot_q2_K_q8_K_tiled(int64_t n, const void *w, const void *a);
float ck_vec_dot_q3_K_q8_K_tiled(int64_t n, const void *w, const void *a);
float ck_vec_dot_q5_K_q8_K_tiled(int64_t n, const void *w, const void *a);
float ck_vec_dot_q6_K_q8_K_tiled(int64_t n, const void *w, const void *a);
// Q4_K matrices whose row count is not a multiple of 8, which llama.cpp's AVX2 build does not
// repack: its vec_dot order (up to 7 activation rows) and its tiled kernel's (8 or more).
float ck_vec_dot_q4_K_q8_K_vec(int64_t n, const void *w, const void *a);
float ck_vec_dot_q4_K_q8_K_tiled(int64_t n, const void *w, const void *a);
void ck_gemm_cols_q4_K_vec(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, size_t stride, int cols, float *y, size_t y_stride);
void ck_gemm_cols_q4_K_tiled(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, size_t stride, int cols, float *y, size_t y_stride);
void ck_gemm_cols_q4_K_rows4(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, size_t stride, int cols, float *y, size_t y_stride);
void ck_gemm_cols_q2_K_tiled(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, size_t stride, int cols, float *y, size_t y_stride);
void ck_gemm_cols_q3_K_tiled(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, size_t stride, int cols, float *y, size_t y_stride);
void ck_gemm_cols_q5_K_tiled(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, size_t stride, int cols, float *y, size_t y_stride);
void ck_gemm_cols_q6_K_tiled(int64_t n, const void *w, size_t row_bytes, int64_t rows, const void *a, size_t stride, int cols, float *y, size_t y_stride);
// Column blocks of at least `cols` columns use the AVX-512 kernels where the CPU has them
// (default 2); smaller ones stay on AVX2. For measuring and tests.
void ck_set_wide_min_columns(int cols);

// The value sum of attention rounded as llama.cpp's flash attention, for `heads` (1 or 2) query
// heads over the same `n` F16 value rows (row i at v + i * stride elements, `lanes` wide):
// per lane, acc = 0; for each i: if grew[h][i] != 0, acc = f16(acc * rescale[h][i]);
// acc = f16(fma(v_i, weight[h][i], acc)); finally out[h] = acc * norm[h]. f16() rounds to the
// nearest half, ties to even.
void ck_f16_value_sum(int64_t n, const uint16_t *v, size_t stride, int64_t lanes, int heads,
                      const float *const *weight, const float *const *rescale, const float *const *grew,
                      const float *norm, float *const *out);

// Tiled prefill attention (attention.c). Row r of `rows` F16 rows (src + r * src_stride
// elements, `width` wide) to F32 at dst + r * dst_stride.
void ck_f16_rows_to_f32(int64_t rows, int64_t width, const uint16_t *src, size_t src_stride, float *dst, size_t dst_stride);
// The F16-rounded value sums of `rows` query rows over one block of F32 value rows (key i at
// v + i * v_stride, `lanes` wide), continuing from the accumulators at acc + r * acc_stride:
// row r visits keys lo[r] <= i < hi[r] in order and, per lane, if grew[i] != 0 sets
// acc = f16(acc * rescale[i]), then acc = f16(fma(v_i, weight[i], acc)) (row r's weight,
// rescale and grew at + r * w_stride). The same arithmetic as ck_f16_value_sum, split over blocks.
void ck_f16_tile_value_sum(int64_t rows, int64_t lanes, const float *v, size_t v_stride, const int32_t *lo, const int32_t *hi,
                           const float *weight, const float *rescale, const float *grew, size_t w_stride,
                           float *acc, size_t acc_stride);
// Attention scores of one query row (F32 values of F16s, `dim` wide) against F32 keys
// from <= i < to (key i at k + i * k_stride) into out[i], summed as llama.cpp's AVX2
// vec_dot_f16 sums them (four 8-lane FMA chains per 32 elements, a fixed reduction, the
// elements past the last 32 added in double), times `scale`.
void ck_f16_attention_scores(int64_t dim, const float *q, const float *k, size_t k_stride, int64_t from, int64_t to,
                             float scale, float *out);
// Block attention as llama.cpp's tiled flash attention (batches of 64+ query rows; attention.c).
// `rows` (<= 64) F16 rows (src + r * src_stride elements, `width` wide) to F32, transposed:
// element c of row r at dst[c * 64 + r]; rows past `rows` are zero.
void ck_f16_rows_to_f32_transposed64(int64_t rows, int64_t width, const uint16_t *src, size_t src_stride, float *dst);
// `heads` query rows of one KV head (F32, `dk` wide, consecutive) against one block of 64 keys
// (kt, as above) and values (row i at v + i * v_stride, `dv` wide), each seeing keys
// from <= i < to: scores = FMA chains over the head dimension times `scale`; each head's running
// max, sum and value accumulators (acc + h * dv) are updated as llama.cpp updates them for a
// block (see attention.c).
void ck_attention_block64_heads(int64_t heads, int64_t dk, int64_t dv, const float *q, const float *kt, const float *v,
                                size_t v_stride, int64_t from, int64_t to, float scale, float *max, float *sum, float *acc);
// Which of attention.c's instruction sets may run on the calling thread (bit 0: AVX2, bit 1:
// AVX-512; default 3, each only where the CPU has it). For tests that compare them.
void ck_attention_set_isa(int allowed);

// Half-precision weight rows x F32 activations.
float ck_vec_dot_f16_f32(int64_t n, const uint16_t *w, const float *a);
float ck_vec_dot_bf16_f32(int64_t n, const uint16_t *w, const float *a);

// Bulk conversions.
void ck_f16_to_f32(const uint16_t *x, float *y, int64_t n);
void ck_f32_to_f16(const float *x, uint16_t *y, int64_t n);

#ifdef __cplusplus
}
#endif

#endif
