/*
 * Helpers shared by the format tests: paths of the snippets in
 * $OHLCX_TEST_DATA/format and of the real data folder, and reading a
 * snippet with options. Include after <cmocka.h>.
 */
#ifndef TEST_FORMAT_HELPERS_H
#define TEST_FORMAT_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ohlcx/error.h"
#include "ohlcx/format.h"
#include "ohlcx/series.h"

#define US INT64_C(1000000)


/* Returns $OHLCX_TEST_DATA/format/name in a static buffer. */
static inline const char *snippet_path(const char *name)
{
    static char buffer[2048];
    const char *root = getenv("OHLCX_TEST_DATA");

    snprintf(buffer, sizeof buffer, "%s/format/%s", root ? root : "tests/data", name);
    return buffer;
}


/* Reads a snippet with the given policy, columns option and zone. */
static inline int read_with(const char *name, int policy, const char *columns, const char *tz,
                            ohlcx_series *series, ohlcx_read_report *report)
{
    ohlcx_read_options options = {NULL, NULL, policy};
    ohlcx_layout_options layout = {columns, tz};

    ohlcx_series_init(series);
    return ohlcx_read_candles_ex(snippet_path(name), &options, &layout, series, report);
}


static inline void assert_text_contains(const char *text, const char *part)
{
    if (strstr(text, part) == NULL)
        fail_msg("expected \"%s\" in \"%s\"", part, text);
}


/* Returns the real data folder: $OHLCX_REAL_DATA, else the shared folder
 * next to the source tree. */
static inline const char *real_data_folder(char *buffer, size_t size)
{
    const char *root = getenv("OHLCX_REAL_DATA");
    const char *test_data = getenv("OHLCX_TEST_DATA");

    if (root != NULL && root[0] != '\0')
        return root;
    snprintf(buffer, size, "%s/../../../shared/data/real", test_data ? test_data : "tests/data");
    return buffer;
}


static inline int real_data_is_required(void)
{
    const char *value = getenv("OHLCX_REQUIRE_REAL_DATA");

    return value != NULL && value[0] != '\0' && strcmp(value, "0") != 0;
}

#endif
