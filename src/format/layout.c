/*
 * Layout detection: which field of a row contains the open time, each of
 * open, high, low, close and volume, and the optional columns.
 *
 * Without a header (the first line is data, see sniff.c) the field count and
 * the kinds of the first values decide:
 *   12 or 11 fields, time first   Binance kline dump (open time, OHLCV, close
 *                                 time, quote volume, trades, taker buy base
 *                                 and quote volume[, ignore])
 *   7 fields, time first          Kraken OHLCVT (time, OHLCV, trades)
 *   6 fields, time first          time, OHLCV
 *   7 fields, date then time      MetaTrader 4 (date, time, OHLC, tick volume)
 *
 * With a header, columns are matched by name after folding (lower case,
 * accents dropped, only letters and digits: "Open Time", "open_time" and
 * "<OPEN>" fold to "opentime" and "open"). The names per role are in
 * column_names below, in English and the Portuguese of investing.com's
 * pt-BR exports. The first column that matches a role takes it, and a
 * second one becomes its fallback, read when the first is empty (yfinance
 * files merged from two downloads have both "open" and "Open"). MetaTrader's
 * TICKVOL is the volume when present, because brokers leave VOL at 0 for
 * currencies. Of two "Volume <currency>" columns (CryptoDataDownload) the
 * first is the volume and the second the quote volume. Unmatched columns
 * (Adj Close, Change %, an unnamed index) are skipped.
 *
 * The open time is the first time-like column (names such as date,
 * timestamp, open_time, unix, time) whose first value is an epoch time or a
 * datetime. Failing that, a date column is joined with a time-of-day column
 * named time (Finam, Stooq, MetaTrader 5), or is used alone. A close-time
 * column labels the bars only when there is no open time at all.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "format_internal.h"
#include "ohlcx/error.h"
#include "ohlcx/format.h"

/* Meaning of a header name. */
enum name_kind {
    NAME_OTHER = 0,
    NAME_TIME,      /* an open time: datetime or epoch */
    NAME_DATE,      /* a date, or a datetime */
    NAME_CLOCK,     /* "time": a time of day, or a datetime */
    NAME_CLOSE_TIME,
    NAME_PRICE,     /* role in name_role */
    NAME_VOLUME,
    NAME_TICK_VOLUME,
    NAME_CURRENCY_VOLUME, /* "Volume BTC", "Volume USDT" */
    NAME_EXTRA,     /* extra bit in name_role */
    NAME_ADJUSTED_CLOSE,
    NAME_CHANGE,
    NAME_SYMBOL,
};

