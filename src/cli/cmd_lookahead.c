/* `ohlcx lookahead`: check that a run's rows read no bar after their own. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ohlcx/pipeline.h"

static const char lookahead_help[] =
    "usage: ohlcx lookahead --run DIR [OPTIONS]\n"
    "\n"
    "Look-ahead self-test of a finished 'ohlcx run'. For --rows bars spread over\n"
    "the test part of every series, rebuild the XGBoost row (CNN embedding,\n"
    "features, higher-timeframe features) and its prediction from the series cut\n"
    "right after that bar, and compare them bit for bit with those built from the\n"
    "whole series. The inputs are read again as the run read them\n"
    "(DIR/checkpoints/run.json), so they must be unchanged.\n"
    "\n"
    "options:\n"
    "  --run DIR    output folder of 'ohlcx run' (holds model/ and checkpoints/)\n"
    "  --rows N     test bars checked per series, 1 to 100000 (default: 20)\n"
    "  --jobs N     threads (default: number of cores)\n"
    "  -h, --help   print this help\n"
    "\n"
    "Exit status: 0 when every row matches, 1 when a column or prediction\n"
    "differs (the message names the column, series and bar), 2 on bad usage,\n"
    "unreadable input, or an input whose SHA-256 or store version changed since\n"
    "the run.\n";


int cmd_lookahead(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"run", required_argument, NULL, 'r'},  {"rows", required_argument, NULL, 'n'},
        {"jobs", required_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    ohlcx_lookahead_options options = {.rows = 20};
    ohlcx_lookahead_result result;
    int option, bad = 0, status;

    optind = 1;
    while (!bad && (option = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        switch (option) {
        case 'r': options.run_dir = optarg; break;
        case 'n': bad = cli_parse_int("lookahead", "--rows", optarg, 1, 100000, &options.rows); break;
        case 'j': bad = cli_parse_int("lookahead", "--jobs", optarg, 1, 1024, &options.jobs); break;
        case 'h': fputs(lookahead_help, stdout); return 0;
        default: bad = 2; break;
        }
    }
    if (bad)
        return 2;
    if (options.run_dir == NULL)
        return cli_usage_error("lookahead", "missing --run DIR");
    if (optind < argc)
        return cli_usage_error("lookahead", "unexpected argument '%s'", argv[optind]);

    status = ohlcx_lookahead(&options, &result);
    if (status != 0)
        return cli_fail(status);
    if (result.leak_found) {
        printf("lookahead: FAILED after %zu rows of %zu series: %s\n", result.rows_checked,
               result.series_checked, result.message);
        return 1;
    }
    printf("lookahead: passed: %zu rows of %zu series are bit-identical with the data cut "
           "after each row (features, CNN embedding, prediction)\n",
           result.rows_checked, result.series_checked);
    return 0;
}
