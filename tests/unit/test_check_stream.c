/*
 * Tests of the streaming checks (ohlcx_check_stream_*). The contract is
 * equivalence: cut a series into chunks in any way, and the rows the stream
 * appends and the report it returns equal what ohlcx_check_series() leaves
 * and returns on the whole series, or some call returns OHLCX_WHOLE_SERIES.
 * The one difference is that the stream's report lists only the first
 * OHLCX_CHECK_STREAM_GAPS_KEPT gaps, and a series with 200,000 gaps checks
 * that the stream keeps no more than that.
 * Generated random walks are compared under several chunkings, and a small
 * case is checked against values worked out by hand. The series that must
 * take the whole-series path are listed. Generated forex and US stock
 * series of 2024 (New York week and sessions, daylight saving changes,
 * holidays) check the session calendars. Every crypto, forex, stock and
 * index file of the real data folder is compared in chunks of 65536 rows.
 */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "ohlcx/check.h"
#include "ohlcx/error.h"
#include "ohlcx/format.h"
#include "ohlcx/series.h"
#include "pipeline/internal.h"
#include "quality/quality_internal.h"
#include "test_format_helpers.h"

#define MINUTE OHLCX_US_PER_MINUTE
#define HOUR OHLCX_US_PER_HOUR
#define DAY OHLCX_US_PER_DAY

/* 2024-01-01 00:00:00 UTC */
#define JAN1 (INT64_C(1704067200) * OHLCX_US_PER_SECOND)

/* 2024-03-10 07:00 and 2024-11-03 06:00 UTC, 02:00 in New York: daylight
 * saving time began and ended then in 2024. */
#define DST_START_2024 (INT64_C(1710054000) * OHLCX_US_PER_SECOND)
#define DST_END_2024 (INT64_C(1730613600) * OHLCX_US_PER_SECOND)

/* Chunk sizes of the equivalence tests; 0 stands for the whole series. */
static const size_t chunkings[] = {1, 7, 100, 4096, 0};


/* A small deterministic generator (64-bit LCG, high bits), so that a
 * failure reproduces. */
static uint64_t rng_state;

static double uniform(void)
{
    rng_state = rng_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return (double)(rng_state >> 11) / 9007199254740992.0;
}


static void series_start(ohlcx_series *s, const char *timeframe, int asset_class,
                         unsigned extra)
{
    ohlcx_series_init(s);
    snprintf(s->symbol, sizeof s->symbol, "BTCUSDT");
    snprintf(s->timeframe, sizeof s->timeframe, "%s", timeframe);
    snprintf(s->source_path, sizeof s->source_path, "generated/BTCUSDT_%s.csv", timeframe);
    s->asset_class = asset_class;
    assert_int_equal(ohlcx_series_add_extra(s, extra), 0);
}


static void append_row(ohlcx_series *s, int64_t t, double o, double h, double l, double c,
                       double v)
{
    assert_int_equal(ohlcx_series_append(s, t, o, h, l, c, v), 0);
    if (s->extra & OHLCX_EXTRA_QUOTE_VOLUME)
        s->extra_column[0][s->n - 1] = v * c;
}


/* What the generated walks contain besides plain bars. */
typedef struct walk_shape {
    size_t bars;
    int long_gap;   /* one gap of 1000 bars: a unit_switch and a long gap */
    int scale_jump; /* one close 100 times the one before, then back */
} walk_shape;


/* A random walk of 1h crypto bars with gaps of 1 to 5 bars, zero-volume
 * runs, flat bars, volume spikes and extreme moves, and a quote volume
 * column. Prices have two decimals, as exchange prices do. */
static void random_walk(ohlcx_series *s, uint64_t seed, const walk_shape *shape)
{
    double close = 100;
    int64_t t = JAN1;
    size_t zero_left = 0;

    rng_state = seed;
    series_start(s, "1h", OHLCX_ASSET_CRYPTO, OHLCX_EXTRA_QUOTE_VOLUME);
    for (size_t i = 0; i < shape->bars; i++) {
        double open = close, high, low, volume = 100 + 50 * uniform(), u = uniform();

        /* An open a tick away from the close before, so that a gap fill
         * that takes the wrong neighbour shows. */
        open = round((close + (uniform() < 0.5 ? 0.01 : -0.01)) * 100) / 100;

        if (i > 0 && u < 0.03)
            t += (int64_t)(1 + (int)(uniform() * 5)) * HOUR; /* 1 to 5 missing bars */
        if (shape->long_gap && i == shape->bars / 2)
            t += 999 * HOUR;
        close = round(open * exp(0.01 * (uniform() - 0.5)) * 100) / 100;
        if (u > 0.995)
            close = round(close * 1.5 * 100) / 100; /* extreme move */
        if (shape->scale_jump && i == shape->bars / 3)
            close *= 100;
        if (shape->scale_jump && i == shape->bars / 3 + 1)
            close = round(close / 100 * 100) / 100;
        high = fmax(open, close) + 0.05;
        low = fmin(open, close) - 0.05;
        if (u > 0.98 && u <= 0.99) /* flat bar */
            open = high = low = close;
        if (u > 0.97 && u <= 0.98 && zero_left == 0)
            zero_left = 2 + (size_t)(uniform() * 5);
        if (u > 0.96 && u <= 0.965)
            volume *= 40; /* volume spike */
        if (zero_left > 0) {
            volume = 0;
            zero_left--;
        }
        append_row(s, t, open, high, low, close, volume);
        t += HOUR;
    }
}


static void copy_series(ohlcx_series *to, const ohlcx_series *from)
{
    series_start(to, from->timeframe, from->asset_class, from->extra);
    memcpy(to->symbol, from->symbol, sizeof to->symbol);
    memcpy(to->source_path, from->source_path, sizeof to->source_path);
    assert_int_equal(ohlcx_series_reserve(to, from->n ? from->n : 1), 0);
    if (from->n == 0)
        return; /* the columns of an empty series may be NULL */
    memcpy(to->open_time, from->open_time, from->n * sizeof *to->open_time);
    memcpy(to->open, from->open, from->n * sizeof *to->open);
    memcpy(to->high, from->high, from->n * sizeof *to->high);
    memcpy(to->low, from->low, from->n * sizeof *to->low);
    memcpy(to->close, from->close, from->n * sizeof *to->close);
    memcpy(to->volume, from->volume, from->n * sizeof *to->volume);
    memcpy(to->flags, from->flags, from->n * sizeof *to->flags);
    for (int c = 0; c < OHLCX_EXTRA_COUNT; c++)
        if (from->extra_column[c] != NULL)
            memcpy(to->extra_column[c], from->extra_column[c],
                   from->n * sizeof *to->extra_column[c]);
    to->n = from->n;
}


/* Appends rows [first, first + count) of from to the rows of to. */
static void append_rows(ohlcx_series *to, const ohlcx_series *from, size_t first, size_t count)
{
    assert_int_equal(ohlcx_series_reserve(to, to->n + count), 0);
    for (size_t i = first; i < first + count; i++) {
        size_t at = to->n++;

        to->open_time[at] = from->open_time[i];
        to->open[at] = from->open[i];
        to->high[at] = from->high[i];
        to->low[at] = from->low[i];
        to->close[at] = from->close[i];
        to->volume[at] = from->volume[i];
        to->flags[at] = from->flags[i];
        for (int c = 0; c < OHLCX_EXTRA_COUNT; c++)
            if (from->extra_column[c] != NULL)
                to->extra_column[c][at] = from->extra_column[c][i];
    }
}


