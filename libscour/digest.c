/*
 * digest.c - sc_digest(): PostgreSQL's hashint8extended() (lookup3's
 * hash_uint32_extended over the 64-bit value folded to 32 bits, as in
 * src/common/hashfn.c and utils/adt/hashfunc.c) re-implemented bit for bit,
 * so the search side can store the digest PostgreSQL computes for its rows.
 * See digest.h.
 */
#include "digest.h"

#define ROT(x, k) (((x) << (k)) | ((x) >> (32 - (k))))

#define MIX(a, b, c)     \
    do {                 \
        a -= c;          \
        a ^= ROT(c, 4);  \
        c += b;          \
        b -= a;          \
        b ^= ROT(a, 6);  \
        a += c;          \
        c -= b;          \
        c ^= ROT(b, 8);  \
        b += a;          \
        a -= c;          \
        a ^= ROT(c, 16); \
        c += b;          \
        b -= a;          \
        b ^= ROT(a, 19); \
        a += c;          \
        c -= b;          \
        c ^= ROT(b, 4);  \
        b += a;          \
    } while (0)

#define FINAL(a, b, c)   \
    do {                 \
        c ^= b;          \
        c -= ROT(b, 14); \
        a ^= c;          \
        a -= ROT(c, 11); \
        b ^= a;          \
        b -= ROT(a, 25); \
        c ^= b;          \
        c -= ROT(b, 16); \
        a ^= c;          \
        a -= ROT(c, 4);  \
        b ^= a;          \
        b -= ROT(a, 14); \
        c ^= b;          \
        c -= ROT(b, 24); \
    } while (0)

/* hash_uint32_extended(k, seed) */
static uint64_t hash_u32_ext(uint32_t k, uint64_t seed)
{
    uint32_t a, b, c;
    a = b = c = 0x9e3779b9u + (uint32_t)sizeof(uint32_t) + 3923095u;
    if (seed != 0) {
        a += (uint32_t)(seed >> 32);
        b += (uint32_t)seed;
        MIX(a, b, c);
    }
    a += k;
    FINAL(a, b, c);
    return ((uint64_t)b << 32) | c;
}

uint64_t sc_digest(uint64_t id, int64_t version, int deleted)
{
    /* hashint8extended: fold the high half into the low one (complemented
     * for negative values, which snowflakes never are) */
    int64_t v = (int64_t)id;
    uint32_t lo = (uint32_t)id, hi = (uint32_t)(id >> 32);
    uint64_t seed = ((uint64_t)version << 1) | (deleted ? 1u : 0u);
    lo ^= v >= 0 ? hi : ~hi;
    return (hash_u32_ext(lo, seed) & 0x7fffffffULL) + 1;
}
