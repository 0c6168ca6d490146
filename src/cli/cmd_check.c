/* `ohlcx check`: the data-quality checks on files or a store, with a report. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "ohlcx/check.h"
#include "ohlcx/error.h"
#include "ohlcx/format.h"
#include "ohlcx/quality.h"
#include "ohlcx/store.h"
#include "ohlcx/universe.h"
#include "util/util.h"

static const char check_help[] =
    "usage: ohlcx check [OPTIONS] FILE|DIR...\n"
    "       ohlcx check --store DIR [OPTIONS]\n"
    "\n"
    "Run the data-quality checks on every series: completeness against the\n"
    "market calendar, gaps, price, volume and timestamp checks, freshness. Prints\n"
    "a summary line per series and, with --json, writes the full report (schema\n"
    "in docs/quality.md).\n"
    "\n"
    "options:\n"
    "  --store DIR         check the series of a store instead of files\n"
    "  --json FILE         write the JSON report to FILE\n"
    "  --policy POLICY     report: check only (default); repair: also show what a\n"
    "                      repair would do; strict: warnings count as failures\n"
    "  --now TIME          reference time, UTC, for future bars, the partial last\n"
    "                      bar and freshness (default: the current time)\n"
    "  --calendar NAME     auto (default), crypto, forex, us-equity or inferred\n"
    "  --universe FILE     give each series the asset class of the universe group\n"
    "                      that lists its symbol (docs/universe.md), and so the\n"
    "                      calendar that auto picks for that class; a series it\n"
    "                      does not list keeps the class read from its name\n"
    "  --max-missing R     largest missing-bar ratio that passes (default: 0.01)\n"
    "  --max-fill N        longest gap in bars that a repair fills (default: 3)\n"
    "  --bad-rows POLICY   fail (default) or skip unparseable rows\n"
    "  --close-tolerance R files of the same symbol and timeframe are compared\n"
    "                      bar by bar; closes further apart than R (relative)\n"
    "                      are reported (default: 0.001)\n"
    "  -h, --help          print this help\n"
    "\n"
    "Exit status: 0 when every series passes (warnings included), 1 when any\n"
    "fails, 2 on bad usage or unreadable input.\n";

typedef struct check_run {
    ohlcx_check_options options;
    const ohlcx_universe *universe; /* NULL without --universe */
    double close_tolerance; /* cross-source: largest relative close difference */
    FILE *json;
    size_t series;
    size_t failed;
    ohlcx_series *kept;     /* validated copies of file series, for cross-source */
    size_t kept_count;
} check_run;


static int parse_calendar(const char *text, int *out)
{
    static const struct {
        const char *name;
        int calendar;
    } names[] = {{"auto", OHLCX_CALENDAR_AUTO},   {"crypto", OHLCX_CALENDAR_ALWAYS},
                 {"forex", OHLCX_CALENDAR_FOREX}, {"us-equity", OHLCX_CALENDAR_US_EQUITY},
                 {"inferred", OHLCX_CALENDAR_INFERRED}};

    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        if (strcmp(text, names[i].name) == 0) {
            *out = names[i].calendar;
            return 0;
        }
    }
    cli_usage_error("check", "invalid --calendar '%s': use auto, crypto, forex, us-equity or "
                    "inferred", text);
    return -1;
}


static void print_summary(const ohlcx_quality_report *report)
{
    printf("%-12s %-4s %-4s rows %zu, missing %.2f%% (%s calendar)", report->symbol,
           report->timeframe, ohlcx_verdict_name(report->verdict), report->rows,
           100 * report->missing_ratio, ohlcx_calendar_name(report->calendar));
    for (size_t i = 0; i < report->check_count; i++)
        if (report->checks[i].count > 0 && report->checks[i].severity > OHLCX_SEVERITY_INFO)
            printf(", %s %zu", report->checks[i].name, report->checks[i].count);
    for (size_t i = 0; i < report->repair_count; i++)
        if (report->repairs[i].count > 0)
            printf(", repair %s %zu", report->repairs[i].name, report->repairs[i].count);
    printf("  %s\n", report->source);
}


