/*
 * SHA-256 (FIPS 180-4), used to record the hash of every input file in the
 * model manifest, so that a bundle names exactly the data it learned from.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

#include "ohlcx/error.h"
#include "util/util.h"

typedef struct sha256 {
    uint32_t state[8];
    uint64_t bytes;
    uint8_t block[64];
    size_t used;
} sha256;

static const uint32_t round_constants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
};


static uint32_t rotate_right(uint32_t x, int n)
{
    return (x >> n) | (x << (32 - n));
}


static uint32_t load_big_endian(const uint8_t *bytes)
{
    return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 |
           bytes[3];
}


/* Runs the 64 rounds on one block. The eight working variables live in
 * locals, so the compiler keeps them in registers. */
static void compress_block(sha256 *hash, const uint8_t *block)
{
    uint32_t w[64];
    uint32_t a = hash->state[0], b = hash->state[1], c = hash->state[2], d = hash->state[3];
    uint32_t e = hash->state[4], f = hash->state[5], g = hash->state[6], h = hash->state[7];

    for (int i = 0; i < 16; i++)
        w[i] = load_big_endian(block + 4 * i);
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = rotate_right(w[i - 15], 7) ^ rotate_right(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = rotate_right(w[i - 2], 17) ^ rotate_right(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    for (int i = 0; i < 64; i++) {
        uint32_t sum1 = rotate_right(e, 6) ^ rotate_right(e, 11) ^ rotate_right(e, 25);
        uint32_t choice = (e & f) ^ (~e & g);
        uint32_t t1 = h + sum1 + choice + round_constants[i] + w[i];
        uint32_t sum0 = rotate_right(a, 2) ^ rotate_right(a, 13) ^ rotate_right(a, 22);
        uint32_t majority = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = sum0 + majority;

        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    hash->state[0] += a;
    hash->state[1] += b;
    hash->state[2] += c;
    hash->state[3] += d;
    hash->state[4] += e;
    hash->state[5] += f;
    hash->state[6] += g;
    hash->state[7] += h;
}


#if defined(__x86_64__)
/* Hashes whole blocks with the x86 SHA extensions: two rounds per
 * sha256rnds2, with the state held as the lane pairs ABEF and CDGH that the
 * instruction expects. */
__attribute__((target("sha,sse4.1")))
static void compress_blocks_sha_ni(uint32_t state[8], const uint8_t *data, size_t blocks)
{
    const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i abcd = _mm_loadu_si128((const __m128i *)&state[0]);
    __m128i efgh = _mm_loadu_si128((const __m128i *)&state[4]);
    __m128i badc = _mm_shuffle_epi32(abcd, 0xB1);
    __m128i hgfe = _mm_shuffle_epi32(efgh, 0x1B);
    __m128i abef = _mm_alignr_epi8(badc, hgfe, 8);
    __m128i cdgh = _mm_blend_epi16(hgfe, badc, 0xF0);

    for (; blocks > 0; blocks--, data += 64) {
        __m128i saved_abef = abef, saved_cdgh = cdgh;
        __m128i w[4];

        for (int i = 0; i < 4; i++)
            w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16 * i)), byte_swap);
        for (int group = 0; group < 16; group++) {
            __m128i current = w[group & 3];
            __m128i message;

            if (group >= 4) {
                /* w[group & 3] still contains the words of group - 4. */
                __m128i w0 = w[group & 3], w1 = w[(group + 1) & 3];
                __m128i w2 = w[(group + 2) & 3], w3 = w[(group + 3) & 3];
                __m128i sum = _mm_add_epi32(_mm_sha256msg1_epu32(w0, w1),
                                            _mm_alignr_epi8(w3, w2, 4));
                current = _mm_sha256msg2_epu32(sum, w3);
                w[group & 3] = current;
            }
            message = _mm_add_epi32(current,
                                    _mm_loadu_si128((const __m128i *)&round_constants[4 * group]));
            cdgh = _mm_sha256rnds2_epu32(cdgh, abef, message);
            message = _mm_shuffle_epi32(message, 0x0E);
            abef = _mm_sha256rnds2_epu32(abef, cdgh, message);
        }
        abef = _mm_add_epi32(abef, saved_abef);
        cdgh = _mm_add_epi32(cdgh, saved_cdgh);
    }

    __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
    abcd = _mm_blend_epi16(feba, dchg, 0xF0);
    efgh = _mm_alignr_epi8(dchg, feba, 8);
    _mm_storeu_si128((__m128i *)&state[0], abcd);
    _mm_storeu_si128((__m128i *)&state[4], efgh);
}


