/*
 * Check: the data-quality framework. Every check has a snake_case name, a
 * severity, a count and up to OHLCX_CHECK_EXAMPLES examples (row, open time,
 * values); every repair is explicit, flagged in the bar's flags and listed.
 * Nothing is dropped or changed without a trace in the report.
 *
 * ohlcx_check_series() runs on a series as the reader returns it, before
 * ohlcx_validate_basic(): rows may be unsorted and repeat open times, and the
 * checks report that. Under OHLCX_POLICY_REPAIR it also repairs the series in
 * place (sorts, drops exact duplicates, fills short gaps with flagged
 * synthetic bars), and the report lists each repair.
 *
 * Verdict: "fail" when any check of severity fail has a count above zero or
 * the missing ratio exceeds max_missing_ratio, else "warn" when any check of
 * severity warn has a count above zero, else "pass".
 */
#ifndef OHLCX_CHECK_H
#define OHLCX_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "ohlcx/series.h"

#define OHLCX_CHECK_EXAMPLES 5
#define OHLCX_CHECK_NAME_MAX 40

enum ohlcx_severity {
    OHLCX_SEVERITY_INFO = 0, /* worth knowing; never changes the verdict */
    OHLCX_SEVERITY_WARN,
    OHLCX_SEVERITY_FAIL,
};

enum ohlcx_verdict { OHLCX_VERDICT_PASS = 0, OHLCX_VERDICT_WARN, OHLCX_VERDICT_FAIL };

enum ohlcx_policy {
    OHLCX_POLICY_REPORT = 0, /* check only, change nothing */
    OHLCX_POLICY_REPAIR,     /* check, then repair what can be repaired */
    OHLCX_POLICY_STRICT,     /* check only; every warn counts as fail */
};

/* Market calendars for completeness. */
enum ohlcx_calendar {
    OHLCX_CALENDAR_AUTO = 0,   /* from the asset class, else inferred */
    OHLCX_CALENDAR_ALWAYS,     /* 24/7: crypto */
    OHLCX_CALENDAR_FOREX,      /* Sunday 22:00 to Friday 22:00 UTC */
    OHLCX_CALENDAR_US_EQUITY,  /* 09:30-16:00 America/New_York, weekdays, NYSE holidays */
    OHLCX_CALENDAR_INFERRED,   /* the weekdays and hours that the data itself trades */
};

typedef struct ohlcx_check_example {
    size_t row;        /* 0-based row in the series as given */
    int64_t open_time; /* microseconds, UTC */
    double value;      /* the value the check looked at (a price, a ratio, a length) */
    char note[96];     /* a short description, such as "high 99.5 < low 101.2" */
} ohlcx_check_example;

typedef struct ohlcx_check_result {
    char name[OHLCX_CHECK_NAME_MAX];
    int severity; /* enum ohlcx_severity */
    size_t count;
    size_t example_count;
    ohlcx_check_example examples[OHLCX_CHECK_EXAMPLES];
} ohlcx_check_result;

/* One gap: `missing` expected bars absent before the bar at row `row`. */
typedef struct ohlcx_gap {
    size_t row;           /* row of the first bar after the gap */
    int64_t first_missing; /* open time of the first missing bar */
    size_t missing;       /* expected bars missing */
    int filled;           /* 1 when the repair filled it with synthetic bars */
} ohlcx_gap;

typedef struct ohlcx_quality_report {
    char symbol[OHLCX_SYMBOL_MAX];
    char timeframe[OHLCX_TIMEFRAME_MAX];
    char source[OHLCX_PATH_MAX];
    size_t rows;           /* rows checked */
    size_t expected_bars;  /* from first to last open time on the calendar */
    double missing_ratio;  /* missing / expected_bars */
    int calendar;          /* enum ohlcx_calendar used */
    ohlcx_check_result *checks;
    size_t check_count;
    ohlcx_check_result *repairs; /* repairs done, in the same form */
    size_t repair_count;
    ohlcx_gap *gaps;       /* every gap, in time order; a stream's report lists
                              only the first OHLCX_CHECK_STREAM_GAPS_KEPT */
    size_t gap_count;      /* gaps found, including any not listed in gaps */
    int verdict;           /* enum ohlcx_verdict */
} ohlcx_quality_report;

typedef struct ohlcx_check_options {
    int policy;               /* enum ohlcx_policy, default REPORT */
    int calendar;             /* enum ohlcx_calendar, default AUTO */
    double max_missing_ratio; /* default 0.01 */
    int max_fill_gap;         /* longest gap in bars that a repair fills, default 3 */
    int64_t now_us;           /* reference time for future bars, freshness and
                                 the partial last bar; 0 for the current time */
    double z_threshold;       /* robust z-score of an extreme move, default 10 */
    int z_window;             /* bars in the rolling median and MAD, default 100 */
} ohlcx_check_options;

void ohlcx_check_options_default(ohlcx_check_options *options);

/* Runs every check on series and fills report (freed with
 * ohlcx_quality_report_free). Under OHLCX_POLICY_REPAIR, series is repaired
 * in place. */
int ohlcx_check_series(ohlcx_series *series, const ohlcx_check_options *options,
                       ohlcx_quality_report *report);

