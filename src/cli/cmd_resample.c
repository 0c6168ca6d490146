/*
 * `ohlcx resample`: derive coarser timeframes from the finest ingested
 * series of each symbol and store them, marked as derived in the catalogue.
 *
 * Each run resamples the whole source series and merges the bins into the
 * stored derived series with ohlcx_store_append_replacing(): new bins are
 * added, unchanged ones skipped, and a bin that differs from the stored one
 * (a bin stored while still open, completed since) replaces it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ohlcx/error.h"
#include "ohlcx/format.h"
#include "ohlcx/resample.h"
#include "ohlcx/store.h"
#include "util/util.h"

#define TARGETS_MAX OHLCX_RESAMPLE_TARGETS_MAX

static const char resample_help[] =
    "usage: ohlcx resample --store DIR --to TF[,TF...] [OPTIONS] [SYMBOL...]\n"
    "\n"
    "Build coarser timeframes from the finest ingested series of each symbol\n"
    "(all symbols in the store when none are named) and store them, marked as\n"
    "derived in the catalogue. A bin is labelled by its open time: open is the\n"
    "first sub-bar's open, high the maximum, low the minimum, close the last\n"
    "close, volume and the other additive columns the sums. A bin with fewer\n"
    "sub-bars than its timeframe holds, and the last bin while it is still\n"
    "open, are flagged partial; repaired and synthetic sub-bars flag their bins.\n"
    "\n"
    "options:\n"
    "  --store DIR           store folder\n"
    "  --to LIST             target timeframes, comma-separated: 3m 5m 15m 30m 1h\n"
    "                        2h 4h 6h 8h 12h 1d 3d 1w 1M 3M\n"
    "  --day-start MODE      utc: 1d bins start at 00:00 UTC (default); session:\n"
    "                        at the market's session start (forex 17:00 and\n"
    "                        stocks 00:00 America/New_York, others 00:00 UTC)\n"
    "  --session-start HH:MM local start of a session day (implies session)\n"
    "  --session-zone ZONE   IANA zone of a session day (implies session)\n"
    "  --complete-only       drop the last bin while it is still open\n"
    "  --now TIME            bins ending after TIME (UTC) are open (default: the\n"
    "                        end of the last source bar)\n"
    "  -h, --help            print this help\n"
    "\n"
    "Prints one line per series and a summary line to stdout. Exit status: 0 on\n"
    "success, 2 on bad usage or input.\n";

typedef struct resample_run {
    const char *store_dir;
    char targets[TARGETS_MAX][OHLCX_TIMEFRAME_MAX];
    int target_count;
    ohlcx_resample_options options;
    char session_zone[128];
    size_t symbols, series, bins_added, identical, replaced, partial, open_bins, skipped;
    double read_seconds, resample_seconds, write_seconds; /* wall time of each stage */
} resample_run;


/* Parses the --to list. As with run --higher, an empty item or a timeframe
 * listed twice (also under an alias such as 60m) is a usage error. */
static int parse_targets(const char *text, resample_run *run)
{
    char list[256];
    char *name = list;

    if (strlen(text) >= sizeof list)
        return cli_usage_error("resample", "--to list '%s' is too long", text);
    snprintf(list, sizeof list, "%s", text);
    for (;;) {
        char *comma = strchr(name, ',');
        char canonical[OHLCX_TIMEFRAME_MAX];

        if (comma != NULL)
            *comma = '\0';
        if (name[0] == '\0')
            return cli_usage_error("resample", "empty item in --to '%s': list timeframes "
                                               "separated by single commas",
                                   text);
        if (ohlcx_timeframe_parse(name, canonical) != 0)
            return cli_usage_error("resample",
                                   "invalid timeframe '%s' in --to: use 3m 5m 15m 30m 1h 2h 4h "
                                   "6h 8h 12h 1d 3d 1w 1M 3M",
                                   name);
        for (int i = 0; i < run->target_count; i++)
            if (strcmp(run->targets[i], canonical) == 0)
                return cli_usage_error("resample", "timeframe %s is listed twice in --to '%s'",
                                       canonical, text);
        if (run->target_count == TARGETS_MAX)
            return cli_usage_error("resample", "too many timeframes in --to '%s'", text);
        snprintf(run->targets[run->target_count++], OHLCX_TIMEFRAME_MAX, "%s", canonical);
        if (comma == NULL)
            break;
        name = comma + 1;
    }
    return 0;
}


/* Parses HH:MM into minutes after midnight. */
static int parse_session_start(const char *text, int *minute)
{
    int hours, minutes, used = 0;

    if (sscanf(text, "%2d:%2d%n", &hours, &minutes, &used) != 2 || text[used] != '\0' ||
        hours < 0 || hours > 23 || minutes < 0 || minutes > 59)
        return cli_usage_error("resample", "invalid --session-start '%s': use HH:MM, such as 17:00",
                               text);
    *minute = hours * 60 + minutes;
    return 0;
}


