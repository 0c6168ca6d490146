/*
 * Chunk codecs of the store: decimal detection, zigzag deltas, byte planes,
 * zstd frames and CRC-32.
 *
 * A column of n values is encoded chunk by chunk. Integer-like columns (open
 * times, price ticks) become deltas from the previous row of the same chunk,
 * so a chunk decodes without its neighbours. A delta d maps to the unsigned
 * zigzag value (d << 1) ^ (d >> 63), which keeps small negative deltas small.
 * Deltas are computed in uint64_t arithmetic, so they wrap instead of
 * overflowing and decoding undoes them exactly for any int64 input.
 *
 * The 8-byte words are written as byte planes (byte 0 of every row, then
 * byte 1, ...). Only the planes up to the highest nonzero byte of the
 * chunk's words are stored, and the chunk table records how many. A random
 * walk of ticks has deltas of a few bits, so it stores one or two planes,
 * and the entropy stage codes plane 0 in about the deltas' entropy.
 *
 * The encoder reads a chunk's values twice and stores no words: one pass
 * checks that the values are exact ticks and ORs the words to count the
 * planes, and one computes the words again and writes the planes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "ohlcx/error.h"
#include "store/store_internal.h"

/* Every tick must be an integer of at most 2^50 in magnitude. Then x * 10^d
 * is within 0.5 of the tick, so a value exact at d decimals is also exact at
 * d + 1 while the tick stays in range. */
#define MAX_TICK_MAGNITUDE 1125899906842624.0

static const double powers_of_ten[STORE_MAX_DECIMALS + 1] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
};

struct store_encoder {
    ZSTD_CCtx *context;
    uint8_t *planes;     /* OHLCX_STORE_CHUNK_ROWS 8-byte words as byte planes */
    uint8_t *compressed; /* one zstd frame */
    size_t compressed_capacity;
};


void store_put_u32(uint8_t *p, uint32_t value)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(value >> (8 * i));
}


void store_put_u64(uint8_t *p, uint64_t value)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(value >> (8 * i));
}


uint32_t store_get_u32(const uint8_t *p)
{
    uint32_t value = 0;

    for (int i = 0; i < 4; i++)
        value |= (uint32_t)p[i] << (8 * i);
    return value;
}


uint64_t store_get_u64(const uint8_t *p)
{
    uint64_t value = 0;

    for (int i = 0; i < 8; i++)
        value |= (uint64_t)p[i] << (8 * i);
    return value;
}


#if defined(__x86_64__)
/*
 * CRC-32 by carry-less multiplication (PCLMULQDQ), about 5 times the speed
 * of zlib 1.2.13's crc32_z() on 1 MiB buffers (27.8 against 5.0 GB/s on a
 * 2-core Xeon with AVX-512).
 *
 * The reflected CRC-32 of a message M is M(x) * x^32 mod P, where byte 0,
 * bit 0 is the highest power of x. Loaded little-endian into a 128-bit
 * register, bit t of a 16-byte block is the coefficient of x^(127 - t), and
 * bit u of either 64-bit half of the coefficient of x^(63 - u) within it. A
 * block A = H x^64 + L moves D bits further along the message as
 * H x^(64 + D) + L x^D, which is the same modulo P with x^(64 + D) and
 * x^D replaced by their remainders. For 64-bit q and k, PCLMULQDQ returns
 * x * Q(x) * K(x) in this layout, so the constants are the remainders of
 * x^(D + 63) and x^(D - 1), each 32 coefficients at bits 32 to 63.
 *
 * Four blocks fold 512 bits at a time, then into one block, which stands
 * for every byte before it. The CRC-32 of that block followed by the last
 * bytes, started from a zero register, is the CRC-32 of the message, so
 * zlib finishes the last 16 to 31 bytes and no Barrett reduction is needed.
 */
#define FOLD_CONSTANTS(low, high) {UINT64_C(low) << 32, UINT64_C(high) << 32}

/* {x^(D + 63) mod P, x^(D - 1) mod P} for D = 512, 384, 256 and 128 bits,
 * bit-reflected. */
