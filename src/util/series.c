/*
 * Series storage, timeframe names and asset-class guesses.
 *
 * Columns grow together by doubling, so appending n bars costs O(n) copies in
 * total.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ohlcx/error.h"
#include "ohlcx/series.h"

/* Canonical timeframes in increasing length; the index is the timeframe id. */
static const struct {
    const char *name;
    int64_t us;
} timeframes[] = {
    {"1m", OHLCX_US_PER_MINUTE},        {"3m", 3 * OHLCX_US_PER_MINUTE},
    {"5m", 5 * OHLCX_US_PER_MINUTE},    {"15m", 15 * OHLCX_US_PER_MINUTE},
    {"30m", 30 * OHLCX_US_PER_MINUTE},  {"1h", OHLCX_US_PER_HOUR},
    {"2h", 2 * OHLCX_US_PER_HOUR},      {"4h", 4 * OHLCX_US_PER_HOUR},
    {"6h", 6 * OHLCX_US_PER_HOUR},      {"8h", 8 * OHLCX_US_PER_HOUR},
    {"12h", 12 * OHLCX_US_PER_HOUR},    {"1d", OHLCX_US_PER_DAY},
    {"3d", 3 * OHLCX_US_PER_DAY},       {"1w", 7 * OHLCX_US_PER_DAY},
    {"1M", 30 * OHLCX_US_PER_DAY},      {"3M", 91 * OHLCX_US_PER_DAY},
};

#define TIMEFRAME_COUNT (sizeof timeframes / sizeof timeframes[0])


void ohlcx_series_init(ohlcx_series *series)
{
    memset(series, 0, sizeof *series);
}


void ohlcx_series_free(ohlcx_series *series)
{
    free(series->open_time);
    free(series->open);
    free(series->high);
    free(series->low);
    free(series->close);
    free(series->volume);
    free(series->flags);
    for (int i = 0; i < OHLCX_EXTRA_COUNT; i++)
        free(series->extra_column[i]);
    ohlcx_series_init(series);
}


static int grow_column(void **column, size_t element_size, size_t capacity)
{
    void *grown = realloc(*column, element_size * capacity);

    if (grown == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory growing a series to %zu rows",
                               capacity);
    *column = grown;
    return 0;
}


int ohlcx_series_reserve(ohlcx_series *series, size_t capacity)
{
    int status = 0;

    if (capacity <= series->capacity)
        return 0;
    status = grow_column((void **)&series->open_time, sizeof(int64_t), capacity);
    if (status == 0)
        status = grow_column((void **)&series->open, sizeof(double), capacity);
    if (status == 0)
        status = grow_column((void **)&series->high, sizeof(double), capacity);
    if (status == 0)
        status = grow_column((void **)&series->low, sizeof(double), capacity);
    if (status == 0)
        status = grow_column((void **)&series->close, sizeof(double), capacity);
    if (status == 0)
        status = grow_column((void **)&series->volume, sizeof(double), capacity);
    if (status == 0)
        status = grow_column((void **)&series->flags, sizeof(uint8_t), capacity);
    for (int i = 0; i < OHLCX_EXTRA_COUNT && status == 0; i++)
        if (series->extra & (1u << i))
            status = grow_column((void **)&series->extra_column[i], sizeof(double), capacity);
    if (status == 0)
        series->capacity = capacity;
    return status;
}


int ohlcx_series_add_extra(ohlcx_series *series, unsigned extra)
{
    size_t capacity = series->capacity ? series->capacity : 1;

    for (int i = 0; i < OHLCX_EXTRA_COUNT; i++) {
        unsigned bit = 1u << i;
        double *column;

        if (!(extra & bit) || (series->extra & bit))
            continue;
        column = malloc(capacity * sizeof *column);
        if (column == NULL)
            return ohlcx_set_error(OHLCX_ENOMEM, "out of memory adding column %s",
                                   ohlcx_extra_name(i));
        for (size_t row = 0; row < series->n; row++)
            column[row] = NAN;
        series->extra_column[i] = column;
        series->extra |= bit;
    }
    return 0;
}