/*
 * Streams x in chunks of chunk rows (0: one chunk) the way ingest does: each
 * chunk is copied into one reused buffer, and out is emptied after each
 * call once its rows are moved to result. Returns 0 with result and report
 * set, OHLCX_WHOLE_SERIES, or fails on an error.
 */
static int stream_series(const ohlcx_series *x, const ohlcx_check_options *options,
                         size_t chunk, ohlcx_series *result, ohlcx_quality_report *report)
{
    ohlcx_check_stream *stream = NULL;
    ohlcx_series buffer, out;
    int status;

    series_start(result, x->timeframe, x->asset_class, x->extra);
    memset(report, 0, sizeof *report);
    status = ohlcx_check_stream_begin(x, options, &stream);
    if (status < 0)
        fail_msg("begin: %s", ohlcx_last_error());
    if (status == OHLCX_WHOLE_SERIES)
        return status;
    series_start(&buffer, x->timeframe, x->asset_class, x->extra);
    series_start(&out, x->timeframe, x->asset_class, x->extra);
    if (chunk == 0)
        chunk = x->n > 0 ? x->n : 1;
    for (size_t first = 0; first < x->n && status == 0; first += chunk) {
        buffer.n = 0;
        append_rows(&buffer, x, first, x->n - first < chunk ? x->n - first : chunk);
        status = ohlcx_check_stream_push(stream, &buffer, &out);
        append_rows(result, &out, 0, out.n);
        out.n = 0;
    }
    if (status == 0) {
        status = ohlcx_check_stream_finish(stream, &out, report);
        append_rows(result, &out, 0, out.n);
    }
    if (status < 0)
        fail_msg("stream: %s", ohlcx_last_error());
    ohlcx_check_stream_free(stream);
    ohlcx_series_free(&buffer);
    ohlcx_series_free(&out);
    return status;
}


static int same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}


/* Fails, naming the row, when two series differ in any bit. */
static void assert_same_rows(const ohlcx_series *a, const ohlcx_series *b, const char *label)
{
    if (a->n != b->n)
        fail_msg("%s: %zu rows streamed, %zu from the whole series", label, a->n, b->n);
    if (a->extra != b->extra)
        fail_msg("%s: optional columns %#x vs %#x", label, a->extra, b->extra);
    for (size_t i = 0; i < a->n; i++) {
        int same = a->open_time[i] == b->open_time[i] && a->flags[i] == b->flags[i] &&
                   same_double(a->open[i], b->open[i]) && same_double(a->high[i], b->high[i]) &&
                   same_double(a->low[i], b->low[i]) && same_double(a->close[i], b->close[i]) &&
                   same_double(a->volume[i], b->volume[i]);

        for (int c = 0; c < OHLCX_EXTRA_COUNT; c++)
            if (a->extra_column[c] != NULL)
                same &= same_double(a->extra_column[c][i], b->extra_column[c][i]);
        if (!same)
            fail_msg("%s: row %zu differs (close %.17g vs %.17g, flags %d vs %d)", label, i,
                     a->close[i], b->close[i], a->flags[i], b->flags[i]);
    }
}


static void assert_same_result(const ohlcx_check_result *a, const ohlcx_check_result *b,
                               const char *label)
{
    if (strcmp(a->name, b->name) != 0 || a->severity != b->severity || a->count != b->count ||
        a->example_count != b->example_count)
        fail_msg("%s: %s severity %d count %zu examples %zu, whole series %s %d %zu %zu",
                 label, a->name, a->severity, a->count, a->example_count, b->name, b->severity,
                 b->count, b->example_count);
    for (size_t e = 0; e < a->example_count; e++) {
        const ohlcx_check_example *x = &a->examples[e], *y = &b->examples[e];

        if (x->row != y->row || x->open_time != y->open_time ||
            !same_double(x->value, y->value) || strcmp(x->note, y->note) != 0)
            fail_msg("%s: %s example %zu: row %zu value %.17g \"%s\", whole series row %zu "
                     "value %.17g \"%s\"", label, a->name, e, x->row, x->value, x->note,
                     y->row, y->value, y->note);
    }
}


/* Fails, naming the first field that differs, unless the stream's report a
 * equals the whole series' report b. a lists only the first
 * OHLCX_CHECK_STREAM_GAPS_KEPT gaps, so only those are compared. */
static void assert_same_report(const ohlcx_quality_report *a, const ohlcx_quality_report *b,
                               const char *label)
{
    size_t listed;

    assert_string_equal(a->symbol, b->symbol);
    assert_string_equal(a->timeframe, b->timeframe);
    assert_string_equal(a->source, b->source);
    if (a->rows != b->rows || a->expected_bars != b->expected_bars ||
        !same_double(a->missing_ratio, b->missing_ratio) || a->calendar != b->calendar ||
        a->verdict != b->verdict)
        fail_msg("%s: rows %zu expected %zu ratio %.17g calendar %d verdict %d, whole series "
                 "%zu %zu %.17g %d %d", label, a->rows, a->expected_bars, a->missing_ratio,
                 a->calendar, a->verdict, b->rows, b->expected_bars, b->missing_ratio,
                 b->calendar, b->verdict);
    assert_int_equal(a->check_count, b->check_count);
    for (size_t i = 0; i < a->check_count; i++)
        assert_same_result(&a->checks[i], &b->checks[i], label);
    assert_int_equal(a->repair_count, b->repair_count);
    for (size_t i = 0; i < a->repair_count; i++)
        assert_same_result(&a->repairs[i], &b->repairs[i], label);
    if (a->gap_count != b->gap_count)
        fail_msg("%s: %zu gaps, whole series %zu", label, a->gap_count, b->gap_count);
    listed = a->gap_count < OHLCX_CHECK_STREAM_GAPS_KEPT ? a->gap_count
                                                         : OHLCX_CHECK_STREAM_GAPS_KEPT;
    for (size_t g = 0; g < listed; g++)
        if (a->gaps[g].row != b->gaps[g].row ||
            a->gaps[g].first_missing != b->gaps[g].first_missing ||
            a->gaps[g].missing != b->gaps[g].missing || a->gaps[g].filled != b->gaps[g].filled)
            fail_msg("%s: gap %zu differs: row %zu missing %zu filled %d, whole series row "
                     "%zu missing %zu filled %d", label, g, a->gaps[g].row, a->gaps[g].missing,
                     a->gaps[g].filled, b->gaps[g].row, b->gaps[g].missing, b->gaps[g].filled);
}


/* Streams x in chunks of chunk rows and compares with the whole-series
 * engine. Returns 1 when it streamed, 0 when it returned WHOLE_SERIES. */
static int compare_with_engine(const ohlcx_series *x, const ohlcx_check_options *options,
                               size_t chunk, const char *name)
{
    ohlcx_series whole, streamed;
    ohlcx_quality_report whole_report, stream_report;
    char label[256];
    int status;

    snprintf(label, sizeof label, "%s, chunks of %zu", name, chunk);
    copy_series(&whole, x);
    if (ohlcx_check_series(&whole, options, &whole_report) != 0)
        fail_msg("%s: %s", label, ohlcx_last_error());
    status = stream_series(x, options, chunk, &streamed, &stream_report);
    if (status == 0) {
        assert_same_rows(&streamed, &whole, label);
        assert_same_report(&stream_report, &whole_report, label);
    }
    ohlcx_quality_report_free(&whole_report);
    ohlcx_quality_report_free(&stream_report);
    ohlcx_series_free(&whole);
    ohlcx_series_free(&streamed);
    return status == 0;
}


