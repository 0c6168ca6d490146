/*
 * The catalogue, DIR/catalog.sqlite: one row per series and one per ingested
 * source file, in SQLite's WAL mode so that readers do not wait for a writer.
 *
 * The catalogue is an index of the column files, never the other way round:
 * an append updates it in one transaction after the new version is
 * published, and store_repair_series() rewrites a row from the published
 * version when the two disagree. synchronous=NORMAL may lose the last
 * transaction on power loss (not on a process crash), which the repair then
 * redoes from the files.
 *
 * series.derived_from names the timeframe a resampled series was built from
 * (NULL for ingested series). Catalogues written before the column existed
 * get it on open. NOTE: the column files do not record it, so a catalogue
 * rebuilt from the files after being moved away lists every series as
 * ingested until `ohlcx resample` runs again.
 *
 * source_files.digest names its algorithm ("blake3:HEX" or "sha256:HEX"), so
 * a row never passes one algorithm's value off as the other's. Catalogues
 * written before it had a sha256 column of bare hex instead: the first open
 * rebuilds that table with each value as "sha256:HEX", and ingest still finds
 * those files by their SHA-256.
 */
#include <ctype.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ohlcx/error.h"
#include "store/store_internal.h"
#include "util/util.h"

#define BUSY_TIMEOUT_MS 30000

#define SOURCE_FILES_COLUMNS                                                   \
    "("                                                                         \
    "  id INTEGER PRIMARY KEY,"                                                 \
    "  path TEXT NOT NULL,"                                                     \
    "  digest TEXT NOT NULL," /* "blake3:HEX" or "sha256:HEX" */                \
    "  size INTEGER NOT NULL,"                                                  \
    "  rows INTEGER NOT NULL,"                                                  \
    "  added INTEGER NOT NULL,"                                                 \
    "  identical INTEGER NOT NULL,"                                             \
    "  conflicts INTEGER NOT NULL,"                                             \
    "  series_id INTEGER NOT NULL REFERENCES series (id) ON DELETE CASCADE,"    \
    "  ingested_at INTEGER NOT NULL,"                                           \
    "  UNIQUE (digest, series_id))"

static const char schema[] =
    "PRAGMA journal_mode = WAL;"
    "PRAGMA synchronous = NORMAL;"
    "PRAGMA foreign_keys = ON;"
    "CREATE TABLE IF NOT EXISTS series ("
    "  id INTEGER PRIMARY KEY,"
    "  symbol TEXT NOT NULL,"
    "  timeframe TEXT NOT NULL,"
    "  asset_class TEXT NOT NULL,"
    "  source TEXT NOT NULL DEFAULT '',"
    "  rows INTEGER NOT NULL,"
    "  first_open_time INTEGER NOT NULL," /* microseconds since the Unix epoch, UTC */
    "  last_open_time INTEGER NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  quality TEXT,"                     /* JSON summary from the quality stage */
    "  updated_at INTEGER NOT NULL,"
    "  derived_from TEXT,"                /* source timeframe of a resampled series */
    "  UNIQUE (symbol, timeframe));"
    "CREATE TABLE IF NOT EXISTS source_files " SOURCE_FILES_COLUMNS ";"
    "CREATE INDEX IF NOT EXISTS source_files_size ON source_files (size);";

/* Converts a source_files table with a sha256 column (bare hex) into the
 * current one, keeping ids. Runs inside one transaction. */
static const char digest_migration[] =
    "CREATE TABLE source_files_digest " SOURCE_FILES_COLUMNS ";"
    "INSERT OR IGNORE INTO source_files_digest (id, path, digest, size, rows, added, identical, "
    "  conflicts, series_id, ingested_at) "
    "SELECT id, path, 'sha256:' || lower(sha256), size, rows, added, identical, conflicts, "
    "  series_id, ingested_at FROM source_files;"
    "DROP TABLE source_files;"
    "ALTER TABLE source_files_digest RENAME TO source_files;"
    "CREATE INDEX source_files_size ON source_files (size);";