/* Returns the catalogue entry of the finest ingested series of symbol, or
 * NULL when the store has none. */
static const ohlcx_store_entry *finest_ingested(const ohlcx_store_entry *entries, size_t count,
                                                const char *symbol)
{
    const ohlcx_store_entry *finest = NULL;

    for (size_t i = 0; i < count; i++) {
        if (strcmp(entries[i].symbol, symbol) != 0 || entries[i].derived_from[0] != '\0')
            continue;
        if (finest == NULL ||
            ohlcx_timeframe_id(entries[i].timeframe) < ohlcx_timeframe_id(finest->timeframe))
            finest = &entries[i];
    }
    return finest;
}


static const ohlcx_store_entry *find_entry(const ohlcx_store_entry *entries, size_t count,
                                           const char *symbol, const char *timeframe)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(entries[i].symbol, symbol) == 0 && strcmp(entries[i].timeframe, timeframe) == 0)
            return &entries[i];
    return NULL;
}


/* Stores the bins of one target. */
static int store_target(ohlcx_store *store, resample_run *run, const ohlcx_store_entry *source_entry,
                        const ohlcx_series *source, const ohlcx_resampled *bins)
{
    ohlcx_store_source origin = {NULL, NULL, 0, source_entry->source};
    const char *target = bins->series.timeframe;
    ohlcx_append_report report;
    double started = ohlcx_now_seconds();
    int status = 0;

    memset(&report, 0, sizeof report);
    if (bins->series.n > 0) {
        status = ohlcx_store_append_replacing(store, &bins->series, &origin, &report);
        if (status == 0)
            status = ohlcx_store_set_derived(store, source->symbol, target, source->timeframe);
        if (status != 0)
            return status;
    }
    run->write_seconds += ohlcx_now_seconds() - started;

    printf("%s %s from %s: %zu bin%s (%zu partial, %zu still open%s), %zu added, %zu identical, "
           "%zu replaced\n",
           source->symbol, target, source->timeframe, bins->series.n, ohlcx_plural(bins->series.n),
           bins->partial,
           bins->open_bins, run->options.complete_only && bins->open_bins ? " dropped" : "",
           report.added, report.identical, report.replaced);
    run->series++;
    run->bins_added += report.added;
    run->identical += report.identical;
    run->replaced += report.replaced;
    run->partial += bins->partial;
    run->open_bins += bins->open_bins;
    return 0;
}


/* Picks the targets of one symbol: coarser than its source, and not an
 * ingested series of the store, which is kept as it is. */
static int select_targets(const resample_run *run, const ohlcx_store_entry *entries, size_t count,
                          const ohlcx_series *source, const char **selected, size_t *skipped)
{
    int selected_count = 0;

    for (int i = 0; i < run->target_count; i++) {
        const char *target = run->targets[i];
        const ohlcx_store_entry *stored = find_entry(entries, count, source->symbol, target);

        if (ohlcx_timeframe_id(target) <= ohlcx_timeframe_id(source->timeframe)) {
            ohlcx_log_info("%s %s skipped: not coarser than the finest series, %s",
                           source->symbol, target, source->timeframe);
            (*skipped)++;
        } else if (stored != NULL && stored->derived_from[0] == '\0') {
            ohlcx_log_info("%s %s skipped: the store has an ingested %s series, which is kept",
                           source->symbol, target, target);
            (*skipped)++;
        } else {
            selected[selected_count++] = target;
        }
    }
    return selected_count;
}


static int resample_symbol(ohlcx_store *store, resample_run *run, const ohlcx_store_entry *entries,
                           size_t count, const char *symbol)
{
    const ohlcx_store_entry *source_entry = finest_ingested(entries, count, symbol);
    ohlcx_series source;
    double started = ohlcx_now_seconds();
    int status;

    if (source_entry == NULL)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "symbol %s has no ingested series in store %s: list them with "
                               "`ohlcx ls --store %s`",
                               symbol, run->store_dir, run->store_dir);
    ohlcx_series_init(&source);
    status = ohlcx_store_read(store, symbol, source_entry->timeframe, &source);
    run->read_seconds += ohlcx_now_seconds() - started;
    ohlcx_log_info("resampling %s %s: %zu bars", symbol, source_entry->timeframe, source.n);

    if (status == 0) {
        ohlcx_resampled bins[TARGETS_MAX];
        const char *selected[TARGETS_MAX];
        int selected_count = select_targets(run, entries, count, &source, selected, &run->skipped);

        for (int i = 0; i < selected_count; i++)
            ohlcx_resampled_init(&bins[i]);
        started = ohlcx_now_seconds();
        status = ohlcx_resample_many(&source, selected, selected_count, &run->options, bins);
        run->resample_seconds += ohlcx_now_seconds() - started;
        for (int i = 0; status == 0 && i < selected_count; i++)
            status = store_target(store, run, source_entry, &source, &bins[i]);
        for (int i = 0; i < selected_count; i++)
            ohlcx_resampled_free(&bins[i]);
    }
    run->symbols++;
    ohlcx_series_free(&source);
    return status;
}


