/*
 * Unit tests for `ohlcx ingest` on a file that changes while it is ingested.
 * The catalogue must never pair the digest of one version of a file with
 * the bars of another, or a later ingest of the first version is skipped as
 * "already ingested" and its bars are never stored.
 *
 * The change is made deterministic by interposing fopen() and gzclose():
 * this executable's definitions take the place of the C library's and
 * zlib's for the code linked into it, and call the real functions through
 * dlsym(RTLD_NEXT). When armed, the hook replaces the file at one of two
 * moments. The first is when the parse opens it, after ingest hashed it to
 * look it up in the store. The second is when the parse closes a gzip
 * stream, before any digest taken by opening the path again.
 *
 * The two versions of the file differ in the first open price only (100.5
 * in version A, 100.6 in version B), so they have the same size.
 */
#define _GNU_SOURCE /* RTLD_NEXT, nftw() */
#include <dlfcn.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "ohlcx/error.h"
#include "ohlcx/pipeline.h"
#include "ohlcx/store.h"
#include "util/util.h"

#include "test_ingest_helpers.h"

static const char version_a[] =
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,"
    "taker_buy_quote_volume,ignore\n"
    "1704067200000,100.5,101.0,100.0,100.8,12.5,1704070799999,1260.0,40,6.0,605.0,0\n"
    "1704070800000,100.8,102.0,100.7,101.9,9.0,1704074399999,912.0,31,4.0,406.0,0\n"
    "1704074400000,101.9,102.3,101.1,101.2,7.5,1704077999999,762.0,25,3.5,355.0,0\n";

static const char version_b[] =
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,"
    "taker_buy_quote_volume,ignore\n"
    "1704067200000,100.6,101.0,100.0,100.8,12.5,1704070799999,1260.0,40,6.0,605.0,0\n"
    "1704070800000,100.8,102.0,100.7,101.9,9.0,1704074399999,912.0,31,4.0,406.0,0\n"
    "1704074400000,101.9,102.3,101.1,101.2,7.5,1704077999999,762.0,25,3.5,355.0,0\n";

/* Version A with a fourth bar appended: 77 bytes longer. */
static const char version_a_grown[] =
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,"
    "taker_buy_quote_volume,ignore\n"
    "1704067200000,100.5,101.0,100.0,100.8,12.5,1704070799999,1260.0,40,6.0,605.0,0\n"
    "1704070800000,100.8,102.0,100.7,101.9,9.0,1704074399999,912.0,31,4.0,406.0,0\n"
    "1704074400000,101.9,102.3,101.1,101.2,7.5,1704077999999,762.0,25,3.5,355.0,0\n"
    "1704078000000,101.2,101.5,100.9,101.3,5.0,1704081599999,500.0,20,2.0,200.0,0\n";

/* BLAKE3 of version_a: the bytes of btc_csv in test_ingest_digest.c, whose
 * digest that test took from Debian's b3sum 1.2.0. */
static const char version_a_blake3[] =
    "blake3:b48c1a627290eee7e955c2831f5b20662e11434b57549d0456c57ed5a8ba600c";

enum hook_moment { HOOK_AT_FOPEN, HOOK_AT_GZCLOSE };
enum hook_change { HOOK_RENAME, HOOK_REWRITE };

/* The pending file change; armed for one use. */
static struct {
    int armed;
    enum hook_moment moment;
    enum hook_change change;
    char path[512];        /* the file that changes */
    char replacement[512]; /* HOOK_RENAME: renamed over path */
    const void *bytes;     /* HOOK_REWRITE: written over path in place */
    size_t size;
} hook;


static void change_file(void)
{
    hook.armed = 0;
    if (hook.change == HOOK_RENAME) {
        assert_int_equal(rename(hook.replacement, hook.path), 0);
        return;
    }
    int fd = open(hook.path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, hook.bytes, hook.size), (ssize_t)hook.size);
    assert_int_equal(close(fd), 0);
}


FILE *fopen(const char *restrict path, const char *restrict mode)
{
    FILE *(*real)(const char *, const char *) = (FILE * (*)(const char *, const char *))
        dlsym(RTLD_NEXT, "fopen");

    if (hook.armed && hook.moment == HOOK_AT_FOPEN && strcmp(path, hook.path) == 0)
        change_file();
    return real(path, mode);
}


int gzclose(gzFile file)
{
    int (*real)(gzFile) = (int (*)(gzFile))dlsym(RTLD_NEXT, "gzclose");
    int status = real(file);

    if (hook.armed && hook.moment == HOOK_AT_GZCLOSE)
        change_file();
    return status;
}


typedef struct fixture {
    char dir[256];
    char store[300];
    char target[300];      /* BTCUSDT-1h.csv, with or without .gz or .zst */
    char replacement[320]; /* the next version, renamed over target */
} fixture;


