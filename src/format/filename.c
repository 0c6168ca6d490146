/*
 * Symbol and timeframe from a candle file's name.
 *
 * The base name loses a .gz/.zst/.zstd suffix, then its extension, then a
 * Stooq market suffix (spy.us.txt gives spy). The rest is split at '-',
 * '_' and blanks into parts:
 *   - A first part naming an exchange is dropped when two or more parts
 *     follow (Binance_BTCUSDT_1h), and so are words of vendors' names
 *     anywhere (Historical, Data, Dados, Historicos, futures, ...). A name
 *     that starts with a separator (_1h.csv) has no symbol.
 *   - The first remaining part is the symbol. When the next part is a quote
 *     currency (BTC_USDT, EUR_USD), the two are joined: BTCUSDT, EURUSD.
 *   - The first later part that names a timeframe (1h, 15m, 240m, H4, D1,
 *     d, 1mo) is the timeframe. A bare number right after the symbol counts
 *     minutes, as Kraken writes it (XBTUSD_60 is 1h), when it is a
 *     canonical timeframe.
 *   - A lone part of six or more letters followed by digits is a MetaTrader
 *     history name (EURUSD60, USDJPY1): letters, then minutes.
 * Other parts (years, months, day counts, "ohlc") are ignored, and the
 * symbol is upper-cased unless it contains a byte outside ASCII, when it
 * keeps its case as written. So BTCUSDT_15m_2024.csv gives BTCUSDT and 15m,
 * GOOG.csv gives GOOG and no timeframe, and éth-1h.csv gives éth and 1h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format_internal.h"
#include "ohlcx/error.h"
#include "ohlcx/format.h"
#include "ohlcx/series.h"

/* Maximum base name length considered; longer names are cut. */
#define STEM_MAX 256
#define PARTS_MAX 16

typedef struct name_part {
    const char *text;
    size_t length;
} name_part;

static const char *exchanges[] = {
    "binance", "binanceus", "coinbase", "coinbasepro", "kraken", "bitfinex", "bitstamp",
    "bybit",   "okx",       "okex",     "kucoin",      "huobi",  "gemini",   "bittrex",
    "poloniex", "gateio",   "deribit",  "bitmex",      "hitbtc", "mexc",     "bitget",
};

/* Folded (lower case, accents dropped) words of vendors' file names. */
static const char *noise_words[] = {
    "historical", "history", "data", "dados", "historicos", "historico", "futures",
    "spot",       "perp",    "klines", "candles", "ohlc",  "ohlcv",
};

static const char *quote_currencies[] = {
    "USDT", "USDC", "BUSD", "FDUSD", "TUSD", "DAI", "USD", "EUR", "GBP", "JPY", "CHF",
    "AUD",  "CAD",  "NZD",  "BRL",   "RUB",  "TRY", "CNY", "HKD", "SGD", "KRW", "INR",
    "MXN",  "ZAR",  "SEK",  "NOK",   "DKK",  "PLN", "BTC", "ETH", "BNB",
};

/* Minutes that name a canonical timeframe (1m .. 3d and 1w). */
static const int canonical_minutes[] = {1,   3,   5,   15,  30,   60,   120,  240,
                                        360, 480, 720, 1440, 4320, 10080};


static int is_separator(char c)
{
    return c == '-' || c == '_' || c == ' ';
}


static int in_list(const char *folded, const char *const *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(folded, list[i]) == 0)
            return 1;
    return 0;
}


static int is_exchange(const name_part *part)
{
    char folded[64];

    format_fold_name(part->text, part->length, folded, sizeof folded);
    return in_list(folded, exchanges, sizeof exchanges / sizeof exchanges[0]);
}


static int is_noise(const name_part *part)
{
    char folded[64];

    format_fold_name(part->text, part->length, folded, sizeof folded);
    return in_list(folded, noise_words, sizeof noise_words / sizeof noise_words[0]);
}


