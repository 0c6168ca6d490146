/*
 * Internal interface between the check engine (engine.c and the check
 * files) and completeness (calendar.c, gaps.c).
 */
#ifndef OHLCX_QUALITY_INTERNAL_H
#define OHLCX_QUALITY_INTERNAL_H

#include "ohlcx/check.h"

/* Resolves OHLCX_CALENDAR_AUTO from the asset class and the data: crypto
 * gets always; forex gets forex when its weekly opens fit Sunday 17:00 New
 * York, else inferred (broker time); stocks and indices get US equity when
 * they look US listed, else inferred; others get inferred. */
int quality_resolve_calendar(const ohlcx_series *series, int requested);

/*
 * The counts behind quality_resolve_calendar(), kept over rows that come
 * in chunks (calendar.c): the vote over every row pushed resolves as
 * quality_resolve_calendar() does on a series of those rows.
 */
typedef struct quality_calendar_vote {
    int calendar;           /* the result when no row can change it, else AUTO */
    int rule;               /* the statistic the rows decide by */
    char timeframe[OHLCX_TIMEFRAME_MAX];
    int64_t length_us;      /* of the timeframe */
    size_t rows;            /* rows pushed */
    int64_t last_time;      /* open time of the last row pushed */
    size_t openings;        /* forex: bars more than a day after the bar before */
    size_t on_time;         /* of those, bars at the first slot of the forex week */
    size_t in_session;      /* intraday stocks: bars expected in NYSE sessions */
    int64_t first_day, last_day; /* daily stocks: UTC days of the rows */
    int64_t last_counted;   /* the last NYSE holiday counted */
    size_t bars_on_holidays; /* NYSE holidays with a bar */
} quality_calendar_vote;

/* Starts a vote for a series like `like` (its symbol, timeframe and asset
 * class) and a valid requested calendar. Returns the calendar when the rows
 * cannot change it, else OHLCX_CALENDAR_AUTO. */
int quality_calendar_vote_begin(quality_calendar_vote *vote, const ohlcx_series *like,
                                int requested);

/* Counts n open times, the rows after those pushed before. */
void quality_calendar_vote_push(quality_calendar_vote *vote, const int64_t *open_time,
                                size_t n);

/* Returns the calendar that the rows pushed so far resolve to. */
int quality_calendar_vote_result(const quality_calendar_vote *vote);

/* Values of a slot of the inferred table: the slot trades, and it is closed
 * on December 25 and January 1 (set for forex series). */
#define QUALITY_SLOT_TRADES 1
#define QUALITY_SLOT_FOREX_HOLIDAYS 2

/* Returns 1 when a bar of the given timeframe opening at open_time is
 * expected on the calendar. For OHLCX_CALENDAR_INFERRED, `inferred` is a
 * 7 x 24 table of weekday (0 = Monday) and hour slots, each 0 (closed) or
 * QUALITY_SLOT_TRADES, possibly with QUALITY_SLOT_FOREX_HOLIDAYS. */
int quality_bar_expected(int calendar, const char *timeframe, int64_t open_time,
                         const uint8_t inferred[7 * 24]);

/* Fills inferred[7 * 24] with the weekday and hour slots in which the series
 * has at least one bar in more than a fifth of its weeks; a forex series's
 * slots also get QUALITY_SLOT_FOREX_HOLIDAYS. */
void quality_infer_session(const ohlcx_series *series, uint8_t inferred[7 * 24]);

/* Lists the gaps of a sorted series with unique open times on its calendar,
 * sets report->expected_bars, missing_ratio, gaps and gap_count. */
int quality_find_gaps(const ohlcx_series *series, int calendar, const uint8_t inferred[7 * 24],
                      ohlcx_quality_report *report);

/* Returns the first k in [from, n), from >= 1, whose open time t[k] is not
 * t[k - 1] + step, or n. It compares a chunk at a time, so that the
 * compiler can vectorise the scan over a run of regular bars. */
size_t quality_next_irregular(const int64_t *t, size_t from, size_t n, int64_t step);

/* Fills every gap of at most max_bars missing bars with bars interpolated
 * linearly in the close between its neighbours (open = previous close, high
 * and low the larger and smaller of open and close, volume 0), flagged
 * OHLCX_FLAG_SYNTHETIC; marks each filled gap and returns the bars added. */
int quality_fill_gaps(ohlcx_series *series, ohlcx_quality_report *report, int max_bars,
                      size_t *added);

/* Appends count rows of from, from_row on, to the rows of to, which must
 * have room for them and every optional column of from. */
void quality_copy_rows(ohlcx_series *to, const ohlcx_series *from, size_t from_row,
                       size_t count);

/*
 * The gaps of a series that comes in chunks of rows, on a resolved calendar
 * other than INFERRED and a fixed-step timeframe (1m to 1w). Rows come in
 * open-time order with unique open times, as for quality_find_gaps(). Once
 * every row is pushed, the gap count, expected bars and missing ratio equal
 * its results, and the gaps kept are the first of its list. The gaps a push
 * finds are pending until the caller has used them and releases them. A
 * release keeps only the first OHLCX_CHECK_STREAM_GAPS_KEPT gaps of the
 * series, so memory holds those plus the gaps of one push.
 */
typedef struct quality_gap_stream quality_gap_stream;

int quality_gap_stream_begin(const char *timeframe, const char *symbol, int calendar,
                             quality_gap_stream **out);

/* Walks the n open times, rows row_offset on, after the rows pushed
 * before. */
int quality_gap_stream_push(quality_gap_stream *s, const int64_t *open_time, size_t n,
                            size_t row_offset);

/* Returns the gaps pending, in time order, and sets *count to their
 * number. The caller may set their filled flags. */
ohlcx_gap *quality_gap_stream_pending(quality_gap_stream *s, size_t *count);

/* Ends the pending gaps: drops those after the first
 * OHLCX_CHECK_STREAM_GAPS_KEPT gaps of the series and keeps the others for
 * the report. */
void quality_gap_stream_release(quality_gap_stream *s);

/* Appends the synthetic bars of gap as quality_fill_gaps() makes them,
 * between a bar that closes at before and one that opens at after at
 * after_time; to must have room for gap->missing more rows. */
int quality_gap_stream_fill(const quality_gap_stream *s, const ohlcx_gap *gap, double before,
                            double after, int64_t after_time, ohlcx_series *to);

/* Releases the pending gaps, then moves the kept gaps into report->gaps,
 * counts every gap in gap_count and sets expected_bars and missing_ratio.
 * The stream keeps no gaps after it. */
void quality_gap_stream_report(quality_gap_stream *s, ohlcx_quality_report *report);

/* Sets *listed to the gaps in the stream's list (kept and pending) and
 * *capacity to the gaps the list has room for. */
void quality_gap_stream_memory(const quality_gap_stream *s, size_t *listed, size_t *capacity);

/* The same for the gap stream of a check stream (stream.c), both 0 before
 * it starts, so that tests can check that the list stays bounded. */
void quality_check_stream_gap_memory(const ohlcx_check_stream *s, size_t *listed,
                                     size_t *capacity);

void quality_gap_stream_free(quality_gap_stream *s);

#endif