static const uint64_t fold_512[2] = FOLD_CONSTANTS(0x653d9822, 0xcad38e8f);
static const uint64_t fold_384[2] = FOLD_CONSTANTS(0x69ccfc0d, 0x2a283862);
static const uint64_t fold_256[2] = FOLD_CONSTANTS(0x9570d495, 0x01b5fd1d);
static const uint64_t fold_128[2] = FOLD_CONSTANTS(0x65673b46, 0x9ba54c6f);


__attribute__((target("pclmul,sse4.1"))) static __m128i fold(__m128i block,
                                                             const uint64_t constants[2])
{
    __m128i k = _mm_set_epi64x((long long)constants[1], (long long)constants[0]);

    return _mm_xor_si128(_mm_clmulepi64_si128(block, k, 0x00),
                         _mm_clmulepi64_si128(block, k, 0x11));
}


/* Returns the CRC-32 of length >= 64 bytes, as crc32_z(0, data, length). */
__attribute__((target("pclmul,sse4.1"))) static uint32_t crc32_pclmul(const uint8_t *data,
                                                                      size_t length)
{
    __m128i x0 = _mm_loadu_si128((const __m128i *)data);
    __m128i x1 = _mm_loadu_si128((const __m128i *)(data + 16));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(data + 32));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(data + 48));
    uint8_t last[32];

    /* zlib's initial register of all ones, XORed into the first 4 bytes. */
    x0 = _mm_xor_si128(x0, _mm_cvtsi32_si128(-1));
    data += 64;
    length -= 64;
    for (; length >= 64; data += 64, length -= 64) {
        x0 = _mm_xor_si128(fold(x0, fold_512), _mm_loadu_si128((const __m128i *)data));
        x1 = _mm_xor_si128(fold(x1, fold_512), _mm_loadu_si128((const __m128i *)(data + 16)));
        x2 = _mm_xor_si128(fold(x2, fold_512), _mm_loadu_si128((const __m128i *)(data + 32)));
        x3 = _mm_xor_si128(fold(x3, fold_512), _mm_loadu_si128((const __m128i *)(data + 48)));
    }
    x3 = _mm_xor_si128(x3, fold(x0, fold_384));
    x3 = _mm_xor_si128(x3, fold(x1, fold_256));
    x3 = _mm_xor_si128(x3, fold(x2, fold_128));
    for (; length >= 16; data += 16, length -= 16)
        x3 = _mm_xor_si128(fold(x3, fold_128), _mm_loadu_si128((const __m128i *)data));

    /* An initial crc of all ones makes zlib start from a zero register. */
    _mm_storeu_si128((__m128i *)last, x3);
    memcpy(last + 16, data, length);
    return (uint32_t)crc32_z(0xffffffffUL, last, 16 + length);
}
#endif


/* CRC-32 (IEEE 802.3 polynomial), as zlib's crc32_z(0, data, length). */
uint32_t store_crc32(const void *data, size_t length)
{
#if defined(__x86_64__)
    if (length >= 64 && __builtin_cpu_supports("pclmul"))
        return crc32_pclmul(data, length);
#endif
    return (uint32_t)crc32_z(0L, data, length);
}


size_t store_element_size(int encoding)
{
    return encoding == OHLCX_STORE_UINT8 ? 1 : 8;
}


static uint64_t double_bits(double x)
{
    uint64_t bits;

    memcpy(&bits, &x, sizeof bits);
    return bits;
}


/* Block of values whose decimals are checked in one branch-free pass. */
#define DECIMALS_BLOCK 512


/* 1.5 * 2^52: adding it to a double of magnitude below 2^51 rounds the sum
 * to an integer, whose low bits then hold that integer. */
#define ROUNDING_SHIFT 6755399441055744.0


static uint64_t zigzag(uint64_t delta)
{
    return (delta << 1) ^ (0 - (delta >> 63));
}


static uint64_t unzigzag(uint64_t value)
{
    return (value >> 1) ^ (0 - (value & 1));
}


/* Returns the integer nearest to value * scale when that is below 2^51 in
 * magnitude. For other values the result is meaningless but defined. */
