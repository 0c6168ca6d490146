/*
 * BLAKE3 in its plain hash mode (no key, 32-byte output), written from the
 * BLAKE3 specification and used by `ohlcx ingest` to identify source files.
 *
 * The input is cut into 1024-byte chunks. Each chunk is hashed on its own
 * with 16 compressions of 64-byte blocks, and the chunk chaining values are
 * merged pairwise by parent compressions into a binary tree. In that tree the
 * left subtree of every node contains the largest power of two of chunks
 * that leaves at least one byte for the right one. Only the last
 * compression, at the root, gets the ROOT flag.
 *
 * Speed comes from the tree. Whole chunks are independent, so 16 of them
 * (LANES) are compressed at once, one chunk per lane. On AVX-512F builds
 * (-march=native on such a CPU) each of the 16 state words is one 512-bit
 * register. hash_subtree() then keeps the chaining values in that layout
 * and merges parent levels with in-register permutes. Other builds use plain
 * C loops over uint32 lane arrays, which GCC 12 turns into AVX2 or SSE2
 * instructions with -O2 or -O3 and leaves scalar at -O0, with the same
 * results. Runs of fewer than LANES chunks are hashed side by side too and
 * pushed onto the stack one chunk at a time.
 *
 * Streaming keeps one partial chunk and a stack of subtree chaining values,
 * one per 1 bit of the count of chunks hashed (at most 54 for 2^64 bytes).
 * Merges are lazy: a pair is merged only when more input shows that it is not
 * the root.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ohlcx/error.h"
#include "util/util.h"

/* Building with -DOHLCX_BLAKE3_PORTABLE selects the plain C lane loops on
 * AVX-512 machines too, so that they can be tested there. */
#if defined(__AVX512F__) && !defined(OHLCX_BLAKE3_PORTABLE)
#include <immintrin.h>
#define BLAKE3_AVX512 1
#endif

#define CHUNK_BYTES 1024
#define BLOCK_BYTES 64
#define LANES 16

/* Whole chunks hashed as one subtree by the fast path: a power of two. */
#define SUBTREE_CHUNKS 256

/* Bytes read from a file at a time, a multiple of SUBTREE_CHUNKS chunks. */
#define FILE_READ_BYTES (1 << 20)

enum blake3_flag {
    CHUNK_START = 1 << 0,
    CHUNK_END = 1 << 1,
    PARENT = 1 << 2,
    ROOT = 1 << 3,
};

/* The initial chaining value, which the specification takes from SHA-256. */
static const uint32_t initial_value[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                          0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

/* Message word order of each of the 7 rounds: row r is the specification's
 * permutation applied r times to 0..15. */
static const uint8_t schedule[7][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8},
    {3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1},
    {10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6},
    {12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4},
    {9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7},
    {11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13},
};


static inline uint32_t rotate_right(uint32_t x, int n)
{
    return (x >> n) | (x << (32 - n));
}


static inline uint32_t load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}


/* One block, one lane. */


/* The specification's G function on state words a, b, c and d. */
static inline void mix(uint32_t v[16], int a, int b, int c, int d, uint32_t x, uint32_t y)
{
    v[a] = v[a] + v[b] + x;
    v[d] = rotate_right(v[d] ^ v[a], 16);
    v[c] = v[c] + v[d];
    v[b] = rotate_right(v[b] ^ v[c], 12);
    v[a] = v[a] + v[b] + y;
    v[d] = rotate_right(v[d] ^ v[a], 8);
    v[c] = v[c] + v[d];
    v[b] = rotate_right(v[b] ^ v[c], 7);
}


/* Compresses one block into the new chaining value out[0..7] (and the rest of
 * the output block in out[8..15], which the root needs). */