static int has_sha_ni(void)
{
    static int cached = -1;
    unsigned eax, ebx, ecx, edx;

    /* OHLCX_NO_SHA_NI=1 forces the portable code, so that tests cover it on
     * CPUs that have the extensions. */
    if (cached < 0) {
        const char *disable = getenv("OHLCX_NO_SHA_NI");

        cached = (disable == NULL || strcmp(disable, "1") != 0) &&
                 __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) && (ebx & (1u << 29)) != 0;
    }
    return cached;
}
#endif


/* Hashes whole 64-byte blocks, with the SHA extensions where the CPU has them. */
static void compress_blocks(sha256 *hash, const uint8_t *data, size_t blocks)
{
#if defined(__x86_64__)
    if (has_sha_ni()) {
        compress_blocks_sha_ni(hash->state, data, blocks);
        return;
    }
#endif
    for (; blocks > 0; blocks--, data += 64)
        compress_block(hash, data);
}


static void sha256_init(sha256 *hash)
{
    static const uint32_t initial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

    memcpy(hash->state, initial, sizeof initial);
    hash->bytes = 0;
    hash->used = 0;
}


static void sha256_update(sha256 *hash, const uint8_t *data, size_t length)
{
    hash->bytes += length;

    /* Fill a partial block first, then hash whole blocks in place. */
    if (hash->used > 0) {
        size_t take = 64 - hash->used < length ? 64 - hash->used : length;

        memcpy(hash->block + hash->used, data, take);
        hash->used += take;
        data += take;
        length -= take;
        if (hash->used < 64)
            return;
        compress_blocks(hash, hash->block, 1);
        hash->used = 0;
    }
    compress_blocks(hash, data, length / 64);
    data += length / 64 * 64;
    length %= 64;
    memcpy(hash->block, data, length);
    hash->used = length;
}


static void sha256_final_hex(sha256 *hash, char out[65])
{
    uint64_t bits = hash->bytes * 8;
    uint8_t padding[72] = {0x80};
    size_t pad_length = (hash->used < 56 ? 56 : 120) - hash->used;
    uint8_t length_bytes[8];

    for (int i = 0; i < 8; i++)
        length_bytes[i] = (uint8_t)(bits >> (56 - 8 * i));
    sha256_update(hash, padding, pad_length);
    sha256_update(hash, length_bytes, 8);
    for (int i = 0; i < 8; i++)
        snprintf(out + 8 * i, 9, "%08x", hash->state[i]);
}


void ohlcx_sha256_hex(const void *data, size_t length, char out[65])
{
    sha256 hash;

    sha256_init(&hash);
    sha256_update(&hash, data, length);
    sha256_final_hex(&hash, out);
}


int ohlcx_sha256_file(const char *path, char out[65])
{
    uint8_t buffer[1 << 16];
    FILE *file = fopen(path, "rb");
    sha256 hash;
    size_t got;

    if (file == NULL)
        return ohlcx_set_error(OHLCX_EIO, "cannot open %s: %s", path, strerror(errno));
    sha256_init(&hash);
    while ((got = fread(buffer, 1, sizeof buffer, file)) > 0)
        sha256_update(&hash, buffer, got);
    if (ferror(file)) {
        fclose(file);
        return ohlcx_set_error(OHLCX_EIO, "cannot read %s: %s", path, strerror(errno));
    }
    fclose(file);
    sha256_final_hex(&hash, out);
    return 0;
}
