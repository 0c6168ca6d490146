/*
 * Chunk codecs of the store: decimal detection, zigzag deltas, byte planes
 * and zstd frames.
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
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

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
    uint64_t *words;     /* OHLCX_STORE_CHUNK_ROWS zigzag or raw words */
    uint8_t *planes;     /* the words as byte planes */
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


/* CRC-32 (IEEE 802.3 polynomial) from zlib. */
uint32_t store_crc32(const void *data, size_t length)
{
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


/* Writes the ticks of n values at the given decimals and returns 1 when
 * every value is exactly its tick / 10^decimals (not NaN, not -0.0, no more
 * digits, not too large). Rounding goes through ROUNDING_SHIFT instead of a
 * libm call or an integer conversion, and the loop has no early exit, so the
 * compiler vectorises it. */
static int to_ticks(const double *values, size_t n, int decimals, int64_t *ticks)
{
    double scale = powers_of_ten[decimals];
    uint64_t mismatch = 0;

    for (size_t i = 0; i < n; i++) {
        double scaled = values[i] * scale;
        double shifted = scaled + ROUNDING_SHIFT;
        double back = (shifted - ROUNDING_SHIFT) / scale;

        mismatch |= double_bits(back) ^ double_bits(values[i]);
        mismatch |= (uint64_t)!(fabs(scaled) <= MAX_TICK_MAGNITUDE);
        ticks[i] = (int64_t)(double_bits(shifted) - double_bits(ROUNDING_SHIFT));
    }
    return mismatch == 0;
}


int store_find_decimals(const double *values, size_t n)
{
    int64_t ticks[DECIMALS_BLOCK];
    int decimals = 0;

    /* A value exact at d decimals is exact at every larger d (see
     * MAX_TICK_MAGNITUDE), so one pass that raises d as needed finds the
     * smallest d for all values. The encoder checks every value again. */
    for (size_t start = 0; start < n; start += DECIMALS_BLOCK) {
        size_t count = n - start < DECIMALS_BLOCK ? n - start : DECIMALS_BLOCK;
        while (!to_ticks(values + start, count, decimals, ticks)) {
            if (++decimals > STORE_MAX_DECIMALS)
                return -1;
        }
    }
    return decimals;
}


static uint64_t zigzag(uint64_t delta)
{
    return (delta << 1) ^ (0 - (delta >> 63));
}


static uint64_t unzigzag(uint64_t value)
{
    return (value >> 1) ^ (0 - (value & 1));
}


/* words may be values itself: each value is read before its word is
 * written. */
static void deltas_to_words(const int64_t *values, size_t rows, uint64_t *words)
{
    uint64_t previous = 0;

    for (size_t i = 0; i < rows; i++) {
        uint64_t value = (uint64_t)values[i];
        words[i] = zigzag(value - previous);
        previous = value;
    }
}


/* Returns the byte planes needed for the words: 1 to 8. */
static unsigned planes_needed(const uint64_t *words, size_t rows)
{
    uint64_t all = 0;
    unsigned planes = 1;

    for (size_t i = 0; i < rows; i++)
        all |= words[i];
    while (planes < 8 && (all >> (8 * planes)) != 0)
        planes++;
    return planes;
}


static void split_planes(const uint64_t *words, size_t rows, unsigned count, uint8_t *planes)
{
    for (unsigned b = 0; b < count; b++) {
        uint8_t *plane = planes + (size_t)b * rows;
        for (size_t i = 0; i < rows; i++)
            plane[i] = (uint8_t)(words[i] >> (8 * b));
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
    encoder->words = malloc(bytes);
    encoder->planes = malloc(bytes);
    encoder->compressed = malloc(encoder->compressed_capacity);
    if (encoder->context == NULL || encoder->words == NULL || encoder->planes == NULL ||
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
    free(encoder->words);
    free(encoder->planes);
    free(encoder->compressed);
    free(encoder);
}


/* Converts doubles to zigzag tick deltas; returns STORE_NOT_TICKS when a
 * value is not an exact tick. */
static int ticks_to_words(const double *values, size_t rows, int decimals, uint64_t *words,
                          int64_t *first, int64_t *last)
{
    int64_t *ticks = (int64_t *)words;

    if (!to_ticks(values, rows, decimals, ticks))
        return STORE_NOT_TICKS;
    *first = ticks[0];
    *last = ticks[rows - 1];
    deltas_to_words(ticks, rows, words);
    return 0;
}


/* Fills the encoder's byte buffer for one chunk, points *input at it and
 * sets the chunk's planes, first and last values. */
static int chunk_input(store_encoder *encoder, int encoding, int decimals, const void *values,
                       size_t rows, const uint8_t **input, store_chunk *chunk)
{
    chunk->first = 0;
    chunk->last = 0;
    chunk->planes = 1;
    if (encoding == OHLCX_STORE_UINT8) {
        *input = values;
        return 0;
    }
    if (encoding == OHLCX_STORE_DELTA_INT64) {
        const int64_t *times = values;
        deltas_to_words(times, rows, encoder->words);
        chunk->first = times[0];
        chunk->last = times[rows - 1];
    } else if (encoding == OHLCX_STORE_TICKS) {
        int status = ticks_to_words(values, rows, decimals, encoder->words, &chunk->first,
                                    &chunk->last);
        if (status != 0)
            return status;
    } else {
        memcpy(encoder->words, values, rows * sizeof(double));
    }
    chunk->planes = planes_needed(encoder->words, rows);
    split_planes(encoder->words, rows, chunk->planes, encoder->planes);
    *input = encoder->planes;
    return 0;
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
    compressed = ZSTD_compressCCtx(encoder->context, encoder->compressed,
                                   encoder->compressed_capacity, input, rows * element,
                                   STORE_ZSTD_LEVEL);
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


int store_decode_chunk(const store_column *column, uint32_t chunk, void *out)
{
    store_chunk entry;
    const uint8_t *data;
    size_t expected, got;

    store_column_chunk(column, chunk, &entry);
    data = column->map + entry.offset;
    if (store_crc32(data, entry.bytes) != entry.crc)
        return ohlcx_set_error(OHLCX_EFORMAT,
                               "corrupt column file %s: chunk %u of %u fails its CRC-32 check; "
                               "restore the store from a backup, or delete the series folder "
                               "and ingest its source files again",
                               column->path, chunk + 1, column->chunk_count);

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