static void ingest_options(ohlcx_check_options *options, int64_t now_us)
{
    ohlcx_check_options_default(options);
    options->policy = OHLCX_POLICY_REPAIR;
    options->max_fill_gap = PIPELINE_MAX_FILL_GAP;
    options->now_us = now_us;
}


/* Compares x under every chunking; every one must stream. */
static void compare_every_chunking(const ohlcx_series *x, const ohlcx_check_options *options,
                                   const char *name)
{
    for (size_t c = 0; c < sizeof chunkings / sizeof *chunkings; c++)
        if (!compare_with_engine(x, options, chunkings[c], name))
            fail_msg("%s: chunks of %zu took the whole-series path", name, chunkings[c]);
}


static size_t count_of(const ohlcx_quality_report *report, const char *name)
{
    for (size_t i = 0; i < report->check_count; i++)
        if (strcmp(report->checks[i].name, name) == 0)
            return report->checks[i].count;
    fail_msg("no check %s", name);
    return 0;
}


/* Generated walks under REPAIR with the ingest options, with "now" one
 * hour after the last open (the last bar just closed), inside the last bar
 * (partial), just before the second to last open (two future bars) and
 * long after (stale). The whole-series report must find what the walk contains, so
 * that the comparison covers those checks. */
static void walks_match_engine(void **state)
{
    walk_shape shape = {1000, 0, 0};
    const char *names[] = {"closed", "partial", "future", "stale"};

    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        ohlcx_series x;

        random_walk(&x, seed, &shape);
        int64_t last = x.open_time[x.n - 1];
        const int64_t nows[] = {last + HOUR, last + 20 * OHLCX_US_PER_MINUTE,
                                x.open_time[x.n - 2] - 1, last + 30 * HOUR};

        for (size_t k = 0; k < 4; k++) {
            ohlcx_check_options options;
            ohlcx_quality_report report;
            ohlcx_series copy;
            char name[64];

            ingest_options(&options, nows[k]);
            snprintf(name, sizeof name, "walk %d %s", (int)seed, names[k]);
            compare_every_chunking(&x, &options, name);

            copy_series(&copy, &x);
            assert_int_equal(ohlcx_check_series(&copy, &options, &report), 0);
            assert_true(report.gap_count > 0);
            assert_true(count_of(&report, "zero_volume_run") > 0);
            assert_true(count_of(&report, "flat_bars") > 0);
            assert_true(count_of(&report, "extreme_move") > 0);
            assert_true(count_of(&report, "volume_spike") > 0);
            assert_int_equal(count_of(&report, "future_bars"), k == 2 ? 2 : 0);
            assert_int_equal(count_of(&report, "partial_last_bar"), k == 1 ? 1 : 0);
            assert_int_equal(count_of(&report, "stale_series"), k == 3 ? 1 : 0);
            ohlcx_quality_report_free(&report);
            ohlcx_series_free(&copy);
        }
        ohlcx_series_free(&x);
    }
}


/* The same walks under REPORT and STRICT, which repair nothing, under
 * REPAIR with max_fill_gap 0, and with a short z_window. */
static void walks_match_other_options(void **state)
{
    walk_shape shape = {1000, 0, 0};
    ohlcx_check_options options;
    ohlcx_series x;

    (void)state;
    random_walk(&x, 7, &shape);
    ingest_options(&options, x.open_time[x.n - 1] + 20 * OHLCX_US_PER_MINUTE);
    options.policy = OHLCX_POLICY_REPORT;
    compare_every_chunking(&x, &options, "report policy");
    options.policy = OHLCX_POLICY_STRICT;
    compare_every_chunking(&x, &options, "strict policy");
    options.policy = OHLCX_POLICY_REPAIR;
    options.max_fill_gap = 0;
    compare_every_chunking(&x, &options, "no filling");
    options.max_fill_gap = 5;
    options.z_window = 20;
    compare_every_chunking(&x, &options, "z_window 20");
    ohlcx_series_free(&x);
}


/* A 1000-bar gap (a unit switch and a long gap) and a close 100 times the
 * one before (a price scale jump). */
static void walk_jumps_match_engine(void **state)
{
    walk_shape shape = {1000, 1, 1};
    ohlcx_check_options options;
    ohlcx_quality_report report;
    ohlcx_series x, copy;

    (void)state;
    random_walk(&x, 11, &shape);
    ingest_options(&options, x.open_time[x.n - 1] + HOUR);
    compare_every_chunking(&x, &options, "jumps");

    copy_series(&copy, &x);
    assert_int_equal(ohlcx_check_series(&copy, &options, &report), 0);
    assert_int_equal(count_of(&report, "unit_switch"), 1);
    assert_true(count_of(&report, "long_gaps") >= 1);
    assert_true(count_of(&report, "price_scale_jump") >= 1);
    ohlcx_quality_report_free(&report);
    ohlcx_series_free(&copy);
    ohlcx_series_free(&x);
}


/* Short series: empty, one bar, fewer bars than a first block. */
static void short_series_match_engine(void **state)
{
    walk_shape shapes[] = {{0, 0, 0}, {1, 0, 0}, {2, 0, 0}, {15, 0, 0}, {60, 0, 0}};

    (void)state;
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        ohlcx_check_options options;
        ohlcx_series x;
        char name[64];

        random_walk(&x, 5, &shapes[i]);
        ingest_options(&options, JAN1 + 2000 * HOUR);
        snprintf(name, sizeof name, "%zu bars", shapes[i].bars);
        compare_every_chunking(&x, &options, name);
        ohlcx_series_free(&x);
    }
}


/* Ten 1h bars at hours 0-4 and 7-11 of 2024-01-01: one gap of 2 bars. */
static void ten_bars_with_gap(ohlcx_series *x)
{
    static const int hours[] = {0, 1, 2, 3, 4, 7, 8, 9, 10, 11};

    series_start(x, "1h", OHLCX_ASSET_CRYPTO, 0);
    for (int i = 0; i < 10; i++) {
        double close = 100 + hours[i], open = i == 5 ? 104.5 : close - 0.5;

        append_row(x, JAN1 + hours[i] * HOUR, open, close + 1, open - 1, close, 10);
    }
}


/*
 * The gap before row 5 (hour 7) misses the bars at hours 5 and 6. The close
 * before it is 104 (hour 4) and the open after it 104.5. The fill steps the
 * close by (104.5 - 104) / 3 per bar: 104.1666... and 104.3333..., rounded
 * to two more decimals than 104 (0) and 104.5 (1), so to 3: 104.167 and
 * 104.333. Each bar opens at the close before, high and low are the larger
 * and smaller of open and close, volume 0. The grid from hour 0 to hour 11
 * has 12 slots: expected_bars 12, missing_ratio 2 / 12, above 0.01, so
 * missing_bars fails the series.
 */