static const struct {
    const char *name; /* folded */
    int kind;
    int role; /* enum format_role for NAME_PRICE, enum format_extra_index for NAME_EXTRA */
} column_names[] = {
    {"opentime", NAME_TIME, 0},       {"opentimems", NAME_TIME, 0},
    {"timestamp", NAME_TIME, 0},      {"datetime", NAME_TIME, 0},
    {"unix", NAME_TIME, 0},           {"unixtimestamp", NAME_TIME, 0},
    {"gmttime", NAME_TIME, 0},        {"localtime", NAME_TIME, 0},
    {"date", NAME_DATE, 0},           {"data", NAME_DATE, 0},
    {"day", NAME_DATE, 0},            {"time", NAME_CLOCK, 0},
    {"closetime", NAME_CLOSE_TIME, 0}, {"closetimems", NAME_CLOSE_TIME, 0},
    {"closedatetime", NAME_CLOSE_TIME, 0},
    {"open", NAME_PRICE, FORMAT_ROLE_OPEN},      {"abertura", NAME_PRICE, FORMAT_ROLE_OPEN},
    {"openprice", NAME_PRICE, FORMAT_ROLE_OPEN}, {"high", NAME_PRICE, FORMAT_ROLE_HIGH},
    {"maxima", NAME_PRICE, FORMAT_ROLE_HIGH},    {"highprice", NAME_PRICE, FORMAT_ROLE_HIGH},
    {"low", NAME_PRICE, FORMAT_ROLE_LOW},        {"minima", NAME_PRICE, FORMAT_ROLE_LOW},
    {"lowprice", NAME_PRICE, FORMAT_ROLE_LOW},   {"close", NAME_PRICE, FORMAT_ROLE_CLOSE},
    {"closeprice", NAME_PRICE, FORMAT_ROLE_CLOSE}, {"price", NAME_PRICE, FORMAT_ROLE_CLOSE},
    {"ultimo", NAME_PRICE, FORMAT_ROLE_CLOSE},   {"last", NAME_PRICE, FORMAT_ROLE_CLOSE},
    {"closelast", NAME_PRICE, FORMAT_ROLE_CLOSE},
    {"volume", NAME_VOLUME, 0},       {"vol", NAME_VOLUME, 0},
    {"basevolume", NAME_VOLUME, 0},   {"volumefrom", NAME_VOLUME, 0},
    {"tickvol", NAME_TICK_VOLUME, 0}, {"tickvolume", NAME_TICK_VOLUME, 0},
    {"quoteassetvolume", NAME_EXTRA, FORMAT_EXTRA_QUOTE_VOLUME},
    {"quotevolume", NAME_EXTRA, FORMAT_EXTRA_QUOTE_VOLUME},
    {"volumeto", NAME_EXTRA, FORMAT_EXTRA_QUOTE_VOLUME},
    {"numberoftrades", NAME_EXTRA, FORMAT_EXTRA_TRADES},
    {"trades", NAME_EXTRA, FORMAT_EXTRA_TRADES},
    {"count", NAME_EXTRA, FORMAT_EXTRA_TRADES},
    {"numtrades", NAME_EXTRA, FORMAT_EXTRA_TRADES},
    {"tradecount", NAME_EXTRA, FORMAT_EXTRA_TRADES},
    {"tradescount", NAME_EXTRA, FORMAT_EXTRA_TRADES},
    {"takerbuybaseassetvolume", NAME_EXTRA, FORMAT_EXTRA_TAKER_BASE},
    {"takerbuyvolume", NAME_EXTRA, FORMAT_EXTRA_TAKER_BASE},
    {"takerbuybase", NAME_EXTRA, FORMAT_EXTRA_TAKER_BASE},
    {"takerbuybasevolume", NAME_EXTRA, FORMAT_EXTRA_TAKER_BASE},
    {"takerbuyquoteassetvolume", NAME_EXTRA, FORMAT_EXTRA_TAKER_QUOTE},
    {"takerbuyquotevolume", NAME_EXTRA, FORMAT_EXTRA_TAKER_QUOTE},
    {"takerbuyquote", NAME_EXTRA, FORMAT_EXTRA_TAKER_QUOTE},
    {"adjclose", NAME_ADJUSTED_CLOSE, 0},
    {"change", NAME_CHANGE, 0},       {"var", NAME_CHANGE, 0},
    {"symbol", NAME_SYMBOL, 0},       {"ticker", NAME_SYMBOL, 0},
};

static const char *role_names[FORMAT_ROLE_COUNT] = {"open_time", "open", "high",
                                                    "low",       "close", "volume"};

/* Folded header names and first values of one header layout. */
typedef struct header_scan {
    const format_field *fields;
    size_t count;
    const format_field *values; /* first data row, or NULL */
    size_t value_count;
    int kind[FORMAT_MAX_FIELDS];
    int role[FORMAT_MAX_FIELDS];
    int angle_brackets; /* names such as <OPEN> (Finam, Stooq) */
} header_scan;


/* Latin-1 letters as UTF-8 (C3 80 .. C3 BF) folded to ASCII; '.' drops. */
static const char latin1_folded[] =
    "aaaaaaaceeeeiiiidnooooo.ouuuuyps" /* C3 80 .. C3 9F: upper case */
    "aaaaaaaceeeeiiiidnooooo.ouuuuypy"; /* C3 A0 .. C3 BF: lower case */


