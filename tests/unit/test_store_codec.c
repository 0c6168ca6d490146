/*
 * Tests of the store's chunk encoder and column writer below the public API:
 * the byte planes of small chunks, every plane count of each word source,
 * and how a double column chooses its decimals. The writer finds them from
 * the first rows only and writes the file again when a later chunk needs
 * more. These tests check that the decimals end up those of the whole
 * column, and that -0.0, NaN and ticks beyond 2^50 turn a column to float64.
 *
 * Every test writes column files into its own temporary folder and compares
 * doubles bit for bit.
 */
#define _GNU_SOURCE /* nftw() */
#include <ftw.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <zlib.h>
#include <zstd.h>

#include "ohlcx/store.h"
#include "store/store_internal.h"

#include "test_folder_helpers.h"

#define CHUNK OHLCX_STORE_CHUNK_ROWS
/* 2^50, the largest tick magnitude the tick encoding accepts. */
#define MAX_TICK 1125899906842624.0

typedef struct fixture {
    char dir[512];
    char path[600];
    store_encoder *encoder;
} fixture;


/* Helpers. */


static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    if (make_temp_folder("ohlcx-codec", f->dir, sizeof f->dir) != 0 ||
        store_encoder_create(&f->encoder) != 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}


static int teardown(void **state)
{
    fixture *f = *state;

    store_encoder_free(f->encoder);
    remove_tree(f->dir);
    free(f);
    return 0;
}


static double double_of(uint64_t bits)
{
    double x;

    memcpy(&x, &bits, sizeof x);
    return x;
}


static double *alloc_doubles(size_t n)
{
    double *values = malloc(n * sizeof *values);

    assert_non_null(values);
    return values;
}


/* Fills values with a walk of cents around 1000.00: every value has 2
 * decimals. */
static void fill_cents(double *values, size_t n)
{
    for (size_t i = 0; i < n; i++)
        values[i] = (double)(100000 + (int64_t)(i % 97) - 48) / 100.0;
}


/* Encodes one chunk, checks its plane count and decompresses the frame into
 * out, which has room for expected_bytes. */
static void encode_and_unpack(fixture *f, int encoding, int decimals, const void *values,
                              size_t rows, uint32_t planes, uint8_t *out, size_t expected_bytes,
                              store_chunk *chunk)
{
    const uint8_t *frame = NULL;

    assert_int_equal(store_encode_chunk(f->encoder, encoding, decimals, values, rows, &frame,
                                        chunk),
                     0);
    assert_int_equal(chunk->planes, planes);
    assert_int_equal(chunk->rows, rows);
    assert_int_equal(ZSTD_decompress(out, expected_bytes, frame, chunk->bytes), expected_bytes);
}


/* Writes values as a new column file (no old rows) named name. */
static void write_column(fixture *f, const char *name, int type, const void *values, size_t rows)
{
    store_column_plan plan = {type, NULL, 0, values, rows};

    snprintf(f->path, sizeof f->path, "%s/%s", f->dir, name);
    assert_int_equal(store_column_write(f->path, &plan, f->encoder), 0);
}


/* Opens the column file at f->path and checks its encoding and decimals. */
static void open_column(fixture *f, store_column *column, int encoding, int decimals)
{
    assert_int_equal(store_column_open(column, f->path), 0);
    assert_int_equal(column->encoding, encoding);
    assert_int_equal(column->decimals, decimals);
}


/* Reads the whole column back and compares it with expected bit for bit. */
static void assert_column_equals(store_column *column, const void *expected, size_t rows)
{
    size_t bytes = rows * store_element_size(column->encoding);
    uint8_t *read = malloc(bytes);

    assert_non_null(read);
    assert_int_equal(column->rows, rows);
    assert_int_equal(store_column_read(column, 0, rows, read), 0);
    assert_memory_equal(read, expected, bytes);
    free(read);
}


/* Writes doubles, checks the encoding and decimals the writer chose, and
 * reads them back. */
static void round_trip_doubles(fixture *f, const char *name, const double *values, size_t rows,
                               int encoding, int decimals)
{
    store_column column;

    write_column(f, name, OHLCX_STORE_FLOAT64, values, rows);
    open_column(f, &column, encoding, decimals);
    assert_column_equals(&column, values, rows);
    store_column_close(&column);
}


/* store_crc32(). */


static void crc32_check_value(void **state)
{
    /* The standard check value of CRC-32: "123456789" gives 0xcbf43926. */
    (void)state;
    assert_int_equal(store_crc32("123456789", 9), 0xcbf43926u);
}