static int64_t tick_of(double value, double scale)
{
    return (int64_t)(double_bits(value * scale + ROUNDING_SHIFT) - double_bits(ROUNDING_SHIFT));
}


/* Sources of a chunk's 8-byte words. */
enum word_source {
    WORDS_FLOAT64,     /* the raw IEEE 754 bits of doubles */
    WORDS_DELTAS,      /* zigzag deltas of int64 values */
    WORDS_TICK_DELTAS, /* zigzag deltas of the ticks of doubles at a scale */
};


/* Returns the integer of row i that the words are made of: the bits of a
 * double, an int64 value or the tick of a double. */
static inline __attribute__((always_inline)) uint64_t
row_integer(const void *values, size_t i, enum word_source source, double scale)
{
    if (source == WORDS_FLOAT64)
        return double_bits(((const double *)values)[i]);
    if (source == WORDS_DELTAS)
        return (uint64_t)((const int64_t *)values)[i];
    return (uint64_t)tick_of(((const double *)values)[i], scale);
}


/* Returns the word of row i > 0; row 0 is the first_word(). The words are
 * computed again where they are needed instead of stored, because each pass
 * over a chunk's values costs less than writing a buffer of words and
 * reading it back. Row 0 is left to the callers so that their loops read
 * row i - 1 without a branch, and vectorise.
 *
 * A tick here may be rounded with a fused multiply-add, unlike in
 * check_ticks(). Both give the same tick for a value that passed
 * check_ticks(): value * scale is then within 1/8 of the tick, so either
 * rounding lands on it. */
static inline __attribute__((always_inline)) uint64_t
word_at(const void *values, size_t i, enum word_source source, double scale)
{
    uint64_t integer = row_integer(values, i, source, scale);

    if (source == WORDS_FLOAT64)
        return integer;
    return zigzag(integer - row_integer(values, i - 1, source, scale));
}


static inline __attribute__((always_inline)) uint64_t
first_word(const void *values, enum word_source source, double scale)
{
    uint64_t integer = row_integer(values, 0, source, scale);

    return source == WORDS_FLOAT64 ? integer : zigzag(integer);
}


/* The first pass over a chunk reads values that are rarely in cache yet. Its
 * loops run in blocks of PREFETCH_BLOCK rows and prefetch the rows
 * PREFETCH_DISTANCE ahead at the start of each block. With the hardware
 * prefetcher alone, check_ticks() took 1.40 ns a value on 10M values not in
 * cache, and 0.92 ns with these prefetches (2-core Xeon, 4 MiB L2).
 * NOTE: the distance was tuned on that machine only, where 128 to 256 rows
 * ahead worked best. */
#define PREFETCH_BLOCK 64 /* rows of 8 bytes: 8 cache lines of 64 bytes */
#define PREFETCH_DISTANCE 256


static inline __attribute__((always_inline)) void
prefetch_block(const void *values, size_t row, size_t rows)
{
    const char *ahead = (const char *)values + (row + PREFETCH_DISTANCE) * 8;

    if (row + PREFETCH_DISTANCE + PREFETCH_BLOCK > rows)
        return;
    for (int line = 0; line < PREFETCH_BLOCK * 8 / 64; line++)
        __builtin_prefetch(ahead + 64 * line);
}


/* Returns the end of the block of rows that starts at row. */
static size_t block_end(size_t row, size_t rows)
{
    return rows - row < PREFETCH_BLOCK ? rows : row + PREFETCH_BLOCK;
}


static inline __attribute__((always_inline)) uint64_t
or_words(const void *values, size_t rows, enum word_source source)
{
    uint64_t all = first_word(values, source, 1.0);

    for (size_t block = 1; block < rows; block += PREFETCH_BLOCK) {
        size_t end = block_end(block, rows);

        prefetch_block(values, block, rows);
        for (size_t i = block; i < end; i++)
            all |= word_at(values, i, source, 1.0);
    }
    return all;
}


/* Returns 0 when value is exactly its tick / scale (not NaN, not -0.0, no
 * more digits, not too large), else nonzero. Rounding goes through
 * ROUNDING_SHIFT instead of a libm call or an integer conversion, so loops
 * over it vectorise. */
