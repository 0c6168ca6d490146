/*
 * Unit tests for the source file digests of `ohlcx ingest`. New records are
 * "blake3:HEX". A store written before digests named their algorithm has
 * source_files.sha256 of bare hex and manifests of format 1 with "sha256".
 * It must still open, list its records and skip a file it already contains.
 *
 * The old store is made by the test: it ingests with the current code, then
 * rewrites the catalogue table and the manifest into the old layout, with the
 * table definition that earlier versions created.
 *
 * Expected digests of the two test files came from Debian's b3sum 1.2.0 and
 * coreutils sha256sum.
 */
#define _GNU_SOURCE /* nftw() */
#include <cjson/cJSON.h>
#include <ftw.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ohlcx/error.h"
#include "ohlcx/pipeline.h"
#include "ohlcx/store.h"

#include "test_ingest_helpers.h"

static const char btc_csv[] =
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,"
    "taker_buy_quote_volume,ignore\n"
    "1704067200000,100.5,101.0,100.0,100.8,12.5,1704070799999,1260.0,40,6.0,605.0,0\n"
    "1704070800000,100.8,102.0,100.7,101.9,9.0,1704074399999,912.0,31,4.0,406.0,0\n"
    "1704074400000,101.9,102.3,101.1,101.2,7.5,1704077999999,762.0,25,3.5,355.0,0\n";

/* The bytes of btc_csv with one price changed: a file of the same size. */
static const char xrp_csv[] =
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,"
    "taker_buy_quote_volume,ignore\n"
    "1704067200000,100.6,101.0,100.0,100.8,12.5,1704070799999,1260.0,40,6.0,605.0,0\n"
    "1704070800000,100.8,102.0,100.7,101.9,9.0,1704074399999,912.0,31,4.0,406.0,0\n"
    "1704074400000,101.9,102.3,101.1,101.2,7.5,1704077999999,762.0,25,3.5,355.0,0\n";

static const char eth_csv[] =
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,"
    "taker_buy_quote_volume,ignore\n"
    "1704067200000,2300.5,2310.0,2295.0,2305.0,50.0,1704070799999,115000.0,400,25.0,57500.0,0\n"
    "1704070800000,2305.0,2320.0,2301.0,2318.0,42.0,1704074399999,97000.0,350,20.0,46200.0,0\n";

static const char btc_blake3[] =
    "blake3:b48c1a627290eee7e955c2831f5b20662e11434b57549d0456c57ed5a8ba600c";
static const char btc_sha256_hex[] =
    "ba95fc903609f89fdeb04772bf0fd2f22f3dff324df77a82e08acc79d0755251";
static const char btc_sha256[] =
    "sha256:ba95fc903609f89fdeb04772bf0fd2f22f3dff324df77a82e08acc79d0755251";
static const char xrp_blake3[] =
    "blake3:69777866f1f588c68a76850f50f452ca51fe8ebb4374d649a22ba3e8f97190f2";
static const char eth_blake3[] =
    "blake3:680287e89030e736f96adc9747ac561cf2179586a565e2ef89dfbe47c1ec8c92";

/* Rebuilds source_files as earlier versions created it, with the SHA-256 of
 * BTCUSDT-1h.csv (its only record) as bare hex. */
static const char old_table[] =
    "CREATE TABLE source_files_old ("
    "  id INTEGER PRIMARY KEY,"
    "  path TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  rows INTEGER NOT NULL,"
    "  added INTEGER NOT NULL,"
    "  identical INTEGER NOT NULL,"
    "  conflicts INTEGER NOT NULL,"
    "  series_id INTEGER NOT NULL REFERENCES series (id) ON DELETE CASCADE,"
    "  ingested_at INTEGER NOT NULL,"
    "  UNIQUE (sha256, series_id));"
    "INSERT INTO source_files_old SELECT id, path, "
    "  'ba95fc903609f89fdeb04772bf0fd2f22f3dff324df77a82e08acc79d0755251', size, rows, added, "
    "  identical, conflicts, series_id, ingested_at FROM source_files;"
    "DROP TABLE source_files;"
    "ALTER TABLE source_files_old RENAME TO source_files;"
    "CREATE INDEX source_files_size ON source_files (size);";

typedef struct fixture {
    char dir[256];
    char store[300];
    char btc[300];
    char eth[300];
    char xrp[300];
} fixture;


static void write_text(const char *path, const char *text)
{
    FILE *file = fopen(path, "w");

    assert_non_null(file);
    assert_int_equal(fputs(text, file) >= 0, 1);
    assert_int_equal(fclose(file), 0);
}


