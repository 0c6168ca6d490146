/* `ohlcx synth`: write a deterministic synthetic universe. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ohlcx/error.h"
#include "ohlcx/synth.h"
#include "ohlcx/universe.h"
#include "util/util.h"

#define SYNTH_LIST_MAX 256

static const char synth_help[] =
    "usage: ohlcx synth --out DIR [OPTIONS]\n"
    "       ohlcx synth --universe FILE --out DIR [OPTIONS]\n"
    "\n"
    "Write a synthetic universe of candle files in Binance kline CSV, one file\n"
    "per symbol and timeframe named SYMBOL-TIMEFRAME.csv: a random walk with\n"
    "volatility clustering and intraday volume seasonality. The asset class sets\n"
    "the calendar: crypto trades around the clock, forex from Sunday 17:00 to\n"
    "Friday 17:00 New York time, and the others 09:30-16:00 New York time on\n"
    "NYSE trading days. With --universe the class is the group's; with --symbols\n"
    "it comes from the name: crypto for a crypto quote (USDT, ...), forex for\n"
    "six-letter pairs of major currencies (EURUSD), else stocks. The same\n"
    "options always write the same files.\n"
    "\n"
    "options:\n"
    "  --out DIR          output folder (created if missing)\n"
    "  --symbols LIST     comma-separated symbols\n"
    "                     (default: BTCUSDT,ETHUSDT,LTCUSDT,GOOG,PSNY,VT)\n"
    "  --timeframes LIST  comma-separated timeframes (default: 15m,1h,4h,1d)\n"
    "  --universe FILE    write every symbol and timeframe of a universe file\n"
    "                     (docs/universe.md) instead of --symbols and\n"
    "                     --timeframes; its start applies, and its months\n"
    "                     unless --months is given\n"
    "  --months N         calendar months per series (default: 20)\n"
    "  --seed N           random seed (default: 42)\n"
    "  --planted P        plant mirror-image wick shapes after which the next bar\n"
    "                     rises (bullish) or falls (bearish) with probability P,\n"
    "                     0.5 < P <= 1; with P = 0.9 the best possible accuracy\n"
    "                     is about 0.70 (default: 0, no planted signal)\n"
    "  --planted-daily Q  with --planted: the second bar of each pair continues\n"
    "                     the first bar's move after an up UTC day and\n"
    "                     reverses it after a down day, with probability Q,\n"
    "                     0.5 < Q <= 1 (default: 0, none)\n"
    "  -h, --help         print this help\n";


/* Splits a comma-separated list in place. */
static int split_list(char *text, char **items, int max_items)
{
    int count = 0;

    for (char *item = strtok(text, ","); item != NULL; item = strtok(NULL, ",")) {
        if (count == max_items)
            return -1;
        items[count++] = item;
    }
    return count;
}


static int write_universe(const char *out_dir, char **symbols, int symbol_count,
                          char **timeframes, int timeframe_count,
                          const ohlcx_synth_options *options)
{
    int status = ohlcx_make_dirs(out_dir);

    for (int s = 0; s < symbol_count && status == 0; s++) {
        for (int t = 0; t < timeframe_count && status == 0; t++) {
            char path[OHLCX_PATH_MAX + 64];
            ohlcx_series series;

            ohlcx_series_init(&series);
            snprintf(path, sizeof path, "%s/%s-%s.csv", out_dir, symbols[s], timeframes[t]);
            status = ohlcx_synth_series(symbols[s], timeframes[t], options, &series);
            if (status == 0)
                status = ohlcx_write_binance_csv(&series, path);
            if (status == 0)
                ohlcx_log_info("wrote %s (%zu bar%s)", path, series.n, ohlcx_plural(series.n));
            ohlcx_series_free(&series);
        }
    }
    return status;
}


/* One output file of a universe: SYMBOL-TIMEFRAME.csv. */
typedef struct universe_file {
    const char *symbol;
    const char *timeframe;
    int asset_class;
} universe_file;


static int compare_universe_files(const void *a, const void *b)
{
    const universe_file *x = a, *y = b;
    int order = strcmp(x->symbol, y->symbol);

    return order != 0 ? order : strcmp(x->timeframe, y->timeframe);
}


/* Rejects a symbol that two asset classes list at the same timeframe, as
 * both would write the same file. */