static void crc32_matches_zlib(void **state)
{
    /* Every length from 0 to 2100 bytes at 16 alignments, so every count of
     * 64-byte and 16-byte folds and every tail length, against zlib. */
    enum { MAX_LENGTH = 2100 };
    uint8_t *bytes = malloc(MAX_LENGTH + 16);
    uint64_t random = 88172645463325252u;

    (void)state;
    assert_non_null(bytes);
    for (size_t i = 0; i < MAX_LENGTH + 16; i++) {
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        bytes[i] = (uint8_t)random;
    }
    for (size_t offset = 0; offset < 16; offset++) {
        for (size_t length = 0; length <= MAX_LENGTH; length++) {
            uint32_t expected = (uint32_t)crc32_z(0, bytes + offset, length);
            uint32_t got = store_crc32(bytes + offset, length);
            if (got != expected)
                fail_msg("offset %zu, %zu bytes: %08x, zlib %08x", offset, length, got, expected);
        }
    }
    free(bytes);
}


/* store_find_decimals(). */


static void find_decimals_cases(void **state)
{
    static const struct {
        double values[3];
        size_t n;
        int start;
        int expected;
    } cases[] = {
        {{1.5, 2.25, 3.0}, 3, 0, 2},   /* 2.25 needs 2 decimals */
        {{1.5, 2.25, 3.0}, 3, 3, 3},   /* never below the start */
        {{7.0, -8.0, 0.0}, 3, 0, 0},   /* integers, +0.0 included */
        {{1e-10, 0.0, 0.0}, 3, 0, 10}, /* STORE_MAX_DECIMALS */
        {{1e-11, 0.0, 0.0}, 3, 0, -1}, /* one more than that */
        {{-0.0, 1.0, 0.0}, 3, 0, -1},  /* -0.0 decodes as +0.0 at any decimals */
        {{NAN, 1.0, 0.0}, 3, 0, -1},
        {{INFINITY, 1.0, 0.0}, 3, 0, -1},
        {{MAX_TICK, 0.0, 0.0}, 3, 0, 0},     /* a tick of exactly 2^50 */
        {{MAX_TICK, 0.5, 0.0}, 2, 0, -1},    /* 0.5 needs 1 decimal, where 2^50 is 10 * 2^50 */
        {{MAX_TICK + 2.0, 0.0, 0.0}, 1, 0, -1},
        {{0.1 + 0.2, 0.0, 0.0}, 1, 0, -1},   /* 0.30000000000000004: 17 digits */
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int found = store_find_decimals(cases[i].values, cases[i].n, cases[i].start);
        if (found != cases[i].expected)
            fail_msg("case %zu: %d decimals, expected %d", i, found, cases[i].expected);
    }
}


/* The bytes of single chunks. */


static void ticks_one_plane(void **state)
{
    fixture *f = *state;
    const double values[3] = {1.00, 1.01, 0.99};
    /* Ticks 100, 101, 99; deltas from 0: 100, 1, -2; zigzag: 200, 2, 3. */
    const uint8_t expected[3] = {200, 2, 3};
    uint8_t planes[3];
    store_chunk chunk;

    encode_and_unpack(f, OHLCX_STORE_TICKS, 2, values, 3, 1, planes, sizeof planes, &chunk);
    assert_memory_equal(planes, expected, sizeof expected);
    assert_int_equal(chunk.first, 100);
    assert_int_equal(chunk.last, 99);
}


static void ticks_two_planes(void **state)
{
    fixture *f = *state;
    const double values[3] = {2.56, 2.57, 0.01};
    /* Ticks 256, 257, 1; deltas 256, 1, -256; zigzag 512, 2, 511 =
     * 0x200, 0x002, 0x1ff: plane 0 then plane 1. */
    const uint8_t expected[6] = {0x00, 0x02, 0xff, 0x02, 0x00, 0x01};
    uint8_t planes[6];
    store_chunk chunk;

    encode_and_unpack(f, OHLCX_STORE_TICKS, 2, values, 3, 2, planes, sizeof planes, &chunk);
    assert_memory_equal(planes, expected, sizeof expected);
    assert_int_equal(chunk.first, 256);
    assert_int_equal(chunk.last, 1);
}