void format_fold_name(const char *text, size_t length, char *out, size_t size)
{
    size_t used = 0;

    for (size_t i = 0; i < length && used + 1 < size; i++) {
        unsigned char c = (unsigned char)text[i];

        if (c == 0xC3 && i + 1 < length && (unsigned char)text[i + 1] >= 0x80 &&
            (unsigned char)text[i + 1] <= 0xBF) {
            char folded = latin1_folded[(unsigned char)text[++i] - 0x80];
            if (folded != '.')
                out[used++] = folded;
            continue;
        }
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            out[used++] = (char)c;
    }
    out[used] = '\0';
}


/* Returns the length of the valid UTF-8 sequence of 2 to 4 bytes at text,
 * or 0 when the bytes there are not one. */
static size_t utf8_sequence(const unsigned char *text, size_t available)
{
    size_t length = text[0] >= 0xc2 && text[0] <= 0xdf   ? 2
                    : text[0] >= 0xe0 && text[0] <= 0xef ? 3
                    : text[0] >= 0xf0 && text[0] <= 0xf4 ? 4
                                                         : 0;

    if (length == 0 || length > available)
        return 0;
    for (size_t i = 1; i < length; i++)
        if ((text[i] & 0xc0) != 0x80)
            return 0;
    /* Overlong three- and four-byte forms, surrogates and code points above
     * U+10FFFF. */
    if ((text[0] == 0xe0 && text[1] < 0xa0) || (text[0] == 0xed && text[1] >= 0xa0) ||
        (text[0] == 0xf0 && text[1] < 0x90) || (text[0] == 0xf4 && text[1] >= 0x90))
        return 0;
    return length;
}


void format_copy_printable(const format_field *field, char *out, size_t size)
{
    const unsigned char *text = (const unsigned char *)field->text;
    size_t used = 0, i = 0;

    /* Control characters and bytes that are not UTF-8 become '?', so a
     * binary file does not write raw bytes to the terminal; a multi-byte
     * character is copied whole or not at all. */
    while (i < field->length && used + 1 < size) {
        size_t sequence = text[i] < 0x80 ? 1 : utf8_sequence(text + i, field->length - i);

        if (sequence > 1 && used + sequence < size) {
            memcpy(out + used, text + i, sequence);
            used += sequence;
            i += sequence;
            continue;
        }
        if (sequence > 1)
            break;
        out[used++] = sequence == 0 || text[i] < 0x20 || text[i] == 0x7f ? '?' : (char)text[i];
        i++;
    }
    out[used] = '\0';
}


void format_layout_init(format_layout *layout)
{
    memset(layout, 0, sizeof *layout);
    layout->delimiter = ',';
    layout->date_column = FORMAT_NO_COLUMN;
    for (int role = 0; role < FORMAT_ROLE_COUNT; role++) {
        layout->column[role] = FORMAT_NO_COLUMN;
        layout->fallback[role] = FORMAT_NO_COLUMN;
        snprintf(layout->column_name[role], sizeof layout->column_name[role], "%s",
                 role_names[role]);
    }
    for (int i = 0; i < OHLCX_EXTRA_COUNT; i++) {
        layout->extra[i] = FORMAT_NO_COLUMN;
        snprintf(layout->extra_name[i], sizeof layout->extra_name[i], "%s", ohlcx_extra_name(i));
    }
    snprintf(layout->date_name, sizeof layout->date_name, "date");
}


static void classify_name(const char *folded, int *kind, int *role)
{
    size_t length = strlen(folded);

    *kind = NAME_OTHER;
    *role = 0;
    for (size_t i = 0; i < sizeof column_names / sizeof column_names[0]; i++) {
        if (strcmp(folded, column_names[i].name) == 0) {
            *kind = column_names[i].kind;
            *role = column_names[i].role;
            return;
        }
    }
    /* "Volume BTC", "Volume USDT": a currency code of 2 to 6 letters. */
    if (length >= 8 && length <= 12 && strncmp(folded, "volume", 6) == 0) {
        for (size_t i = 6; i < length; i++)
            if (folded[i] < 'a' || folded[i] > 'z')
                return;
        *kind = NAME_CURRENCY_VOLUME;
    }
}


/* ---- headerless files ---- */

