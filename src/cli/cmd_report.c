/* `ohlcx report`: write the HTML report of a run folder. */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "ohlcx/report.h"

static const char report_help[] =
    "usage: ohlcx report --run DIR [--out FILE]\n"
    "\n"
    "Write one self-contained HTML page about the run in DIR (the --out folder\n"
    "of 'ohlcx run'): the metrics and ablation tables, metrics by timeframe,\n"
    "asset class and series, and inline SVG charts of the CNN learning curves,\n"
    "confusion matrix, calibration, accuracy by symbol and timeframe,\n"
    "walk-forward accuracy, feature-group importance and the data quality of\n"
    "the inputs. A chart whose data the run lacks is replaced by a note that\n"
    "says why. The page has no scripts and loads nothing.\n"
    "\n"
    "options:\n"
    "  --run DIR    run folder containing metrics.json and model/manifest.json\n"
    "  --out FILE   HTML file to write (default: DIR/report.html)\n"
    "  -h, --help   print this help\n"
    "\n"
    "Exit status: 0 on success, 2 when the run folder cannot be read, is not a\n"
    "finished run, or the file cannot be written.\n";


int cmd_report(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"run", required_argument, NULL, 'r'},
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *run_dir = NULL, *out_path = NULL;
    char default_path[4200];
    int option, status;

    optind = 1;
    while ((option = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        switch (option) {
        case 'r': run_dir = optarg; break;
        case 'o': out_path = optarg; break;
        case 'h': fputs(report_help, stdout); return 0;
        default: return 2;
        }
    }
    if (run_dir == NULL)
        return cli_usage_error("report", "missing --run DIR");
    if (optind < argc)
        return cli_usage_error("report", "unexpected argument '%s'", argv[optind]);
    if (out_path == NULL) {
        if ((size_t)snprintf(default_path, sizeof default_path, "%s/report.html", run_dir) >=
            sizeof default_path)
            return cli_usage_error("report", "run folder name too long: '%s'", run_dir);
        out_path = default_path;
    }

    status = ohlcx_report_write(run_dir, out_path);
    if (status != 0)
        return cli_fail(status);
    fprintf(stderr, "ohlcx: info: wrote %s\n", out_path);
    return 0;
}
