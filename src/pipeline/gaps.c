/*
 * Gaps of a loaded series: short ones filled, long ones recorded so that no
 * training sample reads across them.
 *
 * A gap is an expected bar that the series lacks, on its market calendar:
 * the overnight and weekend closes of a US stock are no gaps, and a 24/7
 * crypto series expects every bar. ohlcx_check_series() finds the gaps that
 * way, so loading runs it under the repair policy with the same
 * max_fill_gap as `ohlcx ingest`. A file and the store series that ingest
 * makes of it then give the same bars and the same samples.
 *
 * The gaps are found on the series as loaded, files and stored series alike,
 * instead of being read from the quality summary in the store's catalogue.
 * That summary describes the last file ingested into a series, lists at most
 * 100 gaps, gives rows of that file rather than of the merged series, and
 * misses a gap between two ingested files. The checks are a few passes over
 * the rows, O(n) for a sorted series, which validation leaves sorted.
 *
 * Under the repair policy the gap rows in the report refer to the series
 * before the short gaps were filled, so the row after each long gap is found
 * again in the filled series, by open time.
 */
#include <stdlib.h>

#include "ohlcx/check.h"
#include "ohlcx/error.h"
#include "pipeline/internal.h"


/* Returns the first row whose open time is at or after open_time. */
static size_t first_row_from(const ohlcx_series *bars, int64_t open_time)
{
    size_t low = 0, high = bars->n;

    while (low < high) {
        size_t middle = low + (high - low) / 2;

        if (bars->open_time[middle] < open_time)
            low = middle + 1;
        else
            high = middle;
    }
    return low;
}


static int record_long_gaps(pipeline_series *series, const ohlcx_quality_report *report)
{
    size_t count = 0;

    for (size_t g = 0; g < report->gap_count; g++)
        count += !report->gaps[g].filled && report->gaps[g].missing > PIPELINE_MAX_FILL_GAP;
    if (count == 0)
        return 0;
    series->long_gap_rows = malloc(count * sizeof *series->long_gap_rows);
    if (series->long_gap_rows == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory listing %zu gaps of %s", count,
                               series->bars.source_path);

    for (size_t g = 0; g < report->gap_count; g++) {
        const ohlcx_gap *gap = &report->gaps[g];

        if (gap->filled || gap->missing <= PIPELINE_MAX_FILL_GAP)
            continue;
        series->long_gap_rows[series->long_gaps++] =
            first_row_from(&series->bars, gap->first_missing);
        series->long_gap_bars += gap->missing;
    }
    return 0;
}


int pipeline_repair_gaps(pipeline_series *series)
{
    ohlcx_check_options options;
    ohlcx_quality_report report;
    int status;

    ohlcx_check_options_default(&options);
    options.policy = OHLCX_POLICY_REPAIR;
    options.max_fill_gap = PIPELINE_MAX_FILL_GAP;
    status = ohlcx_check_series(&series->bars, &options, &report);
    if (status != 0)
        return status;

    for (size_t g = 0; g < report.gap_count; g++) {
        if (!report.gaps[g].filled)
            continue;
        series->short_gaps++;
        series->bars_filled += report.gaps[g].missing;
    }
    status = record_long_gaps(series, &report);
    ohlcx_quality_report_free(&report);
    return status;
}