static void write_bytes(const char *path, const void *bytes, size_t size)
{
    FILE *file = fopen(path, "wb");

    assert_non_null(file);
    assert_int_equal(fwrite(bytes, 1, size, file), size);
    assert_int_equal(fclose(file), 0);
}


static void write_gzip(const char *path, const char *text)
{
    gzFile file = gzopen(path, "wb");

    assert_non_null(file);
    assert_int_equal(gzwrite(file, text, (unsigned)strlen(text)), (int)strlen(text));
    assert_int_equal(gzclose(file), Z_OK);
}


static void write_zstd(const char *path, const char *text)
{
    char compressed[1024];
    size_t size = ZSTD_compress(compressed, sizeof compressed, text, strlen(text), 3);

    assert_false(ZSTD_isError(size));
    write_bytes(path, compressed, size);
}


static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    if (make_temp_folder("ohlcx-race", f->dir, sizeof f->dir) != 0) {
        free(f);
        return -1;
    }
    snprintf(f->store, sizeof f->store, "%s/store", f->dir);
    memset(&hook, 0, sizeof hook);
    *state = f;
    return 0;
}


static int teardown(void **state)
{
    fixture *f = *state;

    memset(&hook, 0, sizeof hook);
    remove_tree(f->dir);
    free(f);
    return 0;
}


static void name_target(fixture *f, const char *suffix)
{
    snprintf(f->target, sizeof f->target, "%s/BTCUSDT-1h.csv%s", f->dir, suffix);
    snprintf(f->replacement, sizeof f->replacement, "%s.next", f->target);
}


static int ingest(const fixture *f, const char *path, ohlcx_ingest_summary *summary)
{
    const char *inputs[] = {path};
    ohlcx_ingest_options options = {
        .inputs = inputs, .input_count = 1, .store_dir = f->store, .jobs = 1};

    memset(summary, 0, sizeof *summary);
    return ohlcx_ingest(&options, summary);
}


static void arm(fixture *f, enum hook_moment moment, enum hook_change change)
{
    hook.moment = moment;
    hook.change = change;
    snprintf(hook.path, sizeof hook.path, "%s", f->target);
    snprintf(hook.replacement, sizeof hook.replacement, "%s", f->replacement);
    hook.bytes = version_b;
    hook.size = sizeof version_b - 1;
    hook.armed = 1;
}


/* Returns the first stored open price of BTCUSDT 1h, or -1 when the store
 * has no such series. */
static double stored_first_open(const fixture *f)
{
    ohlcx_store *store = NULL;
    ohlcx_series series;
    double open = -1;

    ohlcx_series_init(&series);
    assert_int_equal(ohlcx_store_open(f->store, &store), 0);
    if (ohlcx_store_read(store, "BTCUSDT", "1h", &series) == 0 && series.n > 0)
        open = series.open[0];
    ohlcx_series_free(&series);
    ohlcx_store_close(store);
    return open;
}


/* The store contains a file of the target's size under another name, so ingest
 * hashes the target before its parse, and the parse reads version B. */
static void check_rejected_then_ingested(fixture *f, enum hook_change change)
{
    char other[320], digest[128], expected[400];
    ohlcx_ingest_summary summary;

    name_target(f, "");
    snprintf(other, sizeof other, "%s/XRPUSDT-1h.csv", f->dir);
    write_bytes(other, version_b, sizeof version_b - 1);
    assert_int_equal(ingest(f, other, &summary), 0);
    write_bytes(f->target, version_a, sizeof version_a - 1);
    write_bytes(f->replacement, version_b, sizeof version_b - 1);

    arm(f, HOOK_AT_FOPEN, change);
    assert_int_equal(ingest(f, f->target, &summary), OHLCX_EIO);
    assert_int_equal(hook.armed, 0);
    snprintf(expected, sizeof expected, "%s changed while ingest read it: run ingest again",
             f->target);
    assert_string_equal(ohlcx_last_error(), expected);
    assert_int_equal(recorded_digest(f->store, f->target, digest, sizeof digest), 0);
    assert_true(stored_first_open(f) == -1);

    /* Version A, ingested again, is stored under its own digest. */
    write_bytes(f->target, version_a, sizeof version_a - 1);
    assert_int_equal(ingest(f, f->target, &summary), 0);
    assert_int_equal(summary.already_ingested, 0);
    assert_int_equal(summary.rows_added, 3);
    assert_int_equal(recorded_digest(f->store, f->target, digest, sizeof digest), 1);
    assert_string_equal(digest, version_a_blake3);
    assert_true(stored_first_open(f) == 100.5);
}


static void race_rename_before_parse(void **state)
{
    check_rejected_then_ingested(*state, HOOK_RENAME);
}


static void race_rewrite_before_parse(void **state)
{
    check_rejected_then_ingested(*state, HOOK_REWRITE);
}


