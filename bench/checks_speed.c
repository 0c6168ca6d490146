/*
 * Speed of ohlcx_check_series() on in-memory series, one thread.
 *
 * Builds a clean synthetic 1m series (ohlcx_synth_series, BTCUSDT) and a
 * dirty copy of it with rows swapped, repeated, conflicting, invalid,
 * missing and jumping (see make_dirty), then times every check on each,
 * under policy report and policy repair. Each run checks a fresh copy of
 * the series, and only the call to ohlcx_check_series() is timed. Prints
 * the median of the runs in bars per second, and the dirty series' check
 * counts so that a reader can see that the faults were found.
 *
 * With --dump DIR it also writes both series as given to DIR/clean.bin and
 * DIR/dirty.bin for bench/checks_pandas.py: the row count (int64), then the
 * columns open_time (int64 microseconds), open, high, low, close and volume
 * (float64), all little-endian.
 *
 * usage: bench_checks [--months M] [--runs R] [--dump DIR]
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ohlcx/check.h"
#include "ohlcx/error.h"
#include "ohlcx/series.h"
#include "ohlcx/synth.h"

#define MINUTE OHLCX_US_PER_MINUTE


static double seconds_now(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
}


static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}


static double median(double *values, int n)
{
    qsort(values, (size_t)n, sizeof *values, compare_doubles);
    return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}


/* A fixed linear congruential sequence, so every run builds the same
 * dirty series. */
static uint64_t next_random(uint64_t *state)
{
    *state = *state * 6364136223846793005u + 1442695040888963407u;
    return *state >> 33;
}


static int append_row(ohlcx_series *to, const ohlcx_series *from, size_t i)
{
    return ohlcx_series_append(to, from->open_time[i], from->open[i], from->high[i],
                               from->low[i], from->close[i], from->volume[i]);
}


/*
 * Copies clean into dirty with, per 10,000 rows on average: 10 rows
 * dropped (1-bar gaps), 10 rows repeated exactly, 5 conflicting repeats,
 * 10 pairs of neighbours swapped, 5 invalid closes (NaN or negative), 5
 * rows with high below low, 2 closes 1.5 times the one before, 1 close 100
 * times and 2 runs of 4 zero volumes. The series keeps clean's names.
 */
static int make_dirty(const ohlcx_series *clean, ohlcx_series *dirty)
{
    uint64_t state = 12345;
    size_t i = 0;

    ohlcx_series_init(dirty);
    memcpy(dirty->symbol, clean->symbol, sizeof dirty->symbol);
    memcpy(dirty->timeframe, clean->timeframe, sizeof dirty->timeframe);
    dirty->asset_class = clean->asset_class;
    while (i < clean->n) {
        uint64_t roll = next_random(&state) % 10000;
        size_t at = dirty->n;

        if (roll < 10) {
            i++;
            continue;
        }
        if (append_row(dirty, clean, i) != 0)
            return -1;
        if (roll < 20 && append_row(dirty, clean, i) != 0)
            return -1;
        if (roll >= 20 && roll < 25) {
            if (append_row(dirty, clean, i) != 0)
                return -1;
            dirty->close[at + 1] *= 1.001;
        }
        if (roll >= 25 && roll < 35 && i + 1 < clean->n) {
            if (append_row(dirty, clean, i + 1) != 0)
                return -1;
            i++;
            dirty->open_time[at + 1] = clean->open_time[i - 1];
            dirty->open_time[at] = clean->open_time[i];
        }
        if (roll >= 35 && roll < 40)
            dirty->close[at] = roll % 2 ? NAN : -dirty->close[at];
        if (roll >= 40 && roll < 45)
            dirty->high[at] = dirty->low[at] * 0.99;
        if (roll >= 45 && roll < 47) {
            dirty->close[at] *= 1.5;
            dirty->high[at] = fmax(dirty->high[at], dirty->close[at]);
        }
        if (roll == 47) {
            dirty->close[at] *= 100;
            dirty->high[at] = fmax(dirty->high[at], dirty->close[at]);
        }
        if (roll >= 48 && roll < 50) {
            for (size_t k = 0; k < 4 && i < clean->n; k++, i++) {
                if (k > 0 && append_row(dirty, clean, i) != 0)
                    return -1;
                dirty->volume[dirty->n - 1] = 0;
            }
            continue;
        }
        i++;
    }
    return 0;
}


static int copy_series(ohlcx_series *to, const ohlcx_series *from)
{
    ohlcx_series_free(to);
    memcpy(to->symbol, from->symbol, sizeof to->symbol);
    memcpy(to->timeframe, from->timeframe, sizeof to->timeframe);
    to->asset_class = from->asset_class;
    if (ohlcx_series_reserve(to, from->n) != 0)
        return -1;
    memcpy(to->open_time, from->open_time, from->n * sizeof *to->open_time);
    memcpy(to->open, from->open, from->n * sizeof *to->open);
    memcpy(to->high, from->high, from->n * sizeof *to->high);
    memcpy(to->low, from->low, from->n * sizeof *to->low);
    memcpy(to->close, from->close, from->n * sizeof *to->close);
    memcpy(to->volume, from->volume, from->n * sizeof *to->volume);
    memcpy(to->flags, from->flags, from->n * sizeof *to->flags);
    to->n = from->n;
    return 0;
}


