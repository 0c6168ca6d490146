/*
 * Writing a series as Binance kline CSV.
 *
 * Columns: open_time, open, high, low, close, volume, close_time,
 * quote_volume, count, taker_buy_volume, taker_buy_quote_volume, ignore.
 * Times are epoch milliseconds and close_time is the last millisecond of the
 * bar. Prices and volumes are printed with the fewest digits that read back
 * as the same double, so a written file parses to the series it came from.
 *
 * A series has no trade data, so the last five columns are derived:
 * quote volume = volume * close, about one trade per 1000 of quote volume,
 * and a taker-buy share of 0.5 + 0.25 * (close - open) / (high - low), so up
 * bars have more aggressive buying.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ohlcx/error.h"
#include "ohlcx/synth.h"
#include "synth/synth_internal.h"

#define CSV_HEADER                                                                          \
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume," \
    "taker_buy_quote_volume,ignore\n"

/* Quote volume per trade used to derive the trade count. */
#define QUOTE_PER_TRADE 1000.0

/* Derived columns are rounded to 1 / DERIVED_STEPS. */
#define DERIVED_STEPS 10000.0


/* Writes value with the fewest of 15 or 17 significant digits that parse
 * back to the same double. %g drops trailing zeros, so 42000.50 prints as
 * "42000.5". */
static void format_number(double value, char *out, size_t size)
{
    snprintf(out, size, "%.15g", value);
    if (strtod(out, NULL) != value)
        snprintf(out, size, "%.17g", value);
}


static double round_derived(double value)
{
    return round(value * DERIVED_STEPS) / DERIVED_STEPS;
}


static int check_bar(const ohlcx_series *series, size_t i)
{
    double values[5] = {series->open[i], series->high[i], series->low[i], series->close[i],
                        series->volume[i]};

    for (int k = 0; k < 5; k++)
        if (!isfinite(values[k]))
            return ohlcx_set_error(OHLCX_EINVAL,
                                   "cannot write %s %s: bar %zu has a non-finite price or "
                                   "volume",
                                   series->symbol, series->timeframe, i);
    return 0;
}


/* Writes one bar as a CSV line. */
static int write_bar(FILE *file, const ohlcx_series *series, const synth_calendar *calendar,
                     size_t i)
{
    double open = series->open[i], high = series->high[i], low = series->low[i];
    double close = series->close[i], volume = series->volume[i];
    double range = high - low;
    double taker_share = range > 0 ? 0.5 + 0.25 * (close - open) / range : 0.5;
    double quote = round_derived(volume * close);
    double taker = fmin(round_derived(volume * taker_share), volume);
    double taker_quote = round_derived(taker * close);
    double trades = round(quote / QUOTE_PER_TRADE);
    int64_t open_ms = series->open_time[i] / 1000;
    int64_t close_ms = synth_bar_end(calendar, series->open_time[i]) / 1000 - 1;
    char text[9][32];

    if (volume > 0 && trades < 1)
        trades = 1;
    format_number(open, text[0], sizeof text[0]);
    format_number(high, text[1], sizeof text[1]);
    format_number(low, text[2], sizeof text[2]);
    format_number(close, text[3], sizeof text[3]);
    format_number(volume, text[4], sizeof text[4]);
    format_number(quote, text[5], sizeof text[5]);
    format_number(taker, text[6], sizeof text[6]);
    format_number(taker_quote, text[7], sizeof text[7]);
    format_number(trades, text[8], sizeof text[8]);
    return fprintf(file, "%" PRId64 ",%s,%s,%s,%s,%s,%" PRId64 ",%s,%s,%s,%s,0\n", open_ms,
                   text[0], text[1], text[2], text[3], text[4], close_ms, text[5], text[8],
                   text[6], text[7]) < 0;
}


int ohlcx_write_binance_csv(const ohlcx_series *series, const char *path)
{
    synth_calendar calendar;
    FILE *file = NULL;
    int status, failed;

    if (series == NULL || path == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid CSV write call: series and path must be set");
    status = synth_calendar_init(&calendar, series->timeframe, 0);
    if (status != 0)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "cannot write %s: unknown timeframe '%s' in the series", path,
                               series->timeframe);
    for (size_t i = 0; i < series->n; i++) {
        status = check_bar(series, i);
        if (status != 0)
            return status;
        if (series->open_time[i] < 0)
            return ohlcx_set_error(OHLCX_EINVAL, "cannot write %s: bar %zu opens before 1970",
                                   path, i);
    }

    file = fopen(path, "w");
    if (file == NULL)
        return ohlcx_set_error(OHLCX_EIO, "cannot open %s for writing: %s", path,
                               strerror(errno));
    failed = fputs(CSV_HEADER, file) < 0;
    for (size_t i = 0; i < series->n && !failed; i++)
        failed = write_bar(file, series, &calendar, i);
    if (fclose(file) != 0)
        failed = 1;
    if (failed) {
        status = ohlcx_set_error(OHLCX_EIO, "cannot write %s: %s", path, strerror(errno));
        unlink(path);
        return status;
    }
    return 0;
}