static int check_file_names(const ohlcx_universe *universe)
{
    universe_file *files = malloc((universe->series_count ? universe->series_count : 1) *
                                  sizeof *files);
    size_t count = 0;
    int status = 0;

    if (files == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory listing the universe's files");
    for (size_t g = 0; g < universe->group_count; g++) {
        const ohlcx_universe_group *group = &universe->groups[g];

        for (size_t s = 0; s < group->symbol_count; s++)
            for (int t = 0; t < group->timeframe_count; t++)
                files[count++] = (universe_file){group->symbols[s], group->timeframes[t],
                                                 group->asset_class};
    }
    qsort(files, count, sizeof *files, compare_universe_files);
    for (size_t i = 1; i < count && status == 0; i++)
        if (compare_universe_files(&files[i - 1], &files[i]) == 0)
            status = ohlcx_set_error(OHLCX_EINVAL, "%s: symbol %s is listed for both %s and "
                                     "%s at %s, and synth writes one file %s-%s.csv: rename "
                                     "one of them", universe->path, files[i].symbol,
                                     ohlcx_asset_class_name(files[i - 1].asset_class),
                                     ohlcx_asset_class_name(files[i].asset_class),
                                     files[i].timeframe, files[i].symbol, files[i].timeframe);
    free(files);
    return status;
}


/* Logs the size of the work, and warns about symbols whose name implies
 * another calendar than their group's. Synth writes every symbol on its
 * group's calendar, but a command given the files without the universe
 * (ingest, check) takes the asset class from the name. */
static void log_universe_plan(const ohlcx_universe *universe, int months)
{
    uint64_t bars = 0;
    size_t mismatches = 0;
    const char *example = NULL;

    for (size_t g = 0; g < universe->group_count; g++) {
        const ohlcx_universe_group *group = &universe->groups[g];
        int calendar = ohlcx_synth_calendar_of(group->asset_class);

        for (int t = 0; t < group->timeframe_count; t++)
            bars += group->symbol_count *
                    ohlcx_expected_bars(group->asset_class, group->timeframes[t], months);
        for (size_t s = 0; s < group->symbol_count; s++) {
            if (ohlcx_synth_calendar_of(ohlcx_asset_class_guess(group->symbols[s])) == calendar)
                continue;
            mismatches++;
            example = group->symbols[s];
        }
    }
    ohlcx_log_info("universe %s: writing %zu series of %d month%s, about %llu bar%s in total "
                   "(estimate from the market calendars)", universe->name,
                   universe->series_count, months, ohlcx_plural((size_t)months),
                   (unsigned long long)bars, ohlcx_plural((size_t)bars));
    if (mismatches == 1)
        ohlcx_log_warn("1 symbol (%s) has a name that reads as another asset class with "
                       "another calendar: synth writes it on its group's calendar, but "
                       "commands given the file without the universe take the class from "
                       "the name", example);
    else if (mismatches > 1)
        ohlcx_log_warn("%zu symbols (such as %s) have names that read as another asset class "
                       "with another calendar: synth writes them on their group's calendar, "
                       "but commands given the files without the universe take the class "
                       "from the name", mismatches, example);
}


static int write_universe_file(const char *path, const char *out_dir,
                               ohlcx_synth_options *options, int months_given)
{
    ohlcx_universe universe;
    int status = ohlcx_universe_load(path, &universe);

    if (status != 0)
        return status;
    if (!months_given && universe.months > 0)
        options->months = universe.months;
    if (universe.has_start)
        options->start_us = universe.start_us;
    status = check_file_names(&universe);
    if (status == 0) {
        log_universe_plan(&universe, options->months);
        status = ohlcx_make_dirs(out_dir);
    }
    for (size_t g = 0; g < universe.group_count && status == 0; g++) {
        ohlcx_universe_group *group = &universe.groups[g];
        char *symbols[1], *timeframes[OHLCX_TIMEFRAME_COUNT];

        for (int t = 0; t < group->timeframe_count; t++)
            timeframes[t] = group->timeframes[t];
        options->asset_class = group->asset_class;
        for (size_t s = 0; s < group->symbol_count && status == 0; s++) {
            symbols[0] = group->symbols[s];
            status = write_universe(out_dir, symbols, 1, timeframes, group->timeframe_count,
                                    options);
        }
    }
    ohlcx_universe_free(&universe);
    return status;
}


int cmd_synth(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"out", required_argument, NULL, 'o'},    {"symbols", required_argument, NULL, 'S'},
        {"timeframes", required_argument, NULL, 'T'}, {"months", required_argument, NULL, 'm'},
        {"seed", required_argument, NULL, 's'},   {"planted", required_argument, NULL, 'p'},
        {"planted-daily", required_argument, NULL, 'q'},
        {"universe", required_argument, NULL, 'U'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char symbol_text[4096] = "BTCUSDT,ETHUSDT,LTCUSDT,GOOG,PSNY,VT";
    char timeframe_text[1024] = "15m,1h,4h,1d";
    char *symbols[SYNTH_LIST_MAX], *timeframes[SYNTH_LIST_MAX];
    char canonical[SYNTH_LIST_MAX][OHLCX_TIMEFRAME_MAX];
    const char *out_dir = NULL, *universe_path = NULL;
    ohlcx_synth_options options;
    int option, bad = 0, symbol_count, timeframe_count, status;
    int months_given = 0, lists_given = 0;

    ohlcx_synth_options_default(&options);
    optind = 1;
    while (!bad && (option = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        switch (option) {
        case 'o': out_dir = optarg; break;
        case 'S':
            snprintf(symbol_text, sizeof symbol_text, "%s", optarg);
            lists_given = 1;
            break;
        case 'T':
            snprintf(timeframe_text, sizeof timeframe_text, "%s", optarg);
            lists_given = 1;
            break;
        case 'U': universe_path = optarg; break;
        case 'm':
            bad = cli_parse_int("synth", "--months", optarg, 1, 1200, &options.months);
            months_given = 1;
            break;
        case 's': bad = cli_parse_u64("synth", "--seed", optarg, &options.seed); break;
        case 'p':
            bad = cli_parse_double("synth", "--planted", optarg, 0, 1, &options.planted);
            if (!bad && options.planted != 0 && options.planted <= 0.5)
                bad = cli_usage_error("synth", "invalid --planted '%s': use 0 (none) or a "
                                      "probability above 0.5 and at most 1", optarg);
            break;
        case 'q':
            bad = cli_parse_double("synth", "--planted-daily", optarg, 0, 1,
                                   &options.planted_daily);
            if (!bad && options.planted_daily != 0 && options.planted_daily <= 0.5)
                bad = cli_usage_error("synth", "invalid --planted-daily '%s': use 0 (none) or "
                                      "a probability above 0.5 and at most 1", optarg);
            break;
        case 'h': fputs(synth_help, stdout); return 0;
        default: bad = 2; break;
        }
    }
    if (bad)
        return 2;
    if (out_dir == NULL)
        return cli_usage_error("synth", "missing --out DIR");
    if (options.planted_daily != 0 && options.planted == 0)
        return cli_usage_error("synth", "--planted-daily %g needs --planted: the daily rule "
                               "reads the wick of the first bar of each pair",
                               options.planted_daily);
    if (optind < argc)
        return cli_usage_error("synth", "unexpected argument '%s'", argv[optind]);
    if (universe_path != NULL && lists_given)
        return cli_usage_error("synth", "--universe replaces --symbols and --timeframes: give "
                               "either the file or the lists");
    if (universe_path != NULL) {
        status = write_universe_file(universe_path, out_dir, &options, months_given);
        return status == 0 ? 0 : cli_fail(status);
    }

    symbol_count = split_list(symbol_text, symbols, SYNTH_LIST_MAX);
    timeframe_count = split_list(timeframe_text, timeframes, SYNTH_LIST_MAX);
    if (symbol_count <= 0)
        return cli_usage_error("synth", "invalid --symbols: give 1 to %d names", SYNTH_LIST_MAX);
    if (timeframe_count <= 0)
        return cli_usage_error("synth", "invalid --timeframes: give 1 to %d names", SYNTH_LIST_MAX);
    for (int s = 0; s < symbol_count; s++)
        if (strlen(symbols[s]) >= OHLCX_SYMBOL_MAX || strpbrk(symbols[s], "/\\ -_") != NULL)
            return cli_usage_error("synth", "invalid symbol '%s': use letters and digits only",
                                   symbols[s]);
    for (int t = 0; t < timeframe_count; t++) {
        if (ohlcx_timeframe_parse(timeframes[t], canonical[t]) != 0)
            return cli_usage_error("synth", "%s", ohlcx_last_error());
        timeframes[t] = canonical[t];
    }

    status = write_universe(out_dir, symbols, symbol_count, timeframes, timeframe_count, &options);
    return status == 0 ? 0 : cli_fail(status);
}
