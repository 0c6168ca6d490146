/*
 * Synthetic candle series: a seeded random walk of log closes with GARCH(1,1)
 * volatility, wicks, and an optional planted wick-shape signal.
 *
 * Determinism: one xoshiro256** stream per series, seeded from the options'
 * seed and an FNV-1a hash of the symbol and the canonical timeframe, mixed
 * by splitmix64. The same symbol, timeframe and options give the same bars
 * on every machine, and the series of one symbol on different timeframes are
 * independent walks rather than resamples of each other.
 *
 * Volatility: a bar covering d trading days has standard deviation
 * daily_vol * sqrt(d * h), where h is the GARCH(1,1) variance multiplier
 * h' = (1 - a - b) + a * h * z^2 + b * h, with mean 1 and z the bar's
 * standard normal shock. Daily volatility is 3% for crypto and 1.5% for
 * the other classes, which share the stock price profile.
 *
 * Planted signal: see include/ohlcx/synth.h, which also explains why shapes
 * come in non-overlapping pairs. The direction of every shape is the wick
 * type drawn for the first bar of its pair, a coin independent of all that
 * came before, so past closes carry no information on the next sign.
 *
 * Planted daily signal: the walk keeps the closes of the last two completed
 * UTC days (the close of the last bar that opened in each) and the sign of
 * the last bar's return, both on the price grid, so they are exactly what a
 * reader of the file computes. A day counts as completed when the first
 * bar of a later day opens, so the rule never reads the day it acts in.
 *
 * Invariants of every bar: 0 < low <= min(open, close) and
 * max(open, close) <= high; prices sit on a grid of 0.01 (start price of
 * 1000 or more) or 0.0001, volume on 0.0001 (crypto) or 1 (other classes).
 * Crypto bars open at the previous close. Stock bars that open a session,
 * and forex bars that open trading after a weekend or holiday, may gap.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ohlcx/error.h"
#include "ohlcx/synth.h"
#include "synth/synth_internal.h"
#include "util/util.h"

/* 2024-01-01 00:00 UTC. */
#define DEFAULT_START_US (INT64_C(1704067200) * OHLCX_US_PER_SECOND)

/* 2200-01-01 00:00 UTC: the calendar code needs no dates beyond this. */
#define MAX_START_US (INT64_C(7258118400) * OHLCX_US_PER_SECOND)

#define MAX_MONTHS 1200

/* GARCH(1,1) weights: persistence a + b = 0.98, and 3a^2 + 2ab + b^2 < 1 so
 * the shocks keep a finite fourth moment. */
#define GARCH_A 0.05
#define GARCH_B 0.93

#define PI 3.14159265358979323846

enum wick_type { WICK_NONE = 0, WICK_UPPER, WICK_LOWER };

typedef struct synth_rng {
    uint64_t state[4];
    double spare_normal;
    int has_spare;
} synth_rng;

/* Everything fixed for one series. */
typedef struct synth_profile {
    int crypto;
    double daily_vol;        /* standard deviation of a day's log return */
    double start_price;
    double price_steps;      /* price grid steps per unit: 100 or 10000 */
    double volume_steps;     /* volume grid steps per unit: 10000 or 1 */
    double daily_volume;     /* mean base-asset volume of a trading day */
    double planted;          /* P, or 0 for no planted signal */
    double planted_daily;    /* Q, or 0 for no planted daily signal */
} synth_profile;

/* The walk's state carried from one bar to the next. */
typedef struct synth_walk {
    double log_close;     /* unrounded log of the last close */
    double close;         /* last close on the price grid */
    double variance;      /* GARCH multiplier h */
    int previous_wick;    /* enum wick_type of the last bar */
    int previous_ended;   /* 1 when the last bar ended a shape (a pair) */
    int forced_direction; /* +1 or -1 to bias this bar's sign, else 0 */
    int64_t day;          /* UTC day (days since the epoch) of the last bar */
    int days_closed;      /* UTC days completed so far, at most 2 */
    double day_close[2];  /* closes of the last two completed days, newest first */
    int last_sign;        /* sign of the last bar's close-to-close return, 0 if flat */
} synth_walk;


void ohlcx_synth_options_default(ohlcx_synth_options *options)
{
    options->months = 20;
    options->seed = 42;
    options->planted = 0;
    options->planted_daily = 0;
    options->start_us = DEFAULT_START_US;
    options->asset_class = OHLCX_SYNTH_GUESS_CLASS;
}