const char *ohlcx_extra_name(int i)
{
    static const char *names[OHLCX_EXTRA_COUNT] = {"quote_volume", "trades", "taker_buy_base",
                                                   "taker_buy_quote"};

    return i >= 0 && i < OHLCX_EXTRA_COUNT ? names[i] : "unknown";
}


int ohlcx_series_append(ohlcx_series *series, int64_t open_time, double open,
                        double high, double low, double close, double volume)
{
    size_t i = series->n;

    if (i == series->capacity) {
        int status = ohlcx_series_reserve(series, i < 1024 ? 1024 : 2 * i);
        if (status != 0)
            return status;
    }
    series->open_time[i] = open_time;
    series->open[i] = open;
    series->high[i] = high;
    series->low[i] = low;
    series->close[i] = close;
    series->volume[i] = volume;
    series->flags[i] = 0;
    for (int column = 0; column < OHLCX_EXTRA_COUNT; column++)
        if (series->extra_column[column] != NULL)
            series->extra_column[column][i] = NAN;
    series->n = i + 1;
    return 0;
}


/* Finds a canonical name from a count and a unit letter, or returns -1. */
static int timeframe_from_parts(long count, char unit, char *out)
{
    char name[OHLCX_TIMEFRAME_MAX];

    /* Normalise minute and hour counts that have a larger canonical form. */
    if (unit == 'm' && count >= 60 && count % 60 == 0) {
        count /= 60;
        unit = 'h';
    }
    if (unit == 'h' && count >= 24 && count % 24 == 0) {
        count /= 24;
        unit = 'd';
    }
    if (unit == 'd' && count == 7) {
        count = 1;
        unit = 'w';
    }
    if (count <= 0 || count > 999)
        return -1;
    snprintf(name, sizeof name, "%ld%c", count, unit);
    for (size_t i = 0; i < TIMEFRAME_COUNT; i++) {
        if (strcmp(name, timeframes[i].name) == 0) {
            strcpy(out, timeframes[i].name);
            return 0;
        }
    }
    return -1;
}


int ohlcx_timeframe_parse(const char *text, char *out)
{
    char lower[16];
    size_t length = text ? strlen(text) : 0;
    char *end = NULL;
    long count = 0;

    if (length == 0 || length >= sizeof lower)
        goto invalid;

    /* "1M" and "3M" are months; every other name is case-insensitive. */
    if (strcmp(text, "1M") == 0 || strcmp(text, "3M") == 0) {
        strcpy(out, text);
        return 0;
    }
    for (size_t i = 0; i <= length; i++)
        lower[i] = (char)tolower((unsigned char)text[i]);

    if (strcmp(lower, "d") == 0 || strcmp(lower, "daily") == 0)
        return strcpy(out, "1d"), 0;
    if (strcmp(lower, "w") == 0 || strcmp(lower, "weekly") == 0)
        return strcpy(out, "1w"), 0;
    if (strcmp(lower, "mn") == 0 || strcmp(lower, "mn1") == 0 ||
        strcmp(lower, "monthly") == 0)
        return strcpy(out, "1M"), 0;

    /* MetaTrader names put the unit first: M15, H1, D1, W1. */
    if (strchr("mhdw", lower[0]) != NULL && isdigit((unsigned char)lower[1])) {
        count = strtol(lower + 1, &end, 10);
        if (*end == '\0' && timeframe_from_parts(count, lower[0], out) == 0)
            return 0;
        goto invalid;
    }

    count = strtol(lower, &end, 10);
    if (end == lower)
        goto invalid;
    if (strcmp(end, "mo") == 0 || strcmp(end, "mon") == 0 || strcmp(end, "month") == 0) {
        if (count == 1 || count == 3) {
            snprintf(out, OHLCX_TIMEFRAME_MAX, "%ldM", count);
            return 0;
        }
        goto invalid;
    }
    if (strcmp(end, "min") == 0 || strcmp(end, "t") == 0)
        end = "m";
    if (strcmp(end, "hour") == 0)
        end = "h";
    if (strcmp(end, "day") == 0)
        end = "d";
    if (strcmp(end, "wk") == 0 || strcmp(end, "week") == 0)
        end = "w";
    if (end[0] != '\0' && end[1] == '\0' && timeframe_from_parts(count, end[0], out) == 0)
        return 0;

invalid:
    return ohlcx_set_error(OHLCX_EINVAL,
                           "invalid timeframe '%s': use one of 1m 3m 5m 15m 30m 1h 2h 4h 6h "
                           "8h 12h 1d 3d 1w 1M 3M",
                           text ? text : "");
}


