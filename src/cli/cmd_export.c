/* `ohlcx export`: write one stored series back out as CSV. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "ohlcx/error.h"
#include "ohlcx/format.h"
#include "ohlcx/store.h"

static const char export_help[] =
    "usage: ohlcx export --store DIR [--out FILE] SYMBOL TIMEFRAME\n"
    "\n"
    "Write one stored series as CSV: open_time (epoch milliseconds, or\n"
    "microseconds when a bar does not open on a whole millisecond), open, high,\n"
    "low, close, volume, the optional columns the source had (quote_volume,\n"
    "trades, taker_buy_base, taker_buy_quote) and flags (1 repaired,\n"
    "2 synthetic, 4 partial). Prices print with the decimals they were stored\n"
    "with, so the values equal the ingested ones exactly.\n"
    "\n"
    "options:\n"
    "  --store DIR   store folder\n"
    "  --out FILE    output file (default: standard output)\n"
    "  -h, --help    print this help\n";


int cmd_export(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"store", required_argument, NULL, 'S'},
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *store_dir = NULL, *out_path = NULL;
    char timeframe[OHLCX_TIMEFRAME_MAX];
    ohlcx_store *store = NULL;
    FILE *out = stdout;
    int option, status;

    optind = 1;
    while ((option = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        switch (option) {
        case 'S': store_dir = optarg; break;
        case 'o': out_path = optarg; break;
        case 'h': fputs(export_help, stdout); return 0;
        default: return 2;
        }
    }
    if (store_dir == NULL)
        return cli_usage_error("export", "missing --store DIR");
    if (argc - optind != 2)
        return cli_usage_error("export", "expected SYMBOL TIMEFRAME");
    if (ohlcx_timeframe_parse(argv[optind + 1], timeframe) != 0)
        return cli_usage_error("export", "invalid timeframe '%s'", argv[optind + 1]);

    status = ohlcx_store_open_existing(store_dir, &store);
    if (status == 0 && out_path != NULL) {
        out = fopen(out_path, "w");
        if (out == NULL)
            status = ohlcx_set_error(OHLCX_EIO, "cannot create %s: %s", out_path, strerror(errno));
    }
    if (status == 0)
        status = ohlcx_store_export_csv(store, argv[optind], timeframe, out);
    if (out != NULL && out != stdout && fclose(out) != 0 && status == 0)
        status = ohlcx_set_error(OHLCX_EIO, "cannot write %s: %s", out_path, strerror(errno));
    ohlcx_store_close(store);
    return status == 0 ? 0 : cli_fail(status);
}