static const char entry_columns[] =
    "SELECT id, symbol, timeframe, asset_class, source, rows, first_open_time, "
    "last_open_time, version, updated_at, quality, derived_from FROM series";


/* A damaged catalogue file is bad input (exit status 2), not an internal
 * failure: the column files are the truth, so moving the file away lets the
 * next open rebuild it. */
static int sqlite_failed(ohlcx_store *store, const char *action)
{
    int code = sqlite3_errcode(store->db);

    if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
        return ohlcx_set_error(OHLCX_EFORMAT,
                               "catalogue %s/catalog.sqlite is damaged (%s failed: %s): move it "
                               "away and open the store again to rebuild it from the series files",
                               store->dir, action, sqlite3_errmsg(store->db));
    return ohlcx_set_error(OHLCX_ELIB, "catalogue %s/catalog.sqlite: %s failed: %s", store->dir,
                           action, sqlite3_errmsg(store->db));
}


static int exec(ohlcx_store *store, const char *sql, const char *action)
{
    if (sqlite3_exec(store->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return sqlite_failed(store, action);
    return 0;
}


static int prepare(ohlcx_store *store, const char *sql, sqlite3_stmt **statement)
{
    if (sqlite3_prepare_v2(store->db, sql, -1, statement, NULL) != SQLITE_OK)
        return sqlite_failed(store, "preparing a query");
    return 0;
}


/* Adds series.derived_from to a catalogue created before it existed. Two
 * processes may race here, so a failed ALTER TABLE is fine when the column
 * is there afterwards. */
static int migrate_derived_from(ohlcx_store *store)
{
    sqlite3_stmt *statement = NULL;
    int found = 0, status;

    for (int attempt = 0; attempt < 2; attempt++) {
        status = prepare(store, "SELECT 1 FROM pragma_table_info('series') "
                                "WHERE name = 'derived_from'",
                         &statement);
        if (status != 0)
            return status;
        found = sqlite3_step(statement) == SQLITE_ROW;
        sqlite3_finalize(statement);
        if (found)
            return 0;
        if (attempt == 0 &&
            sqlite3_exec(store->db, "ALTER TABLE series ADD COLUMN derived_from TEXT", NULL,
                         NULL, NULL) == SQLITE_OK)
            return 0;
    }
    return sqlite_failed(store, "adding the derived_from column");
}


/* Sets *found when the table has a column of this name. */
static int has_column(ohlcx_store *store, const char *table, const char *column, int *found)
{
    sqlite3_stmt *statement = NULL;
    int status = prepare(store, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2",
                         &statement);
    int code;

    *found = 0;
    if (status != 0)
        return status;
    sqlite3_bind_text(statement, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(statement, 2, column, -1, SQLITE_STATIC);
    code = sqlite3_step(statement);
    *found = code == SQLITE_ROW;
    if (code != SQLITE_ROW && code != SQLITE_DONE)
        status = sqlite_failed(store, "reading the table layout");
    sqlite3_finalize(statement);
    return status;
}


/* Rebuilds a source_files table that has the sha256 column of earlier
 * versions (see the top of this file). The check is repeated inside the
 * transaction, because another process may have converted it meanwhile. */
static int migrate_source_digest(ohlcx_store *store)
{
    int found = 0;
    int status = has_column(store, "source_files", "sha256", &found);

    if (status != 0 || !found)
        return status;
    status = exec(store, "BEGIN IMMEDIATE", "starting a transaction");
    if (status != 0)
        return status;
    status = has_column(store, "source_files", "sha256", &found);
    if (status == 0 && found)
        status = exec(store, digest_migration, "converting source_files.sha256 to digests");
    if (status == 0)
        status = exec(store, "COMMIT", "committing the source_files conversion");
    if (status != 0)
        sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
    return status;
}


/* Runs the schema. Switching a new catalogue to WAL returns SQLITE_BUSY
 * without waiting when another process opens it at the same moment, because
 * SQLite skips the busy handler where waiting could deadlock. So a busy
 * schema is tried again, a little later each time, for up to
 * BUSY_TIMEOUT_MS. */
static int create_tables(ohlcx_store *store)
{
    long waited_ms = 0;

    for (long pause_ms = 1;; pause_ms = pause_ms < 64 ? pause_ms * 2 : 64) {
        struct timespec pause = {0, pause_ms * 1000000};

        if (sqlite3_exec(store->db, schema, NULL, NULL, NULL) == SQLITE_OK)
            return 0;
        if (sqlite3_errcode(store->db) != SQLITE_BUSY || waited_ms >= BUSY_TIMEOUT_MS)
            return sqlite_failed(store, "creating the tables");
        nanosleep(&pause, NULL);
        waited_ms += pause_ms;
    }
}


int store_catalog_open(ohlcx_store *store)
{
    char path[OHLCX_PATH_MAX + 32];
    int code;

    snprintf(path, sizeof path, "%s/catalog.sqlite", store->dir);
    code = sqlite3_open_v2(path, &store->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (code != SQLITE_OK) {
        int status = ohlcx_set_error(OHLCX_EIO, "cannot open catalogue %s: %s", path,
                                     store->db ? sqlite3_errmsg(store->db)
                                               : sqlite3_errstr(code));
        store_catalog_close(store);
        return status;
    }
    sqlite3_busy_timeout(store->db, BUSY_TIMEOUT_MS);
    code = create_tables(store);
    if (code == 0)
        code = migrate_derived_from(store);
    if (code == 0)
        code = migrate_source_digest(store);
    return code;
}


void store_catalog_close(ohlcx_store *store)
{
    sqlite3_close(store->db);
    store->db = NULL;
}


int store_catalog_version(ohlcx_store *store, const char *symbol, const char *timeframe,
                          int64_t *id, int64_t *version, uint64_t *rows, int64_t *first,
                          int64_t *last)
{
    static const char sql[] = "SELECT id, version, rows, first_open_time, last_open_time "
                              "FROM series WHERE symbol = ?1 AND timeframe = ?2";
    sqlite3_stmt *statement = NULL;
    int status = prepare(store, sql, &statement), code;

    if (status != 0)
        return status;
    sqlite3_bind_text(statement, 1, symbol, -1, SQLITE_STATIC);
    sqlite3_bind_text(statement, 2, timeframe, -1, SQLITE_STATIC);
    code = sqlite3_step(statement);
    if (code == SQLITE_ROW) {
        *id = sqlite3_column_int64(statement, 0);
        *version = sqlite3_column_int64(statement, 1);
        *rows = (uint64_t)sqlite3_column_int64(statement, 2);
        *first = sqlite3_column_int64(statement, 3);
        *last = sqlite3_column_int64(statement, 4);
    } else if (code == SQLITE_DONE) {
        status = 1;
    } else {
        status = sqlite_failed(store, "reading a series row");
    }
    sqlite3_finalize(statement);
    return status;
}


/* Runs a query with one text and an optional integer parameter, and sets
 * *found when it returns a row. */
static int query_exists(ohlcx_store *store, const char *sql, const char *text, int64_t number,
                        int *found)
{
    sqlite3_stmt *statement = NULL;
    int status = prepare(store, sql, &statement), code;

    if (status != 0)
        return status;
    sqlite3_bind_text(statement, 1, text, -1, SQLITE_STATIC);
    if (sqlite3_bind_parameter_count(statement) > 1)
        sqlite3_bind_int64(statement, 2, number);
    code = sqlite3_step(statement);
    *found = code == SQLITE_ROW;
    if (code != SQLITE_ROW && code != SQLITE_DONE)
        status = sqlite_failed(store, "looking up a source file");
    sqlite3_finalize(statement);
    return status;
}


int store_catalog_has_series_source(ohlcx_store *store, int64_t series_id, const char *digest,
                                    int *found)
{
    return query_exists(store,
                        "SELECT 1 FROM source_files WHERE digest = ?1 AND series_id = ?2",
                        digest, series_id, found);
}


static int upsert_series(ohlcx_store *store, const store_series_state *state, int64_t *id)
{
    static const char sql[] =
        "INSERT INTO series (symbol, timeframe, asset_class, source, rows, first_open_time, "
        "last_open_time, version, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
        "ON CONFLICT (symbol, timeframe) DO UPDATE SET asset_class = excluded.asset_class, "
        "source = excluded.source, rows = excluded.rows, "
        "first_open_time = excluded.first_open_time, last_open_time = excluded.last_open_time, "
        "version = excluded.version, updated_at = excluded.updated_at "
        "RETURNING id";
    const store_manifest *manifest = state->manifest;
    sqlite3_stmt *statement = NULL;
    int status = prepare(store, sql, &statement);

    if (status != 0)
        return status;
    sqlite3_bind_text(statement, 1, manifest->symbol, -1, SQLITE_STATIC);
    sqlite3_bind_text(statement, 2, manifest->timeframe, -1, SQLITE_STATIC);
    sqlite3_bind_text(statement, 3, ohlcx_asset_class_name(manifest->asset_class), -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(statement, 4, manifest->source, -1, SQLITE_STATIC);
    sqlite3_bind_int64(statement, 5, (sqlite3_int64)state->rows);
    sqlite3_bind_int64(statement, 6, state->first_open_time);
    sqlite3_bind_int64(statement, 7, state->last_open_time);
    sqlite3_bind_int64(statement, 8, manifest->version);
    sqlite3_bind_int64(statement, 9, ohlcx_wall_time_us());
    if (sqlite3_step(statement) == SQLITE_ROW)
        *id = sqlite3_column_int64(statement, 0);
    else
        status = sqlite_failed(store, "writing a series row");
    sqlite3_finalize(statement);
    return status;
}


static int insert_source(ohlcx_store *store, int64_t series_id,
                         const store_source_record *record)
{
    static const char sql[] =
        "INSERT OR IGNORE INTO source_files (path, digest, size, rows, added, identical, "
        "conflicts, series_id, ingested_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
    sqlite3_stmt *statement = NULL;
    int status = prepare(store, sql, &statement);

    if (status != 0)
        return status;
    sqlite3_bind_text(statement, 1, record->path, -1, SQLITE_STATIC);
    sqlite3_bind_text(statement, 2, record->digest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(statement, 3, record->size);
    sqlite3_bind_int64(statement, 4, record->rows);
    sqlite3_bind_int64(statement, 5, record->added);
    sqlite3_bind_int64(statement, 6, record->identical);
    sqlite3_bind_int64(statement, 7, record->conflicts);
    sqlite3_bind_int64(statement, 8, series_id);
    sqlite3_bind_int64(statement, 9, record->ingested_at);
    if (sqlite3_step(statement) != SQLITE_DONE)
        status = sqlite_failed(store, "recording a source file");
    sqlite3_finalize(statement);
    return status;
}


int store_catalog_commit(ohlcx_store *store, const store_series_state *state,
                         const store_source_record *record)
{
    int64_t id = 0;
    int status = exec(store, "BEGIN IMMEDIATE", "starting a transaction");

    if (status != 0)
        return status;
    status = upsert_series(store, state, &id);
    if (status == 0 && record != NULL)
        status = insert_source(store, id, record);
    if (status == 0)
        status = exec(store, "COMMIT", "committing a series update");
    if (status != 0)
        sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
    return status;
}


int store_catalog_delete(ohlcx_store *store, const char *symbol, const char *timeframe)
{
    static const char sql[] = "DELETE FROM series WHERE symbol = ?1 AND timeframe = ?2";
    sqlite3_stmt *statement = NULL;
    int status = prepare(store, sql, &statement);

    if (status != 0)
        return status;
    sqlite3_bind_text(statement, 1, symbol, -1, SQLITE_STATIC);
    sqlite3_bind_text(statement, 2, timeframe, -1, SQLITE_STATIC);
    if (sqlite3_step(statement) != SQLITE_DONE)
        status = sqlite_failed(store, "deleting a series row");
    sqlite3_finalize(statement);
    return status;
}


static void copy_text(sqlite3_stmt *statement, int column, char *out, size_t size)
{
    const unsigned char *text = sqlite3_column_text(statement, column);

    snprintf(out, size, "%s", text ? (const char *)text : "");
}


static int fill_entry(sqlite3_stmt *statement, ohlcx_store_entry *entry)
{
    const unsigned char *quality = sqlite3_column_text(statement, 10);
    char asset_class[32];

    memset(entry, 0, sizeof *entry);
    entry->id = sqlite3_column_int64(statement, 0);
    copy_text(statement, 1, entry->symbol, sizeof entry->symbol);
    copy_text(statement, 2, entry->timeframe, sizeof entry->timeframe);
    copy_text(statement, 3, asset_class, sizeof asset_class);
    entry->asset_class = store_asset_class_from_name(asset_class);
    copy_text(statement, 4, entry->source, sizeof entry->source);
    entry->rows = (size_t)sqlite3_column_int64(statement, 5);
    entry->first_open_time = sqlite3_column_int64(statement, 6);
    entry->last_open_time = sqlite3_column_int64(statement, 7);
    entry->version = sqlite3_column_int64(statement, 8);
    entry->updated_at = sqlite3_column_int64(statement, 9);
    copy_text(statement, 11, entry->derived_from, sizeof entry->derived_from);
    if (quality != NULL) {
        entry->quality = strdup((const char *)quality);
        if (entry->quality == NULL)
            return ohlcx_set_error(OHLCX_ENOMEM, "out of memory reading the catalogue");
    }
    return 0;
}


static int grow_entries(ohlcx_store_entry **entries, size_t count, size_t *capacity)
{
    ohlcx_store_entry *grown;

    if (count < *capacity)
        return 0;
    *capacity = *capacity ? 2 * *capacity : 16;
    grown = realloc(*entries, *capacity * sizeof *grown);
    if (grown == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory listing series");
    *entries = grown;
    return 0;
}


int ohlcx_store_list(ohlcx_store *store, const char *symbol, const char *timeframe,
                     ohlcx_store_entry **entries, size_t *count)
{
    char sql[256];
    sqlite3_stmt *statement = NULL;
    size_t capacity = 0;
    int status, code;

    *entries = NULL;
    *count = 0;
    snprintf(sql, sizeof sql,
             "%s WHERE (?1 IS NULL OR symbol = ?1) AND (?2 IS NULL OR timeframe = ?2) "
             "ORDER BY symbol, timeframe",
             entry_columns);
    status = prepare(store, sql, &statement);
    if (status != 0)
        return status;
    sqlite3_bind_text(statement, 1, symbol, -1, SQLITE_STATIC);
    sqlite3_bind_text(statement, 2, timeframe, -1, SQLITE_STATIC);
    while (status == 0 && (code = sqlite3_step(statement)) == SQLITE_ROW) {
        status = grow_entries(entries, *count, &capacity);
        if (status == 0)
            status = fill_entry(statement, &(*entries)[*count]);
        if (status == 0)
            (*count)++;
    }
    if (status == 0 && code != SQLITE_DONE)
        status = sqlite_failed(store, "listing series");
    sqlite3_finalize(statement);
    if (status != 0) {
        ohlcx_store_entries_free(*entries, *count);
        *entries = NULL;
        *count = 0;
    }
    return status;
}


void ohlcx_store_entries_free(ohlcx_store_entry *entries, size_t count)
{
    for (size_t i = 0; i < count; i++)
        ohlcx_store_entry_free(&entries[i]);
    free(entries);
}


void ohlcx_store_entry_free(ohlcx_store_entry *entry)
{
    free(entry->quality);
    entry->quality = NULL;
}


static int series_not_found(ohlcx_store *store, const char *symbol, const char *timeframe)
{
    return ohlcx_set_error(OHLCX_EINVAL,
                           "series %s %s not found in the catalogue of store %s: list the "
                           "stored series with `ohlcx ls --store %s`",
                           symbol, timeframe, store->dir, store->dir);
}


int ohlcx_store_get(ohlcx_store *store, const char *symbol, const char *timeframe,
                    ohlcx_store_entry *entry)
{
    ohlcx_store_entry *entries = NULL;
    size_t count = 0;
    int status;

    memset(entry, 0, sizeof *entry);
    if (symbol == NULL || timeframe == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "ohlcx_store_get needs a symbol and a timeframe");
    status = ohlcx_store_list(store, symbol, timeframe, &entries, &count);
    if (status != 0)
        return status;
    if (count == 0)
        status = series_not_found(store, symbol, timeframe);
    else
        *entry = entries[0]; /* takes over entries[0].quality */
    free(entries);
    return status;
}


int ohlcx_store_set_quality(ohlcx_store *store, const char *symbol, const char *timeframe,
                            const char *json)
{
    static const char sql[] = "UPDATE series SET quality = ?3, updated_at = ?4 "
                              "WHERE symbol = ?1 AND timeframe = ?2";
    sqlite3_stmt *statement = NULL;
    cJSON *parsed = json != NULL ? cJSON_Parse(json) : NULL;
    int status;

    if (parsed == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "quality summary for %s %s is not valid JSON",
                               symbol ? symbol : "", timeframe ? timeframe : "");
    cJSON_Delete(parsed);
    status = prepare(store, sql, &statement);
    if (status != 0)
        return status;
    sqlite3_bind_text(statement, 1, symbol, -1, SQLITE_STATIC);
    sqlite3_bind_text(statement, 2, timeframe, -1, SQLITE_STATIC);
    sqlite3_bind_text(statement, 3, json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(statement, 4, ohlcx_wall_time_us());
    if (sqlite3_step(statement) != SQLITE_DONE)
        status = sqlite_failed(store, "recording a quality summary");
    else if (sqlite3_changes(store->db) == 0)
        status = series_not_found(store, symbol, timeframe);
    sqlite3_finalize(statement);
    return status;
}


int ohlcx_store_set_derived(ohlcx_store *store, const char *symbol, const char *timeframe,
                            const char *derived_from)
{
    static const char sql[] = "UPDATE series SET derived_from = ?3, updated_at = ?4 "
                              "WHERE symbol = ?1 AND timeframe = ?2";
    sqlite3_stmt *statement = NULL;
    int status = prepare(store, sql, &statement);

    if (status != 0)
        return status;
    sqlite3_bind_text(statement, 1, symbol, -1, SQLITE_STATIC);
    sqlite3_bind_text(statement, 2, timeframe, -1, SQLITE_STATIC);
    if (derived_from != NULL && derived_from[0] != '\0')
        sqlite3_bind_text(statement, 3, derived_from, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(statement, 3);
    sqlite3_bind_int64(statement, 4, ohlcx_wall_time_us());
    if (sqlite3_step(statement) != SQLITE_DONE)
        status = sqlite_failed(store, "recording a derived series");
    else if (sqlite3_changes(store->db) == 0)
        status = series_not_found(store, symbol, timeframe);
    sqlite3_finalize(statement);
    return status;
}


int store_normalize_digest(const char *text, char out[OHLCX_STORE_DIGEST_MAX])
{
    const char *hex = text;
    const char *algorithm = "sha256";

    if (text != NULL && strncmp(text, "blake3:", 7) == 0) {
        algorithm = "blake3";
        hex = text + 7;
    } else if (text != NULL && strncmp(text, "sha256:", 7) == 0) {
        hex = text + 7;
    }
    if (hex == NULL || strlen(hex) != 64)
        goto invalid;
    for (int i = 0; i < 64; i++)
        if (!isxdigit((unsigned char)hex[i]))
            goto invalid;
    snprintf(out, OHLCX_STORE_DIGEST_MAX, "%s:%s", algorithm, hex);
    for (int i = 7; i < 7 + 64; i++)
        out[i] = (char)tolower((unsigned char)out[i]);
    return 0;

invalid:
    return ohlcx_set_error(OHLCX_EINVAL,
                           "invalid digest '%s': expected \"blake3:\" or \"sha256:\" and 64 "
                           "hex digits",
                           text ? text : "");
}


int ohlcx_store_has_source(ohlcx_store *store, const char *digest, int *found)
{
    char normalized[OHLCX_STORE_DIGEST_MAX];
    int status = store_normalize_digest(digest, normalized);

    *found = 0;
    if (status != 0)
        return status;
    return query_exists(store, "SELECT 1 FROM source_files WHERE digest = ?1 LIMIT 1",
                        normalized, 0, found);
}


static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash != NULL ? slash + 1 : path;
}


int ohlcx_store_has_source_named(ohlcx_store *store, const char *digest, const char *path,
                                 int *found)
{
    char normalized[OHLCX_STORE_DIGEST_MAX];
    sqlite3_stmt *statement = NULL;
    int status = store_normalize_digest(digest, normalized), code;

    *found = 0;
    if (status == 0)
        status = prepare(store, "SELECT path FROM source_files WHERE digest = ?1", &statement);
    if (status != 0)
        return status;
    sqlite3_bind_text(statement, 1, normalized, -1, SQLITE_STATIC);
    while ((code = sqlite3_step(statement)) == SQLITE_ROW && !*found) {
        const char *recorded = (const char *)sqlite3_column_text(statement, 0);

        *found = recorded != NULL && strcmp(base_name(recorded), base_name(path)) == 0;
    }
    if (code != SQLITE_ROW && code != SQLITE_DONE)
        status = sqlite_failed(store, "looking up a source file");
    sqlite3_finalize(statement);
    return status;
}


int ohlcx_store_has_source_size_digest(ohlcx_store *store, int64_t size, const char *algorithm,
                                       int *found)
{
    char prefix[16];

    *found = 0;
    if (algorithm == NULL || (strcmp(algorithm, "blake3") != 0 && strcmp(algorithm, "sha256") != 0))
        return ohlcx_set_error(OHLCX_EINVAL, "invalid digest algorithm '%s': expected blake3 "
                               "or sha256", algorithm ? algorithm : "");
    snprintf(prefix, sizeof prefix, "%s:", algorithm);
    return query_exists(store,
                        "SELECT 1 FROM source_files WHERE substr(digest, 1, 7) = ?1 "
                        "AND size = ?2 LIMIT 1",
                        prefix, size, found);
}


int ohlcx_store_has_source_size(ohlcx_store *store, int64_t size, int *found)
{
    sqlite3_stmt *statement = NULL;
    int status = prepare(store, "SELECT 1 FROM source_files WHERE size = ?1 LIMIT 1", &statement);
    int code;

    *found = 0;
    if (status != 0)
        return status;
    sqlite3_bind_int64(statement, 1, size);
    code = sqlite3_step(statement);
    *found = code == SQLITE_ROW;
    if (code != SQLITE_ROW && code != SQLITE_DONE)
        status = sqlite_failed(store, "looking up a source file size");
    sqlite3_finalize(statement);
    return status;
}