static void gap_filled_by_hand(void **state)
{
    const size_t chunks[] = {1, 3, 0};
    ohlcx_check_options options;

    (void)state;
    ingest_options(&options, JAN1 + 12 * HOUR);
    for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
        ohlcx_quality_report report;
        ohlcx_series x, out;

        ten_bars_with_gap(&x);
        assert_int_equal(stream_series(&x, &options, chunks[c], &out, &report), 0);
        assert_int_equal(out.n, 12);
        assert_true(out.open_time[5] == JAN1 + 5 * HOUR);
        assert_true(out.open_time[6] == JAN1 + 6 * HOUR);
        assert_true(out.open[5] == 104);
        assert_true(out.close[5] == 104.167);
        assert_true(out.high[5] == 104.167);
        assert_true(out.low[5] == 104);
        assert_true(out.open[6] == 104.167);
        assert_true(out.close[6] == 104.333);
        assert_true(out.high[6] == 104.333);
        assert_true(out.low[6] == 104.167);
        assert_true(out.volume[5] == 0 && out.volume[6] == 0);
        assert_int_equal(out.flags[5], OHLCX_FLAG_SYNTHETIC);
        assert_int_equal(out.flags[6], OHLCX_FLAG_SYNTHETIC);
        assert_int_equal(out.flags[7], 0);
        assert_true(out.close[7] == 107);

        assert_int_equal(report.rows, 10);
        assert_int_equal(report.expected_bars, 12);
        assert_true(report.missing_ratio == 2.0 / 12.0);
        assert_int_equal(report.gap_count, 1);
        assert_int_equal(report.gaps[0].row, 5);
        assert_true(report.gaps[0].first_missing == JAN1 + 5 * HOUR);
        assert_int_equal(report.gaps[0].missing, 2);
        assert_int_equal(report.gaps[0].filled, 1);
        assert_int_equal(count_of(&report, "missing_bars"), 2);
        assert_int_equal(report.repairs[4].count, 2); /* filled_gaps */
        assert_string_equal(report.repairs[4].name, "filled_gaps");
        assert_int_equal(report.verdict, OHLCX_VERDICT_FAIL);

        assert_true(compare_with_engine(&x, &options, chunks[c], "ten bars"));
        ohlcx_quality_report_free(&report);
        ohlcx_series_free(&x);
        ohlcx_series_free(&out);
    }
}


/* The partial flag goes to the last row of the output, counted with the
 * synthetic bars before it: row 11 of the 12 above when now is inside the
 * last bar (hour 11). */
static void partial_flag_row_by_hand(void **state)
{
    ohlcx_check_options options;
    ohlcx_quality_report report;
    ohlcx_series x, out;

    (void)state;
    ingest_options(&options, JAN1 + 11 * HOUR + 30 * OHLCX_US_PER_MINUTE);
    ten_bars_with_gap(&x);
    assert_int_equal(stream_series(&x, &options, 4, &out, &report), 0);
    assert_int_equal(out.n, 12);
    assert_int_equal(out.flags[11], OHLCX_FLAG_PARTIAL);
    assert_int_equal(report.repairs[5].count, 1); /* flagged_partial */
    assert_int_equal(report.repairs[5].examples[0].row, 11);
    assert_int_equal(count_of(&report, "partial_last_bar"), 1);
    assert_int_equal(report.checks[6].examples[0].row, 9); /* row as given */
    ohlcx_quality_report_free(&report);
    ohlcx_series_free(&x);
    ohlcx_series_free(&out);
}


/*
 * 1h crypto bars in pairs, with a gap before every even row from row 2 on:
 * gap k (0-based) lies before row 2k + 2 and misses (k mod 5) + 1 bars.
 * With 2 * gaps + 1 rows there are `gaps` gaps.
 */
static void pairs_with_gaps(ohlcx_series *x, size_t gaps)
{
    int64_t t = JAN1;

    series_start(x, "1h", OHLCX_ASSET_CRYPTO, OHLCX_EXTRA_QUOTE_VOLUME);
    for (size_t i = 0; i <= 2 * gaps; i++) {
        double close = 100 + (double)(i % 7) * 0.5;

        if (i >= 2 && i % 2 == 0)
            t += (int64_t)((i / 2 - 1) % 5 + 1) * HOUR;
        append_row(x, t, close - 0.25, close + 1, close - 1, close, 10 + (double)(i % 3));
        t += HOUR;
    }
}


/*
 * 3000 gaps, three times the gaps a stream's report keeps, under REPAIR
 * with max_fill_gap 3. Each gap length 1 to 5 occurs 600 times, so
 * missing_bars counts 600 * (1 + 2 + 3 + 4 + 5) = 9000 bars, long_gaps the
 * 1200 gaps of 4 and 5 bars, and filled_gaps 600 * (1 + 2 + 3) = 3600
 * synthetic bars. expected_bars is the 6001 rows plus the 9000 missing.
 * Gap 999, the last one kept, lies before row 2000 and misses 999 mod 5 + 1
 * = 5 bars, too many to fill. Everything but the gaps after it equals the
 * whole-series report, the JSON report included.
 */
static void many_gaps_match_engine(void **state)
{
    const size_t chunks[] = {1, 7, 4096, 0};
    ohlcx_check_options options;
    ohlcx_series x;

    (void)state;
    pairs_with_gaps(&x, 3000);
    ingest_options(&options, x.open_time[x.n - 1] + HOUR);
    for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
        ohlcx_quality_report report, whole_report;
        ohlcx_series out, whole;
        char *json, *whole_json;
        const ohlcx_gap *last_kept;

        if (!compare_with_engine(&x, &options, chunks[c], "3000 gaps"))
            fail_msg("3000 gaps, chunks of %zu: took the whole-series path", chunks[c]);

        assert_int_equal(stream_series(&x, &options, chunks[c], &out, &report), 0);
        assert_int_equal(out.n, 6001 + 3600);
        assert_int_equal(report.gap_count, 3000);
        assert_int_equal(report.expected_bars, 6001 + 9000);
        assert_int_equal(count_of(&report, "missing_bars"), 9000);
        assert_int_equal(count_of(&report, "long_gaps"), 1200);
        assert_string_equal(report.repairs[4].name, "filled_gaps");
        assert_int_equal(report.repairs[4].count, 3600);
        last_kept = &report.gaps[OHLCX_CHECK_STREAM_GAPS_KEPT - 1];
        assert_int_equal(last_kept->row, 2000);
        assert_int_equal(last_kept->missing, 5);
        assert_int_equal(last_kept->filled, 0);

        copy_series(&whole, &x);
        assert_int_equal(ohlcx_check_series(&whole, &options, &whole_report), 0);
        assert_int_equal(ohlcx_quality_report_json(&report, &json), 0);
        assert_int_equal(ohlcx_quality_report_json(&whole_report, &whole_json), 0);
        assert_string_equal(json, whole_json);

        free(json);
        free(whole_json);
        ohlcx_quality_report_free(&whole_report);
        ohlcx_quality_report_free(&report);
        ohlcx_series_free(&whole);
        ohlcx_series_free(&out);
    }
    ohlcx_series_free(&x);
}


/*
 * 200,001 1m bars two minutes apart: a gap of one bar before every row but
 * the first, 200,000 gaps, each filled under REPAIR. Pushed in chunks of
 * 4096 rows, the stream must hold at most OHLCX_CHECK_STREAM_GAPS_KEPT
 * gaps after each push. Its gap list has room for the kept gaps plus one
 * chunk's gaps (4096, one per row), at most doubled by the growth, so
 * 2 * (1000 + 4096) gaps. A list of every gap would pass 200,000. The
 * report counts all of them: 200,000 missing bars and synthetic bars, and
 * gap k lies before row k + 1.
 */