/* Asset class of a symbol in the universe: none found yet, or found in
 * groups of two classes. Otherwise an enum ohlcx_asset_class. */
enum { CLASS_NONE = -1, CLASS_AMBIGUOUS = -2 };


static void merge_class(int *found, int asset_class)
{
    if (*found == CLASS_NONE)
        *found = asset_class;
    else if (*found != asset_class)
        *found = CLASS_AMBIGUOUS;
}


static int group_lists_symbol(const ohlcx_universe_group *group, const char *symbol)
{
    for (size_t s = 0; s < group->symbol_count; s++)
        if (strcasecmp(group->symbols[s], symbol) == 0)
            return 1;
    return 0;
}


static int group_lists_timeframe(const ohlcx_universe_group *group, const char *timeframe)
{
    for (int t = 0; t < group->timeframe_count; t++)
        if (strcmp(group->timeframes[t], timeframe) == 0)
            return 1;
    return 0;
}


/*
 * Sets the asset class of series from the universe group that lists it, so
 * that --calendar auto resolves the group's calendar. Symbols compare
 * without regard to case, as file names often lower-case them. Groups that
 * list the symbol at the series' timeframe decide, else any group that
 * lists the symbol, because a market's class does not depend on the
 * timeframe. A series that no group lists, or that groups of two classes
 * list, keeps the class read from its name, with a note.
 */
static void apply_universe(const ohlcx_universe *universe, ohlcx_series *series)
{
    int at_timeframe = CLASS_NONE, any_timeframe = CLASS_NONE, found;

    for (size_t g = 0; g < universe->group_count; g++) {
        const ohlcx_universe_group *group = &universe->groups[g];

        if (!group_lists_symbol(group, series->symbol))
            continue;
        merge_class(&any_timeframe, group->asset_class);
        if (group_lists_timeframe(group, series->timeframe))
            merge_class(&at_timeframe, group->asset_class);
    }
    found = at_timeframe != CLASS_NONE ? at_timeframe : any_timeframe;

    if (found >= 0) {
        series->asset_class = found;
    } else if (found == CLASS_AMBIGUOUS) {
        ohlcx_log_info("%s: %s %s is listed under two asset classes in %s, so it keeps the "
                       "class read from its name (%s)", series->source_path, series->symbol,
                       series->timeframe, universe->path,
                       ohlcx_asset_class_name(series->asset_class));
    } else {
        ohlcx_log_info("%s: %s is not listed in %s, so it keeps the class read from its name "
                       "(%s)", series->source_path, series->symbol, universe->path,
                       ohlcx_asset_class_name(series->asset_class));
    }
}


/* Checks one series, prints its line and appends its JSON object. */
static int check_one(check_run *run, ohlcx_series *series)
{
    ohlcx_quality_report report;
    char *json = NULL;
    int status;

    if (run->universe != NULL)
        apply_universe(run->universe, series);
    memset(&report, 0, sizeof report);
    status = ohlcx_check_series(series, &run->options, &report);
    if (status == 0 && run->json != NULL)
        status = ohlcx_quality_report_json(&report, &json);
    if (status == 0) {
        print_summary(&report);
        if (run->json != NULL)
            fprintf(run->json, "%s%s", run->series ? ",\n" : "", json);
        run->series++;
        run->failed += report.verdict == OHLCX_VERDICT_FAIL;
    }
    free(json);
    ohlcx_quality_report_free(&report);
    return status;
}


/* Compares every pair of kept series with the same symbol and timeframe,
 * prints a line per pair and writes the "cross_source" JSON array. */