/* Resamples the named symbols, or every symbol of the store. */
static int resample_store(resample_run *run, char **symbols, int symbol_count)
{
    ohlcx_store_entry *entries = NULL;
    ohlcx_store *store = NULL;
    ohlcx_progress progress;
    size_t count = 0;
    int status = ohlcx_store_open_existing(run->store_dir, &store);

    if (status == 0)
        status = ohlcx_store_list(store, NULL, NULL, &entries, &count);
    ohlcx_progress_start(&progress, "resample");
    if (status == 0 && symbol_count > 0) {
        for (int i = 0; status == 0 && i < symbol_count; i++) {
            status = resample_symbol(store, run, entries, count, symbols[i]);
            ohlcx_progress_update(&progress, i + 1, symbol_count);
        }
    } else if (status == 0) {
        for (size_t i = 0; status == 0 && i < count; i++) {
            /* The list is sorted by symbol, so a symbol starts where it differs. */
            if (i > 0 && strcmp(entries[i].symbol, entries[i - 1].symbol) == 0)
                continue;
            if (finest_ingested(entries, count, entries[i].symbol) == NULL)
                continue;
            status = resample_symbol(store, run, entries, count, entries[i].symbol);
            ohlcx_progress_update(&progress, (double)(i + 1), (double)count);
        }
    }
    ohlcx_progress_finish(&progress);
    ohlcx_store_entries_free(entries, count);
    ohlcx_store_close(store);
    return status;
}


int cmd_resample(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"store", required_argument, NULL, 'S'},
        {"to", required_argument, NULL, 't'},
        {"day-start", required_argument, NULL, 'd'},
        {"session-start", required_argument, NULL, 'm'},
        {"session-zone", required_argument, NULL, 'z'},
        {"complete-only", no_argument, NULL, 'c'},
        {"now", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    resample_run run;
    int option, bad = 0, status;

    memset(&run, 0, sizeof run);
    ohlcx_resample_options_init(&run.options);
    optind = 1;
    while (!bad && (option = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        switch (option) {
        case 'S': run.store_dir = optarg; break;
        case 't': bad = parse_targets(optarg, &run); break;
        case 'd':
            if (strcmp(optarg, "utc") == 0)
                run.options.day_start = OHLCX_DAY_UTC;
            else if (strcmp(optarg, "session") == 0)
                run.options.day_start = OHLCX_DAY_SESSION;
            else
                bad = cli_usage_error("resample", "invalid --day-start '%s': use utc or session",
                                      optarg);
            break;
        case 'm':
            bad = parse_session_start(optarg, &run.options.session_minute);
            run.options.day_start = OHLCX_DAY_SESSION;
            break;
        case 'z':
            snprintf(run.session_zone, sizeof run.session_zone, "%s", optarg);
            run.options.session_zone = run.session_zone;
            run.options.day_start = OHLCX_DAY_SESSION;
            break;
        case 'c': run.options.complete_only = 1; break;
        case 'n':
            if (ohlcx_parse_datetime(optarg, strlen(optarg), &run.options.now_us) != 0)
                bad = cli_usage_error("resample", "invalid --now '%s': use YYYY-MM-DD HH:MM:SS",
                                      optarg);
            break;
        case 'h': fputs(resample_help, stdout); return 0;
        default: bad = 2; break;
        }
    }
    if (bad)
        return 2;
    if (run.store_dir == NULL)
        return cli_usage_error("resample", "missing --store DIR");
    if (run.target_count == 0)
        return cli_usage_error("resample", "missing --to TF[,TF...]");

    status = resample_store(&run, argv + optind, argc - optind);
    if (status != 0)
        return cli_fail(status);
    ohlcx_log_info("stages: %.6f s reading sources, %.6f s resampling, %.6f s writing series",
                   run.read_seconds, run.resample_seconds, run.write_seconds);
    printf("resample: %zu symbol%s, %zu series written (%zu skipped); %zu bin%s added, "
           "%zu identical, %zu replaced; %zu partial, %zu still open%s\n",
           run.symbols, ohlcx_plural(run.symbols), run.series, run.skipped, run.bins_added,
           ohlcx_plural(run.bins_added), run.identical, run.replaced, run.partial, run.open_bins,
           run.options.complete_only ? " (dropped)" : "");
    return 0;
}
