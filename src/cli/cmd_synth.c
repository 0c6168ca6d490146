/* `ohlcx synth`: write a deterministic synthetic universe. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ohlcx/error.h"
#include "ohlcx/synth.h"
#include "util/util.h"

#define SYNTH_LIST_MAX 256

static const char synth_help[] =
    "usage: ohlcx synth --out DIR [OPTIONS]\n"
    "\n"
    "Write a synthetic universe of candle files in Binance kline CSV, one file\n"
    "per symbol and timeframe named SYMBOL-TIMEFRAME.csv: a random walk with\n"
    "volatility clustering and intraday volume seasonality. Symbols ending in a\n"
    "crypto quote (USDT, ...) trade around the clock; others are stocks and trade\n"
    "14:30-21:00 UTC on weekdays. The same options always write the same files.\n"
    "\n"
    "options:\n"
    "  --out DIR          output folder (created if missing)\n"
    "  --symbols LIST     comma-separated symbols\n"
    "                     (default: BTCUSDT,ETHUSDT,LTCUSDT,GOOG,PSNY,VT)\n"
    "  --timeframes LIST  comma-separated timeframes (default: 15m,1h,4h,1d)\n"
    "  --months N         calendar months per series (default: 20)\n"
    "  --seed N           random seed (default: 42)\n"
    "  --planted P        plant mirror-image wick shapes after which the next bar\n"
    "                     rises (bullish) or falls (bearish) with probability P,\n"
    "                     0.5 < P <= 1; with P = 0.9 the best possible accuracy\n"
    "                     is about 0.70 (default: 0, no planted signal)\n"
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
                ohlcx_log_info("wrote %s (%zu bars)", path, series.n);
            ohlcx_series_free(&series);
        }
    }
    return status;
}


int cmd_synth(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"out", required_argument, NULL, 'o'},    {"symbols", required_argument, NULL, 'S'},
        {"timeframes", required_argument, NULL, 'T'}, {"months", required_argument, NULL, 'm'},
        {"seed", required_argument, NULL, 's'},   {"planted", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    char symbol_text[4096] = "BTCUSDT,ETHUSDT,LTCUSDT,GOOG,PSNY,VT";
    char timeframe_text[1024] = "15m,1h,4h,1d";
    char *symbols[SYNTH_LIST_MAX], *timeframes[SYNTH_LIST_MAX];
    char canonical[SYNTH_LIST_MAX][OHLCX_TIMEFRAME_MAX];
    const char *out_dir = NULL;
    ohlcx_synth_options options;
    int option, bad = 0, symbol_count, timeframe_count, status;

    ohlcx_synth_options_default(&options);
    optind = 1;
    while (!bad && (option = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        switch (option) {
        case 'o': out_dir = optarg; break;
        case 'S': snprintf(symbol_text, sizeof symbol_text, "%s", optarg); break;
        case 'T': snprintf(timeframe_text, sizeof timeframe_text, "%s", optarg); break;
        case 'm': bad = cli_parse_int("synth", "--months", optarg, 1, 1200, &options.months); break;
        case 's': bad = cli_parse_u64("synth", "--seed", optarg, &options.seed); break;
        case 'p':
            bad = cli_parse_double("synth", "--planted", optarg, 0, 1, &options.planted);
            if (!bad && options.planted != 0 && options.planted <= 0.5)
                bad = cli_usage_error("synth", "invalid --planted '%s': use 0 (none) or a "
                                      "probability above 0.5 and at most 1", optarg);
            break;
        case 'h': fputs(synth_help, stdout); return 0;
        default: bad = 2; break;
        }
    }
    if (bad)
        return 2;
    if (out_dir == NULL)
        return cli_usage_error("synth", "missing --out DIR");
    if (optind < argc)
        return cli_usage_error("synth", "unexpected argument '%s'", argv[optind]);

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
