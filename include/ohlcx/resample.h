/*
 * Resample: derive a coarser timeframe from a finer series.
 *
 * A target bar ("bin") is labelled by its open time and covers
 * [open, open + timeframe). Its open is the first sub-bar's open, high the
 * maximum, low the minimum, close the last sub-bar's close, and volume and
 * the optional columns (quote volume, trades, taker buy volumes) the sums.
 * A NaN in an additive column makes that bin's sum NaN. Only bins that
 * contain at least one sub-bar are written, so a gap in the source stays a
 * gap in the target.
 *
 * Bin boundaries:
 *   - 3m .. 12h: multiples of the timeframe from 00:00 UTC.
 *   - 1d: 00:00 UTC, or a session day that starts at a local wall time in an
 *     IANA zone (OHLCX_DAY_SESSION; forex: 17:00 America/New_York, so days
 *     are 23 or 25 hours long when New York changes its clocks).
 *   - 3d: multiples of three days from 1970-01-01, as Binance aligns them.
 *   - 1w: Monday 00:00 UTC.
 *   - 1M and 3M: calendar months and quarters (January, April, July,
 *     October) from 00:00 UTC on the first day.
 *
 * Every source bar must lie inside one bin. The source timeframe must be
 * finer than the target and must divide it: a fixed-length target needs a
 * source whose length divides it (1h from 15m, 1w from 1d, not 1w from 3d),
 * a month or quarter needs a source of a day or less (or 1M for 3M), and a
 * session day needs a source of an hour or less. A source bar that still
 * crosses a bin boundary (1h bars opening at :30 resampled to 2h) is
 * rejected with its open time.
 *
 * Expected sub-bars. A bin holds the source slots [open, end) stepped by the
 * source timeframe. On the 24/7 calendar (crypto) every slot is expected,
 * so a 1h bin from 1m bars expects 60 and a February 2024 bin from 1d bars
 * 29. On the other calendars (forex, US equity, inferred; see
 * include/ohlcx/check.h) a slot is expected when the quality calendar
 * expects a bar of the source timeframe there. A bin with fewer sub-bars
 * than expected gets OHLCX_FLAG_PARTIAL.
 *
 * Still-open bins. A bin whose end lies after the end of the last source
 * bar (or after options->now_us when set) has not closed yet. It is flagged
 * OHLCX_FLAG_PARTIAL and counted in open_bins, or dropped when
 * options->complete_only is set.
 *
 * Flags. A bin's flags are the OR of its sub-bars' flags, so repaired and
 * synthetic sub-bars mark the bins they feed, plus OHLCX_FLAG_PARTIAL as
 * above.
 *
 * Errors follow include/ohlcx/error.h: 0, or OHLCX_EINVAL for a target the
 * source cannot build, unsorted source bars, a bar that crosses a bin or an
 * unknown zone; OHLCX_ENOMEM when an allocation fails.
 */
#ifndef OHLCX_RESAMPLE_H
#define OHLCX_RESAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "ohlcx/series.h"

/* Where 1d bins start. */
enum ohlcx_day_start {
    OHLCX_DAY_UTC = 0, /* 00:00 UTC */
    OHLCX_DAY_SESSION, /* session_minute after local midnight in session_zone */
};

typedef struct ohlcx_resample_options {
    int day_start;            /* enum ohlcx_day_start, default OHLCX_DAY_UTC */
    const char *session_zone; /* IANA zone of a session day; NULL: from the asset class */
    int session_minute;       /* minutes after local midnight; -1: from the asset class */
    int calendar;             /* enum ohlcx_calendar for expected sub-bars, default AUTO */
    int complete_only;        /* 1: drop bins that have not closed */
    int64_t now_us;           /* bins ending after this are open; 0: the end of the last
                                 source bar */
} ohlcx_resample_options;

/* The bins of one target timeframe and how full each one is. Every column
 * of series, sub_bars and expected points into one block that the struct
 * owns: read them, but do not free, grow or append to series with the
 * ohlcx_series calls. ohlcx_resampled_free() releases them all. */
typedef struct ohlcx_resampled {
    ohlcx_series series; /* the bins, with the source's symbol, asset class and columns */
    uint32_t *sub_bars;  /* source bars in each bin */
    uint32_t *expected;  /* source bars a complete bin holds on the calendar */
    size_t capacity;     /* bins the columns have room for */
    size_t partial;      /* bins flagged OHLCX_FLAG_PARTIAL, open ones included */
    size_t open_bins;    /* bins not yet closed, kept or dropped */
    void *block;         /* the memory of every column */
    size_t block_bytes;
} ohlcx_resampled;

/* Sets the defaults: UTC days, calendar AUTO, every bin kept, session
 * zone and start from the asset class. */
void ohlcx_resample_options_init(ohlcx_resample_options *options);

/* Default session day of an asset class: forex 17:00 America/New_York,
 * stocks and indices 00:00 America/New_York (the exchange's trading date),
 * others 00:00 UTC. Writes the zone name (static) and the minutes after
 * local midnight. */
void ohlcx_resample_session_default(int asset_class, const char **zone, int *minute);

void ohlcx_resampled_init(ohlcx_resampled *out);
void ohlcx_resampled_free(ohlcx_resampled *out);

/* Returns 0 when a series of timeframe source can be resampled to target,
 * else OHLCX_EINVAL with a message that names both. day_start is an enum
 * ohlcx_day_start. */
int ohlcx_resample_check(const char *source, const char *target, int day_start);

/*
 * Resamples source (sorted by open time, unique open times, as
 * ohlcx_validate_basic() leaves it) to the canonical timeframe target,
 * replacing the bins in out. out's buffers are reused when large enough.
 * options may be NULL for the defaults.
 */
int ohlcx_resample(const ohlcx_series *source, const char *target,
                   const ohlcx_resample_options *options, ohlcx_resampled *out);

/* Targets one ohlcx_resample_many() call builds at most. */
#define OHLCX_RESAMPLE_TARGETS_MAX 16

/*
 * Resamples source to count targets, writing target k to out[k] (count
 * initialised ohlcx_resampled). A target is built from the coarsest finer
 * target of the call that divides it (15m from 5m, 1M from 1d), which reads
 * far fewer rows than the source. The bins, flags, sub-bar counts and
 * expectations are those ohlcx_resample() gives from the source itself;
 * only sums may differ in float rounding, as they add in another order.
 * The targets are built side by side in one pass over the source. On an
 * error, which is that of the finest target that fails, every out[k] is
 * left with no bins.
 */
int ohlcx_resample_many(const ohlcx_series *source, const char *const *targets, int count,
                        const ohlcx_resample_options *options, ohlcx_resampled *out);

#endif