static void gap_memory_bounded(void **state)
{
    const size_t rows = 200001, chunk = 4096;
    ohlcx_check_options options;
    ohlcx_check_stream *stream;
    ohlcx_quality_report report;
    ohlcx_series x, buffer, out;
    size_t listed, capacity, emitted = 0;

    (void)state;
    series_start(&x, "1m", OHLCX_ASSET_CRYPTO, 0);
    for (size_t i = 0; i < rows; i++) {
        double close = 100 + (double)(i % 7) * 0.5;

        append_row(&x, JAN1 + (int64_t)i * 2 * MINUTE, close - 0.25, close + 1, close - 1,
                   close, 10);
    }
    ingest_options(&options, x.open_time[rows - 1] + MINUTE);

    assert_int_equal(ohlcx_check_stream_begin(&x, &options, &stream), 0);
    series_start(&buffer, x.timeframe, x.asset_class, x.extra);
    series_start(&out, x.timeframe, x.asset_class, x.extra);
    for (size_t first = 0; first < rows; first += chunk) {
        buffer.n = 0;
        append_rows(&buffer, &x, first, rows - first < chunk ? rows - first : chunk);
        assert_int_equal(ohlcx_check_stream_push(stream, &buffer, &out), 0);
        emitted += out.n;
        out.n = 0;
        quality_check_stream_gap_memory(stream, &listed, &capacity);
        if (listed > OHLCX_CHECK_STREAM_GAPS_KEPT)
            fail_msg("after row %zu the stream holds %zu gaps", first + buffer.n, listed);
        if (capacity > 2 * (OHLCX_CHECK_STREAM_GAPS_KEPT + chunk))
            fail_msg("after row %zu the gap list has room for %zu gaps", first + buffer.n,
                     capacity);
    }
    assert_int_equal(ohlcx_check_stream_finish(stream, &out, &report), 0);
    emitted += out.n;

    assert_int_equal(emitted, 2 * rows - 1);
    assert_int_equal(report.gap_count, 200000);
    assert_int_equal(count_of(&report, "missing_bars"), 200000);
    assert_int_equal(report.repairs[4].count, 200000); /* filled_gaps */
    assert_int_equal(report.gaps[0].row, 1);
    assert_int_equal(report.gaps[OHLCX_CHECK_STREAM_GAPS_KEPT - 1].row,
                     OHLCX_CHECK_STREAM_GAPS_KEPT);
    ohlcx_quality_report_free(&report);
    ohlcx_check_stream_free(stream);
    ohlcx_series_free(&buffer);
    ohlcx_series_free(&out);
    ohlcx_series_free(&x);
}


/* Returns the first status other than 0 of pushing x in chunks of chunk
 * rows and finishing, and sets *call to the 1-based call that returned it
 * (begin is call 0). */
static int first_status(const ohlcx_series *x, const ohlcx_check_options *options,
                        size_t chunk, int *call)
{
    ohlcx_check_stream *stream;
    ohlcx_quality_report report;
    ohlcx_series out, slice;
    int status = ohlcx_check_stream_begin(x, options, &stream);

    *call = 0;
    if (status != 0)
        return status;
    series_start(&out, x->timeframe, x->asset_class, x->extra);
    for (size_t first = 0; first < x->n && status == 0; first += chunk) {
        series_start(&slice, x->timeframe, x->asset_class, x->extra);
        append_rows(&slice, x, first, x->n - first < chunk ? x->n - first : chunk);
        status = ohlcx_check_stream_push(stream, &slice, &out);
        ohlcx_series_free(&slice);
        ++*call;
    }
    if (status == 0) {
        status = ohlcx_check_stream_finish(stream, &out, &report);
        ++*call;
        if (status == 0)
            ohlcx_quality_report_free(&report);
    }
    ohlcx_check_stream_free(stream);
    ohlcx_series_free(&out);
    return status;
}


/* A walk of 300 plain bars without gaps, so that only the change made by
 * each case sends it to the whole-series path. */
static void plain_walk(ohlcx_series *x)
{
    series_start(x, "1h", OHLCX_ASSET_CRYPTO, 0);
    for (int i = 0; i < 300; i++) {
        double close = 100 + (i % 7) * 0.5;

        append_row(x, JAN1 + i * HOUR, close - 0.25, close + 1, close - 1, close, 10 + i % 3);
    }
}


/* Each case must return OHLCX_WHOLE_SERIES from the call that reaches its
 * cause. For rows 150-299 that is the second push of 150-row chunks (the
 * first push fills the head of 101 rows and checks it). For what never
 * streams (the inferred calendar, 1w bars) it is begin. The engine still
 * accepts each series. */
static void whole_series_cases(void **state)
{
    ohlcx_check_options options;
    int call;

    (void)state;
    ingest_options(&options, JAN1 + 400 * HOUR);
    {
        ohlcx_series x;

        plain_walk(&x);
        assert_int_equal(first_status(&x, &options, 150, &call), 0);
        assert_int_equal(call, 3);
        ohlcx_series_free(&x);
    }
    for (int c = 0; c < 9; c++) {
        ohlcx_series x;
        int expected_call = 2;

        plain_walk(&x);
        switch (c) {
        case 0: /* duplicate row in the second chunk */
            x.open_time[160] = x.open_time[159];
            x.open[160] = x.open[159];
            x.high[160] = x.high[159];
            x.low[160] = x.low[159];
            x.close[160] = x.close[159];
            x.volume[160] = x.volume[159];
            break;
        case 1: /* repeated open time across the chunk boundary */
            x.open_time[150] = x.open_time[149];
            break;
        case 2: /* unsorted row */
            x.open_time[170] = x.open_time[165];
            break;
        case 3: /* off the hourly grid by a minute */
            x.open_time[200] += OHLCX_US_PER_MINUTE;
            break;
        case 4: /* invalid price */
            x.close[210] = -1;
            break;
        case 5: /* NaN volume */
            x.volume[220] = NAN;
            break;
        case 6: /* a stock listed outside the US: the inferred calendar */
            x.asset_class = OHLCX_ASSET_STOCKS;
            snprintf(x.symbol, sizeof x.symbol, "SAP.DE");
            expected_call = 0;
            break;
        case 7: /* commodities: the inferred calendar */
            x.asset_class = OHLCX_ASSET_COMMODITIES;
            expected_call = 0;
            break;
        case 8: /* 1w bars */
            snprintf(x.timeframe, sizeof x.timeframe, "1w");
            for (size_t i = 0; i < x.n; i++)
                x.open_time[i] = JAN1 + (int64_t)i * 7 * OHLCX_US_PER_DAY;
            expected_call = 0;
            break;
        }
        if (first_status(&x, &options, 150, &call) != OHLCX_WHOLE_SERIES)
            fail_msg("case %d streamed", c);
        if (call != expected_call)
            fail_msg("case %d: call %d returned OHLCX_WHOLE_SERIES, expected %d", c, call,
                     expected_call);
        compare_with_engine(&x, &options, 150, "whole-series case");
        ohlcx_series_free(&x);
    }
}


/* The calendar asked for decides too: inferred never streams, and always
 * streams a stock series. */
static void calendar_option_decides(void **state)
{
    ohlcx_check_options options;
    ohlcx_series x;
    int call;

    (void)state;
    ingest_options(&options, JAN1 + 400 * HOUR);
    plain_walk(&x);
    options.calendar = OHLCX_CALENDAR_INFERRED;
    assert_int_equal(first_status(&x, &options, 150, &call), OHLCX_WHOLE_SERIES);
    assert_int_equal(call, 0);
    options.calendar = OHLCX_CALENDAR_ALWAYS;
    x.asset_class = OHLCX_ASSET_STOCKS;
    compare_every_chunking(&x, &options, "stocks on always");
    ohlcx_series_free(&x);
}


/* New York local time of a UTC time of 2024 or January 2025. */
static int64_t new_york_time(int64_t t)
{
    return t - (t >= DST_START_2024 && t < DST_END_2024 ? 4 : 5) * HOUR;
}


/* Returns 0 for Monday to 6 for Sunday of a day counted from 1970-01-01, a
 * Thursday. */
static int weekday_of(int64_t day)
{
    return (int)((day + 3) % 7);
}