static void open_times_two_planes(void **state)
{
    fixture *f = *state;
    const int64_t values[3] = {1000, 1060, 1030};
    /* Deltas 1000, 60, -30; zigzag 2000 = 0x7d0, 120, 59. */
    const uint8_t expected[6] = {0xd0, 120, 59, 0x07, 0, 0};
    uint8_t planes[6];
    store_chunk chunk;

    encode_and_unpack(f, OHLCX_STORE_DELTA_INT64, 0, values, 3, 2, planes, sizeof planes,
                      &chunk);
    assert_memory_equal(planes, expected, sizeof expected);
    assert_int_equal(chunk.first, 1000);
    assert_int_equal(chunk.last, 1030);
}


/* A full chunk of two byte planes is 128 KiB of zstd input. The encoder
 * sets a 64 KiB window, which also caps zstd's blocks at 64 KiB. So each
 * plane is a block with its own Huffman table. Level 1 alone would take a
 * 128 KiB window for this input and code both planes as one block. */
static void planes_in_own_blocks(void **state)
{
    fixture *f = *state;
    int64_t *values = malloc(CHUNK * sizeof *values);
    uint8_t *planes = malloc(2 * CHUNK);
    const uint8_t *frame = NULL;
    uint32_t random = 12345;
    store_chunk chunk;

    assert_non_null(values);
    assert_non_null(planes);
    values[0] = 0;
    for (size_t i = 1; i < CHUNK; i++) {
        uint64_t word, delta;

        /* Plane 0 takes 16 values, plane 1 two, from the top bits of a
         * 32-bit LCG (its low bits repeat too soon). */
        random = random * 1664525u + 1013904223u;
        word = random >> 28;
        random = random * 1664525u + 1013904223u;
        word |= (uint64_t)(random >> 31) << 8;
        /* The delta whose zigzag value is word. */
        delta = (word >> 1) ^ (0 - (word & 1));
        values[i] = (int64_t)((uint64_t)values[i - 1] + delta);
    }
    encode_and_unpack(f, OHLCX_STORE_DELTA_INT64, 0, values, CHUNK, 2, planes, 2 * CHUNK,
                      &chunk);
    assert_int_equal(store_encode_chunk(f->encoder, OHLCX_STORE_DELTA_INT64, 0, values, CHUNK,
                                        &frame, &chunk),
                     0);
    /* After the 4-byte magic number, the frame header descriptor: bit 5
     * clear means a window descriptor byte follows, whose top 5 bits are
     * the window log minus 10 and low 3 bits a mantissa: 0x30 is 2^16. A
     * block is at most the window (RFC 8878, 3.1.1.1 and 3.1.1.2). */
    assert_true(chunk.bytes > 6);
    assert_int_equal(frame[4] & 0x20, 0);
    assert_int_equal(frame[5], 0x30);
    free(values);
    free(planes);
}


static void float64_raw_bits(void **state)
{
    fixture *f = *state;
    /* Subnormal doubles whose bits are 0x001, 0x002 and 0x103: raw words,
     * no deltas, so two planes. */
    const double values[3] = {double_of(0x001), double_of(0x002), double_of(0x103)};
    const uint8_t expected[6] = {0x01, 0x02, 0x03, 0x00, 0x00, 0x01};
    uint8_t planes[6];
    store_chunk chunk;

    encode_and_unpack(f, OHLCX_STORE_FLOAT64, 0, values, 3, 2, planes, sizeof planes, &chunk);
    assert_memory_equal(planes, expected, sizeof expected);
}


static void one_row_chunk(void **state)
{
    fixture *f = *state;
    const double value = -0.05;
    /* Tick -5; zigzag (-5 << 1) ^ -1 = 9. */
    uint8_t plane;
    store_chunk chunk;

    encode_and_unpack(f, OHLCX_STORE_TICKS, 2, &value, 1, 1, &plane, 1, &chunk);
    assert_int_equal(plane, 9);
    assert_int_equal(chunk.first, -5);
    assert_int_equal(chunk.last, -5);
}


static void ticks_not_exact_rejected(void **state)
{
    fixture *f = *state;
    const double values[3] = {1.00, 1.005, 0.99};
    const uint8_t *frame = NULL;
    store_chunk chunk;

    assert_int_equal(store_encode_chunk(f->encoder, OHLCX_STORE_TICKS, 2, values, 3, &frame,
                                        &chunk),
                     STORE_NOT_TICKS);
}


/* Every plane count of every word source, through whole column files. */


/* Two chunks, the second partial. The first word of each chunk is its first
 * value's zigzag delta from 0, and the rest are small, so the value chosen
 * for rows 0 and CHUNK sets the plane count. */