int ohlcx_synth_calendar_of(int asset_class)
{
    if (asset_class == OHLCX_ASSET_CRYPTO)
        return OHLCX_SYNTH_ALWAYS;
    if (asset_class == OHLCX_ASSET_FOREX)
        return OHLCX_SYNTH_FOREX_WEEK;
    return OHLCX_SYNTH_STOCK_SESSION;
}


static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}


static uint64_t fnv1a(uint64_t hash, const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        hash ^= *p;
        hash *= UINT64_C(0x100000001b3);
    }
    return hash;
}


/* Seeds the stream of one series from the seed, symbol and timeframe. */
static void rng_seed(synth_rng *rng, uint64_t seed, const char *symbol, const char *timeframe)
{
    uint64_t hash = fnv1a(UINT64_C(0xcbf29ce484222325), symbol);
    uint64_t state;

    hash = fnv1a(hash ^ '/', timeframe);
    state = seed;
    state = splitmix64(&state) ^ hash;
    for (int i = 0; i < 4; i++)
        rng->state[i] = splitmix64(&state);
    rng->has_spare = 0;
}


static uint64_t rotate_left(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}


/* xoshiro256** step. */
static uint64_t rng_next(synth_rng *rng)
{
    uint64_t *s = rng->state;
    uint64_t result = rotate_left(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotate_left(s[3], 45);
    return result;
}


/* Returns a uniform double in [0, 1). */
static double rng_uniform(synth_rng *rng)
{
    return (double)(rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
}


/* Returns a standard normal by the Box-Muller transform, two per draw. */
static double rng_normal(synth_rng *rng)
{
    double radius, angle;

    if (rng->has_spare) {
        rng->has_spare = 0;
        return rng->spare_normal;
    }
    radius = sqrt(-2.0 * log(1.0 - rng_uniform(rng)));
    angle = 2.0 * PI * rng_uniform(rng);
    rng->spare_normal = radius * sin(angle);
    rng->has_spare = 1;
    return radius * cos(angle);
}


/* Rounds to a grid of 1 / steps. Dividing the integer count by steps, an
 * exact power of ten, gives the double nearest to the decimal value, so it
 * prints with at most log10(steps) decimals and parses back to itself. */
static double round_to(double value, double steps)
{
    return round(value * steps) / steps;
}


/* Picks the price level, volatility and volume scale of a symbol. */
static void make_profile(const char *symbol, int crypto, const ohlcx_synth_options *options,
                         synth_rng *rng, synth_profile *profile)
{
    double level = 100, jitter = 0.5, daily_notional = 2e8;

    if (crypto && (strncmp(symbol, "BTC", 3) == 0 || strncmp(symbol, "XBT", 3) == 0)) {
        level = 40000, jitter = 0.05, daily_notional = 8e8;
    } else if (crypto && strncmp(symbol, "ETH", 3) == 0) {
        level = 2500, jitter = 0.05, daily_notional = 4e8;
    } else if (crypto && strncmp(symbol, "LTC", 3) == 0) {
        level = 70, jitter = 0.05, daily_notional = 3e7;
    } else if (crypto) {
        daily_notional = 2e7;
    }

    profile->crypto = crypto;
    profile->daily_vol = crypto ? 0.03 : 0.015;
    profile->start_price = level * exp(jitter * (2 * rng_uniform(rng) - 1));
    profile->price_steps = profile->start_price >= 1000 ? 100 : 10000;
    profile->start_price = round_to(profile->start_price, profile->price_steps);
    profile->volume_steps = crypto ? 10000 : 1;
    profile->daily_volume = daily_notional / profile->start_price;
    profile->planted = options->planted;
    profile->planted_daily = options->planted_daily;
}


int synth_daily_direction(double prior_day_close, double last_day_close, int last_sign)
{
    int day_sign = (last_day_close > prior_day_close) - (last_day_close < prior_day_close);

    return day_sign * last_sign;
}


/* Returns the sign of this bar's close-to-close return. After a shape it
 * follows the shape's direction with probability P. After the first bar of
 * a pair, with a planted daily signal and two completed days, it follows
 * synth_daily_direction() with probability Q unless that is 0. Elsewhere it
 * is the shock's own sign, a fair coin. */
static double draw_sign(synth_rng *rng, const synth_profile *profile, const synth_walk *walk,
                        double shock)
{
    int daily;

    if (walk->forced_direction != 0)
        return rng_uniform(rng) < profile->planted ? walk->forced_direction
                                                   : -walk->forced_direction;
    if (profile->planted_daily > 0 && walk->days_closed == 2 &&
        walk->previous_wick != WICK_NONE && !walk->previous_ended) {
        daily = synth_daily_direction(walk->day_close[1], walk->day_close[0], walk->last_sign);
        if (daily != 0)
            return rng_uniform(rng) < profile->planted_daily ? daily : -daily;
    }
    return shock >= 0 ? 1 : -1;
}


/* Records the close of the last completed UTC day when bar i opens a new
 * one. The first bar's day has no close yet. */
static void track_day(synth_walk *walk, int64_t open_time, size_t i)
{
    int64_t day = ohlcx_floor_div(open_time, OHLCX_US_PER_DAY);

    if (i > 0 && day != walk->day) {
        walk->day_close[1] = walk->day_close[0];
        walk->day_close[0] = walk->close;
        if (walk->days_closed < 2)
            walk->days_closed++;
    }
    walk->day = day;
}


/* Returns one wick length of an unplanted bar: long (1 to 2 sigma) or short
 * (0 to 0.2 sigma) with equal probability, as the planted wicks are. */
static double draw_free_wick(synth_rng *rng, double sigma)
{
    int long_wick = rng_uniform(rng) < 0.5;
    double size = rng_uniform(rng);

    return long_wick ? (1 + size) * sigma : 0.2 * size * sigma;
}


/* Picks this bar's wick type and sets the direction forced on the next bar.
 * The first bar of a pair takes a random type, and the second bar takes the
 * other type and ends the shape. */
static int pick_wick(synth_rng *rng, synth_walk *walk)
{
    int second = walk->previous_wick != WICK_NONE && !walk->previous_ended;
    int wick = rng_uniform(rng) < 0.5 ? WICK_UPPER : WICK_LOWER;

    if (second)
        wick = walk->previous_wick == WICK_UPPER ? WICK_LOWER : WICK_UPPER;
    walk->forced_direction = 0;
    if (second)
        walk->forced_direction = wick == WICK_LOWER ? 1 : -1;
    walk->previous_ended = second;
    walk->previous_wick = wick;
    return wick;
}


/* Draws the upper and lower wick lengths, in log units, of a bar whose
 * volatility is sigma. */
static void draw_wicks(synth_rng *rng, const synth_profile *profile, synth_walk *walk,
                       double sigma, double *upper, double *lower)
{
    int wick;
    double long_wick, short_wick;

    if (profile->planted == 0) {
        *upper = draw_free_wick(rng, sigma);
        *lower = draw_free_wick(rng, sigma);
        return;
    }
    wick = pick_wick(rng, walk);
    long_wick = (1 + rng_uniform(rng)) * sigma;
    short_wick = 0.2 * rng_uniform(rng) * sigma;
    *upper = wick == WICK_UPPER ? long_wick : short_wick;
    *lower = wick == WICK_UPPER ? short_wick : long_wick;
}


/* Draws bar i of the series from the walk's state. */
static void draw_bar(synth_rng *rng, const synth_profile *profile, const synth_bar_info *info,
                     synth_walk *walk, ohlcx_series *series, size_t i)
{
    double steps = profile->price_steps, tick = 1 / steps;
    double sigma = profile->daily_vol * sqrt(info->trading_days * walk->variance);
    double shock = rng_normal(rng);
    double log_return = draw_sign(rng, profile, walk, shock) * fabs(shock) * sigma;
    double open = walk->close, close, high, low, upper, lower, volume;

    /* A stock session, or forex trading after a closed period, may open
     * away from the last close. The gap is part of the close-to-close
     * return, not added to it. */
    if (!profile->crypto && info->session_open)
        open = fmax(round_to(exp(walk->log_close + 0.25 * sigma * rng_normal(rng)), steps), tick);

    walk->log_close += log_return;
    close = fmax(round_to(exp(walk->log_close), steps), tick);
    draw_wicks(rng, profile, walk, sigma, &upper, &lower);
    high = fmax(round_to(fmax(open, close) * exp(upper), steps), fmax(open, close));
    low = fmin(fmax(round_to(fmin(open, close) * exp(-lower), steps), tick), fmin(open, close));

    /* Volume grows with the bar's trading time, the intraday profile and the
     * size of the move, with log-normal noise of mean 1. */
    volume = profile->daily_volume * info->trading_days * info->volume_shape *
             sqrt(walk->variance) * (0.5 + 0.625 * fabs(shock)) *
             exp(0.5 * rng_normal(rng) - 0.125);

    walk->variance = (1 - GARCH_A - GARCH_B) + GARCH_A * walk->variance * shock * shock +
                     GARCH_B * walk->variance;
    walk->last_sign = (close > walk->close) - (close < walk->close);
    walk->close = close;

    series->open[i] = open;
    series->high[i] = high;
    series->low[i] = low;
    series->close[i] = close;
    series->volume[i] = round_to(volume, profile->volume_steps);
    series->flags[i] = 0;
}


static int check_inputs(const char *symbol, const char *timeframe,
                        const ohlcx_synth_options *options, char *canonical)
{
    if (symbol == NULL || symbol[0] == '\0' || strlen(symbol) >= OHLCX_SYMBOL_MAX)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid synthetic symbol '%s': use 1 to %d characters",
                               symbol ? symbol : "", OHLCX_SYMBOL_MAX - 1);
    if (timeframe == NULL || ohlcx_timeframe_parse(timeframe, canonical) != 0)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid timeframe '%s': use one of 1m 3m 5m 15m 30m 1h 2h 4h 6h "
                               "8h 12h 1d 3d 1w 1M 3M",
                               timeframe ? timeframe : "");
    if (options->months < 1 || options->months > MAX_MONTHS)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid synthetic months %d: use 1 to %d",
                               options->months, MAX_MONTHS);
    if (!(options->planted == 0 || (options->planted > 0.5 && options->planted <= 1)))
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid planted probability %g: use 0 (none) or a probability "
                               "above 0.5 and at most 1",
                               options->planted);
    if (!(options->planted_daily == 0 ||
          (options->planted > 0 && options->planted_daily > 0.5 && options->planted_daily <= 1)))
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid planted daily probability %g with planted %g: use 0 "
                               "(none) or, with a planted probability set, a probability above "
                               "0.5 and at most 1",
                               options->planted_daily, options->planted);
    if (options->start_us < 0 || options->start_us > MAX_START_US)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid synthetic start time %lld us: use a time from 1970 to "
                               "2200",
                               (long long)options->start_us);
    if (options->asset_class != OHLCX_SYNTH_GUESS_CLASS &&
        (options->asset_class < 0 || options->asset_class >= OHLCX_ASSET_COUNT))
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid synthetic asset class %d: use an enum "
                               "ohlcx_asset_class value or OHLCX_SYNTH_GUESS_CLASS",
                               options->asset_class);
    return 0;
}