/* Returns 1 when the day (from 1970-01-01) falls on the given month and day
 * of the month. */
static int is_date(int64_t day, int month, int day_of_month)
{
    time_t at = (time_t)(day * 86400);
    struct tm civil;

    assert_non_null(gmtime_r(&at, &civil));
    return civil.tm_mon + 1 == month && civil.tm_mday == day_of_month;
}


/* Returns 1 when the forex market trades at UTC time t. Trading day D runs
 * from 17:00 New York on the day before to 17:00 on D, Monday to Friday,
 * and December 25 and January 1 are closed. */
static int forex_trades(int64_t t)
{
    int64_t local = new_york_time(t);
    int64_t day = local / DAY + (local % DAY >= 17 * HOUR);

    return weekday_of(day) < 5 && !is_date(day, 12, 25) && !is_date(day, 1, 1);
}


/* Returns 1 on a weekday of 2024 that is no NYSE holiday (New Year's Day,
 * Martin Luther King Jr. Day, Presidents' Day, Good Friday, Memorial Day,
 * Juneteenth, Independence Day, Labor Day, Thanksgiving, Christmas). */
static int nyse_trading_day(int64_t day)
{
    static const int holidays[][2] = {{1, 1},  {1, 15}, {2, 19}, {3, 29}, {5, 27},
                                      {6, 19}, {7, 4},  {9, 2},  {11, 28}, {12, 25}};

    if (weekday_of(day) >= 5)
        return 0;
    for (size_t i = 0; i < sizeof holidays / sizeof *holidays; i++)
        if (is_date(day, holidays[i][0], holidays[i][1]))
            return 0;
    return 1;
}


/* Returns 1 when UTC time t of 2024 falls in an NYSE session (09:30 to
 * 16:00 New York). */
static int nyse_trades(int64_t t)
{
    int64_t local = new_york_time(t), time_of_day = local % DAY;

    return nyse_trading_day(local / DAY) && time_of_day >= 9 * HOUR + 30 * MINUTE &&
           time_of_day < 16 * HOUR;
}


/* Returns 1 when the UTC day of t is an NYSE trading day of 2024. */
static int nyse_trades_on_day(int64_t t)
{
    return nyse_trading_day(t / DAY);
}


/* A generated series on a market calendar: the open times first, first +
 * step, ... before last at which the market trades, less the gaps. */
typedef struct session_shape {
    const char *symbol;
    const char *timeframe;
    int asset_class;
    int64_t first, last, step;
    int (*trades)(int64_t t);
    int new_york_midnight; /* daily bars labelled 00:00 New York, not UTC */
    int64_t split_at;      /* prices halve from this open time on; 0 for none */
    int gaps;              /* 1 to drop runs of 1 to 5 bars, never the first
                              or the last 10 */
} session_shape;


/* A random walk of bars at the open times of shape, with gaps of 1 to 5
 * bars inside the sessions, extreme moves, flat bars and volume spikes.
 * Prices have two decimals. */
static void session_walk(ohlcx_series *x, uint64_t seed, const session_shape *shape)
{
    double close = 100;
    size_t dropping = 0;
    int split_done = 0;

    rng_state = seed;
    series_start(x, shape->timeframe, shape->asset_class, 0);
    snprintf(x->symbol, sizeof x->symbol, "%s", shape->symbol);
    snprintf(x->source_path, sizeof x->source_path, "generated/%s_%s.csv", shape->symbol,
             shape->timeframe);
    for (int64_t t = shape->first; t < shape->last; t += shape->step) {
        int64_t open_time = t;
        double open, high, low, volume = 100 + 50 * uniform(), u = uniform();

        if (!shape->trades(t))
            continue;
        if (shape->new_york_midnight)
            open_time = t + (new_york_time(t + 12 * HOUR) == t + 8 * HOUR ? 4 : 5) * HOUR;
        if (dropping > 0) {
            dropping--;
            continue;
        }
        if (shape->gaps && x->n > 0 && t + 10 * shape->step < shape->last && u < 0.02) {
            dropping = (size_t)(uniform() * 5); /* this bar and up to 4 more */
            continue;
        }
        open = round((close + (uniform() < 0.5 ? 0.01 : -0.01)) * 100) / 100;
        if (shape->split_at != 0 && t >= shape->split_at && !split_done) {
            open = round(open / 2 * 100) / 100; /* a 2-for-1 split */
            split_done = 1;
        }
        close = round(open * exp(0.01 * (uniform() - 0.5)) * 100) / 100;
        if (u > 0.995)
            close = round(close * 1.2 * 100) / 100; /* extreme move */
        high = fmax(open, close) + 0.05;
        low = fmin(open, close) - 0.05;
        if (u > 0.98 && u <= 0.99) /* flat bar */
            open = high = low = close;
        if (u > 0.96 && u <= 0.965)
            volume *= 40; /* volume spike */
        append_row(x, open_time, open, high, low, close, volume);
    }
}


/* Checks x whole under options and returns the report, for the facts a
 * test expects the comparison to cover. */
static void engine_report(const ohlcx_series *x, const ohlcx_check_options *options,
                          ohlcx_quality_report *report)
{
    ohlcx_series copy;

    copy_series(&copy, x);
    if (ohlcx_check_series(&copy, options, report) != 0)
        fail_msg("%s: %s", x->source_path, ohlcx_last_error());
    ohlcx_series_free(&copy);
}


static const ohlcx_check_result *check_named(const ohlcx_quality_report *report,
                                             const char *name)
{
    for (size_t i = 0; i < report->check_count; i++)
        if (strcmp(report->checks[i].name, name) == 0)
            return &report->checks[i];
    fail_msg("no check %s", name);
    return NULL;
}


/*
 * Forex bars of 2024 on the New York week under auto. The 1h series spans
 * the year (both daylight saving changes, December 25 and January 1
 * closed). The 3m series spans three weeks of March (a weekend of 960 bars,
 * inside the unit-switch band but closed), and the 15m series four weeks
 * around November 3. The rows
 * dropped are gaps inside the sessions.
 *
 * The 3m series has no gap at its ends, so its expected bars are worked
 * out by hand: the weeks open on Sunday 17:00 New York (March 3 22:00 UTC,
 * then March 10 and 17 21:00 UTC) and close five days later, 3 x 5 x 480 =
 * 7200 bars, each missing bar among them.
 */
static void forex_walks_match_engine(void **state)
{
    static const session_shape shapes[] = {
        {"EURUSD", "1h", OHLCX_ASSET_FOREX, JAN1, JAN1 + 371 * DAY, HOUR, forex_trades, 0, 0,
         1},
        {"EURUSD", "3m", OHLCX_ASSET_FOREX, JAN1 + 62 * DAY, JAN1 + 81 * DAY + 21 * HOUR,
         3 * MINUTE, forex_trades, 0, 0, 1},
        {"GBPUSD", "15m", OHLCX_ASSET_FOREX, JAN1 + 293 * DAY, JAN1 + 321 * DAY, 15 * MINUTE,
         forex_trades, 0, 0, 1},
    };

    (void)state;
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        ohlcx_check_options options;
        ohlcx_quality_report report;
        ohlcx_series x;

        session_walk(&x, 21 + i, &shapes[i]);
        ingest_options(&options, x.open_time[x.n - 1] + HOUR);
        compare_every_chunking(&x, &options, x.source_path);

        engine_report(&x, &options, &report);
        assert_int_equal(report.calendar, OHLCX_CALENDAR_FOREX);
        assert_true(report.gap_count > 0);
        assert_int_equal(count_of(&report, "off_grid"), 0);
        assert_int_equal(count_of(&report, "unit_switch"), 0);
        assert_int_equal(check_named(&report, "stale_series")->severity, OHLCX_SEVERITY_INFO);
        if (i == 1) {
            size_t missing = count_of(&report, "missing_bars");

            assert_int_equal(report.expected_bars, 7200);
            assert_int_equal(report.rows + missing, 7200);
        }
        ohlcx_quality_report_free(&report);

        options.policy = OHLCX_POLICY_REPORT;
        options.calendar = OHLCX_CALENDAR_FOREX;
        compare_with_engine(&x, &options, 100, "forex asked for, report policy");
        ohlcx_series_free(&x);
    }
}


