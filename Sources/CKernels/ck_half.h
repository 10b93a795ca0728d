// Portable half <-> float conversion, rounding to nearest even, shared by the C files of this
// target (the scalar fallbacks and the lanes past the last full vector).
#ifndef CK_HALF_H
#define CK_HALF_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float ck_h2f(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        float f = (float)man * 5.9604644775390625e-8f;  // man * 2^-24, exact
        return (h & 0x8000) ? -f : f;
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline uint16_t ck_f2h(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return sign | (ax > 0x7f800000u ? 0x7e00 : 0x7c00);
    if (ax >= 0x47800000u) return sign | 0x7c00;
    if (ax < 0x38800000u) {  // result is a half subnormal (or zero): units of 2^-24
        return sign | (uint16_t)rintf(fabsf(f) * 16777216.0f);
    }
    uint32_t r = ax + 0x0fffu + ((ax >> 13) & 1u);
    return sign | (uint16_t)((r >> 13) - (112u << 10));
}

#endif