/* A zstd file is hashed from its compressed bytes as the parse reads them.
 * The store contains the same bytes under another name, so the target is
 * hashed first but not skipped. */
static void race_zstd_rename_before_parse(void **state)
{
    fixture *f = *state;
    char other[320], digest[128];
    ohlcx_ingest_summary summary;

    name_target(f, ".zst");
    snprintf(other, sizeof other, "%s/XRPUSDT-1h.csv.zst", f->dir);
    write_zstd(other, version_a);
    assert_int_equal(ingest(f, other, &summary), 0);
    write_zstd(f->target, version_a);
    write_zstd(f->replacement, version_b);

    arm(f, HOOK_AT_FOPEN, HOOK_RENAME);
    assert_int_equal(ingest(f, f->target, &summary), OHLCX_EIO);
    assert_non_null(strstr(ohlcx_last_error(), "changed while ingest read it"));
    assert_int_equal(recorded_digest(f->store, f->target, digest, sizeof digest), 0);
    assert_true(stored_first_open(f) == -1);
}


/* With no stored file of its size, a gzip file is digested after its parse.
 * The digest must come from the file that was decoded (version A), not from
 * version B renamed over the path once the stream is closed. */
static void race_gzip_rename_after_parse(void **state)
{
    fixture *f = *state;
    char expected[65], digest[128], expected_digest[80];
    ohlcx_ingest_summary summary;

    name_target(f, ".gz");
    write_gzip(f->target, version_a);
    write_gzip(f->replacement, version_b);
    assert_int_equal(ohlcx_blake3_file(f->target, expected), 0);
    snprintf(expected_digest, sizeof expected_digest, "blake3:%s", expected);

    arm(f, HOOK_AT_GZCLOSE, HOOK_RENAME);
    assert_int_equal(ingest(f, f->target, &summary), 0);
    assert_int_equal(hook.armed, 0);
    assert_int_equal(summary.rows_added, 3);
    assert_int_equal(recorded_digest(f->store, f->target, digest, sizeof digest), 1);
    assert_string_equal(digest, expected_digest);
    assert_true(stored_first_open(f) == 100.5);

    /* Version B, now at the path, is new to the store: its first bar
     * conflicts with version A's. */
    assert_int_equal(ingest(f, f->target, &summary), 0);
    assert_int_equal(summary.already_ingested, 0);
    assert_int_equal(summary.rows_identical, 2);
    assert_int_equal(summary.conflicts, 1);
}


/* Returns the size that store's catalogue records for the source file
 * path, or -1 when it has no record of it. */
static int64_t recorded_size(const char *store, const char *path)
{
    char catalog[320];
    sqlite3 *db = NULL;
    sqlite3_stmt *statement = NULL;
    int64_t size = -1;

    snprintf(catalog, sizeof catalog, "%s/catalog.sqlite", store);
    assert_int_equal(sqlite3_open(catalog, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT size FROM source_files WHERE path = ?1", -1,
                                        &statement, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(statement, 1, path, -1, SQLITE_STATIC);
    if (sqlite3_step(statement) == SQLITE_ROW)
        size = sqlite3_column_int64(statement, 0);
    sqlite3_finalize(statement);
    sqlite3_close(db);
    return size;
}


/* With no stored file of its size, a plain file is hashed as it is parsed.
 * Appended to after ingest took its size with stat() and before the parse
 * opens it, the file is stored as parsed: four bars, the digest of the
 * grown bytes, and their size, not the size stat() gave. */
static void race_append_before_parse(void **state)
{
    fixture *f = *state;
    char expected[65], digest[128], expected_digest[80];
    ohlcx_ingest_summary summary;

    name_target(f, "");
    write_bytes(f->target, version_a, sizeof version_a - 1);
    arm(f, HOOK_AT_FOPEN, HOOK_REWRITE);
    hook.bytes = version_a_grown;
    hook.size = sizeof version_a_grown - 1;

    assert_int_equal(ingest(f, f->target, &summary), 0);
    assert_int_equal(hook.armed, 0);
    assert_int_equal(summary.rows_added, 4);
    assert_int_equal(ohlcx_blake3_file(f->target, expected), 0);
    snprintf(expected_digest, sizeof expected_digest, "blake3:%s", expected);
    assert_int_equal(recorded_digest(f->store, f->target, digest, sizeof digest), 1);
    assert_string_equal(digest, expected_digest);
    /* 347 bytes of version A (a 114-byte header and rows of 79, 77 and 77
     * bytes, newlines included) and the 77-byte row appended. */
    assert_int_equal(sizeof version_a - 1, 347);
    assert_int_equal(recorded_size(f->store, f->target), 347 + 77);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(race_rename_before_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(race_rewrite_before_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(race_zstd_rename_before_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(race_gzip_rename_after_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(race_append_before_parse, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