#define PLANE_ROWS (CHUNK + 100)


static void assert_chunk_planes(const store_column *column, uint32_t planes)
{
    for (uint32_t i = 0; i < column->chunk_count; i++) {
        store_chunk chunk;
        store_column_chunk(column, i, &chunk);
        if (chunk.planes != planes)
            fail_msg("chunk %u: %u planes, expected %u", i, chunk.planes, planes);
    }
}


static void open_time_plane_counts(void **state)
{
    fixture *f = *state;
    int64_t *values = malloc(PLANE_ROWS * sizeof *values);

    assert_non_null(values);
    for (uint32_t planes = 1; planes <= 8; planes++) {
        /* zigzag(2^(8p - 2)) = 2^(8p - 1), the top bit of byte p - 1; the
         * deltas between rows are 1 or -48, zigzag 2 or 95. */
        int64_t base = (int64_t)1 << (8 * planes - 2);
        store_column column;

        for (size_t i = 0; i < PLANE_ROWS; i++)
            values[i] = base + (int64_t)(i % 49);
        write_column(f, "open_time", OHLCX_STORE_DELTA_INT64, values, PLANE_ROWS);
        open_column(f, &column, OHLCX_STORE_DELTA_INT64, 0);
        assert_chunk_planes(&column, planes);
        assert_column_equals(&column, values, PLANE_ROWS);
        store_column_close(&column);
    }
    free(values);
}


static void tick_plane_counts(void **state)
{
    fixture *f = *state;
    double *values = alloc_doubles(PLANE_ROWS);

    /* Ticks at 0 decimals reach 2^50, zigzag 2^51, so 7 planes at most. */
    for (uint32_t planes = 1; planes <= 7; planes++) {
        double base = planes == 7 ? MAX_TICK : ldexp(1.0, 8 * (int)planes - 2);
        store_column column;

        for (size_t i = 0; i < PLANE_ROWS; i++)
            values[i] = base - (double)(i % 49);
        write_column(f, "close", OHLCX_STORE_FLOAT64, values, PLANE_ROWS);
        open_column(f, &column, OHLCX_STORE_TICKS, 0);
        assert_chunk_planes(&column, planes);
        assert_column_equals(&column, values, PLANE_ROWS);
        store_column_close(&column);
    }
    free(values);
}


static void float64_plane_counts(void **state)
{
    fixture *f = *state;
    double *values = alloc_doubles(PLANE_ROWS);

    for (uint32_t planes = 1; planes <= 8; planes++) {
        /* Raw bits below 2^(8p) with bit 8p - 1 set: tiny positive doubles,
         * or for 8 planes negative ones from -0.0 on, none of them ticks. */
        uint64_t base = UINT64_C(1) << (8 * planes - 1);
        store_column column;

        for (size_t i = 0; i < PLANE_ROWS; i++)
            values[i] = double_of(base + i % 49);
        write_column(f, "volume", OHLCX_STORE_FLOAT64, values, PLANE_ROWS);
        open_column(f, &column, OHLCX_STORE_FLOAT64, 0);
        assert_chunk_planes(&column, planes);
        assert_column_equals(&column, values, PLANE_ROWS);
        store_column_close(&column);
    }
    free(values);
}


/* The decimals of a double column. */


static void later_chunk_more_decimals(void **state)
{
    fixture *f = *state;
    size_t rows = 3 * CHUNK + 10;
    double *values = alloc_doubles(rows);
    store_column column;
    store_chunk chunk;

    /* Cents everywhere but one value of chunk 2 with 4 decimals, so the
     * first try at 2 decimals fails there and the file is written again at
     * 4, as a scan of the whole column would choose. */
    fill_cents(values, rows);
    values[2 * CHUNK + 5] = 1000.1234;
    write_column(f, "close", OHLCX_STORE_FLOAT64, values, rows);
    open_column(f, &column, OHLCX_STORE_TICKS, 4);

    /* Chunk 0 was written again: its first tick, 1000.00 - 0.48 = 999.52,
     * is at 4 decimals. */
    store_column_chunk(&column, 0, &chunk);
    assert_int_equal(chunk.first, 9995200);
    /* Chunk 2 starts at row 131072, 131072 % 97 = 25, so at 999.77: tick
     * 9997700, whose zigzag 19995400 needs 25 bits, so 4 planes. */
    store_column_chunk(&column, 2, &chunk);
    assert_int_equal(chunk.first, 9997700);
    assert_int_equal(chunk.planes, 4);
    assert_column_equals(&column, values, rows);
    store_column_close(&column);
    free(values);
}


