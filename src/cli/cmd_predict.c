/* `ohlcx predict`: score the latest complete bar of each series. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ohlcx/format.h"
#include "ohlcx/pipeline.h"
#include "util/util.h"

static const char predict_help[] =
    "usage: ohlcx predict --model DIR [OPTIONS] FILE|DIR...\n"
    "\n"
    "Print the up-probability of the latest complete bar of each input series,\n"
    "using a model bundle written by 'ohlcx run' (RUN_DIR/model). A bar is\n"
    "complete when its open time plus the timeframe is not after --now.\n"
    "\n"
    "options:\n"
    "  --model DIR        model bundle folder (holds manifest.json)\n"
    "  --json             print JSON instead of CSV\n"
    "  --now TIME         reference time, UTC, as YYYY-MM-DD[ HH:MM[:SS]]\n"
    "                     (default: the current time)\n"
    "  --jobs N           threads (default: number of cores)\n"
    "  --bad-rows POLICY  fail (default) or skip unparseable rows\n"
    "  --symbol NAME      symbol of a single input file (default: from its name)\n"
    "  --timeframe TF     timeframe of a single input file (default: from its\n"
    "                     name, else the median spacing of its bars)\n"
    "  --columns SPEC     column mapping for a layout that detection gets wrong,\n"
    "                     such as time=0,open=1,high=2,low=3,close=4,volume=5\n"
    "                     (see docs/commands.md)\n"
    "  --tz ZONE          IANA zone of times written without an offset, such as\n"
    "                     Europe/Berlin (default: UTC)\n"
    "  -h, --help         print this help\n"
    "\n"
    "CSV columns: symbol,timeframe,open_time,prob_up (open time in UTC).\n";


int cmd_predict(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"model", required_argument, NULL, 'm'}, {"json", no_argument, NULL, 'J'},
        {"now", required_argument, NULL, 'n'},   {"jobs", required_argument, NULL, 'j'},
        {"bad-rows", required_argument, NULL, 'r'},
        {"columns", required_argument, NULL, 'C'},  {"tz", required_argument, NULL, 'Z'},
        {"symbol", required_argument, NULL, 'S'},   {"timeframe", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    ohlcx_predict_options options;
    char timeframe[OHLCX_TIMEFRAME_MAX];
    int option, bad = 0, status;

    memset(&options, 0, sizeof options);
    options.now_us = ohlcx_wall_time_us();
    optind = 1;
    while (!bad && (option = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        switch (option) {
        case 'm': options.model_dir = optarg; break;
        case 'J': options.json = 1; break;
        case 'n':
            if (ohlcx_parse_datetime(optarg, strlen(optarg), &options.now_us) != 0)
                bad = cli_usage_error("predict", "invalid --now '%s': use YYYY-MM-DD HH:MM:SS",
                                      optarg);
            break;
        case 'j': bad = cli_parse_int("predict", "--jobs", optarg, 1, 1024, &options.jobs); break;
        case 'r': bad = cli_parse_bad_rows("predict", optarg, &options.bad_rows); break;
        case 'S': options.symbol = optarg; break;
        case 'T':
            if (ohlcx_timeframe_parse(optarg, timeframe) != 0)
                bad = cli_usage_error("predict", "invalid --timeframe '%s': use 1m 3m 5m 15m "
                                      "30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M 3M", optarg);
            options.timeframe = timeframe;
            break;
        case 'C': options.columns = optarg; break;
        case 'Z': options.tz = optarg; break;
        case 'h': fputs(predict_help, stdout); return 0;
        default: bad = 2; break;
        }
    }
    if (bad)
        return 2;
    if (options.model_dir == NULL)
        return cli_usage_error("predict", "missing --model DIR");
    if (optind >= argc)
        return cli_usage_error("predict", "missing input files");
    options.inputs = (const char *const *)(argv + optind);
    options.input_count = (size_t)(argc - optind);

    status = ohlcx_predict(&options);
    return status == 0 ? 0 : cli_fail(status);
}