static char *read_text(const char *path)
{
    FILE *file = fopen(path, "r");
    char *text = calloc(1, 1 << 16);

    assert_non_null(file);
    assert_non_null(text);
    assert_true(fread(text, 1, (1 << 16) - 1, file) > 0);
    fclose(file);
    return text;
}


static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    if (make_temp_folder("ohlcx-digest", f->dir, sizeof f->dir) != 0) {
        free(f);
        return -1;
    }
    snprintf(f->store, sizeof f->store, "%s/store", f->dir);
    snprintf(f->btc, sizeof f->btc, "%s/BTCUSDT-1h.csv", f->dir);
    snprintf(f->eth, sizeof f->eth, "%s/ETHUSDT-1h.csv", f->dir);
    snprintf(f->xrp, sizeof f->xrp, "%s/XRPUSDT-1h.csv", f->dir);
    write_text(f->btc, btc_csv);
    write_text(f->eth, eth_csv);
    write_text(f->xrp, xrp_csv);
    *state = f;
    return 0;
}


static int teardown(void **state)
{
    fixture *f = *state;

    remove_tree(f->dir);
    free(f);
    return 0;
}


static void ingest(const fixture *f, const char *path, const char *symbol,
                   ohlcx_ingest_summary *summary)
{
    const char *inputs[] = {path};
    ohlcx_ingest_options options = {.inputs = inputs, .input_count = 1, .store_dir = f->store,
                                    .symbol = symbol, .timeframe = symbol ? "1h" : NULL,
                                    .jobs = 1};

    memset(summary, 0, sizeof *summary);
    if (ohlcx_ingest(&options, summary) != 0)
        fail_msg("ingest of %s failed: %s", path, ohlcx_last_error());
}


/* Rewrites the BTCUSDT 1h manifest as format 1, with the bare SHA-256. */
static void make_manifest_old(const fixture *f)
{
    char path[400];
    char *text, *printed;
    cJSON *root, *append;

    snprintf(path, sizeof path, "%s/series/BTCUSDT/1h/v1/manifest.json", f->store);
    text = read_text(path);
    root = cJSON_Parse(text);
    free(text);
    assert_non_null(root);
    append = cJSON_GetObjectItemCaseSensitive(root, "append");
    assert_non_null(append);
    cJSON_ReplaceItemInObjectCaseSensitive(root, "format", cJSON_CreateNumber(1));
    cJSON_DeleteItemFromObjectCaseSensitive(append, "digest");
    cJSON_AddStringToObject(append, "sha256", btc_sha256_hex);
    printed = cJSON_Print(root);
    write_text(path, printed);
    cJSON_free(printed);
    cJSON_Delete(root);
}


/* Turns the store made by ingesting BTCUSDT-1h.csv into one written by an
 * earlier version. */
static void make_store_old(const fixture *f)
{
    char catalog[320];
    sqlite3 *db = NULL;
    char *message = NULL;

    snprintf(catalog, sizeof catalog, "%s/catalog.sqlite", f->store);
    assert_int_equal(sqlite3_open(catalog, &db), SQLITE_OK);
    if (sqlite3_exec(db, old_table, NULL, NULL, &message) != SQLITE_OK)
        fail_msg("making the old source_files table failed: %s", message);
    sqlite3_close(db);
    make_manifest_old(f);
}


static void digest_new_records_blake3(void **state)
{
    fixture *f = *state;
    ohlcx_ingest_summary summary;
    char digest[128];

    ingest(f, f->btc, NULL, &summary);
    assert_int_equal(summary.rows_added, 3);
    recorded_digest(f->store, f->btc, digest, sizeof digest);
    assert_string_equal(digest, btc_blake3);

    ingest(f, f->btc, NULL, &summary);
    assert_int_equal(summary.already_ingested, 1);
    assert_int_equal(summary.rows_read, 0);
}