static void compress(const uint32_t cv[8], const uint32_t m[16], uint64_t counter,
                     uint32_t block_length, uint32_t flags, uint32_t out[16])
{
    uint32_t v[16] = {cv[0], cv[1], cv[2], cv[3], cv[4], cv[5], cv[6], cv[7],
                      initial_value[0], initial_value[1], initial_value[2], initial_value[3],
                      (uint32_t)counter, (uint32_t)(counter >> 32), block_length, flags};

    for (int r = 0; r < 7; r++) {
        const uint8_t *s = schedule[r];

        mix(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
        mix(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
        mix(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
        mix(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
        mix(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
        mix(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
        mix(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
        mix(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
    for (int i = 0; i < 8; i++) {
        out[i] = v[i] ^ v[i + 8];
        out[i + 8] = v[i + 8] ^ cv[i];
    }
}


static void load_block(const uint8_t *bytes, uint32_t m[16])
{
    for (int i = 0; i < 16; i++)
        m[i] = load_le32(bytes + 4 * i);
}


/* Returns the chaining value of a parent node (not the root). */
static void parent_cv(const uint32_t left[8], const uint32_t right[8], uint32_t out[8])
{
    uint32_t m[16], block[16];

    memcpy(m, left, 32);
    memcpy(m + 8, right, 32);
    compress(initial_value, m, 0, BLOCK_BYTES, PARENT, block);
    memcpy(out, block, 32);
}


/* Hashes one whole chunk, not the root, one block at a time. */
static void hash_chunk(const uint8_t *chunk, uint64_t counter, uint32_t cv[8])
{
    uint32_t m[16], block[16];

    memcpy(cv, initial_value, 32);
    for (int b = 0; b < CHUNK_BYTES / BLOCK_BYTES; b++) {
        uint32_t flags = (b == 0 ? CHUNK_START : 0) |
                         (b == CHUNK_BYTES / BLOCK_BYTES - 1 ? CHUNK_END : 0);

        load_block(chunk + b * BLOCK_BYTES, m);
        compress(cv, m, counter, BLOCK_BYTES, flags, block);
        memcpy(cv, block, 32);
    }
}


#ifdef BLAKE3_AVX512
/* 16 chunks at once in AVX-512 registers: lane l of vector w is word w of
 * chunk l. A subtree's chaining values stay in that layout from the chunks up
 * to its top, so parent levels need only in-register permutes. */


/* The specification's G function on 16 lanes. */
static inline __attribute__((always_inline)) void
mix_vectors(__m512i v[16], int a, int b, int c, int d, __m512i x, __m512i y)
{
    v[a] = _mm512_add_epi32(_mm512_add_epi32(v[a], v[b]), x);
    v[d] = _mm512_ror_epi32(_mm512_xor_si512(v[d], v[a]), 16);
    v[c] = _mm512_add_epi32(v[c], v[d]);
    v[b] = _mm512_ror_epi32(_mm512_xor_si512(v[b], v[c]), 12);
    v[a] = _mm512_add_epi32(_mm512_add_epi32(v[a], v[b]), y);
    v[d] = _mm512_ror_epi32(_mm512_xor_si512(v[d], v[a]), 8);
    v[c] = _mm512_add_epi32(v[c], v[d]);
    v[b] = _mm512_ror_epi32(_mm512_xor_si512(v[b], v[c]), 7);
}


/* Compresses one block per lane and replaces h with the new chaining values.
 * All lanes share the block length and flags. */
static inline __attribute__((always_inline)) void
compress_vectors(__m512i h[8], const __m512i m[16], __m512i counter_low, __m512i counter_high,
                 uint32_t block_length, uint32_t flags)
{
    __m512i v[16];

    for (int i = 0; i < 8; i++)
        v[i] = h[i];
    for (int i = 0; i < 4; i++)
        v[8 + i] = _mm512_set1_epi32((int)initial_value[i]);
    v[12] = counter_low;
    v[13] = counter_high;
    v[14] = _mm512_set1_epi32((int)block_length);
    v[15] = _mm512_set1_epi32((int)flags);

    /* Unrolled, the schedule becomes constant register numbers. */
#pragma GCC unroll 7
    for (int r = 0; r < 7; r++) {
        const uint8_t *s = schedule[r];

        mix_vectors(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
        mix_vectors(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
        mix_vectors(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
        mix_vectors(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
        mix_vectors(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
        mix_vectors(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
        mix_vectors(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
        mix_vectors(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
    }

    for (int i = 0; i < 8; i++)
        h[i] = _mm512_xor_si512(v[i], v[i + 8]);
}


/* Loads the 64 bytes at offset of each of 16 rows and transposes them: m[w]
 * gets word w of row l in lane l. Each step interleaves pairs of vectors:
 * 32-bit words, then 64-bit pairs, which leaves words 4k..4k+3 of four rows
 * in 128-bit block k, and then two steps of 128-bit blocks. */
static inline __attribute__((always_inline)) void
load_message_vectors(const uint8_t *const rows[16], size_t offset, __m512i m[16])
{
    __m512i a[16], b[16];

    for (int l = 0; l < 16; l++)
        a[l] = _mm512_loadu_si512(rows[l] + offset);

    for (int r = 0; r < 16; r += 2) {
        b[r] = _mm512_unpacklo_epi32(a[r], a[r + 1]);
        b[r + 1] = _mm512_unpackhi_epi32(a[r], a[r + 1]);
    }

    /* a[q + j], for q a multiple of 4, gets word 4k + j of rows q..q+3 in
     * 128-bit block k. */
    for (int q = 0; q < 16; q += 4) {
        a[q] = _mm512_unpacklo_epi64(b[q], b[q + 2]);
        a[q + 1] = _mm512_unpackhi_epi64(b[q], b[q + 2]);
        a[q + 2] = _mm512_unpacklo_epi64(b[q + 1], b[q + 3]);
        a[q + 3] = _mm512_unpackhi_epi64(b[q + 1], b[q + 3]);
    }

    /* Word 4k + j of all 16 rows is block k of a[j], a[4 + j], a[8 + j] and
     * a[12 + j]: a 4 x 4 transpose of 128-bit blocks. */
    for (int j = 0; j < 4; j++) {
        __m512i low01 = _mm512_shuffle_i32x4(a[j], a[4 + j], _MM_SHUFFLE(1, 0, 1, 0));
        __m512i high01 = _mm512_shuffle_i32x4(a[j], a[4 + j], _MM_SHUFFLE(3, 2, 3, 2));
        __m512i low23 = _mm512_shuffle_i32x4(a[8 + j], a[12 + j], _MM_SHUFFLE(1, 0, 1, 0));
        __m512i high23 = _mm512_shuffle_i32x4(a[8 + j], a[12 + j], _MM_SHUFFLE(3, 2, 3, 2));

        m[j] = _mm512_shuffle_i32x4(low01, low23, _MM_SHUFFLE(2, 0, 2, 0));
        m[4 + j] = _mm512_shuffle_i32x4(low01, low23, _MM_SHUFFLE(3, 1, 3, 1));
        m[8 + j] = _mm512_shuffle_i32x4(high01, high23, _MM_SHUFFLE(2, 0, 2, 0));
        m[12 + j] = _mm512_shuffle_i32x4(high01, high23, _MM_SHUFFLE(3, 1, 3, 1));
    }
}


/* Hashes count (1 to LANES) consecutive whole chunks, the first with chunk
 * counter counter, into lanes 0..count-1 of cv. None of them is the root.
 * Lanes past count hash chunk 0 again, so every load stays in the input. */
static void hash_chunk_vectors(const uint8_t *input, size_t count, uint64_t counter,
                               __m512i cv[8])
{
    const uint8_t *rows[LANES];
    uint32_t counter_low[LANES], counter_high[LANES];
    __m512i low, high;

    for (size_t l = 0; l < LANES; l++) {
        size_t chunk = l < count ? l : 0;

        rows[l] = input + chunk * CHUNK_BYTES;
        counter_low[l] = (uint32_t)(counter + chunk);
        counter_high[l] = (uint32_t)((counter + chunk) >> 32);
    }
    low = _mm512_loadu_si512(counter_low);
    high = _mm512_loadu_si512(counter_high);
    for (int i = 0; i < 8; i++)
        cv[i] = _mm512_set1_epi32((int)initial_value[i]);

    for (int b = 0; b < CHUNK_BYTES / BLOCK_BYTES; b++) {
        uint32_t flags = (b == 0 ? CHUNK_START : 0) |
                         (b == CHUNK_BYTES / BLOCK_BYTES - 1 ? CHUNK_END : 0);
        __m512i m[16];

        /* Fetches chunk b of the next LANES chunks into L2 ahead of time,
         * because the hardware prefetchers do not follow 16 streams 1 KiB
         * apart. A 113 MB buffer in main memory hashed about 5% faster with
         * prefetches into L2 (locality 2) than into L1, measured on a 2-core
         * AVX-512 Xeon virtual machine. A prefetch past the end of the input
         * is harmless. */
        for (int line = 0; line < CHUNK_BYTES; line += 64)
            __builtin_prefetch(input + LANES * CHUNK_BYTES + b * CHUNK_BYTES + line, 0, 2);
        load_message_vectors(rows, (size_t)b * BLOCK_BYTES, m);
        compress_vectors(cv, m, low, high, BLOCK_BYTES, flags);
    }
}


/* Replaces nodes chaining values (a power of two, at least 2) by the nodes / 2
 * parents of pairs (0, 1), (2, 3), ...: one level of a subtree. Node n is lane
 * n % LANES of groups[n / LANES]. No parent is the root. */
static void merge_level_vectors(__m512i groups[][8], size_t nodes)
{
    /* Indices into the 32 lanes of two vectors. A one-vector permute reads
     * only their low 4 bits, so there they pick pairs within the vector. */
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27,
                                          29, 31);
    const __m512i zero = _mm512_setzero_si512();
    size_t parent_groups = nodes >= 2 * LANES ? nodes / (2 * LANES) : 1;

    /* Group g is written only after groups 2g and 2g + 1 are read, and
     * g <= 2g, so the level can be merged in place. */
    for (size_t g = 0; g < parent_groups; g++) {
        __m512i m[16], h[8];

        for (int i = 0; i < 8; i++) {
            if (nodes >= 2 * LANES) {
                m[i] = _mm512_permutex2var_epi32(groups[2 * g][i], even, groups[2 * g + 1][i]);
                m[8 + i] = _mm512_permutex2var_epi32(groups[2 * g][i], odd, groups[2 * g + 1][i]);
            } else {
                m[i] = _mm512_permutexvar_epi32(even, groups[0][i]);
                m[8 + i] = _mm512_permutexvar_epi32(odd, groups[0][i]);
            }
            h[i] = _mm512_set1_epi32((int)initial_value[i]);
        }
        compress_vectors(h, m, zero, zero, BLOCK_BYTES, PARENT);
        for (int i = 0; i < 8; i++)
            groups[g][i] = h[i];
    }
}


/* Hashes chunks whole chunks (a power of two from LANES to SUBTREE_CHUNKS)
 * that form one subtree, the first with chunk counter counter, into its
 * chaining value. The subtree is not the whole input, so its top is not the
 * root. */
static void hash_subtree(const uint8_t *input, size_t chunks, uint64_t counter, uint32_t out[8])
{
    __m512i groups[SUBTREE_CHUNKS / LANES][8];

    for (size_t done = 0; done < chunks; done += LANES)
        hash_chunk_vectors(input + done * CHUNK_BYTES, LANES, counter + done,
                           groups[done / LANES]);
    for (; chunks > 1; chunks /= 2)
        merge_level_vectors(groups, chunks);
    for (int i = 0; i < 8; i++)
        out[i] = (uint32_t)_mm512_cvtsi512_si32(groups[0][i]);
}


/* Hashes count (1 to LANES - 1) consecutive whole chunks, the first with
 * chunk counter counter, into cvs[0..count-1]. None of them is the root. */
static void hash_chunks(const uint8_t *input, size_t count, uint64_t counter, uint32_t cvs[][8])
{
    uint32_t words[8][LANES];
    __m512i cv[8];

    /* One chunk alone takes 16 one-lane compressions, less work than 16
     * compressions of all lanes. */
    if (count == 1) {
        hash_chunk(input, counter, cvs[0]);
        return;
    }

    hash_chunk_vectors(input, count, counter, cv);
    for (int i = 0; i < 8; i++)
        _mm512_storeu_si512(words[i], cv[i]);
    for (size_t l = 0; l < count; l++)
        for (int i = 0; i < 8; i++)
            cvs[l][i] = words[i][l];
}


#else
/* LANES blocks at once: word w of lane l is at [w][l]. */


static inline void mix_lanes(uint32_t v[16][LANES], int a, int b, int c, int d,
                             const uint32_t x[LANES], const uint32_t y[LANES])
{
    for (int l = 0; l < LANES; l++) {
        v[a][l] = v[a][l] + v[b][l] + x[l];
        v[d][l] = rotate_right(v[d][l] ^ v[a][l], 16);
        v[c][l] = v[c][l] + v[d][l];
        v[b][l] = rotate_right(v[b][l] ^ v[c][l], 12);
        v[a][l] = v[a][l] + v[b][l] + y[l];
        v[d][l] = rotate_right(v[d][l] ^ v[a][l], 8);
        v[c][l] = v[c][l] + v[d][l];
        v[b][l] = rotate_right(v[b][l] ^ v[c][l], 7);
    }
}


/* Compresses one block per lane and replaces h with the new chaining values.
 * All lanes share the block length and flags. Every loop runs over the lanes
 * innermost, so that each becomes whole-vector instructions: a row written
 * lane by lane and read back as a vector would stall on store forwarding. */
static void compress_lanes(uint32_t h[8][LANES], const uint32_t m[16][LANES],
                           const uint32_t counter_low[LANES], const uint32_t counter_high[LANES],
                           uint32_t block_length, uint32_t flags)
{
    uint32_t v[16][LANES];

    for (int i = 0; i < 8; i++)
        for (int l = 0; l < LANES; l++)
            v[i][l] = h[i][l];
    for (int i = 0; i < 4; i++)
        for (int l = 0; l < LANES; l++)
            v[8 + i][l] = initial_value[i];
    for (int l = 0; l < LANES; l++) {
        v[12][l] = counter_low[l];
        v[13][l] = counter_high[l];
        v[14][l] = block_length;
        v[15][l] = flags;
    }
    /* Unrolled, the schedule becomes constant offsets of m. */
#pragma GCC unroll 7
    for (int r = 0; r < 7; r++) {
        const uint8_t *s = schedule[r];

        mix_lanes(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
        mix_lanes(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
        mix_lanes(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
        mix_lanes(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
        mix_lanes(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
        mix_lanes(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
        mix_lanes(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
        mix_lanes(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
    for (int i = 0; i < 8; i++)
        for (int l = 0; l < LANES; l++)
            h[i][l] = v[i][l] ^ v[i + 8][l];
}


#if defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector) && LANES == 16 && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && !defined(OHLCX_BLAKE3_PLAIN_TRANSPOSE)
#define TRANSPOSE_WITH_SHUFFLES 1
#endif
#endif

#ifdef TRANSPOSE_WITH_SHUFFLES
/* One row of 16 words as a GCC or Clang vector; aligned(4) lets it load from
 * any word address. */
typedef uint32_t row_vector __attribute__((vector_size(64), aligned(4)));

/* Lane orders of one transpose step with stride s: low interleaves the first
 * s words of each 2s-word group of rows a and b, high the last s. */
#define LOW_8 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23
#define HIGH_8 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31
#define LOW_4 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27
#define HIGH_4 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31
#define LOW_2 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29
#define HIGH_2 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31
#define LOW_1 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30
#define HIGH_1 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31

#define TRANSPOSE_STEP(a, b, s, low, high)                \
    do {                                                  \
        low = __builtin_shufflevector(a, b, LOW_##s);     \
        high = __builtin_shufflevector(a, b, HIGH_##s);   \
    } while (0)
#endif


/* Loads block b of LANES chunks that are CHUNK_BYTES apart, transposed: m[w]
 * gets word w of every lane. GCC vectorises the plain loop only into one
 * insert per word, so where the compiler has vector shuffles, 16 row loads
 * and 64 two-row shuffles do it instead (a 4-step butterfly transpose). */
static inline void load_transposed(const uint8_t *block, uint32_t m[16][LANES])
{
#ifdef TRANSPOSE_WITH_SHUFFLES
    row_vector a[16], b[16];

    for (int l = 0; l < 16; l++)
        memcpy(&a[l], block + l * CHUNK_BYTES, 64);
    for (int r = 0; r < 8; r++)
        TRANSPOSE_STEP(a[r], a[r + 8], 8, b[r], b[r + 8]);
    for (int r = 0; r < 16; r += 8)
        for (int k = 0; k < 4; k++)
            TRANSPOSE_STEP(b[r + k], b[r + k + 4], 4, a[r + k], a[r + k + 4]);
    for (int r = 0; r < 16; r += 4)
        for (int k = 0; k < 2; k++)
            TRANSPOSE_STEP(a[r + k], a[r + k + 2], 2, b[r + k], b[r + k + 2]);
    for (int r = 0; r < 16; r += 2)
        TRANSPOSE_STEP(b[r], b[r + 1], 1, a[r], a[r + 1]);
    memcpy(m, a, sizeof a);
#else
    for (int w = 0; w < 16; w++)
        for (int l = 0; l < LANES; l++)
            m[w][l] = load_le32(block + l * CHUNK_BYTES + 4 * w);
#endif
}


/* Hashes LANES consecutive whole chunks, the first with chunk counter
 * counter, into cvs[0..LANES-1]. None of them is the root. */
static void hash_chunks_lanes(const uint8_t *input, uint64_t counter, uint32_t cvs[][8])
{
    uint32_t h[8][LANES], m[16][LANES];
    uint32_t counter_low[LANES], counter_high[LANES];

    for (int i = 0; i < 8; i++)
        for (int l = 0; l < LANES; l++)
            h[i][l] = initial_value[i];
    for (int l = 0; l < LANES; l++) {
        counter_low[l] = (uint32_t)(counter + (uint64_t)l);
        counter_high[l] = (uint32_t)((counter + (uint64_t)l) >> 32);
    }
    for (int b = 0; b < CHUNK_BYTES / BLOCK_BYTES; b++) {
        uint32_t flags = (b == 0 ? CHUNK_START : 0) |
                         (b == CHUNK_BYTES / BLOCK_BYTES - 1 ? CHUNK_END : 0);
        const uint8_t *block = input + b * BLOCK_BYTES;

        /* Fetches chunk b of the next LANES chunks ahead of time: the
         * hardware prefetchers do not follow 16 streams 1 KiB apart, and
         * without this a buffer in main memory hashes about 35% slower. A
         * prefetch past the end of the input is harmless. */
        for (int line = 0; line < CHUNK_BYTES; line += 64)
            __builtin_prefetch(input + LANES * CHUNK_BYTES + b * CHUNK_BYTES + line);
        load_transposed(block, m);
        compress_lanes(h, m, counter_low, counter_high, BLOCK_BYTES, flags);
    }
    for (int l = 0; l < LANES; l++)
        for (int i = 0; i < 8; i++)
            cvs[l][i] = h[i][l];
}


/* Replaces the count chaining values in cvs (count even) by the count / 2
 * parents of pairs (0, 1), (2, 3), ...: one level of a subtree. No parent is
 * the root. */
static void merge_level(uint32_t cvs[][8], size_t count)
{
    static const uint32_t zero[LANES];
    size_t pairs = count / 2, done = 0;

    /* Fewer than 4 pairs go one at a time: a lane pass costs about as much
     * as several single compressions. */
    while (pairs - done >= 4) {
        size_t lanes = pairs - done < LANES ? pairs - done : LANES;
        uint32_t h[8][LANES], m[16][LANES];

        for (size_t l = 0; l < LANES; l++) {
            size_t pair = done + (l < lanes ? l : 0);

            for (int i = 0; i < 8; i++) {
                h[i][l] = initial_value[i];
                m[i][l] = cvs[2 * pair][i];
                m[8 + i][l] = cvs[2 * pair + 1][i];
            }
        }
        compress_lanes(h, m, zero, zero, BLOCK_BYTES, PARENT);
        for (size_t l = 0; l < lanes; l++)
            for (int i = 0; i < 8; i++)
                cvs[done + l][i] = h[i][l];
        done += lanes;
    }
    for (; done < pairs; done++)
        parent_cv(cvs[2 * done], cvs[2 * done + 1], cvs[done]);
}


/* Hashes chunks whole chunks (a power of two up to SUBTREE_CHUNKS) that form
 * one subtree, the first with chunk counter counter, into its chaining value.
 * The subtree is not the whole input, so its top is not the root. */
static void hash_subtree(const uint8_t *input, size_t chunks, uint64_t counter, uint32_t out[8])
{
    uint32_t cvs[SUBTREE_CHUNKS][8];
    size_t done = 0;

    for (; chunks - done >= LANES; done += LANES)
        hash_chunks_lanes(input + done * CHUNK_BYTES, counter + done, &cvs[done]);
    for (; done < chunks; done++)
        hash_chunk(input + done * CHUNK_BYTES, counter + done, cvs[done]);
    for (; chunks > 1; chunks /= 2)
        merge_level(cvs, chunks);
    memcpy(out, cvs[0], 32);
}


/* Hashes count (1 to LANES - 1) consecutive whole chunks, the first with
 * chunk counter counter, into cvs[0..count-1]. None of them is the root. */
static void hash_chunks(const uint8_t *input, size_t count, uint64_t counter, uint32_t cvs[][8])
{
    for (size_t i = 0; i < count; i++)
        hash_chunk(input + i * CHUNK_BYTES, counter + i, cvs[i]);
}
#endif /* BLAKE3_AVX512 */


/* Streaming. */


static size_t chunk_length(const ohlcx_blake3 *hasher)
{
    return hasher->blocks_done * BLOCK_BYTES + hasher->block_used;
}


static uint32_t chunk_start_flag(const ohlcx_blake3 *hasher)
{
    return hasher->blocks_done == 0 ? CHUNK_START : 0;
}


/* Adds bytes to the partial chunk; they must fit in it. A full block is
 * compressed only when more bytes follow it, because the chunk's last block
 * is compressed with CHUNK_END (and ROOT when it is the root). */
static void chunk_update(ohlcx_blake3 *hasher, const uint8_t *data, size_t length)
{
    while (length > 0) {
        size_t take;

        if (hasher->block_used == BLOCK_BYTES) {
            uint32_t m[16], block[16];

            load_block(hasher->block, m);
            compress(hasher->chunk_cv, m, hasher->chunk_counter, BLOCK_BYTES,
                     chunk_start_flag(hasher), block);
            memcpy(hasher->chunk_cv, block, 32);
            hasher->blocks_done++;
            hasher->block_used = 0;
        }
        take = BLOCK_BYTES - hasher->block_used;
        if (take > length)
            take = length;
        memcpy(hasher->block + hasher->block_used, data, take);
        hasher->block_used += (uint32_t)take;
        data += take;
        length -= take;
    }
}


/* Compresses the last block of the partial chunk with extra flags (0 or
 * ROOT) into out. */
static void chunk_output(const ohlcx_blake3 *hasher, uint32_t extra_flags, uint32_t out[16])
{
    uint8_t padded[BLOCK_BYTES] = {0};
    uint32_t m[16];

    memcpy(padded, hasher->block, hasher->block_used);
    load_block(padded, m);
    compress(hasher->chunk_cv, m, hasher->chunk_counter, hasher->block_used,
             chunk_start_flag(hasher) | CHUNK_END | extra_flags, out);
}


/* Merges the top of the stack until it has one entry per 1 bit of
 * total_chunks, the count of chunks its entries cover. The caller knows more
 * input follows, so none of these parents is the root. */
static void merge_stack(uint32_t stack[][8], uint8_t *depth, uint64_t total_chunks)
{
    while (*depth > __builtin_popcountll(total_chunks)) {
        parent_cv(stack[*depth - 2], stack[*depth - 1], stack[*depth - 2]);
        (*depth)--;
    }
}


/* Pushes the chaining value of a subtree that starts at chunk first_chunk. */
static void push_cv(ohlcx_blake3 *hasher, const uint32_t cv[8], uint64_t first_chunk)
{
    merge_stack(hasher->stack, &hasher->depth, first_chunk);
    memcpy(hasher->stack[hasher->depth], cv, 32);
    hasher->depth++;
}


/* Returns how many whole chunks of length bytes may be hashed now: all of them
 * when more_follows, else all but the one with the last byte, because the
 * last chunk may be the root. */
static size_t ready_chunks(size_t length, int more_follows)
{
    return (more_follows ? length : length - 1) / CHUNK_BYTES;
}


/* Returns the chunk count of the largest subtree that starts at chunk
 * counter and fits in ready chunks: a power of two, at most SUBTREE_CHUNKS,
 * that divides counter, or 0 when ready is 0. */
static size_t subtree_chunks(uint64_t counter, size_t ready)
{
    size_t chunks = SUBTREE_CHUNKS;

    while (chunks > 0 && (chunks > ready || (counter & (chunks - 1)) != 0))
        chunks /= 2;
    return chunks;
}


/* Hashes whole chunks from data, which starts a chunk, and returns how many
 * it hashed: one subtree of at least LANES chunks, or else a shorter run.
 * ready (at least 1) is how many may be hashed. */
static size_t hash_ready_chunks(ohlcx_blake3 *hasher, const uint8_t *data, size_t ready)
{
    uint64_t counter = hasher->chunk_counter;
    size_t chunks = subtree_chunks(counter, ready);
    uint32_t cvs[LANES][8];

    if (chunks >= LANES) {
        hash_subtree(data, chunks, counter, cvs[0]);
        push_cv(hasher, cvs[0], counter);
        return chunks;
    }

    /* Subtrees of fewer than LANES chunks would leave lanes idle, so the
     * chunks up to the next multiple of LANES, or all that are ready, are
     * hashed side by side and pushed one at a time. */
    chunks = LANES - (size_t)(counter % LANES);
    if (chunks > ready)
        chunks = ready;
    hash_chunks(data, chunks, counter, cvs);
    for (size_t i = 0; i < chunks; i++)
        push_cv(hasher, cvs[i], counter + i);
    return chunks;
}


/* Adds bytes. more_follows promises that more bytes come before the end, so
 * that whole chunks at the end of data need not wait in the partial chunk. */
static void hasher_update(ohlcx_blake3 *hasher, const uint8_t *data, size_t length,
                          int more_follows)
{
    while (length > 0) {
        size_t ready = 0, take;

        if (chunk_length(hasher) == CHUNK_BYTES) {
            uint32_t block[16];

            chunk_output(hasher, 0, block);
            push_cv(hasher, block, hasher->chunk_counter);
            hasher->chunk_counter++;
            memcpy(hasher->chunk_cv, initial_value, 32);
            hasher->blocks_done = 0;
            hasher->block_used = 0;
        }
        if (chunk_length(hasher) == 0)
            ready = ready_chunks(length, more_follows);
        if (ready > 0) {
            size_t chunks = hash_ready_chunks(hasher, data, ready);

            hasher->chunk_counter += chunks;
            data += chunks * CHUNK_BYTES;
            length -= chunks * CHUNK_BYTES;
            continue;
        }
        take = CHUNK_BYTES - chunk_length(hasher);
        if (take > length)
            take = length;
        chunk_update(hasher, data, take);
        data += take;
        length -= take;
    }
}


void ohlcx_blake3_init(ohlcx_blake3 *hasher)
{
    memset(hasher, 0, sizeof *hasher);
    memcpy(hasher->chunk_cv, initial_value, 32);
}


void ohlcx_blake3_update(ohlcx_blake3 *hasher, const void *data, size_t length)
{
    hasher_update(hasher, data, length, 0);
}


void ohlcx_blake3_final_hex(const ohlcx_blake3 *hasher, char out[65])
{
    uint32_t stack[OHLCX_BLAKE3_MAX_DEPTH][8];
    uint8_t depth = hasher->depth;
    uint32_t root[16], cv[8];

    if (depth == 0) {
        chunk_output(hasher, ROOT, root);
    } else {
        /* The partial chunk contains at least one byte here, so the stack
         * can be merged down to one entry per 1 bit of the chunks before it,
         * and the rest rolls up into the root. */
        memcpy(stack, hasher->stack, sizeof stack);
        merge_stack(stack, &depth, hasher->chunk_counter);
        chunk_output(hasher, 0, root);
        memcpy(cv, root, 32);
        while (depth > 1) {
            parent_cv(stack[depth - 1], cv, cv);
            depth--;
        }
        {
            uint32_t m[16];

            memcpy(m, stack[0], 32);
            memcpy(m + 8, cv, 32);
            compress(initial_value, m, 0, BLOCK_BYTES, PARENT | ROOT, root);
        }
    }
    for (int i = 0; i < 8; i++)
        for (int byte = 0; byte < 4; byte++)
            snprintf(out + 8 * i + 2 * byte, 3, "%02x", (root[i] >> (8 * byte)) & 0xff);
}


void ohlcx_blake3_hex(const void *data, size_t length, char out[65])
{
    ohlcx_blake3 hasher;

    ohlcx_blake3_init(&hasher);
    ohlcx_blake3_update(&hasher, data, length);
    ohlcx_blake3_final_hex(&hasher, out);
}


/* Reads up to length bytes, fewer only at the end of the file. */
static ssize_t read_full(int fd, uint8_t *buffer, size_t length)
{
    size_t done = 0;

    while (done < length) {
        ssize_t got = read(fd, buffer + done, length - done);

        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -1;
        if (got == 0)
            break;
        done += (size_t)got;
    }
    return (ssize_t)done;
}


int ohlcx_blake3_file(const char *path, char out[65])
{
    /* One chunk beyond each read stays for the next round, so the hasher is
     * promised more input and hashes every read as whole subtrees. */
    size_t capacity = FILE_READ_BYTES + CHUNK_BYTES, have = 0;
    uint8_t *buffer = malloc(capacity);
    ohlcx_blake3 hasher;
    int fd, status = 0;

    if (buffer == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory hashing %s", path);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        status = ohlcx_set_error(OHLCX_EIO, "cannot open %s: %s", path, strerror(errno));
        goto done;
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    ohlcx_blake3_init(&hasher);
    for (;;) {
        ssize_t got = read_full(fd, buffer + have, capacity - have);

        if (got < 0) {
            status = ohlcx_set_error(OHLCX_EIO, "cannot read %s: %s", path, strerror(errno));
            goto done;
        }
        have += (size_t)got;
        if (have < capacity)
            break; /* end of file */
        hasher_update(&hasher, buffer, FILE_READ_BYTES, 1);
        memmove(buffer, buffer + FILE_READ_BYTES, CHUNK_BYTES);
        have = CHUNK_BYTES;
    }
    ohlcx_blake3_update(&hasher, buffer, have);
    ohlcx_blake3_final_hex(&hasher, out);

done:
    if (fd >= 0)
        close(fd);
    free(buffer);
    return status;
}
