/*
 * Helpers shared by the ingest tests that build a store in a temporary
 * folder: removing the folder (test_folder_helpers.h) and reading the digest
 * the catalogue records for a source file. Include after <cmocka.h>.
 */
#ifndef TEST_INGEST_HELPERS_H
#define TEST_INGEST_HELPERS_H

#include <stdio.h>

#include <sqlite3.h>

#include "test_folder_helpers.h"


/* Writes the digest that store's catalogue records for the source file
 * path into out (empty when it has none) and returns how many records it
 * has for that path. */
static int recorded_digest(const char *store, const char *path, char *out, size_t size)
{
    char catalog[320];
    sqlite3 *db = NULL;
    sqlite3_stmt *statement = NULL;
    int count = 0;

    snprintf(catalog, sizeof catalog, "%s/catalog.sqlite", store);
    assert_int_equal(sqlite3_open(catalog, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT digest FROM source_files WHERE path = ?1", -1,
                                        &statement, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(statement, 1, path, -1, SQLITE_STATIC);
    out[0] = '\0';
    while (sqlite3_step(statement) == SQLITE_ROW) {
        if (count == 0)
            snprintf(out, size, "%s", (const char *)sqlite3_column_text(statement, 0));
        count++;
    }
    sqlite3_finalize(statement);
    sqlite3_close(db);
    return count;
}

#endif
