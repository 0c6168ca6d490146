/*
 * The `ohlcx` command: dispatches to one subcommand per file in src/cli/.
 * Exit status: 0 on success, 1 when a check fails, 2 on bad usage or input.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ohlcx/nn.h"
#include "ohlcx/error.h"
#include "ohlcx/format.h"

static const char usage[] =
    "usage: ohlcx COMMAND [OPTIONS]\n"
    "\n"
    "Train and apply a CNN + XGBoost model that predicts the direction of the\n"
    "next bar from OHLCV candle files.\n"
    "\n"
    "commands:\n"
    "  run       read candles, train the CNN and XGBoost, evaluate, write a model\n"
    "  predict   up-probability of the latest complete bar of each series\n"
    "  synth     write a deterministic synthetic universe of candle files\n"
    "  ingest    validate candle files and store them in a columnar store\n"
    "  resample  derive coarser timeframes from stored series\n"
    "  bench     time one CNN training pass (ohlcx bench cnn)\n"
    "  ls        list the series in a store\n"
    "  export    write a stored series as CSV\n"
    "  check     run the data-quality checks and write a report\n"
    "  plan      estimate series, bars, samples, store size and time of a universe\n"
    "  report    write the HTML report of a run\n"
    "  lookahead check that a run's rows read no later bar (self-test)\n"
    "\n"
    "Run 'ohlcx COMMAND --help' for the options of a command.\n"
    "  --help      print this help\n"
    "  --version   print the version\n";


int cli_usage_error(const char *command, const char *format, ...)
{
    va_list args;

    fprintf(stderr, "ohlcx %s: ", command);
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    fprintf(stderr, " (see 'ohlcx %s --help')\n", command);
    return 2;
}


int cli_fail(int status)
{
    fprintf(stderr, "ohlcx: error: %s\n", ohlcx_last_error());
    return ohlcx_exit_status(status);
}


int cli_parse_int(const char *command, const char *option, const char *text, long min, long max,
                  int *out)
{
    char *end = NULL;
    long value;

    errno = 0;
    value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < min || value > max) {
        cli_usage_error(command, "invalid %s '%s': expected an integer from %ld to %ld", option,
                        text, min, max);
        return -1;
    }
    *out = (int)value;
    return 0;
}


int cli_parse_u64(const char *command, const char *option, const char *text, uint64_t *out)
{
    char *end = NULL;
    unsigned long long value;

    errno = 0;
    value = strtoull(text, &end, 10);
    /* JSON numbers are doubles, and cJSON writes them with 15 significant
     * digits when those read back within its tolerance. Below 10^15 that is
     * every digit, so a recorded seed is the seed given. */
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' ||
        value > OHLCX_CLI_U64_MAX) {
        cli_usage_error(command, "invalid %s '%s': expected an integer from 0 to %llu", option,
                        text, (unsigned long long)OHLCX_CLI_U64_MAX);
        return -1;
    }
    *out = value;
    return 0;
}


int cli_parse_double(const char *command, const char *option, const char *text, double min,
                     double max, double *out)
{
    char *end = NULL;
    double value;

    errno = 0;
    value = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(value) || value < min ||
        value > max) {
        cli_usage_error(command, "invalid %s '%s': expected a number from %g to %g", option, text,
                        min, max);
        return -1;
    }
    *out = value;
    return 0;
}


int cli_parse_precision(const char *command, const char *text)
{
    ohlcx_cnn_precision precision;

    if (ohlcx_cnn_parse_precision(text, &precision) != 0 ||
        ohlcx_cnn_set_precision(precision) != 0)
        return cli_usage_error(command, "--precision: %s", ohlcx_last_error());
    return 0;
}


int cli_parse_bad_rows(const char *command, const char *text, int *out)
{
    if (strcmp(text, "fail") == 0) {
        *out = OHLCX_BAD_ROWS_FAIL;
        return 0;
    }
    if (strcmp(text, "skip") == 0) {
        *out = OHLCX_BAD_ROWS_SKIP;
        return 0;
    }
    cli_usage_error(command, "invalid --bad-rows '%s': use fail or skip", text);
    return -1;
}


/*
 * Sets OMP_WAIT_POLICY=passive unless the user set it. GNU OpenMP reads it
 * when it loads, which happens with oneDNN or XGBoost on their first use
 * (src/util/libraries.c), after this runs. Its threads otherwise spin
 * while they wait for work, and on a busy machine the spinning takes the
 * cores from the threads that have work: 2-thread CNN training ran at a
 * fraction of its 1-thread speed that way (docs/benchmarks.md).
 *
 * OpenBLAS, whose threads spin for about 0.1 s of CPU time when it loads
 * (OpenBLAS 0.3.21), gets no variable here: the commands that load it set
 * its thread count from --jobs, and the others never load it.
 */
static void set_thread_environment(void)
{
    if (getenv("OMP_WAIT_POLICY") == NULL)
        setenv("OMP_WAIT_POLICY", "passive", 1);
}


int main(int argc, char **argv)
{
    const char *command = argc > 1 ? argv[1] : NULL;

    if (command == NULL) {
        fputs(usage, stderr);
        return 2;
    }
    if (strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0 ||
        strcmp(command, "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(command, "--version") == 0) {
        puts("ohlcx " OHLCX_VERSION);
        return 0;
    }
    set_thread_environment();
    /* A write past the file size limit (ulimit -f) then fails with EFBIG,
     * which the command reports and exits 2, instead of killing it. */
    signal(SIGXFSZ, SIG_IGN);
    if (strcmp(command, "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(command, "predict") == 0)
        return cmd_predict(argc - 1, argv + 1);
    if (strcmp(command, "synth") == 0)
        return cmd_synth(argc - 1, argv + 1);
    if (strcmp(command, "ingest") == 0)
        return cmd_ingest(argc - 1, argv + 1);
    if (strcmp(command, "resample") == 0)
        return cmd_resample(argc - 1, argv + 1);
    if (strcmp(command, "bench") == 0)
        return cmd_bench(argc - 1, argv + 1);
    if (strcmp(command, "ls") == 0)
        return cmd_ls(argc - 1, argv + 1);
    if (strcmp(command, "export") == 0)
        return cmd_export(argc - 1, argv + 1);
    if (strcmp(command, "check") == 0)
        return cmd_check(argc - 1, argv + 1);
    if (strcmp(command, "plan") == 0)
        return cmd_plan(argc - 1, argv + 1);
    if (strcmp(command, "report") == 0)
        return cmd_report(argc - 1, argv + 1);
    if (strcmp(command, "lookahead") == 0)
        return cmd_lookahead(argc - 1, argv + 1);
    fprintf(stderr, "ohlcx: unknown command '%s' (see 'ohlcx --help')\n", command);
    return 2;
}