static void set_roles_in_order(format_layout *layout, size_t first)
{
    for (int role = FORMAT_ROLE_OPEN; role < FORMAT_ROLE_COUNT; role++)
        layout->column[role] = first + (size_t)(role - FORMAT_ROLE_OPEN);
}


static int report_unknown_headerless(const char *path, size_t line_number, size_t count)
{
    char example[160] = "";
    size_t used = 0;

    for (int role = 0; role < FORMAT_ROLE_COUNT && (size_t)role < count; role++)
        used += (size_t)snprintf(example + used, sizeof example - used, "%s%s=%d",
                                 role > 0 ? "," : "", role == 0 ? "time" : role_names[role],
                                 role);
    return ohlcx_set_error(OHLCX_EFORMAT,
                           "%s:%zu:1: unknown layout: the first line is data (no header) with "
                           "%zu fields, and files without a header must have 12 or 11 (Binance "
                           "kline), 7 (Kraken time,open,high,low,close,volume,trades or "
                           "MetaTrader date,time,open,high,low,close,volume) or 6 "
                           "(time,open,high,low,close,volume); add the header "
                           "open_time,open,high,low,close,volume or map the fields with "
                           "--columns, for example --columns '%s'",
                           path, line_number, count, example);
}


static int detect_headerless(const char *path, const format_line *line, format_layout *layout)
{
    format_field fields[FORMAT_MAX_FIELDS];
    size_t count = format_split_delimited(line->text, line->length, layout->delimiter, fields,
                                          FORMAT_MAX_FIELDS);
    int first = format_classify_value(fields[0].text, fields[0].length, 0);
    int second = count > 1 ? format_classify_value(fields[1].text, fields[1].length, 1)
                           : FORMAT_VALUE_EMPTY;
    int time_first = first == FORMAT_VALUE_EPOCH || first == FORMAT_VALUE_DATETIME ||
                     first == FORMAT_VALUE_DATE || first == FORMAT_VALUE_NUMBER;
    const char *name = NULL;

    layout->has_header = 0;
    layout->first_data_line = line->number;
    layout->field_count = count;
    if (first == FORMAT_VALUE_DATE && second == FORMAT_VALUE_CLOCK && count == 7) {
        name = "metatrader-4";
        layout->date_column = 0;
        layout->column[FORMAT_ROLE_TIME] = 1;
        set_roles_in_order(layout, 2);
    } else if (time_first && (count == 12 || count == 11)) {
        name = count == 12 ? "binance-kline-12" : "binance-kline-11";
        layout->column[FORMAT_ROLE_TIME] = 0;
        set_roles_in_order(layout, 1);
        for (int i = 0; i < OHLCX_EXTRA_COUNT; i++)
            layout->extra[i] = 7 + (size_t)i; /* quote volume, trades, taker base, quote */
    } else if (time_first && count == 7) {
        name = "kraken-ohlcvt";
        layout->column[FORMAT_ROLE_TIME] = 0;
        set_roles_in_order(layout, 1);
        layout->extra[FORMAT_EXTRA_TRADES] = 6;
    } else if (time_first && count == 6) {
        name = "ohlcv-6";
        layout->column[FORMAT_ROLE_TIME] = 0;
        set_roles_in_order(layout, 1);
    } else {
        return report_unknown_headerless(path, line->number, count);
    }
    snprintf(layout->name, sizeof layout->name, "%s", name);
    return 0;
}


/* ---- files with a header ---- */

void format_list_columns(const format_field *fields, size_t count, char *out, size_t size)
{
    size_t used = 0;
    char name[40];

    out[0] = '\0';
    for (size_t i = 0; i < count && i < FORMAT_MAX_FIELDS && used < size; i++) {
        format_copy_printable(&fields[i], name, sizeof name);
        used += (size_t)snprintf(out + used, size - used, "%s%s", i > 0 ? "," : "", name);
    }
}


/* Builds a columns option that maps the roles: columns already matched
 * keep their role and the others take the unused columns in order. */
