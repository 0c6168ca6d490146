/*
 * Shared pieces of the `ohlcx` subcommands: option value parsing and the
 * one-line error convention (exit status 2 for bad usage or input).
 */
#ifndef OHLCX_CLI_H
#define OHLCX_CLI_H

#include <stdint.h>

int cmd_run(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_ingest(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_resample(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_lookahead(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* Prints "ohlcx COMMAND: message" to stderr and returns 2. */
int cli_usage_error(const char *command, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints the library's last error as "ohlcx: error: ..." and returns the
 * exit status for status. */
int cli_fail(int status);

/* Parse an option value; on failure print a usage error and return -1. */
int cli_parse_int(const char *command, const char *option, const char *text, long min, long max,
                  int *out);
/* Largest value cli_parse_u64() accepts: every integer up to it is written
 * exactly in the JSON outputs. */
#define OHLCX_CLI_U64_MAX 999999999999999ULL

int cli_parse_u64(const char *command, const char *option, const char *text, uint64_t *out);

/* Parses a --precision value (auto, fp32 or bf16) and sets it for the CNN
 * passes of this process. Returns 0, or 2 after printing the error. */
int cli_parse_precision(const char *command, const char *text);
int cli_parse_double(const char *command, const char *option, const char *text, double min,
                     double max, double *out);

/* Parses "skip" or "fail" for --bad-rows. */
int cli_parse_bad_rows(const char *command, const char *text, int *out);

#endif