/*
 * US stock bars of 2024 on NYSE sessions under auto, with a 2-for-1 split
 * on June 10. The series are 1h bars at 09:30 to 15:30 New York (14:30 UTC
 * in winter, 13:30 in summer), 15m bars, and daily bars labelled 00:00 UTC
 * and 00:00 New York. The daily series have no gap at their ends, so their expected
 * bars are the 252 NYSE trading days of 2024 from January 2 to December 31.
 */
static void stock_walks_match_engine(void **state)
{
    int64_t jan2 = JAN1 + DAY, split = JAN1 + 161 * DAY; /* 2024-06-10 */
    const session_shape shapes[] = {
        {"AAPL", "1h", OHLCX_ASSET_STOCKS, jan2 + 14 * HOUR + 30 * MINUTE, JAN1 + 366 * DAY,
         HOUR, nyse_trades, 0, split, 1},
        {"MSFT", "15m", OHLCX_ASSET_STOCKS, jan2, JAN1 + 366 * DAY, 15 * MINUTE, nyse_trades,
         0, split, 1},
        {"NVDA", "1d", OHLCX_ASSET_STOCKS, jan2, JAN1 + 366 * DAY, DAY, nyse_trades_on_day, 0,
         split, 1},
        {"SPY", "1d", OHLCX_ASSET_INDICES, jan2, JAN1 + 366 * DAY, DAY, nyse_trades_on_day, 1,
         0, 1},
    };

    (void)state;
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        ohlcx_check_options options;
        ohlcx_quality_report report;
        ohlcx_series x;

        session_walk(&x, 31 + i, &shapes[i]);
        ingest_options(&options, x.open_time[x.n - 1] + DAY);
        compare_every_chunking(&x, &options, x.source_path);

        engine_report(&x, &options, &report);
        assert_int_equal(report.calendar, OHLCX_CALENDAR_US_EQUITY);
        assert_true(report.gap_count > 0);
        assert_int_equal(count_of(&report, "off_grid"), 0);
        assert_int_equal(check_named(&report, "stale_series")->severity, OHLCX_SEVERITY_INFO);
        if (shapes[i].split_at != 0)
            assert_int_equal(count_of(&report, "split_like_jump"), 1);
        if (i < 2)
            assert_true(count_of(&report, "dst_shift") > 0);
        if (i >= 2)
            assert_int_equal(report.expected_bars, 252);
        ohlcx_quality_report_free(&report);

        options.policy = OHLCX_POLICY_REPORT;
        options.calendar = OHLCX_CALENDAR_US_EQUITY;
        compare_with_engine(&x, &options, 7, "us_equity asked for, report policy");
        ohlcx_series_free(&x);
    }
}


/*
 * 1h stock bars, seven a day, on the 15 trading days from February 26 to
 * March 15, 2024, with z_window 20 so that the head is checked within the
 * first 70 rows. Daylight saving time begins on Sunday March 10, so the
 * first bar of Monday March 11 (row 10 x 7 = 70) opens at 13:30 UTC, an
 * hour before that of Friday March 8 (14:30), and March 12 keeps 13:30: one
 * dst_shift at row 70, value -1 hour. Under chunks of 1 and 7 the shift is
 * found in one chunk and confirmed by the first bar of March 12 (row 77)
 * in the next.
 */
static void dst_shift_by_hand(void **state)
{
    const session_shape shape = {"AAPL", "1h", OHLCX_ASSET_STOCKS,
                                 JAN1 + 56 * DAY + 14 * HOUR + 30 * MINUTE,
                                 JAN1 + 75 * DAY, HOUR, nyse_trades, 0, 0, 0};
    const size_t chunks[] = {1, 7, 0};
    ohlcx_check_options options;
    ohlcx_series x;

    (void)state;
    session_walk(&x, 41, &shape);
    assert_int_equal(x.n, 105);
    ingest_options(&options, x.open_time[x.n - 1] + HOUR);
    options.z_window = 20;
    for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
        const ohlcx_check_result *dst;
        ohlcx_quality_report report;
        ohlcx_series out;

        assert_int_equal(stream_series(&x, &options, chunks[c], &out, &report), 0);
        assert_int_equal(report.calendar, OHLCX_CALENDAR_US_EQUITY);
        dst = check_named(&report, "dst_shift");
        assert_int_equal(dst->count, 1);
        assert_int_equal(dst->examples[0].row, 70);
        assert_true(dst->examples[0].open_time == JAN1 + 70 * DAY + 13 * HOUR + 30 * MINUTE);
        assert_true(dst->examples[0].value == -1.0);
        assert_string_equal(dst->examples[0].note,
                            "first bar at 13:30 UTC, 14:30 on the trading day before");
        assert_true(compare_with_engine(&x, &options, chunks[c], "dst shift"));
        ohlcx_quality_report_free(&report);
        ohlcx_series_free(&out);
    }
    ohlcx_series_free(&x);
}


/* 130 daily stock bars on the weekdays from 2024-01-01, the first `early`
 * at 14:30 UTC and the rest at 13:30, on the US equity calendar. */
static void half_hour_days(ohlcx_series *x, size_t early)
{
    int64_t day = JAN1 / DAY;

    series_start(x, "1d", OHLCX_ASSET_STOCKS, 0);
    snprintf(x->symbol, sizeof x->symbol, "AAPL");
    for (size_t i = 0; i < 130; day++) {
        double close = 100 + (double)(i % 7) * 0.5;

        if (weekday_of(day) >= 5)
            continue;
        append_row(x, day * DAY + (i < early ? 14 : 13) * HOUR + 30 * MINUTE, close - 0.25,
                   close + 1, close - 1, close, 10 + (double)(i % 3));
        i++;
    }
}


/*
 * The grid of daily bars on a session calendar is the majority offset of
 * the open times modulo one hour. With 65 bars at 14:30 and 65 at 13:30 no
 * offset has more than half of the 130 bars. So the engine takes the 00:00
 * grid, and every bar is 30 minutes off it: off_grid 130. The stream took
 * the grid of the first bar (:30), found nothing off it, and must return
 * OHLCX_WHOLE_SERIES from the finish (call 3 of 100-row chunks). With 66
 * bars at 14:30 that offset has the majority, the grid is :30 and the
 * stream matches the engine.
 */
static void grid_majority_by_hand(void **state)
{
    ohlcx_check_options options;
    ohlcx_quality_report report;
    ohlcx_series x;
    int call;

    (void)state;
    ingest_options(&options, JAN1 + 400 * DAY);
    options.calendar = OHLCX_CALENDAR_US_EQUITY;
    half_hour_days(&x, 65);
    engine_report(&x, &options, &report);
    assert_int_equal(count_of(&report, "off_grid"), 130);
    ohlcx_quality_report_free(&report);
    assert_int_equal(first_status(&x, &options, 100, &call), OHLCX_WHOLE_SERIES);
    assert_int_equal(call, 3);
    ohlcx_series_free(&x);

    half_hour_days(&x, 66);
    engine_report(&x, &options, &report);
    assert_int_equal(count_of(&report, "off_grid"), 0);
    ohlcx_quality_report_free(&report);
    compare_every_chunking(&x, &options, "grid of the majority");
    ohlcx_series_free(&x);
}