int64_t ohlcx_timeframe_us(const char *timeframe)
{
    for (size_t i = 0; i < TIMEFRAME_COUNT; i++)
        if (strcmp(timeframe, timeframes[i].name) == 0)
            return timeframes[i].us;
    return 0;
}


int ohlcx_timeframe_id(const char *timeframe)
{
    for (size_t i = 0; i < TIMEFRAME_COUNT; i++)
        if (strcmp(timeframe, timeframes[i].name) == 0)
            return (int)i;
    return -1;
}


static int ends_with(const char *text, const char *suffix)
{
    size_t length = strlen(text), suffix_length = strlen(suffix);

    return length > suffix_length && strcmp(text + length - suffix_length, suffix) == 0;
}


int ohlcx_asset_class_guess(const char *symbol)
{
    static const char *crypto_quotes[] = {"USDT", "USDC", "BUSD", "FDUSD", "BTC", "ETH"};
    static const char *crypto_bases[] = {"BTC", "ETH", "XBT", "LTC", "SOL", "XRP", "BNB", "DOGE", "ADA"};
    static const char *currencies[] = {"USD", "EUR", "JPY", "GBP", "CHF", "AUD", "CAD", "NZD"};
    char upper[OHLCX_SYMBOL_MAX];
    size_t length = strlen(symbol);

    if (length >= sizeof upper)
        length = sizeof upper - 1;
    for (size_t i = 0; i < length; i++)
        upper[i] = (char)toupper((unsigned char)symbol[i]);
    upper[length] = '\0';

    for (size_t i = 0; i < sizeof crypto_quotes / sizeof *crypto_quotes; i++)
        if (ends_with(upper, crypto_quotes[i]))
            return OHLCX_ASSET_CRYPTO;
    for (size_t i = 0; i < sizeof crypto_bases / sizeof *crypto_bases; i++)
        if (strncmp(upper, crypto_bases[i], strlen(crypto_bases[i])) == 0 && length > 4)
            return OHLCX_ASSET_CRYPTO;
    if (length == 6) {
        int base = 0, quote = 0;
        for (size_t i = 0; i < sizeof currencies / sizeof *currencies; i++) {
            base |= strncmp(upper, currencies[i], 3) == 0;
            quote |= strcmp(upper + 3, currencies[i]) == 0;
        }
        if (base && quote)
            return OHLCX_ASSET_FOREX;
    }
    return OHLCX_ASSET_STOCKS;
}


const char *ohlcx_asset_class_name(int asset_class)
{
    static const char *names[OHLCX_ASSET_COUNT] = {"crypto", "stocks", "forex",
                                                   "indices", "commodities", "bonds"};

    if (asset_class < 0 || asset_class >= OHLCX_ASSET_COUNT)
        return "unknown";
    return names[asset_class];
}


int ohlcx_timeframe_months(const char *timeframe)
{
    if (strcmp(timeframe, "1M") == 0)
        return 1;
    if (strcmp(timeframe, "3M") == 0)
        return 3;
    return 0;
}