static void digest_old_store_lists_records(void **state)
{
    fixture *f = *state;
    ohlcx_ingest_summary summary;
    ohlcx_store *store = NULL;
    char digest[128];
    int found = 0;

    ingest(f, f->btc, NULL, &summary);
    make_store_old(f);

    assert_int_equal(ohlcx_store_open(f->store, &store), 0);
    assert_int_equal(ohlcx_store_has_source(store, btc_sha256_hex, &found), 0);
    assert_int_equal(found, 1);
    assert_int_equal(ohlcx_store_has_source(store, btc_sha256, &found), 0);
    assert_int_equal(found, 1);
    assert_int_equal(ohlcx_store_has_source(store, btc_blake3, &found), 0);
    assert_int_equal(found, 0);
    assert_int_equal(ohlcx_store_has_source_size_digest(store, 347, "sha256", &found), 0);
    assert_int_equal(found, 1);
    assert_int_equal(ohlcx_store_has_source_size_digest(store, 347, "blake3", &found), 0);
    assert_int_equal(found, 0);
    ohlcx_store_close(store);

    assert_int_equal(recorded_digest(f->store, f->btc, digest, sizeof digest), 1);
    assert_string_equal(digest, btc_sha256);
}


static void digest_old_store_skips_file(void **state)
{
    fixture *f = *state;
    ohlcx_ingest_summary summary;
    char digest[128];

    ingest(f, f->btc, NULL, &summary);
    make_store_old(f);

    ingest(f, f->btc, NULL, &summary);
    assert_int_equal(summary.already_ingested, 1);
    assert_int_equal(summary.rows_read, 0);

    /* With --symbol the store checks the series' own records, by SHA-256. */
    ingest(f, f->btc, "BTCUSDT", &summary);
    assert_int_equal(summary.already_ingested, 1);
    assert_int_equal(summary.rows_added, 0);
    assert_int_equal(recorded_digest(f->store, f->btc, digest, sizeof digest), 1);
    assert_string_equal(digest, btc_sha256);

    /* A new file of another size gets a BLAKE3 record. */
    ingest(f, f->eth, NULL, &summary);
    assert_int_equal(summary.rows_added, 2);
    assert_int_equal(recorded_digest(f->store, f->eth, digest, sizeof digest), 1);
    assert_string_equal(digest, eth_blake3);

    /* So does a new file with the size of the SHA-256 record, whose SHA-256
     * is not stored. */
    ingest(f, f->xrp, NULL, &summary);
    assert_int_equal(summary.rows_added, 3);
    assert_int_equal(recorded_digest(f->store, f->xrp, digest, sizeof digest), 1);
    assert_string_equal(digest, xrp_blake3);
    ingest(f, f->xrp, NULL, &summary);
    assert_int_equal(summary.already_ingested, 1);
}


/* A catalogue rebuilt from the files reads the digest of a format 1
 * manifest as a SHA-256. */
static void digest_old_manifest_rebuilds(void **state)
{
    fixture *f = *state;
    ohlcx_ingest_summary summary;
    ohlcx_store *store = NULL;
    char path[400], digest[128];

    ingest(f, f->btc, NULL, &summary);
    make_store_old(f);
    snprintf(path, sizeof path, "%s/catalog.sqlite", f->store);
    assert_int_equal(unlink(path), 0);
    snprintf(path, sizeof path, "%s/catalog.sqlite-wal", f->store);
    unlink(path);
    snprintf(path, sizeof path, "%s/catalog.sqlite-shm", f->store);
    unlink(path);

    assert_int_equal(ohlcx_store_open(f->store, &store), 0);
    ohlcx_store_close(store);
    recorded_digest(f->store, f->btc, digest, sizeof digest);
    assert_string_equal(digest, btc_sha256);

    ingest(f, f->btc, NULL, &summary);
    assert_int_equal(summary.already_ingested, 1);
}


static void digest_invalid_text(void **state)
{
    fixture *f = *state;
    ohlcx_store *store = NULL;
    int found = -1;

    assert_int_equal(ohlcx_store_open(f->store, &store), 0);
    assert_int_equal(ohlcx_store_has_source(store, "blake3:abc", &found), OHLCX_EINVAL);
    assert_non_null(strstr(ohlcx_last_error(), "blake3:abc"));
    assert_int_equal(ohlcx_store_has_source(store, "md5:" "ba95fc903609f89fdeb04772bf0fd2f2"
                                                   "2f3dff324df77a82e08acc79d0755251",
                                            &found),
                     OHLCX_EINVAL);
    assert_int_equal(ohlcx_store_has_source_size_digest(store, 347, "md5", &found),
                     OHLCX_EINVAL);
    ohlcx_store_close(store);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(digest_new_records_blake3, setup, teardown),
        cmocka_unit_test_setup_teardown(digest_old_store_lists_records, setup, teardown),
        cmocka_unit_test_setup_teardown(digest_old_store_skips_file, setup, teardown),
        cmocka_unit_test_setup_teardown(digest_old_manifest_rebuilds, setup, teardown),
        cmocka_unit_test_setup_teardown(digest_invalid_text, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
