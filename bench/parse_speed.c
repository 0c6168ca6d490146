/*
 * Times ohlcx_read_candles_ex() on one file and prints the median rate of
 * several runs, with a hash of every parsed value so that two builds can be
 * compared bit for bit.
 *
 * Not built by CMake. Compile it against a build directory's library:
 *   cc -O2 -march=native -Iinclude bench/parse_speed.c BUILD/libohlcx.a \
 *      $(pkg-config --libs xgboost openblas libcjson sqlite3 libzstd zlib \
 *      yaml-0.1) -lpthread -lm -o /tmp/parse_speed
 *   /tmp/parse_speed FILE [RUNS]
 * The first run pays for the page cache if the file is not in it yet.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ohlcx/error.h"
#include "ohlcx/format.h"
#include "ohlcx/series.h"

#define RUNS_MAX 50


static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}


static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}


/* FNV-1a over the bytes of a column. */
static uint64_t hash_bytes(uint64_t hash, const void *data, size_t size)
{
    const unsigned char *bytes = data;

    for (size_t i = 0; i < size; i++) {
        hash ^= bytes[i];
        hash *= UINT64_C(1099511628211);
    }
    return hash;
}


static uint64_t hash_series(const ohlcx_series *series)
{
    uint64_t hash = UINT64_C(14695981039346656037);
    size_t n = series->n;

    hash = hash_bytes(hash, series->open_time, n * sizeof *series->open_time);
    hash = hash_bytes(hash, series->open, n * sizeof *series->open);
    hash = hash_bytes(hash, series->high, n * sizeof *series->high);
    hash = hash_bytes(hash, series->low, n * sizeof *series->low);
    hash = hash_bytes(hash, series->close, n * sizeof *series->close);
    hash = hash_bytes(hash, series->volume, n * sizeof *series->volume);
    hash = hash_bytes(hash, series->flags, n * sizeof *series->flags);
    for (int i = 0; i < OHLCX_EXTRA_COUNT; i++)
        if (series->extra_column[i] != NULL)
            hash = hash_bytes(hash, series->extra_column[i], n * sizeof(double));
    return hash;
}


int main(int argc, char **argv)
{
    double seconds[RUNS_MAX];
    struct stat info;
    int runs = argc > 2 ? atoi(argv[2]) : 5;

    if (argc < 2 || runs < 1 || runs > RUNS_MAX) {
        fprintf(stderr, "usage: parse_speed FILE [RUNS, 1 to %d]\n", RUNS_MAX);
        return 2;
    }
    if (stat(argv[1], &info) != 0) {
        perror(argv[1]);
        return 1;
    }

    for (int run = 0; run < runs; run++) {
        ohlcx_series series;
        ohlcx_read_report report;
        double start = 0;
        int status = 0;

        ohlcx_series_init(&series);
        start = now_seconds();
        status = ohlcx_read_candles_ex(argv[1], NULL, NULL, &series, &report);
        seconds[run] = now_seconds() - start;
        if (status != 0) {
            fprintf(stderr, "parse_speed: %s\n", ohlcx_last_error());
            return 1;
        }
        if (run == 0)
            printf("rows %zu, lines %zu, layout %s, hash %016llx\n", series.n, report.lines,
                   report.layout, (unsigned long long)hash_series(&series));
        ohlcx_read_report_free(&report);
        ohlcx_series_free(&series);
    }

    qsort(seconds, (size_t)runs, sizeof seconds[0], compare_doubles);
    printf("median %.3f s, %.0f MB/s (%d runs, min %.3f s)\n", seconds[runs / 2],
           (double)info.st_size / seconds[runs / 2] / 1e6, runs, seconds[0]);
    return 0;
}