static int compare_sources(check_run *run)
{
    size_t pairs = 0;
    int status = 0;

    if (run->json != NULL)
        fputs("\n],\n\"cross_source\": [\n", run->json);
    for (size_t i = 0; i < run->kept_count && status == 0; i++) {
        for (size_t j = i + 1; j < run->kept_count && status == 0; j++) {
            const ohlcx_series *a = &run->kept[i], *b = &run->kept[j];
            ohlcx_source_comparison result;

            if (strcmp(a->symbol, b->symbol) != 0 || strcmp(a->timeframe, b->timeframe) != 0)
                continue;
            status = ohlcx_compare_sources(a, b, run->close_tolerance, &result);
            if (status != 0)
                break;
            printf("cross-source %s %s: %s against %s: %zu bar%s compared, %zu close%s by "
                   "more than %g%% (largest %.4f%%), %zu missing in the first, %zu in the second\n",
                   a->symbol, a->timeframe, a->source_path, b->source_path, result.compared,
                   result.compared == 1 ? "" : "s", result.close_mismatches,
                   result.close_mismatches == 1 ? " differs" : "s differ",
                   100 * run->close_tolerance, 100 * result.max_difference, result.missing_in_a,
                   result.missing_in_b);
            if (run->json != NULL) {
                fprintf(run->json,
                        "%s{\"symbol\": \"%s\", \"timeframe\": \"%s\", \"a\": \"%s\", "
                        "\"b\": \"%s\", \"compared\": %zu, \"close_mismatches\": %zu, "
                        "\"max_difference\": %.10g, \"missing_in_a\": %zu, \"missing_in_b\": %zu}",
                        pairs ? ",\n" : "", a->symbol, a->timeframe, a->source_path,
                        b->source_path, result.compared, result.close_mismatches,
                        result.max_difference, result.missing_in_a, result.missing_in_b);
            }
            pairs++;
        }
    }
    return status;
}