static int is_quote_currency(const name_part *part)
{
    for (size_t i = 0; i < sizeof quote_currencies / sizeof quote_currencies[0]; i++)
        if (part->length == strlen(quote_currencies[i]) &&
            memcmp(part->text, quote_currencies[i], part->length) == 0)
            return 1;
    return 0;
}


static int is_upper_word(const name_part *part)
{
    if (part->length < 2 || part->length > 6)
        return 0;
    for (size_t i = 0; i < part->length; i++)
        if (part->text[i] < 'A' || part->text[i] > 'Z')
            return 0;
    return 1;
}


/* Writes the canonical timeframe of a count of minutes ("60" gives 1h).
 * Returns 0, or -1 for a count that is no canonical timeframe. */
static int minutes_timeframe(const char *digits, size_t length, char *timeframe)
{
    char text[OHLCX_TIMEFRAME_MAX + 1];
    int minutes = 0;

    if (length == 0 || length > 5 || digits[0] == '0')
        return -1;
    for (size_t i = 0; i < length; i++) {
        if (digits[i] < '0' || digits[i] > '9')
            return -1;
        minutes = minutes * 10 + (digits[i] - '0');
    }
    for (size_t i = 0; i < sizeof canonical_minutes / sizeof canonical_minutes[0]; i++) {
        if (minutes == canonical_minutes[i]) {
            snprintf(text, sizeof text, "%dm", minutes);
            return ohlcx_timeframe_parse(text, timeframe);
        }
    }
    return -1;
}


/* A timeframe part mixes digits and letters (1h, H4, 240m) and is short,
 * or is a word that ohlcx_timeframe_parse() accepts (d, w, daily). */
static int may_be_timeframe(const name_part *part)
{
    int digits = 0, letters = 0;

    if (part->length == 1)
        return strchr("dDwW", part->text[0]) != NULL;
    if (part->length < 2 || part->length >= OHLCX_TIMEFRAME_MAX + 1)
        return 0;
    for (size_t i = 0; i < part->length; i++) {
        char c = part->text[i];
        if (c >= '0' && c <= '9')
            digits = 1;
        else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            letters = 1;
        else
            return 0;
    }
    return (digits && letters) || (part->length >= 5 && !digits); /* "daily", "weekly" */
}


/* Parses part as a timeframe while keeping the thread's error message, which
 * ohlcx_timeframe_parse() overwrites on a part that is not a timeframe. */
static int parse_timeframe_quietly(const name_part *part, char *timeframe, int minutes)
{
    char saved[1024];
    char text[OHLCX_TIMEFRAME_MAX + 1];
    int status = 0;

    if (part->length >= sizeof text)
        return -1;
    memcpy(text, part->text, part->length);
    text[part->length] = '\0';
    snprintf(saved, sizeof saved, "%s", ohlcx_last_error());
    status = minutes ? minutes_timeframe(part->text, part->length, timeframe)
                     : ohlcx_timeframe_parse(text, timeframe);
    ohlcx_set_error(OHLCX_OK, "%s", saved);
    return status;
}


/* Cuts path down to the stem that carries symbol and timeframe. */
static size_t name_stem(const char *path, char *stem)
{
    static const char *compression[] = {".gz", ".zst", ".zstd"};
    const char *base = strrchr(path, '/');
    size_t length = 0;
    const char *dot = NULL;

    base = base ? base + 1 : path;
    length = strlen(base);
    if (length >= STEM_MAX)
        length = STEM_MAX - 1;
    memcpy(stem, base, length);
    stem[length] = '\0';

    for (size_t i = 0; i < sizeof compression / sizeof compression[0]; i++) {
        size_t suffix = strlen(compression[i]);
        if (length > suffix && strcmp(stem + length - suffix, compression[i]) == 0) {
            length -= suffix;
            stem[length] = '\0';
            break;
        }
    }
    dot = strrchr(stem, '.');
    if (dot != NULL && dot != stem) {
        length = (size_t)(dot - stem);
        stem[length] = '\0';
    }
    /* Stooq names carry a market: spy.us, 7203.jp. */
    if (length > 3 && stem[length - 3] == '.' && isalpha((unsigned char)stem[length - 2]) &&
        isalpha((unsigned char)stem[length - 1])) {
        length -= 3;
        stem[length] = '\0';
    }
    return length;
}