static inline __attribute__((always_inline)) uint64_t tick_mismatch(double value, double scale)
{
    double scaled = value * scale;
    double shifted = scaled + ROUNDING_SHIFT;
    double back = (shifted - ROUNDING_SHIFT) / scale;

    return (double_bits(back) ^ double_bits(value)) |
           (uint64_t)!(fabs(scaled) <= MAX_TICK_MAGNITUDE);
}


/* Returns 1 when every one of n > 0 values is exactly its tick /
 * 10^decimals, and ORs the zigzag deltas of the ticks into *deltas. The loop
 * has no early exit and no stores, so the compiler vectorises it. */
static int check_ticks(const double *values, size_t n, int decimals, uint64_t *deltas)
{
    double scale = powers_of_ten[decimals];
    uint64_t mismatch = tick_mismatch(values[0], scale);
    uint64_t all = first_word(values, WORDS_TICK_DELTAS, scale);

    for (size_t block = 1; block < n; block += PREFETCH_BLOCK) {
        size_t end = block_end(block, n);

        prefetch_block(values, block, n);
        for (size_t i = block; i < end; i++) {
            mismatch |= tick_mismatch(values[i], scale);
            all |= word_at(values, i, WORDS_TICK_DELTAS, scale);
        }
    }
    *deltas |= all;
    return mismatch == 0;
}


int store_find_decimals(const double *values, size_t n, int decimals)
{
    /* A value exact at d decimals is exact at every larger d (see
     * MAX_TICK_MAGNITUDE), so one pass that raises d as needed finds the
     * smallest d for all values. The encoder checks every value again. */
    for (size_t start = 0; start < n; start += DECIMALS_BLOCK) {
        size_t count = n - start < DECIMALS_BLOCK ? n - start : DECIMALS_BLOCK;
        uint64_t deltas = 0;

        while (!check_ticks(values + start, count, decimals, &deltas)) {
            if (++decimals > STORE_MAX_DECIMALS)
                return -1;
        }
    }
    return decimals;
}


/* Returns the byte planes needed for words whose bitwise OR is all: 1 to 8. */
static unsigned planes_needed(uint64_t all)
{
    unsigned planes = 1;

    while (planes < 8 && (all >> (8 * planes)) != 0)
        planes++;
    return planes;
}


/* Writes byte b of every word to plane b, for planes first to first +
 * count - 1, in one pass over the words. Called with constants for source,
 * first and count, so the compiler unrolls the planes and vectorises the
 * rows. */
static inline __attribute__((always_inline)) void
split_fixed(const void *values, size_t rows, enum word_source source, double scale,
            unsigned first, unsigned count, uint8_t *restrict planes)
{
    uint64_t word = first_word(values, source, scale);

    for (unsigned b = first; b < first + count; b++)
        planes[b * rows] = (uint8_t)(word >> (8 * b));
    for (size_t i = 1; i < rows; i++) {
        word = word_at(values, i, source, scale);
        for (unsigned b = first; b < first + count; b++)
            planes[b * rows + i] = (uint8_t)(word >> (8 * b));
    }
}


/* Writes planes 0 to count - 1 of the words. GCC 12.2 vectorised passes that
 * write up to 5 planes but not 6 to 8, so planes from the fifth on take a
 * second pass. */
static inline __attribute__((always_inline)) void
split_planes(const void *values, size_t rows, enum word_source source, double scale,
             unsigned count, uint8_t *restrict planes)
{
    switch (count) {
    case 1:
        split_fixed(values, rows, source, scale, 0, 1, planes);
        return;
    case 2:
        split_fixed(values, rows, source, scale, 0, 2, planes);
        return;
    case 3:
        split_fixed(values, rows, source, scale, 0, 3, planes);
        return;
    case 4:
        split_fixed(values, rows, source, scale, 0, 4, planes);
        return;
    }
    split_fixed(values, rows, source, scale, 0, 4, planes);
    switch (count) {
    case 5:
        split_fixed(values, rows, source, scale, 4, 1, planes);
        return;
    case 6:
        split_fixed(values, rows, source, scale, 4, 2, planes);
        return;
    case 7:
        split_fixed(values, rows, source, scale, 4, 3, planes);
        return;
    default:
        split_fixed(values, rows, source, scale, 4, 4, planes);
        return;
    }
}