int ohlcx_synth_series(const char *symbol, const char *timeframe,
                       const ohlcx_synth_options *options, ohlcx_series *out)
{
    ohlcx_synth_options defaults;
    char canonical[OHLCX_TIMEFRAME_MAX];
    synth_calendar calendar;
    synth_profile profile;
    synth_walk walk;
    synth_rng rng;
    int64_t end_us;
    size_t n;
    int asset_class, crypto, status;

    if (out == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid synth call: out must be set");
    ohlcx_series_free(out);
    if (options == NULL) {
        ohlcx_synth_options_default(&defaults);
        options = &defaults;
    }
    status = check_inputs(symbol, timeframe, options, canonical);
    if (status != 0)
        return status;

    asset_class = options->asset_class;
    if (asset_class == OHLCX_SYNTH_GUESS_CLASS)
        asset_class = ohlcx_asset_class_guess(symbol);
    crypto = asset_class == OHLCX_ASSET_CRYPTO;
    status = synth_calendar_init(&calendar, canonical, ohlcx_synth_calendar_of(asset_class));
    if (status != 0)
        return status;
    end_us = synth_add_months(options->start_us, options->months);
    n = synth_calendar_bars(&calendar, options->start_us, end_us, NULL);
    if (n == 0)
        return ohlcx_set_error(OHLCX_EDATA,
                               "no %s bar of %s opens within %d months of the start time: use "
                               "more months",
                               canonical, symbol, options->months);
    status = ohlcx_series_reserve(out, n);
    if (status != 0) {
        ohlcx_series_free(out);
        return status;
    }
    synth_calendar_bars(&calendar, options->start_us, end_us, out->open_time);
    snprintf(out->symbol, sizeof out->symbol, "%s", symbol);
    snprintf(out->timeframe, sizeof out->timeframe, "%s", canonical);
    out->asset_class = asset_class;

    rng_seed(&rng, options->seed, symbol, canonical);
    make_profile(symbol, crypto, options, &rng, &profile);
    memset(&walk, 0, sizeof walk);
    walk.close = profile.start_price;
    walk.log_close = log(profile.start_price);
    walk.variance = 1;
    for (size_t i = 0; i < n; i++) {
        synth_bar_info info = synth_bar_describe(&calendar, out->open_time[i]);

        track_day(&walk, out->open_time[i], i);
        draw_bar(&rng, &profile, &info, &walk, out, i);
    }
    out->n = n;
    return 0;
}
