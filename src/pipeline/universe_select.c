/*
 * Universe selection for `ohlcx run --universe FILE`: of the series that were
 * loaded, keeps those the universe lists, in load order, and gives each the
 * asset class of its group instead of the one guessed from the symbol.
 *
 * A listed (symbol, timeframe) that no loaded series matches is an error,
 * because a run that silently trains on part of a universe reports figures
 * for something else than was asked. Loaded series that the universe does
 * not list are left out with one log line. Symbols compare without regard
 * to case, as file names often lower-case them; timeframes compare in their
 * canonical form.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "ohlcx/error.h"
#include "ohlcx/universe.h"
#include "util/util.h"

/* Missing series named in the error before "and N more". */
#define MISSING_NAMED 5

/* One (asset class, symbol, timeframe) of the universe. */
typedef struct listed_series {
    int asset_class;
    const char *symbol;
    const char *timeframe;
    int found; /* 0, or 1 + the index of the loaded series that matches */
} listed_series;


static listed_series *list_universe(const ohlcx_universe *universe)
{
    listed_series *listed = calloc(universe->series_count ? universe->series_count : 1,
                                   sizeof *listed);
    size_t n = 0;

    if (listed == NULL)
        return NULL;
    for (size_t g = 0; g < universe->group_count; g++) {
        const ohlcx_universe_group *group = &universe->groups[g];

        for (size_t s = 0; s < group->symbol_count; s++)
            for (int t = 0; t < group->timeframe_count && n < universe->series_count; t++)
                listed[n++] = (listed_series){group->asset_class, group->symbols[s],
                                              group->timeframes[t], 0};
    }
    return listed;
}


/* Finds the universe entry of a series; sets *entry to -1 when there is
 * none. Fails when the universe lists the pair under two asset classes,
 * because a candle file does not name its class. */
static int find_listed(const ohlcx_universe *universe, listed_series *listed,
                       const ohlcx_series *bars, long *entry)
{
    *entry = -1;
    for (size_t i = 0; i < universe->series_count; i++) {
        if (strcasecmp(listed[i].symbol, bars->symbol) != 0 ||
            strcmp(listed[i].timeframe, bars->timeframe) != 0)
            continue;
        if (*entry >= 0)
            return ohlcx_set_error(OHLCX_EINVAL,
                                   "%s: %s %s is listed under both %s and %s; a candle file "
                                   "does not name its class, so list it under one",
                                   universe->path, bars->symbol, bars->timeframe,
                                   ohlcx_asset_class_name(listed[*entry].asset_class),
                                   ohlcx_asset_class_name(listed[i].asset_class));
        *entry = (long)i;
    }
    return 0;
}


static int report_missing(const ohlcx_universe *universe, const listed_series *listed,
                          const char *source)
{
    char names[MISSING_NAMED * (OHLCX_SYMBOL_MAX + OHLCX_TIMEFRAME_MAX + 2)] = "";
    size_t missing = 0, used = 0;

    for (size_t i = 0; i < universe->series_count; i++) {
        if (listed[i].found)
            continue;
        if (missing < MISSING_NAMED && used < sizeof names)
            used += (size_t)snprintf(names + used, sizeof names - used, "%s%s %s",
                                     missing ? ", " : "", listed[i].symbol, listed[i].timeframe);
        missing++;
    }
    if (missing == 0)
        return 0;
    if (missing > MISSING_NAMED)
        return ohlcx_set_error(OHLCX_EDATA,
                               "%s lists %zu series, and %zu of them are not in %s: %s and %zu "
                               "more (write them with 'ohlcx synth --universe' or ingest them)",
                               universe->path, universe->series_count, missing, source, names,
                               missing - MISSING_NAMED);
    return ohlcx_set_error(OHLCX_EDATA,
                           "%s lists %zu series, and %zu of them %s not in %s: %s (write %s "
                           "with 'ohlcx synth --universe' or ingest %s)",
                           universe->path, universe->series_count, missing,
                           missing == 1 ? "is" : "are", source, names,
                           missing == 1 ? "it" : "them", missing == 1 ? "it" : "them");
}


/* Frees what one series holds; pipeline_free_series() also frees the array. */
static void free_one(pipeline_series *series)
{
    ohlcx_series_free(&series->bars);
    ohlcx_read_report_free(&series->read);
    free(series->features);
    free(series->long_gap_rows);
    memset(series, 0, sizeof *series);
}


int pipeline_select_universe(const ohlcx_universe *universe, const char *source,
                             pipeline_series *series, size_t *count)
{
    listed_series *listed = list_universe(universe);
    long *entries = malloc((*count ? *count : 1) * sizeof *entries);
    size_t kept_count = 0;
    int status = 0;

    if (listed == NULL || entries == NULL) {
        status = ohlcx_set_error(OHLCX_ENOMEM, "out of memory listing the universe %s",
                                 universe->path);
        goto done;
    }
    /* Match everything first, so that a failure leaves the series as they
     * were. found becomes 1 + the index of the first series that matches. */
    for (size_t i = 0; i < *count && status == 0; i++) {
        status = find_listed(universe, listed, &series[i].bars, &entries[i]);
        if (status != 0 || entries[i] < 0)
            continue;
        if (listed[entries[i]].found)
            status = ohlcx_set_error(
                OHLCX_EINVAL, "%s and %s are both %s %s of the universe %s: give each series once",
                series[listed[entries[i]].found - 1].bars.source_path, series[i].bars.source_path,
                listed[entries[i]].symbol, listed[entries[i]].timeframe, universe->path);
        listed[entries[i]].found = (int)i + 1;
    }
    if (status != 0)
        goto done;
    for (size_t i = 0; i < *count; i++) {
        if (entries[i] < 0) {
            free_one(&series[i]);
            continue;
        }
        series[i].bars.asset_class = listed[entries[i]].asset_class;
        if (kept_count != i)
            series[kept_count] = series[i];
        kept_count++;
    }
    if (kept_count < *count)
        ohlcx_log_info("%zu series of %s are not in the universe %s and are left out",
                       *count - kept_count, source, universe->path);
    *count = kept_count;
    status = report_missing(universe, listed, source);
done:
    free(entries);
    free(listed);
    return status;
}