static void join_planes(const uint8_t *planes, size_t rows, unsigned count, uint64_t *words)
{
    memset(words, 0, rows * sizeof *words);
    for (unsigned b = 0; b < count; b++) {
        const uint8_t *plane = planes + (size_t)b * rows;
        for (size_t i = 0; i < rows; i++)
            words[i] |= (uint64_t)plane[i] << (8 * b);
    }
}


int store_encoder_create(store_encoder **out)
{
    store_encoder *encoder = calloc(1, sizeof *encoder);
    size_t bytes = (size_t)OHLCX_STORE_CHUNK_ROWS * 8;

    *out = NULL;
    if (encoder == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory creating a column encoder");
    encoder->context = ZSTD_createCCtx();
    encoder->compressed_capacity = ZSTD_compressBound(bytes);
    encoder->planes = malloc(bytes);
    encoder->compressed = malloc(encoder->compressed_capacity);
    if (encoder->context == NULL || encoder->planes == NULL ||
        encoder->compressed == NULL) {
        store_encoder_free(encoder);
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory creating a column encoder");
    }
    *out = encoder;
    return 0;
}


void store_encoder_free(store_encoder *encoder)
{
    if (encoder == NULL)
        return;
    ZSTD_freeCCtx(encoder->context);
    free(encoder->planes);
    free(encoder->compressed);
    free(encoder);
}


/* Fills the encoder's byte buffer for one chunk, points *input at it and
 * sets the chunk's planes, first and last values. Returns STORE_NOT_TICKS
 * when a value of a tick column is not an exact tick. */
static int chunk_input(store_encoder *encoder, int encoding, int decimals, const void *values,
                       size_t rows, const uint8_t **input, store_chunk *chunk)
{
    const int64_t *times = values;
    const double *doubles = values;
    double scale = powers_of_ten[decimals];
    uint64_t all = 0;

    chunk->first = 0;
    chunk->last = 0;
    chunk->planes = 1;
    *input = encoder->planes;
    switch (encoding) {
    case OHLCX_STORE_UINT8:
        *input = values;
        return 0;
    case OHLCX_STORE_DELTA_INT64:
        chunk->first = times[0];
        chunk->last = times[rows - 1];
        chunk->planes = planes_needed(or_words(values, rows, WORDS_DELTAS));
        split_planes(values, rows, WORDS_DELTAS, 1.0, chunk->planes, encoder->planes);
        return 0;
    case OHLCX_STORE_TICKS:
        if (!check_ticks(values, rows, decimals, &all))
            return STORE_NOT_TICKS;
        chunk->first = tick_of(doubles[0], scale);
        chunk->last = tick_of(doubles[rows - 1], scale);
        chunk->planes = planes_needed(all);
        split_planes(values, rows, WORDS_TICK_DELTAS, scale, chunk->planes, encoder->planes);
        return 0;
    default:
        chunk->planes = planes_needed(or_words(values, rows, WORDS_FLOAT64));
        split_planes(values, rows, WORDS_FLOAT64, 1.0, chunk->planes, encoder->planes);
        return 0;
    }
}


/* Compresses size bytes of input into one zstd frame in encoder->compressed
 * and returns its size or a zstd error code. Resetting the parameters before
 * each frame gives the same frames as ZSTD_compressCCtx() or as parameters
 * set once, and took about 3% less time on a 1M-row BTCUSDT 1m series
 * (libzstd 1.5.4; measured, not explained). */
static size_t compress_frame(store_encoder *encoder, const uint8_t *input, size_t size)
{
    size_t status;

    ZSTD_CCtx_reset(encoder->context, ZSTD_reset_session_and_parameters);
    status = ZSTD_CCtx_setParameter(encoder->context, ZSTD_c_compressionLevel,
                                    STORE_ZSTD_LEVEL);
    if (!ZSTD_isError(status))
        status = ZSTD_CCtx_setParameter(encoder->context, ZSTD_c_windowLog,
                                        STORE_ZSTD_WINDOW_LOG);
    if (!ZSTD_isError(status))
        status = ZSTD_CCtx_setParameter(encoder->context, ZSTD_c_hashLog, STORE_ZSTD_HASH_LOG);
    if (!ZSTD_isError(status))
        status = ZSTD_CCtx_setParameter(encoder->context, ZSTD_c_minMatch,
                                        STORE_ZSTD_MIN_MATCH);
    if (ZSTD_isError(status))
        return status;
    return ZSTD_compress2(encoder->context, encoder->compressed, encoder->compressed_capacity,
                          input, size);
}


int store_encode_chunk(store_encoder *encoder, int encoding, int decimals, const void *values,
                       size_t rows, const uint8_t **bytes, store_chunk *chunk)
{
    const uint8_t *input = NULL;
    size_t compressed, element;
    int status;

    if (rows == 0 || rows > OHLCX_STORE_CHUNK_ROWS)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid chunk of %zu rows (1 to %d allowed)", rows,
                               OHLCX_STORE_CHUNK_ROWS);
    status = chunk_input(encoder, encoding, decimals, values, rows, &input, chunk);
    if (status != 0)
        return status;
    element = encoding == OHLCX_STORE_UINT8 ? 1 : chunk->planes;
    compressed = compress_frame(encoder, input, rows * element);
    if (ZSTD_isError(compressed))
        return ohlcx_set_error(OHLCX_ELIB, "zstd failed to compress a chunk: %s",
                               ZSTD_getErrorName(compressed));
    *bytes = encoder->compressed;
    chunk->bytes = (uint32_t)compressed;
    chunk->rows = (uint32_t)rows;
    return 0;
}