static int check_files(check_run *run, char **files, size_t count, int bad_rows)
{
    int status = 0;

    run->kept = calloc(count ? count : 1, sizeof *run->kept);
    if (run->kept == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory checking %zu files", count);

    for (size_t i = 0; i < count && status == 0; i++) {
        ohlcx_read_options read_options = {.bad_rows = bad_rows};
        ohlcx_validation validation;
        ohlcx_read_report read;
        ohlcx_series series;

        ohlcx_series_init(&series);
        memset(&read, 0, sizeof read);
        status = ohlcx_read_candles(files[i], &read_options, &series, &read);
        if (status == 0 && read.bad_row_count > 0)
            ohlcx_log_warn("%s: %zu unparseable rows skipped", files[i], read.bad_row_count);
        if (status == 0)
            status = check_one(run, &series);

        /* Keep a validated copy for the cross-source comparison. */
        if (status == 0)
            status = ohlcx_validate_basic(&series, &validation);
        if (status == 0)
            run->kept[run->kept_count++] = series;
        else
            ohlcx_series_free(&series);
        ohlcx_read_report_free(&read);
    }
    if (status == 0)
        status = compare_sources(run);
    return status;
}


static int check_store(check_run *run, const char *store_dir)
{
    ohlcx_store_entry *entries = NULL;
    ohlcx_store *store = NULL;
    size_t count = 0;
    int status = ohlcx_store_open_existing(store_dir, &store);

    if (status == 0)
        status = ohlcx_store_list(store, NULL, NULL, &entries, &count);
    for (size_t i = 0; i < count && status == 0; i++) {
        ohlcx_series series;

        ohlcx_series_init(&series);
        status = ohlcx_store_read(store, entries[i].symbol, entries[i].timeframe, &series);
        if (status == 0) {
            snprintf(series.source_path, sizeof series.source_path, "%s:%s/%s", store_dir,
                     entries[i].symbol, entries[i].timeframe);
            status = check_one(run, &series);
        }
        ohlcx_series_free(&series);
    }
    ohlcx_store_entries_free(entries, count);
    ohlcx_store_close(store);
    return status;
}


int cmd_check(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"store", required_argument, NULL, 'S'},       {"json", required_argument, NULL, 'J'},
        {"policy", required_argument, NULL, 'p'},      {"now", required_argument, NULL, 'n'},
        {"calendar", required_argument, NULL, 'c'},    {"max-missing", required_argument, NULL, 'm'},
        {"max-fill", required_argument, NULL, 'f'},    {"bad-rows", required_argument, NULL, 'r'},
        {"close-tolerance", required_argument, NULL, 't'},
        {"universe", required_argument, NULL, 'U'},
        {"help", no_argument, NULL, 'h'},              {NULL, 0, NULL, 0},
    };
    const char *store_dir = NULL, *json_path = NULL, *universe_path = NULL;
    ohlcx_universe universe;
    char **files = NULL;
    size_t file_count = 0;
    check_run run;
    int option, bad = 0, bad_rows = 0, status = 0;

    memset(&run, 0, sizeof run);
    ohlcx_check_options_default(&run.options);
    run.close_tolerance = 0.001;
    optind = 1;
    while (!bad && (option = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        switch (option) {
        case 'S': store_dir = optarg; break;
        case 'J': json_path = optarg; break;
        case 'p':
            if (strcmp(optarg, "report") == 0)
                run.options.policy = OHLCX_POLICY_REPORT;
            else if (strcmp(optarg, "repair") == 0)
                run.options.policy = OHLCX_POLICY_REPAIR;
            else if (strcmp(optarg, "strict") == 0)
                run.options.policy = OHLCX_POLICY_STRICT;
            else
                bad = cli_usage_error("check", "invalid --policy '%s': use report, repair or "
                                      "strict", optarg);
            break;
        case 'n':
            if (ohlcx_parse_datetime(optarg, strlen(optarg), &run.options.now_us) != 0)
                bad = cli_usage_error("check", "invalid --now '%s': use YYYY-MM-DD HH:MM:SS",
                                      optarg);
            break;
        case 'c': bad = parse_calendar(optarg, &run.options.calendar); break;
        case 'm':
            bad = cli_parse_double("check", "--max-missing", optarg, 0, 1,
                                   &run.options.max_missing_ratio);
            break;
        case 'f':
            bad = cli_parse_int("check", "--max-fill", optarg, 0, 10000, &run.options.max_fill_gap);
            break;
        case 'r': bad = cli_parse_bad_rows("check", optarg, &bad_rows); break;
        case 'U': universe_path = optarg; break;
        case 't':
            bad = cli_parse_double("check", "--close-tolerance", optarg, 0, 1,
                                   &run.close_tolerance);
            break;
        case 'h': fputs(check_help, stdout); return 0;
        default: bad = 2; break;
        }
    }
    if (bad)
        return 2;
    if (store_dir == NULL && optind >= argc)
        return cli_usage_error("check", "missing input files or --store DIR");
    if (store_dir != NULL && optind < argc)
        return cli_usage_error("check", "--store and input files exclude each other");
    if (run.options.now_us == 0)
        run.options.now_us = ohlcx_wall_time_us();
    if (universe_path != NULL) {
        status = ohlcx_universe_load(universe_path, &universe);
        if (status != 0)
            return cli_fail(status);
        run.universe = &universe;
    }

    if (json_path != NULL) {
        run.json = fopen(json_path, "w");
        if (run.json == NULL) {
            status = cli_usage_error("check", "cannot create %s: %s", json_path, strerror(errno));
            if (run.universe != NULL)
                ohlcx_universe_free(&universe);
            return status;
        }
        fputs("{\"series\": [\n", run.json);
    }
    if (store_dir != NULL) {
        status = check_store(&run, store_dir);
    } else {
        status = ohlcx_expand_inputs((const char *const *)(argv + optind), (size_t)(argc - optind),
                                     &files, &file_count);
        if (status == 0)
            status = check_files(&run, files, file_count, bad_rows);
        ohlcx_free_strings(files, file_count);
    }
    for (size_t i = 0; i < run.kept_count; i++)
        ohlcx_series_free(&run.kept[i]);
    free(run.kept);
    if (run.universe != NULL)
        ohlcx_universe_free(&universe);
    if (run.json != NULL) {
        if (store_dir != NULL)
            fputs("\n],\n\"cross_source\": [", run.json);
        fputs("\n]}\n", run.json);
        if (fclose(run.json) != 0 && status == 0)
            status = ohlcx_set_error(OHLCX_EIO, "cannot write %s: %s", json_path, strerror(errno));
    }
    if (status != 0)
        return cli_fail(status);
    printf("check: %zu series, %zu failed\n", run.series, run.failed);
    return run.failed > 0 ? 1 : 0;
}
