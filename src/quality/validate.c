/*
 * Basic validation: sort by open time, then drop invalid and duplicate rows.
 *
 * Rows are first put in open-time order by a stable sort (ties keep file
 * order, see order.c), which runs only when the rows are out of order. One pass then keeps or drops each row and compacts the columns in
 * place:
 *   1. A row that breaks a price or volume rule is dropped for the first
 *      rule it breaks, in the order of enum ohlcx_drop_reason.
 *   2. A valid row whose open time equals that of the last kept row is an
 *      exact duplicate when every value matches, else a conflict. Either way
 *      the kept row stays, so the first valid row of each open time wins.
 * Checking rules before duplicates means an invalid row never hides a valid
 * one with the same open time.
 *
 * Afterwards open times are strictly increasing and every kept row has
 * finite prices > 0, low <= open, close <= high and a finite volume >= 0.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ohlcx/error.h"
#include "ohlcx/quality.h"
#include "ohlcx/series.h"
#include "quality/checks_internal.h"

static const char *reason_names[OHLCX_DROP_REASON_COUNT] = {
    "duplicate",     "conflict",       "nonpositive_price",
    "high_below_low", "outside_range", "negative_volume",
};

static int is_sorted(const ohlcx_series *series)
{
    for (size_t i = 1; i < series->n; i++)
        if (series->open_time[i] < series->open_time[i - 1])
            return 0;
    return 1;
}


static void permute_doubles(double *column, const size_t *order, size_t n, double *scratch)
{
    for (size_t i = 0; i < n; i++)
        scratch[i] = column[order[i]];
    memcpy(column, scratch, n * sizeof *column);
}


/* Sorts every column by open time, keeping file order among equal times. */
static int sort_rows(ohlcx_series *series)
{
    size_t n = series->n;
    size_t *order = malloc(n * sizeof *order);
    int64_t *times = malloc(n * sizeof *times);
    double *scratch = malloc(n * sizeof *scratch);
    uint8_t *flags = malloc(n);
    int status = 0;

    if (order == NULL || times == NULL || scratch == NULL || flags == NULL) {
        status = ohlcx_set_error(OHLCX_ENOMEM, "out of memory sorting %zu bars", n);
        goto done;
    }
    status = check_order_by_time(series->open_time, n, times, order);
    if (status != 0)
        goto done;

    memcpy(series->open_time, times, n * sizeof *times);
    for (size_t i = 0; i < n; i++)
        flags[i] = series->flags[order[i]];
    memcpy(series->flags, flags, n);
    permute_doubles(series->open, order, n, scratch);
    permute_doubles(series->high, order, n, scratch);
    permute_doubles(series->low, order, n, scratch);
    permute_doubles(series->close, order, n, scratch);
    permute_doubles(series->volume, order, n, scratch);
    for (int i = 0; i < OHLCX_EXTRA_COUNT; i++)
        if (series->extra_column[i] != NULL)
            permute_doubles(series->extra_column[i], order, n, scratch);

done:
    free(order);
    free(times);
    free(scratch);
    free(flags);
    return status;
}


static int valid_price(double price)
{
    return isfinite(price) && price > 0;
}


/* Returns the first rule row i breaks, or -1 when it breaks none. */
static int broken_rule(const ohlcx_series *s, size_t i)
{
    if (!valid_price(s->open[i]) || !valid_price(s->high[i]) || !valid_price(s->low[i]) ||
        !valid_price(s->close[i]))
        return OHLCX_DROP_NONPOSITIVE_PRICE;
    if (s->high[i] < s->low[i])
        return OHLCX_DROP_HIGH_BELOW_LOW;
    if (s->open[i] < s->low[i] || s->open[i] > s->high[i] || s->close[i] < s->low[i] ||
        s->close[i] > s->high[i])
        return OHLCX_DROP_OUTSIDE_RANGE;
    if (!isfinite(s->volume[i]) || s->volume[i] < 0)
        return OHLCX_DROP_NEGATIVE_VOLUME;
    return -1;
}


static int same_values(const ohlcx_series *s, size_t a, size_t b)
{
    return s->open[a] == s->open[b] && s->high[a] == s->high[b] && s->low[a] == s->low[b] &&
           s->close[a] == s->close[b] && s->volume[a] == s->volume[b];
}


static void move_row(ohlcx_series *s, size_t to, size_t from)
{
    s->open_time[to] = s->open_time[from];
    s->open[to] = s->open[from];
    s->high[to] = s->high[from];
    s->low[to] = s->low[from];
    s->close[to] = s->close[from];
    s->volume[to] = s->volume[from];
    s->flags[to] = s->flags[from];
    for (int i = 0; i < OHLCX_EXTRA_COUNT; i++)
        if (s->extra_column[i] != NULL)
            s->extra_column[i][to] = s->extra_column[i][from];
}


int ohlcx_validate_basic(ohlcx_series *series, ohlcx_validation *result)
{
    ohlcx_validation local_result;
    size_t kept_rows = 0;

    if (series == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "ohlcx_validate_basic: series must not be NULL");
    if (result == NULL)
        result = &local_result;
    memset(result, 0, sizeof *result);
    result->rows_in = series->n;

    if (!is_sorted(series)) {
        int status = sort_rows(series);
        if (status != 0)
            return status;
        result->was_unsorted = 1;
    }

    for (size_t i = 0; i < series->n; i++) {
        int reason = broken_rule(series, i);
        int repeats_time = kept_rows > 0 &&
                           series->open_time[i] == series->open_time[kept_rows - 1];

        if (reason < 0 && repeats_time)
            reason = same_values(series, i, kept_rows - 1) ? OHLCX_DROP_DUPLICATE
                                                           : OHLCX_DROP_CONFLICT;
        if (reason >= 0) {
            result->dropped[reason]++;
            continue;
        }
        if (kept_rows != i) /* rows before the first drop stay where they are */
            move_row(series, kept_rows, i);
        kept_rows++;
    }
    series->n = kept_rows;
    result->rows_out = kept_rows;
    return 0;
}


const char *ohlcx_drop_reason_name(int reason)
{
    if (reason < 0 || reason >= OHLCX_DROP_REASON_COUNT)
        return "unknown";
    return reason_names[reason];
}


size_t ohlcx_validation_dropped(const ohlcx_validation *result)
{
    size_t total = 0;

    for (int reason = 0; reason < OHLCX_DROP_REASON_COUNT; reason++)
        total += result->dropped[reason];
    return total;
}