static void suggest_columns(const format_field *fields, size_t count, const format_layout *layout,
                            char *out, size_t size)
{
    int used_column[FORMAT_MAX_FIELDS] = {0};
    size_t next = 0, written = 0;

    out[0] = '\0';
    for (int role = 0; role < FORMAT_ROLE_COUNT; role++)
        if (layout->column[role] != FORMAT_NO_COLUMN && layout->column[role] < FORMAT_MAX_FIELDS)
            used_column[layout->column[role]] = 1;
    for (int role = 0; role < FORMAT_ROLE_COUNT && written < size; role++) {
        size_t index = layout->column[role];
        char name[40];

        if (index == FORMAT_NO_COLUMN) {
            while (next < count && next < FORMAT_MAX_FIELDS && used_column[next])
                next++;
            if (next >= count || next >= FORMAT_MAX_FIELDS)
                continue;
            index = next;
            used_column[index] = 1;
        }
        format_copy_printable(&fields[index], name, sizeof name);
        /* A name that the option cannot hold goes by its index. */
        if (name[0] == '\0' || strpbrk(name, ",='") != NULL)
            written += (size_t)snprintf(out + written, size - written, "%s%s=%zu",
                                        written > 0 ? "," : "",
                                        role == 0 ? "time" : role_names[role], index);
        else
            written += (size_t)snprintf(out + written, size - written, "%s%s=%s",
                                        written > 0 ? "," : "",
                                        role == 0 ? "time" : role_names[role], name);
    }
}


static int report_unknown_header(const char *path, size_t line_number,
                                 const format_field *fields, size_t count,
                                 const format_layout *layout)
{
    char found[300], missing[80] = "", example[200];
    size_t used = 0;

    format_list_columns(fields, count, found, sizeof found);
    for (int role = 0; role < FORMAT_ROLE_COUNT; role++)
        if (layout->column[role] == FORMAT_NO_COLUMN)
            used += (size_t)snprintf(missing + used, sizeof missing - used, "%s%s",
                                     used > 0 ? "," : "", role_names[role]);
    suggest_columns(fields, count, layout, example, sizeof example);
    return ohlcx_set_error(OHLCX_EFORMAT,
                           "%s:%zu:1: unknown layout: columns found: %s; no column for %s. "
                           "Rename the columns to open_time,open,high,low,close,volume "
                           "(open_time as a datetime or an epoch time) or map them with "
                           "--columns, for example --columns '%s'; --symbol and --timeframe "
                           "give what the file name does not",
                           path, line_number, found, missing, example);
}


static int value_kind(const header_scan *scan, size_t i)
{
    if (scan->values == NULL || i >= scan->value_count)
        return FORMAT_VALUE_EMPTY;
    return format_classify_value(scan->values[i].text, scan->values[i].length,
                                 scan->kind[i] == NAME_CLOCK);
}


static int is_time_name(int kind)
{
    return kind == NAME_TIME || kind == NAME_DATE || kind == NAME_CLOCK;
}


/* Picks the open-time column, or a date column and a time-of-day column. */
static void assign_time(const header_scan *scan, format_layout *layout)
{
    size_t first_candidate = FORMAT_NO_COLUMN, close_time = FORMAT_NO_COLUMN;

    for (size_t i = 0; i < scan->count; i++) {
        int kind = value_kind(scan, i);

        if (scan->kind[i] == NAME_CLOSE_TIME && close_time == FORMAT_NO_COLUMN)
            close_time = i;
        if (!is_time_name(scan->kind[i]))
            continue;
        if (first_candidate == FORMAT_NO_COLUMN)
            first_candidate = i;
        if (kind == FORMAT_VALUE_EPOCH || kind == FORMAT_VALUE_DATETIME) {
            layout->column[FORMAT_ROLE_TIME] = i;
            return;
        }
    }

    for (size_t i = 0; i < scan->count; i++) {
        if (is_time_name(scan->kind[i]) && value_kind(scan, i) == FORMAT_VALUE_DATE) {
            layout->date_column = i;
            break;
        }
    }
    if (layout->date_column != FORMAT_NO_COLUMN) {
        for (size_t i = 0; i < scan->count; i++) {
            if (scan->kind[i] == NAME_CLOCK && value_kind(scan, i) == FORMAT_VALUE_CLOCK) {
                layout->column[FORMAT_ROLE_TIME] = i;
                break;
            }
        }
        return;
    }
    if (close_time != FORMAT_NO_COLUMN) {
        layout->column[FORMAT_ROLE_TIME] = close_time;
        layout->time_is_close = 1;
        return;
    }
    /* No data row, or an unreadable first value: the row errors will show it. */
    layout->column[FORMAT_ROLE_TIME] = first_candidate;
}