static void first_chunk_after_sample(void **state)
{
    fixture *f = *state;
    size_t rows = CHUNK + 10;
    double *values = alloc_doubles(rows);

    /* Row 1000 lies after the rows sampled for the first try but in the
     * same chunk. */
    fill_cents(values, rows);
    values[1000] = 999.875;
    round_trip_doubles(f, "close", values, rows, OHLCX_STORE_TICKS, 3);
    free(values);
}


static void decimals_raised_twice(void **state)
{
    fixture *f = *state;
    size_t rows = 4 * CHUNK;
    double *values = alloc_doubles(rows);

    /* Chunk 1 needs 3 decimals and chunk 3 needs 6. The rescan after the
     * failure in chunk 1 covers chunk 3 too, and the column ends at 6. */
    fill_cents(values, rows);
    values[CHUNK + 7] = 1000.125;
    values[3 * CHUNK + 7] = 1000.000001;
    round_trip_doubles(f, "close", values, rows, OHLCX_STORE_TICKS, 6);
    free(values);
}


static void later_chunk_too_many_digits(void **state)
{
    fixture *f = *state;
    size_t rows = 2 * CHUNK + 10;
    double *values = alloc_doubles(rows);

    fill_cents(values, rows);
    values[2 * CHUNK + 3] = 0.1 + 0.2;
    round_trip_doubles(f, "close", values, rows, OHLCX_STORE_FLOAT64, 0);
    free(values);
}


static void later_negative_zero(void **state)
{
    fixture *f = *state;
    size_t rows = 2 * CHUNK;
    double *values = alloc_doubles(rows);

    fill_cents(values, rows);
    values[CHUNK + 1] = -0.0;
    round_trip_doubles(f, "volume", values, rows, OHLCX_STORE_FLOAT64, 0);
    free(values);
}


static void later_nan(void **state)
{
    fixture *f = *state;
    size_t rows = 2 * CHUNK;
    double *values = alloc_doubles(rows);

    fill_cents(values, rows);
    values[rows - 1] = NAN;
    round_trip_doubles(f, "quote_volume", values, rows, OHLCX_STORE_FLOAT64, 0);
    free(values);
}


static void max_tick_then_decimal(void **state)
{
    fixture *f = *state;
    size_t rows = 2 * CHUNK;
    double *values = alloc_doubles(rows);

    /* 2^50 is a tick at 0 decimals, but 0.5 in chunk 1 needs 1 decimal,
     * where 2^50 becomes 10 * 2^50: no decimals fit both. */
    for (size_t i = 0; i < rows; i++)
        values[i] = MAX_TICK - (double)(i % 7);
    values[CHUNK + 2] = 0.5;
    round_trip_doubles(f, "volume", values, rows, OHLCX_STORE_FLOAT64, 0);
    free(values);
}


static void beyond_max_tick(void **state)
{
    fixture *f = *state;
    size_t rows = CHUNK + 1;
    double *values = alloc_doubles(rows);

    for (size_t i = 0; i < rows; i++)
        values[i] = MAX_TICK - (double)(i % 7);
    values[CHUNK] = MAX_TICK + 2.0; /* an integer, but above 2^50 */
    round_trip_doubles(f, "volume", values, rows, OHLCX_STORE_FLOAT64, 0);
    free(values);
}


/* Head chunks copied from an old column. */


/* Writes old as the column file "old", opens it and writes "new" with its
 * first CHUNK rows as the head and tail after them. */
static void write_with_head(fixture *f, const double *old, store_column *old_column,
                            const double *tail, size_t tail_rows)
{
    store_column_plan plan = {OHLCX_STORE_FLOAT64, old_column, CHUNK, tail, tail_rows};

    write_column(f, "old", OHLCX_STORE_FLOAT64, old, CHUNK);
    assert_int_equal(store_column_open(old_column, f->path), 0);
    snprintf(f->path, sizeof f->path, "%s/new", f->dir);
    assert_int_equal(store_column_write(f->path, &plan, f->encoder), 0);
}