/* Returns the median bars per second of runs calls, or -1 on an error. */
static double time_checks(const ohlcx_series *given, int policy, int runs,
                          ohlcx_quality_report *last_report)
{
    ohlcx_check_options options;
    ohlcx_series work;
    double rates[64];

    ohlcx_check_options_default(&options);
    options.policy = policy;
    options.now_us = given->open_time[given->n - 1] + 2 * MINUTE;
    ohlcx_series_init(&work);
    for (int run = 0; run < runs; run++) {
        ohlcx_quality_report report;
        double start;

        if (copy_series(&work, given) != 0)
            return -1;
        start = seconds_now();
        if (ohlcx_check_series(&work, &options, &report) != 0) {
            fprintf(stderr, "bench_checks: %s\n", ohlcx_last_error());
            return -1;
        }
        rates[run] = (double)given->n / (seconds_now() - start);
        if (run + 1 == runs && last_report != NULL)
            *last_report = report;
        else
            ohlcx_quality_report_free(&report);
    }
    ohlcx_series_free(&work);
    return median(rates, runs);
}


static int dump_series(const ohlcx_series *s, const char *dir, const char *name)
{
    char path[4096];
    int64_t n = (int64_t)s->n;
    const double *columns[] = {s->open, s->high, s->low, s->close, s->volume};
    FILE *file;
    int ok;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    file = fopen(path, "wb");
    if (file == NULL) {
        fprintf(stderr, "bench_checks: cannot write %s\n", path);
        return -1;
    }
    ok = fwrite(&n, sizeof n, 1, file) == 1 &&
         fwrite(s->open_time, sizeof *s->open_time, s->n, file) == s->n;
    for (int c = 0; c < 5; c++)
        ok = ok && fwrite(columns[c], sizeof *columns[c], s->n, file) == s->n;
    ok = fclose(file) == 0 && ok;
    if (!ok)
        fprintf(stderr, "bench_checks: failed writing %s\n", path);
    return ok ? 0 : -1;
}


static void print_counts(const ohlcx_quality_report *report)
{
    printf("dirty series, policy report: verdict %s; counts:", ohlcx_verdict_name(report->verdict));
    for (size_t i = 0; i < report->check_count; i++)
        if (report->checks[i].count > 0)
            printf(" %s %zu", report->checks[i].name, report->checks[i].count);
    printf("\n");
}


int main(int argc, char **argv)
{
    ohlcx_synth_options synth;
    ohlcx_series clean, dirty;
    ohlcx_quality_report report;
    const char *dump_dir = NULL;
    int runs = 5;
    double rate[4];

    ohlcx_synth_options_default(&synth);
    synth.months = 24;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--months") == 0 && i + 1 < argc)
            synth.months = atoi(argv[++i]);
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc)
            dump_dir = argv[++i];
        else {
            fprintf(stderr, "usage: bench_checks [--months M] [--runs R] [--dump DIR]\n");
            return 2;
        }
    }
    if (runs < 1 || runs > 64 || synth.months < 1) {
        fprintf(stderr, "bench_checks: invalid --runs %d or --months %d: use 1-64 runs and "
                        "1 or more months\n", runs, synth.months);
        return 2;
    }

    ohlcx_series_init(&clean);
    if (ohlcx_synth_series("BTCUSDT", "1m", &synth, &clean) != 0 || make_dirty(&clean, &dirty) != 0) {
        fprintf(stderr, "bench_checks: %s\n", ohlcx_last_error());
        return 1;
    }
    if (dump_dir != NULL &&
        (dump_series(&clean, dump_dir, "clean.bin") != 0 ||
         dump_series(&dirty, dump_dir, "dirty.bin") != 0))
        return 1;

    rate[0] = time_checks(&clean, OHLCX_POLICY_REPORT, runs, NULL);
    rate[1] = time_checks(&clean, OHLCX_POLICY_REPAIR, runs, NULL);
    rate[2] = time_checks(&dirty, OHLCX_POLICY_REPORT, runs, &report);
    rate[3] = time_checks(&dirty, OHLCX_POLICY_REPAIR, runs, NULL);
    for (int i = 0; i < 4; i++)
        if (rate[i] < 0)
            return 1;
    printf("clean series: %zu bars of 1m; dirty series: %zu rows\n", clean.n, dirty.n);
    print_counts(&report);
    printf("ohlcx_check_series, median of %d runs, one thread:\n", runs);
    printf("  clean, policy report: %.1f M bars/s\n", rate[0] / 1e6);
    printf("  clean, policy repair: %.1f M bars/s\n", rate[1] / 1e6);
    printf("  dirty, policy report: %.1f M bars/s\n", rate[2] / 1e6);
    printf("  dirty, policy repair: %.1f M bars/s\n", rate[3] / 1e6);
    ohlcx_quality_report_free(&report);
    ohlcx_series_free(&clean);
    ohlcx_series_free(&dirty);
    return 0;
}