static void take_column(size_t *column, size_t *fallback, size_t i)
{
    if (*column == FORMAT_NO_COLUMN)
        *column = i;
    else if (fallback != NULL && *fallback == FORMAT_NO_COLUMN)
        *fallback = i;
}


static void assign_values(const header_scan *scan, format_layout *layout)
{
    size_t tick_volume = FORMAT_NO_COLUMN, currency_volume[2] = {FORMAT_NO_COLUMN,
                                                                 FORMAT_NO_COLUMN};

    for (size_t i = 0; i < scan->count; i++) {
        int role = scan->role[i];

        switch (scan->kind[i]) {
        case NAME_PRICE:
            take_column(&layout->column[role], &layout->fallback[role], i);
            break;
        case NAME_VOLUME:
            take_column(&layout->column[FORMAT_ROLE_VOLUME], &layout->fallback[FORMAT_ROLE_VOLUME],
                        i);
            break;
        case NAME_TICK_VOLUME:
            take_column(&tick_volume, NULL, i);
            break;
        case NAME_CURRENCY_VOLUME:
            take_column(&currency_volume[0], &currency_volume[1], i);
            break;
        case NAME_EXTRA:
            take_column(&layout->extra[role], NULL, i);
            break;
        default:
            break;
        }
    }
    if (tick_volume != FORMAT_NO_COLUMN) {
        layout->column[FORMAT_ROLE_VOLUME] = tick_volume;
        layout->fallback[FORMAT_ROLE_VOLUME] = FORMAT_NO_COLUMN;
    }
    if (layout->column[FORMAT_ROLE_VOLUME] == FORMAT_NO_COLUMN) {
        layout->column[FORMAT_ROLE_VOLUME] = currency_volume[0];
        if (layout->extra[FORMAT_EXTRA_QUOTE_VOLUME] == FORMAT_NO_COLUMN)
            layout->extra[FORMAT_EXTRA_QUOTE_VOLUME] = currency_volume[1];
    }
}


static int has_kind(const header_scan *scan, int kind)
{
    for (size_t i = 0; i < scan->count; i++)
        if (scan->kind[i] == kind)
            return 1;
    return 0;
}


static void name_header_layout(const header_scan *scan, format_layout *layout)
{
    const char *name = "ohlcv-header";

    if (layout->time_is_close)
        name = "close-time-labelled";
    else if (scan->angle_brackets)
        name = "finam-stooq";
    else if (has_kind(scan, NAME_TICK_VOLUME))
        name = "metatrader-5";
    else if (has_kind(scan, NAME_CURRENCY_VOLUME) && has_kind(scan, NAME_SYMBOL))
        name = "cryptodatadownload";
    else if (has_kind(scan, NAME_CHANGE))
        name = "investing-com";
    else if (has_kind(scan, NAME_CLOSE_TIME))
        name = "binance-kline-header";
    else if (has_kind(scan, NAME_ADJUSTED_CLOSE))
        name = "yahoo-daily";
    snprintf(layout->name, sizeof layout->name, "%s", name);
}


static void copy_names(const header_scan *scan, format_layout *layout)
{
    for (int role = 0; role < FORMAT_ROLE_COUNT; role++)
        if (layout->column[role] != FORMAT_NO_COLUMN)
            format_copy_printable(&scan->fields[layout->column[role]], layout->column_name[role],
                                  sizeof layout->column_name[role]);
    if (layout->date_column != FORMAT_NO_COLUMN)
        format_copy_printable(&scan->fields[layout->date_column], layout->date_name,
                              sizeof layout->date_name);
    for (int i = 0; i < OHLCX_EXTRA_COUNT; i++)
        if (layout->extra[i] != FORMAT_NO_COLUMN)
            format_copy_printable(&scan->fields[layout->extra[i]], layout->extra_name[i],
                                  sizeof layout->extra_name[i]);
}


