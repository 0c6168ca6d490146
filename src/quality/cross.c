/*
 * Cross-source validation: two series of one symbol and timeframe, from two
 * vendors or exchanges, compared bar by bar with one merge walk over their
 * sorted open times, so the cost is linear in the bars.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ohlcx/check.h"
#include "ohlcx/error.h"


static int sorted_unique(const ohlcx_series *series)
{
    for (size_t i = 1; i < series->n; i++)
        if (series->open_time[i] <= series->open_time[i - 1])
            return 0;
    return 1;
}


static void add_example(ohlcx_source_comparison *out, size_t row, int64_t open_time,
                        double close_a, double close_b)
{
    ohlcx_check_example *example;

    if (out->example_count == OHLCX_CHECK_EXAMPLES)
        return;
    example = &out->examples[out->example_count++];
    example->row = row;
    example->open_time = open_time;
    example->value = close_a / close_b - 1;
    snprintf(example->note, sizeof example->note, "close %.10g here, %.10g in the other source",
             close_a, close_b);
}


int ohlcx_compare_sources(const ohlcx_series *a, const ohlcx_series *b, double tolerance,
                          ohlcx_source_comparison *out)
{
    int64_t first, last;
    size_t i = 0, j = 0;

    memset(out, 0, sizeof *out);
    if (!(tolerance >= 0) || !isfinite(tolerance))
        return ohlcx_set_error(OHLCX_EINVAL, "invalid close tolerance %g: use 0 or more",
                               tolerance);
    if (!sorted_unique(a) || !sorted_unique(b))
        return ohlcx_set_error(OHLCX_EINVAL,
                               "cross-source comparison of %s %s needs sorted series with "
                               "unique open times: validate both first",
                               a->symbol, a->timeframe);
    if (a->n == 0 || b->n == 0)
        return 0;

    /* Only the span that both sources cover can be compared. */
    first = a->open_time[0] > b->open_time[0] ? a->open_time[0] : b->open_time[0];
    last = a->open_time[a->n - 1] < b->open_time[b->n - 1] ? a->open_time[a->n - 1]
                                                           : b->open_time[b->n - 1];
    while (i < a->n && a->open_time[i] < first)
        i++;
    while (j < b->n && b->open_time[j] < first)
        j++;

    while (i < a->n && j < b->n && (a->open_time[i] <= last || b->open_time[j] <= last)) {
        if (a->open_time[i] == b->open_time[j]) {
            double difference = fabs(a->close[i] / b->close[j] - 1);

            out->compared++;
            if (difference > out->max_difference)
                out->max_difference = difference;
            if (difference > tolerance) {
                out->close_mismatches++;
                add_example(out, i, a->open_time[i], a->close[i], b->close[j]);
            }
            i++;
            j++;
        } else if (a->open_time[i] < b->open_time[j]) {
            out->missing_in_b += a->open_time[i] <= last;
            i++;
        } else {
            out->missing_in_a += b->open_time[j] <= last;
            j++;
        }
    }
    return 0;
}