/* Returns 1 at the UTC times of a broker-time forex week: Monday 00:00 to
 * Friday 24:00 UTC. */
static int broker_week_trades(int64_t t)
{
    return weekday_of(t / DAY) < 5;
}


/*
 * Auto resolved from the head differs from auto on the whole series, so
 * the finish must return OHLCX_WHOLE_SERIES (call 4 of 500-row chunks).
 * A forex file whose first two weeks (240 bars) open on Sunday 17:00 New
 * York and whose next ten weeks (1200 bars) are in broker time, Monday
 * 00:00 to Friday 24:00 UTC. The head (the first 101 rows, four days) has
 * no week opening and fits the forex week. But ten of the eleven openings
 * are late, so the whole series is inferred. A stock file whose first 20
 * trading days (140 bars) are NYSE sessions and whose next 40 days (960
 * bars) trade around the clock: the head is in US hours, but the whole
 * series has at most 140 + 40 x 7 = 420 of its 1100 bars in them, short
 * of 90%.
 */
static void auto_head_differs(void **state)
{
    const session_shape forex_head = {"EURUSD", "1h", OHLCX_ASSET_FOREX, JAN1 + 6 * DAY,
                                      JAN1 + 19 * DAY, HOUR, forex_trades, 0, 0, 0};
    const session_shape forex_rest = {"EURUSD", "1h", OHLCX_ASSET_FOREX, JAN1 + 21 * DAY,
                                      JAN1 + 91 * DAY, HOUR, broker_week_trades, 0, 0, 0};
    const session_shape stock_head = {"AAPL", "1h", OHLCX_ASSET_STOCKS,
                                      JAN1 + DAY + 14 * HOUR + 30 * MINUTE, JAN1 + 30 * DAY,
                                      HOUR, nyse_trades, 0, 0, 0};
    ohlcx_check_options options;
    ohlcx_quality_report report;
    ohlcx_series x, rest;
    int call;

    (void)state;
    session_walk(&x, 51, &forex_head);
    session_walk(&rest, 52, &forex_rest);
    append_rows(&x, &rest, 0, rest.n);
    ohlcx_series_free(&rest);
    assert_int_equal(x.n, 2 * 120 + 10 * 120);
    ingest_options(&options, x.open_time[x.n - 1] + HOUR);
    engine_report(&x, &options, &report);
    assert_int_equal(report.calendar, OHLCX_CALENDAR_INFERRED);
    ohlcx_quality_report_free(&report);
    assert_int_equal(first_status(&x, &options, 500, &call), OHLCX_WHOLE_SERIES);
    assert_int_equal(call, 4);
    ohlcx_series_free(&x);

    session_walk(&x, 53, &stock_head);
    assert_int_equal(x.n, 20 * 7);
    for (int64_t t = JAN1 + 30 * DAY; t < JAN1 + 70 * DAY; t += HOUR)
        append_row(&x, t + 30 * MINUTE, 100, 101, 99, 100.5, 10);
    ingest_options(&options, x.open_time[x.n - 1] + HOUR);
    engine_report(&x, &options, &report);
    assert_int_equal(report.calendar, OHLCX_CALENDAR_INFERRED);
    ohlcx_quality_report_free(&report);
    assert_int_equal(first_status(&x, &options, 500, &call), OHLCX_WHOLE_SERIES);
    assert_int_equal(call, 4);
    ohlcx_series_free(&x);
}


/* Compares every file of the real data folder whose asset class is in
 * classes (a bit per class), read as ingest reads it, in chunks of 65536
 * rows: either WHOLE_SERIES or identical to the engine. Sets *files to the
 * files compared and returns how many streamed. */
static size_t compare_real_files(unsigned classes, size_t *files)
{
    char buffer[2048];
    const char *root = real_data_folder(buffer, sizeof buffer);
    DIR *top = opendir(root);
    struct dirent *folder;
    size_t streamed = 0;

    *files = 0;
    if (top == NULL) {
        if (real_data_is_required())
            fail_msg("real data folder %s not found and OHLCX_REQUIRE_REAL_DATA is set", root);
        skip();
    }
    while ((folder = readdir(top)) != NULL) {
        char folder_path[2600];
        struct dirent *entry;
        DIR *inner;

        if (folder->d_name[0] == '.')
            continue;
        snprintf(folder_path, sizeof folder_path, "%s/%s", root, folder->d_name);
        inner = opendir(folder_path);
        if (inner == NULL)
            continue;
        while ((entry = readdir(inner)) != NULL) {
            ohlcx_read_options read_options = {NULL, NULL, OHLCX_BAD_ROWS_SKIP};
            ohlcx_read_report read_report;
            ohlcx_check_options options;
            ohlcx_series x;
            char path[3000];

            if (entry->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "%s/%s", folder_path, entry->d_name);
            ohlcx_series_init(&x);
            if (ohlcx_read_candles(path, &read_options, &x, &read_report) != 0) {
                ohlcx_series_free(&x);
                continue; /* a file that needs layout options */
            }
            ohlcx_read_report_free(&read_report);
            if ((classes & (1u << x.asset_class)) && x.n > 0) {
                ++*files;
                ingest_options(&options, x.open_time[x.n - 1] + 3 * HOUR);
                if (compare_with_engine(&x, &options, 65536, path)) {
                    streamed++;
                    printf("streamed: %s\n", path);
                } else {
                    printf("whole-series path: %s\n", path);
                }
            }
            ohlcx_series_free(&x);
        }
        closedir(inner);
    }
    closedir(top);
    return streamed;
}


static void real_crypto_files_match(void **state)
{
    size_t crypto, streamed;

    (void)state;
    streamed = compare_real_files(1u << OHLCX_ASSET_CRYPTO, &crypto);
    printf("streamed %zu of %zu crypto files; the rest took the whole-series path\n",
           streamed, crypto);
    assert_true(crypto > 0);
    assert_true(streamed > 0);
}


static void real_session_files_match(void **state)
{
    unsigned classes = 1u << OHLCX_ASSET_FOREX | 1u << OHLCX_ASSET_STOCKS |
                       1u << OHLCX_ASSET_INDICES;
    size_t files, streamed;

    (void)state;
    streamed = compare_real_files(classes, &files);
    printf("streamed %zu of %zu forex, stock and index files; the rest took the "
           "whole-series path\n", streamed, files);
    assert_true(files > 0);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(walks_match_engine),
        cmocka_unit_test(walks_match_other_options),
        cmocka_unit_test(walk_jumps_match_engine),
        cmocka_unit_test(short_series_match_engine),
        cmocka_unit_test(gap_filled_by_hand),
        cmocka_unit_test(partial_flag_row_by_hand),
        cmocka_unit_test(many_gaps_match_engine),
        cmocka_unit_test(gap_memory_bounded),
        cmocka_unit_test(whole_series_cases),
        cmocka_unit_test(calendar_option_decides),
        cmocka_unit_test(forex_walks_match_engine),
        cmocka_unit_test(stock_walks_match_engine),
        cmocka_unit_test(dst_shift_by_hand),
        cmocka_unit_test(grid_majority_by_hand),
        cmocka_unit_test(auto_head_differs),
        cmocka_unit_test(real_crypto_files_match),
        cmocka_unit_test(real_session_files_match),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
