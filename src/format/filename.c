/*
 * Symbol and timeframe from a candle file's name.
 *
 * The base name without its extension is split at '-' and '_'. The first
 * part is the symbol. The first later part that names a timeframe (1h, 15m,
 * 240m, H4, 1mo, ...) is the timeframe, and other parts (years, months,
 * "ohlc", day counts) are ignored. So BTCUSDT_15m_2024.csv gives BTCUSDT and
 * 15m, and GOOG.csv gives GOOG and no timeframe.
 */
#include <stdio.h>
#include <string.h>

#include "format_internal.h"
#include "ohlcx/error.h"
#include "ohlcx/format.h"
#include "ohlcx/series.h"

/* Maximum base name length considered; longer names are cut. */
#define STEM_MAX 256


static int is_separator(char c)
{
    return c == '-' || c == '_';
}


/* A timeframe part mixes digits and letters (1h, H4, 240m) and is short. */
static int may_be_timeframe(const char *part, size_t length)
{
    int digits = 0, letters = 0;

    if (length < 2 || length >= OHLCX_TIMEFRAME_MAX)
        return 0;
    for (size_t i = 0; i < length; i++) {
        if (part[i] >= '0' && part[i] <= '9')
            digits = 1;
        else if ((part[i] >= 'a' && part[i] <= 'z') || (part[i] >= 'A' && part[i] <= 'Z'))
            letters = 1;
        else
            return 0;
    }
    return digits && letters;
}


/* Parses part as a timeframe while keeping the thread's error message, which
 * ohlcx_timeframe_parse() overwrites on a part that is not a timeframe. */
static int parse_timeframe_quietly(const char *part, size_t length, char *timeframe)
{
    char saved[1024];
    char text[OHLCX_TIMEFRAME_MAX];
    int status = 0;

    memcpy(text, part, length);
    text[length] = '\0';
    snprintf(saved, sizeof saved, "%s", ohlcx_last_error());
    status = ohlcx_timeframe_parse(text, timeframe);
    ohlcx_set_error(OHLCX_OK, "%s", saved);
    return status;
}


void format_file_name_parts(const char *path, char *symbol, char *timeframe)
{
    const char *base = strrchr(path, '/');
    const char *dot = NULL;
    char stem[STEM_MAX];
    size_t stem_length = 0, part_start = 0;
    int first_part = 1;

    symbol[0] = '\0';
    timeframe[0] = '\0';
    base = base ? base + 1 : path;
    dot = strrchr(base, '.');
    stem_length = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    if (stem_length >= sizeof stem)
        stem_length = sizeof stem - 1;
    memcpy(stem, base, stem_length);
    stem[stem_length] = '\0';

    for (size_t i = 0; i <= stem_length; i++) {
        size_t length = i - part_start;

        if (i < stem_length && !is_separator(stem[i]))
            continue;
        if (first_part) {
            if (length > 0 && length < OHLCX_SYMBOL_MAX) {
                memcpy(symbol, stem + part_start, length);
                symbol[length] = '\0';
            }
            first_part = 0;
        } else if (length > 0 && timeframe[0] == '\0' &&
                   may_be_timeframe(stem + part_start, length)) {
            if (parse_timeframe_quietly(stem + part_start, length, timeframe) != 0)
                timeframe[0] = '\0';
        }
        part_start = i + 1;
    }
}


int ohlcx_parse_file_name(const char *path, char *symbol, char *timeframe)
{
    if (path == NULL || symbol == NULL || timeframe == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "ohlcx_parse_file_name: path, symbol and "
                                             "timeframe must not be NULL");
    format_file_name_parts(path, symbol, timeframe);
    if (symbol[0] == '\0')
        return ohlcx_set_error(OHLCX_EINVAL,
                               "cannot take a symbol from the file name '%s': name the file "
                               "like BTCUSDT_1h.csv (at most %d characters before the first "
                               "'_' or '-') or pass --symbol",
                               path, OHLCX_SYMBOL_MAX - 1);
    return 0;
}
