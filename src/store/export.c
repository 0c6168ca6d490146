/*
 * CSV export of a stored series (format in include/ohlcx/store.h).
 *
 * The export streams one chunk of rows at a time, so its memory does not grow
 * with the series. A first pass over the open times alone decides between
 * milliseconds and microseconds.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ohlcx/error.h"
#include "store/store_internal.h"

#define WINDOW_ROWS OHLCX_STORE_CHUNK_ROWS


/* Returns 1 when every open time is a whole millisecond. */
static int whole_milliseconds(ohlcx_store_reader *reader, int64_t *buffer, int *status)
{
    size_t rows = ohlcx_store_reader_rows(reader);

    *status = 0;
    for (size_t begin = 0; begin < rows; begin += WINDOW_ROWS) {
        size_t end = rows - begin < WINDOW_ROWS ? rows : begin + WINDOW_ROWS;

        *status = store_column_read(&reader->columns[OHLCX_STORE_OPEN_TIME], begin, end, buffer);
        if (*status != 0)
            return 0;
        for (size_t i = 0; i < end - begin; i++)
            if (buffer[i] % 1000 != 0)
                return 0;
    }
    return 1;
}


/* Prints x in the fewest significant digits, 15 to 17, that read back as
 * the same double. Fewer than 15 need no search: %.15g drops trailing zeros,
 * and any double printed to 15 digits keeps a shorter exact form. */
static void print_shortest(FILE *out, double x)
{
    char text[40];

    if (isinf(x)) {
        fputs(x > 0 ? "inf" : "-inf", out);
        return;
    }
    for (int precision = 15; precision <= 17; precision++) {
        snprintf(text, sizeof text, "%.*g", precision, x);
        if (strtod(text, NULL) == x)
            break;
    }
    fputs(text, out);
}


static void print_value(FILE *out, double x, const store_column *column)
{
    if (isnan(x))
        return;
    if (column->encoding == OHLCX_STORE_TICKS)
        fprintf(out, "%.*f", column->decimals, x);
    else
        print_shortest(out, x);
}


static void print_header(FILE *out, unsigned extra)
{
    fputs("open_time,open,high,low,close,volume", out);
    for (int k = 0; k < OHLCX_EXTRA_COUNT; k++)
        if (extra & (1u << k))
            fprintf(out, ",%s", ohlcx_extra_name(k));
    fputs(",flags\n", out);
}


static void print_row(FILE *out, const ohlcx_store_reader *reader, const ohlcx_series *bars,
                      size_t i, int64_t time_divisor)
{
    const double *prices[5] = {bars->open, bars->high, bars->low, bars->close, bars->volume};

    fprintf(out, "%" PRId64, bars->open_time[i] / time_divisor);
    for (int k = 0; k < 5; k++) {
        fputc(',', out);
        print_value(out, prices[k][i], &reader->columns[OHLCX_STORE_OPEN + k]);
    }
    for (int k = 0; k < OHLCX_EXTRA_COUNT; k++) {
        if (!(bars->extra & (1u << k)))
            continue;
        fputc(',', out);
        print_value(out, bars->extra_column[k][i],
                    &reader->columns[OHLCX_STORE_QUOTE_VOLUME + k]);
    }
    fprintf(out, ",%u\n", (unsigned)bars->flags[i]);
}


static int write_rows(FILE *out, ohlcx_store_reader *reader, int64_t time_divisor)
{
    size_t rows = ohlcx_store_reader_rows(reader);
    ohlcx_series bars;
    int status = 0;

    ohlcx_series_init(&bars);
    print_header(out, ohlcx_store_reader_extra(reader));
    for (size_t begin = 0; begin < rows && status == 0; begin += WINDOW_ROWS) {
        size_t end = rows - begin < WINDOW_ROWS ? rows : begin + WINDOW_ROWS;

        status = ohlcx_store_reader_read(reader, begin, end, &bars);
        for (size_t i = 0; i < bars.n && status == 0; i++)
            print_row(out, reader, &bars, i, time_divisor);
    }
    ohlcx_series_free(&bars);
    return status;
}


int ohlcx_store_export_csv(ohlcx_store *store, const char *symbol, const char *timeframe,
                           FILE *out)
{
    ohlcx_store_reader *reader = NULL;
    int64_t *times = malloc(WINDOW_ROWS * sizeof *times);
    int status = times != NULL ? 0 : ohlcx_set_error(OHLCX_ENOMEM, "out of memory exporting");
    int milliseconds = 0;

    if (status == 0)
        status = ohlcx_store_reader_open(store, symbol, timeframe, &reader);
    if (status == 0)
        milliseconds = whole_milliseconds(reader, times, &status);
    if (status == 0)
        status = write_rows(out, reader, milliseconds ? 1000 : 1);
    if (status == 0 && (fflush(out) != 0 || ferror(out)))
        status = ohlcx_set_error(OHLCX_EIO, "cannot write the CSV export of %s %s: %s", symbol,
                                 timeframe, strerror(errno));
    ohlcx_store_reader_close(reader);
    free(times);
    return status;
}