static size_t split_parts(const char *stem, size_t length, name_part *parts)
{
    size_t count = 0, start = 0;

    for (size_t i = 0; i <= length; i++) {
        if (i < length && !is_separator(stem[i]))
            continue;
        if (count < PARTS_MAX) {
            parts[count].text = stem + start;
            parts[count].length = i - start;
            count++;
        }
        start = i + 1;
    }
    return count;
}


static void set_symbol(const name_part *base, const name_part *quote, char *symbol)
{
    size_t length = base->length + (quote ? quote->length : 0);

    if (length >= OHLCX_SYMBOL_MAX)
        return;
    memcpy(symbol, base->text, base->length);
    if (quote != NULL)
        memcpy(symbol + base->length, quote->text, quote->length);
    symbol[length] = '\0';

    /* Upper-casing a UTF-8 name needs Unicode's case tables, and upper-casing
     * only its ASCII letters would turn "éth" into "éTH", which is neither
     * the name as written nor its upper case. So such a name keeps its case. */
    for (size_t i = 0; i < length; i++)
        if ((unsigned char)symbol[i] >= 0x80)
            return;
    for (size_t i = 0; i < length; i++)
        symbol[i] = (char)toupper((unsigned char)symbol[i]);
}


/* EURUSD60 or USDJPY1: six or more letters, then a count of minutes. */
static void split_metatrader_name(const name_part *part, char *symbol, char *timeframe)
{
    size_t letters = 0;
    name_part base;

    while (letters < part->length && isalpha((unsigned char)part->text[letters]))
        letters++;
    if (letters < 6 || letters == part->length)
        return;
    if (parse_timeframe_quietly(&(name_part){part->text + letters, part->length - letters},
                                timeframe, 1) != 0) {
        timeframe[0] = '\0';
        return;
    }
    base.text = part->text;
    base.length = letters;
    set_symbol(&base, NULL, symbol);
}


void format_file_name_parts(const char *path, char *symbol, char *timeframe)
{
    char stem[STEM_MAX];
    name_part parts[PARTS_MAX];
    size_t count = 0, first = 0, next = 0;

    symbol[0] = '\0';
    timeframe[0] = '\0';
    count = split_parts(stem, name_stem(path, stem), parts);
    /* "_1h.csv" has no symbol, and "kraken-1h.csv" names no exchange. */
    if (count == 0 || parts[0].length == 0)
        return;
    if (count > 2 && is_exchange(&parts[0]))
        first = 1;
    while (first < count && (parts[first].length == 0 || is_noise(&parts[first])))
        first++;
    if (first == count)
        return;

    next = first + 1;
    if (next < count && is_upper_word(&parts[first]) && is_quote_currency(&parts[next])) {
        set_symbol(&parts[first], &parts[next], symbol);
        next++;
    } else {
        set_symbol(&parts[first], NULL, symbol);
    }
    if (next < count && parts[next].length > 0 &&
        parse_timeframe_quietly(&parts[next], timeframe, 1) == 0)
        return;
    timeframe[0] = '\0';

    for (size_t i = next; i < count; i++) {
        if (parts[i].length == 0 || is_noise(&parts[i]) || !may_be_timeframe(&parts[i]))
            continue;
        if (parse_timeframe_quietly(&parts[i], timeframe, 0) == 0)
            return;
        timeframe[0] = '\0';
    }
    if (count - first == 1)
        split_metatrader_name(&parts[first], symbol, timeframe);
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