static void head_decimals_raised(void **state)
{
    fixture *f = *state;
    size_t tail_rows = 2 * CHUNK;
    double *all = alloc_doubles(CHUNK + tail_rows);
    store_column old, column;
    store_chunk chunk;

    /* Head at 2 decimals, tail at 1 in its first rows and 3 in its second
     * chunk: the head chunk is decoded and written again at 3 decimals. */
    fill_cents(all, CHUNK);
    for (size_t i = 0; i < tail_rows; i++)
        all[CHUNK + i] = (double)(10000 + (int64_t)(i % 13)) / 10.0;
    all[2 * CHUNK + 9] = 1000.125;
    write_with_head(f, all, &old, all + CHUNK, tail_rows);
    assert_int_equal(old.decimals, 2);

    open_column(f, &column, OHLCX_STORE_TICKS, 3);
    store_column_chunk(&column, 0, &chunk);
    assert_int_equal(chunk.first, 999520); /* 999.52 at 3 decimals */
    assert_column_equals(&column, all, CHUNK + tail_rows);
    store_column_close(&column);
    store_column_close(&old);
    free(all);
}


static void head_chunk_copied(void **state)
{
    fixture *f = *state;
    size_t tail_rows = CHUNK / 2;
    double *all = alloc_doubles(CHUNK + tail_rows);
    store_column old, column;
    store_chunk old_chunk, new_chunk;

    /* Head at 4 decimals, tail at 2: the file keeps 4 and copies the head
     * chunk's frame unchanged. */
    fill_cents(all, CHUNK + tail_rows);
    all[17] = 1000.0001;
    write_with_head(f, all, &old, all + CHUNK, tail_rows);
    open_column(f, &column, OHLCX_STORE_TICKS, 4);
    store_column_chunk(&old, 0, &old_chunk);
    store_column_chunk(&column, 0, &new_chunk);
    assert_int_equal(new_chunk.bytes, old_chunk.bytes);
    assert_int_equal(new_chunk.crc, old_chunk.crc);
    assert_memory_equal(column.map + new_chunk.offset, old.map + old_chunk.offset,
                        old_chunk.bytes);
    assert_column_equals(&column, all, CHUNK + tail_rows);
    store_column_close(&column);
    store_column_close(&old);
    free(all);
}


static void head_ticks_too_large(void **state)
{
    fixture *f = *state;
    size_t tail_rows = 10;
    double *all = alloc_doubles(CHUNK + tail_rows);
    store_column old, column;

    /* The head has values near 2^50 at 0 decimals. The tail needs 1
     * decimal, at which the head's ticks exceed 2^50, so the column becomes
     * float64. */
    for (size_t i = 0; i < CHUNK + tail_rows; i++)
        all[i] = MAX_TICK - (double)(i % 7);
    for (size_t i = 0; i < tail_rows; i++)
        all[CHUNK + i] = 0.5;
    write_with_head(f, all, &old, all + CHUNK, tail_rows);
    assert_int_equal(old.encoding, OHLCX_STORE_TICKS);
    assert_int_equal(old.decimals, 0);

    open_column(f, &column, OHLCX_STORE_FLOAT64, 0);
    assert_column_equals(&column, all, CHUNK + tail_rows);
    store_column_close(&column);
    store_column_close(&old);
    free(all);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc32_check_value),
        cmocka_unit_test(crc32_matches_zlib),
        cmocka_unit_test(find_decimals_cases),
        cmocka_unit_test_setup_teardown(ticks_one_plane, setup, teardown),
        cmocka_unit_test_setup_teardown(ticks_two_planes, setup, teardown),
        cmocka_unit_test_setup_teardown(open_times_two_planes, setup, teardown),
        cmocka_unit_test_setup_teardown(planes_in_own_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(float64_raw_bits, setup, teardown),
        cmocka_unit_test_setup_teardown(one_row_chunk, setup, teardown),
        cmocka_unit_test_setup_teardown(ticks_not_exact_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(open_time_plane_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(tick_plane_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(float64_plane_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(later_chunk_more_decimals, setup, teardown),
        cmocka_unit_test_setup_teardown(first_chunk_after_sample, setup, teardown),
        cmocka_unit_test_setup_teardown(decimals_raised_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(later_chunk_too_many_digits, setup, teardown),
        cmocka_unit_test_setup_teardown(later_negative_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(later_nan, setup, teardown),
        cmocka_unit_test_setup_teardown(max_tick_then_decimal, setup, teardown),
        cmocka_unit_test_setup_teardown(beyond_max_tick, setup, teardown),
        cmocka_unit_test_setup_teardown(head_decimals_raised, setup, teardown),
        cmocka_unit_test_setup_teardown(head_chunk_copied, setup, teardown),
        cmocka_unit_test_setup_teardown(head_ticks_too_large, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