/* Turns joined words back into values, in place in words. */
static void words_to_values(int encoding, int decimals, uint64_t *words, size_t rows)
{
    uint64_t previous = 0;

    if (encoding == OHLCX_STORE_FLOAT64)
        return;
    for (size_t i = 0; i < rows; i++) {
        previous += unzigzag(words[i]);
        if (encoding == OHLCX_STORE_TICKS) {
            double value = (double)(int64_t)previous / powers_of_ten[decimals];
            memcpy(&words[i], &value, sizeof value);
        } else {
            words[i] = previous;
        }
    }
}


int store_chunk_corrupt(const store_column *column, uint32_t chunk)
{
    return ohlcx_set_error(OHLCX_EFORMAT,
                           "corrupt column file %s: chunk %u of %u fails its CRC-32 check; "
                           "restore the store from a backup, or delete the series folder and "
                           "ingest its source files again",
                           column->path, chunk + 1, column->chunk_count);
}


int store_decode_chunk(const store_column *column, uint32_t chunk, void *out)
{
    store_chunk entry;
    const uint8_t *data;
    size_t expected, got;

    store_column_chunk(column, chunk, &entry);
    data = column->map + entry.offset;
    if (store_crc32(data, entry.bytes) != entry.crc)
        return store_chunk_corrupt(column, chunk);

    expected = (size_t)entry.rows *
               (column->encoding == OHLCX_STORE_UINT8 ? 1 : entry.planes);
    got = ZSTD_decompress(column->scratch, (size_t)column->chunk_rows * 8, data, entry.bytes);
    if (ZSTD_isError(got) || got != expected)
        return ohlcx_set_error(OHLCX_EFORMAT,
                               "corrupt column file %s: chunk %u of %u does not decode to %zu "
                               "bytes (%s)",
                               column->path, chunk + 1, column->chunk_count, expected,
                               ZSTD_isError(got) ? ZSTD_getErrorName(got) : "wrong size");

    if (column->encoding == OHLCX_STORE_UINT8) {
        memcpy(out, column->scratch, entry.rows);
        return 0;
    }
    join_planes(column->scratch, entry.rows, entry.planes, out);
    words_to_values(column->encoding, column->decimals, out, entry.rows);
    return 0;
}