static int detect_header(const char *path, const format_line *header, const format_line *data,
                         format_layout *layout)
{
    format_field fields[FORMAT_MAX_FIELDS], values[FORMAT_MAX_FIELDS];
    header_scan scan;
    char folded[64];

    memset(&scan, 0, sizeof scan);
    scan.fields = fields;
    scan.count = format_split_delimited(header->text, header->length, layout->delimiter, fields,
                                        FORMAT_MAX_FIELDS);
    if (scan.count > FORMAT_MAX_FIELDS)
        return ohlcx_set_error(OHLCX_EFORMAT,
                               "%s:%zu:1: unknown layout: the header has %zu columns, more "
                               "than the %d supported",
                               path, header->number, scan.count, FORMAT_MAX_FIELDS);
    if (data != NULL) {
        scan.values = values;
        scan.value_count = format_split_delimited(data->text, data->length, layout->delimiter,
                                                  values, FORMAT_MAX_FIELDS);
    }
    for (size_t i = 0; i < scan.count; i++) {
        format_fold_name(fields[i].text, fields[i].length, folded, sizeof folded);
        classify_name(folded, &scan.kind[i], &scan.role[i]);
        scan.angle_brackets |= fields[i].length > 2 && fields[i].text[0] == '<';
    }

    assign_time(&scan, layout);
    assign_values(&scan, layout);
    for (int role = 0; role < FORMAT_ROLE_COUNT; role++)
        if (layout->column[role] == FORMAT_NO_COLUMN &&
            !(role == FORMAT_ROLE_TIME && layout->date_column != FORMAT_NO_COLUMN))
            return report_unknown_header(path, header->number, fields, scan.count, layout);

    layout->has_header = 1;
    layout->field_count = scan.count;
    layout->first_data_line = header->number + 1;
    copy_names(&scan, layout);
    name_header_layout(&scan, layout);
    return 0;
}


/* A banner has a URL and another field count than the line below it. */
static int is_banner_above(const format_line *line, const format_line *next)
{
    format_field fields[FORMAT_MAX_FIELDS];
    char delimiter = format_sniff_delimiter(next->text, next->length);

    if (!format_is_banner(line->text, line->length))
        return 0;
    return format_split_delimited(line->text, line->length, delimiter, fields, FORMAT_MAX_FIELDS) !=
           format_split_delimited(next->text, next->length, delimiter, fields, FORMAT_MAX_FIELDS);
}


int format_detect_layout(const char *path, const format_line *lines, size_t count,
                         const char *columns, format_layout *layout)
{
    format_field fields[FORMAT_MAX_FIELDS];
    size_t first = 0, field_count = 0;
    int status = 0;

    format_layout_init(layout);
    while (first + 1 < count && is_banner_above(&lines[first], &lines[first + 1]))
        first++;
    if (columns != NULL && columns[0] != '\0')
        return format_apply_columns(path, columns, lines + first, count - first, layout);

    layout->delimiter = format_sniff_delimiter(lines[first].text, lines[first].length);
    field_count = format_split_delimited(lines[first].text, lines[first].length,
                                         layout->delimiter, fields, FORMAT_MAX_FIELDS);
    if (format_is_data_line(fields, field_count))
        status = detect_headerless(path, &lines[first], layout);
    else
        status = detect_header(path, &lines[first], first + 1 < count ? &lines[first + 1] : NULL,
                               layout);
    if (status != 0)
        return status;
    format_sniff_values(lines, count, layout);
    if (layout->has_header && strncmp(layout->name, "investing-com", 13) == 0 &&
        layout->decimal_comma)
        snprintf(layout->name, sizeof layout->name, "investing-com-decimal-comma");
    return 0;
}
