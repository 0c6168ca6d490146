/* `ohlcx ingest`: store candle files, validated, in a columnar store. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ohlcx/format.h"
#include "ohlcx/pipeline.h"
#include "util/util.h"

static const char ingest_help[] =
    "usage: ohlcx ingest --store DIR [OPTIONS] FILE|DIR...\n"
    "\n"
    "Read candle files, validate them, and merge each into its (symbol,\n"
    "timeframe) series in the store: compressed, memory-mapped column files\n"
    "and a SQLite catalogue (DIR/catalog.sqlite). New bars are added, identical\n"
    "bars skipped, and bars that conflict with stored values are reported and\n"
    "not stored. A file already ingested (same BLAKE3 digest) is skipped.\n"
    "\n"
    "options:\n"
    "  --store DIR        store folder (created when missing)\n"
    "  --jobs N           files read in parallel (default: number of cores)\n"
    "  --symbol NAME      symbol of a single input file, overriding its name\n"
    "  --timeframe TF     timeframe of a single input file (1m..1d, 1w, 1M)\n"
    "  --bad-rows POLICY  fail: stop at the first unparseable row (default);\n"
    "                     skip: drop such rows and report each one\n"
    "  --columns SPEC     column mapping for a layout that detection gets wrong,\n"
    "                     such as time=0,open=1,high=2,low=3,close=4,volume=5\n"
    "                     (see docs/commands.md)\n"
    "  --tz ZONE          IANA zone of times written without an offset, such as\n"
    "                     Europe/Berlin (default: UTC)\n"
    "  -h, --help         print this help\n"
    "\n"
    "Prints a summary line to stdout. Exit status: 0 on success, 2 on bad usage\n"
    "or input. A file that fails stops the run: its error goes to stderr, and the\n"
    "summary line starts \"ingest: stopped by an error after K files\", counting\n"
    "the files stored or skipped before the run stopped, which stay stored.\n";


/* Prints the summary line. The line of a failed run starts "ingest: stopped
 * by an error", so that a script matching "^ingest: N files" never takes it
 * for a finished run. */
static void print_summary(const ohlcx_ingest_summary *summary, int failed)
{
    printf("ingest: %s%zu file%s (%zu already ingested), %zu row%s read, "
           "%zu unparseable skipped, %zu dropped by validation, %zu synthetic bar%s filled; "
           "%zu bar%s added, %zu identical, %zu conflicting, "
           "%zu stored synthetic bar%s replaced\n",
           failed ? "stopped by an error after " : "", summary->files,
           ohlcx_plural(summary->files), summary->already_ingested, summary->rows_read,
           ohlcx_plural(summary->rows_read), summary->bad_rows, summary->rows_dropped,
           summary->rows_filled, ohlcx_plural(summary->rows_filled), summary->rows_added,
           ohlcx_plural(summary->rows_added), summary->rows_identical, summary->conflicts,
           summary->synthetic_replaced, ohlcx_plural(summary->synthetic_replaced));
}


int cmd_ingest(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"store", required_argument, NULL, 'S'},    {"jobs", required_argument, NULL, 'j'},
        {"symbol", required_argument, NULL, 's'},   {"timeframe", required_argument, NULL, 'T'},
        {"bad-rows", required_argument, NULL, 'r'},
        {"columns", required_argument, NULL, 'C'},  {"tz", required_argument, NULL, 'Z'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    ohlcx_ingest_options options;
    ohlcx_ingest_summary summary;
    char timeframe[OHLCX_TIMEFRAME_MAX];
    int option, bad = 0, status;

    memset(&options, 0, sizeof options);
    optind = 1;
    while (!bad && (option = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        switch (option) {
        case 'S': options.store_dir = optarg; break;
        case 'j': bad = cli_parse_int("ingest", "--jobs", optarg, 1, 1024, &options.jobs); break;
        case 's': options.symbol = optarg; break;
        case 'T':
            if (ohlcx_timeframe_parse(optarg, timeframe) != 0)
                bad = cli_usage_error("ingest", "invalid --timeframe '%s': use 1m 3m 5m 15m "
                                      "30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M 3M", optarg);
            options.timeframe = timeframe;
            break;
        case 'r': bad = cli_parse_bad_rows("ingest", optarg, &options.bad_rows); break;
        case 'C': options.columns = optarg; break;
        case 'Z': options.tz = optarg; break;
        case 'h': fputs(ingest_help, stdout); return 0;
        default: bad = 2; break;
        }
    }
    if (bad)
        return 2;
    if (options.store_dir == NULL)
        return cli_usage_error("ingest", "missing --store DIR");
    if (optind >= argc)
        return cli_usage_error("ingest", "missing input files");
    options.inputs = (const char *const *)(argv + optind);
    options.input_count = (size_t)(argc - optind);

    status = ohlcx_ingest(&options, &summary);
    if (status == 0) {
        print_summary(&summary, 0);
        return 0;
    }

    /* The error first, then what the run stored before it stopped. */
    status = cli_fail(status);
    print_summary(&summary, 1);
    return status;
}