void ohlcx_quality_report_free(ohlcx_quality_report *report);

/*
 * Streaming checks: ohlcx_check_series() on a series whose rows come in
 * file order in chunks, with memory that does not grow with the rows or the
 * gaps: about z_window rows, the last row, the first
 * OHLCX_CHECK_STREAM_GAPS_KEPT gaps and the gaps of the chunk being pushed.
 * Cut a series into chunks in any way: the rows appended to out over all
 * calls are the rows that ohlcx_check_series() leaves with the same
 * options, and the report from finish is its report, except that
 * report->gaps lists only the first OHLCX_CHECK_STREAM_GAPS_KEPT gaps.
 * gap_count, expected_bars, missing_ratio and every check and repair still
 * count every gap. Any call may instead return OHLCX_WHOLE_SERIES
 * (include/ohlcx/error.h). That return, which sets no
 * error message, means the series needs the whole-series engine: the caller
 * discards what the stream appended and calls ohlcx_check_series().
 *
 * Only a series that needs no repair besides filling gaps and flagging a
 * partial last bar streams. Its timeframe is at most 1d, and its rows are
 * strictly ascending on the grid of the timeframe, with valid prices and
 * volumes. The grid is the UTC grid on the always calendar and the grid of
 * the first row on a session calendar. The calendar must be always, forex
 * or us_equity, asked for or resolved by auto. Auto on a forex, stock or
 * index series resolves from the first rows (about z_window). Finish
 * returns OHLCX_WHOLE_SERIES when the whole series resolves otherwise, or
 * when the majority of its open times would give another grid. A series
 * on the inferred calendar never streams.
 */
typedef struct ohlcx_check_stream ohlcx_check_stream;

/* Gaps that a stream's report lists. A list of every gap would grow with
 * the file on sparse data (1m bars of an illiquid pair miss most bars),
 * about 32 bytes a gap. 1000 is at least the 100 gaps that the JSON report
 * writes, so that JSON is the same as for the whole series, and costs
 * 32 KB. */
#define OHLCX_CHECK_STREAM_GAPS_KEPT 1000

/* Starts checking a series like `like` (its symbol, timeframe, asset
 * class, source path and optional columns; its rows are not read).
 * options may be NULL for the defaults, and now_us 0 is the time of this
 * call. Returns 0, OHLCX_WHOLE_SERIES when such a series never streams, or
 * a negative error. */
int ohlcx_check_stream_begin(const ohlcx_series *like, const ohlcx_check_options *options,
                             ohlcx_check_stream **out);

/* Checks the next rows, which continue the rows pushed before, and appends
 * to out the repaired rows that are final so far. It holds back the last
 * row, and the first rows until they hold the first block of returns and
 * of volumes (about z_window rows). rows and out must have the optional
 * columns of `like`. Returns 0, OHLCX_WHOLE_SERIES (then and for every
 * later call), or a negative error. */
int ohlcx_check_stream_push(ohlcx_check_stream *s, const ohlcx_series *rows, ohlcx_series *out);

/* Appends the held-back rows to out and fills report (freed with
 * ohlcx_quality_report_free) as ohlcx_check_series() would on the whole
 * series, with the first OHLCX_CHECK_STREAM_GAPS_KEPT gaps in report->gaps
 * (the smaller of gap_count and that many). Returns 0, OHLCX_WHOLE_SERIES
 * or a negative error. */
int ohlcx_check_stream_finish(ohlcx_check_stream *s, ohlcx_series *out,
                              ohlcx_quality_report *report);

void ohlcx_check_stream_free(ohlcx_check_stream *s);

/* Returns "pass", "warn" or "fail". */
const char *ohlcx_verdict_name(int verdict);
const char *ohlcx_severity_name(int severity);
const char *ohlcx_calendar_name(int calendar);

/* Writes the report as one JSON object (the element of the "series" array
 * in docs/quality.md) into a malloc()ed string. */
int ohlcx_quality_report_json(const ohlcx_quality_report *report, char **out);

/*
 * Cross-source validation: the same symbol and timeframe from two sources,
 * compared bar by bar over the time both cover (from the later first open
 * time to the earlier last one). Both series must be sorted with unique open
 * times (ohlcx_validate_basic() leaves them so).
 */
typedef struct ohlcx_source_comparison {
    size_t compared;         /* bars present in both, by open time */
    size_t close_mismatches; /* of those, closes further apart than the tolerance */
    size_t missing_in_a;     /* bars of b in the common span that a lacks */
    size_t missing_in_b;     /* bars of a in the common span that b lacks */
    double max_difference;   /* largest |close_a / close_b - 1| among compared bars */
    size_t example_count;
    ohlcx_check_example examples[OHLCX_CHECK_EXAMPLES]; /* first mismatches; row in a */
} ohlcx_source_comparison;

/* Compares series a with series b; tolerance is the largest relative close
 * difference that still agrees (default 0.001, 0.1%). */
int ohlcx_compare_sources(const ohlcx_series *a, const ohlcx_series *b, double tolerance,
                          ohlcx_source_comparison *out);

#endif
