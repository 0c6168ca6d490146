/*
 * Sniffing: layout facts read from the first lines of a file.
 *
 * The delimiter is the first of tab, ';' and ',' that occurs outside quotes
 * in the first line, so a semicolon file with decimal commas is still read
 * at semicolons. A line is data rather than a header when most of its
 * non-empty fields are numbers, dates or times. Lines above the header that
 * contain a URL are banners (CryptoDataDownload writes one) and are skipped.
 *
 * Once the roles are known, the data lines of the first chunk decide the
 * number style and the date order:
 *   - decimal comma when a price reads "173,30" or "76.761,5" (a comma
 *     followed by other than three digits, or after a dot), decimal point
 *     when one reads "1.1340" or "12,084.30". The first evidence wins, and
 *     without any the decimal point is assumed.
 *   - DD/MM/YYYY when a slash date has a first part above 12, else
 *     MM/DD/YYYY.
 *   - YYYYMMDD when the date column contains eight digits.
 */
#include <stdint.h>
#include <string.h>

#include "format_internal.h"

#define NUMBER_EVIDENCE_COMMA 1
#define NUMBER_EVIDENCE_POINT (-1)


static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}


static int all_digits(const char *text, size_t length)
{
    if (length == 0)
        return 0;
    for (size_t i = 0; i < length; i++)
        if (!is_digit(text[i]))
            return 0;
    return 1;
}


/* Returns the count of integer digits of an unsigned decimal ("1502946000"
 * or "1502946000.0"), or 0 for other text. */
static size_t integer_digits(const char *text, size_t length)
{
    size_t i = 0;

    while (i < length && is_digit(text[i]))
        i++;
    if (i == 0)
        return 0;
    if (i < length && text[i] == '.') {
        size_t j = i + 1;
        while (j < length && is_digit(text[j]))
            j++;
        if (j == i + 1 || j != length)
            return 0;
    } else if (i != length) {
        return 0;
    }
    return i;
}


int format_classify_value(const char *text, size_t length, int clock_name)
{
    size_t digits = integer_digits(text, length);
    int64_t us = 0;
    unsigned flags = 0;
    double number = 0;

    if (length == 0)
        return FORMAT_VALUE_EMPTY;
    if (digits == 8 && length == 8 && format_parse_compact_date(text, length, &us) == 0 &&
        us >= INT64_C(-2208988800000000) && us < INT64_C(4102444800000000)) /* 1900..2099 */
        return FORMAT_VALUE_DATE;
    if (clock_name && (length == 6 || length == 4) && all_digits(text, length) &&
        format_parse_clock(text, length, &us) == 0)
        return FORMAT_VALUE_CLOCK;
    if (digits >= 9)
        return FORMAT_VALUE_EPOCH;
    if (format_parse_number(text, length, &number) == 0)
        return FORMAT_VALUE_NUMBER;
    if (memchr(text, ':', length) != NULL && format_parse_clock(text, length, &us) == 0)
        return FORMAT_VALUE_CLOCK;
    if (format_parse_date_time(text, length, 0, &us, &flags) == 0 ||
        format_parse_date_time(text, length, 1, &us, &flags) == 0)
        return flags & FORMAT_TIME_CLOCK ? FORMAT_VALUE_DATETIME : FORMAT_VALUE_DATE;
    if (format_parse_number_styled(text, length, 0, &number) == 0 ||
        format_parse_number_styled(text, length, 1, &number) == 0)
        return FORMAT_VALUE_NUMBER;
    return FORMAT_VALUE_TEXT;
}


char format_sniff_delimiter(const char *line, size_t length)
{
    int quoted = 0, seen_semicolon = 0;

    for (size_t i = 0; i < length; i++) {
        if (line[i] == '"')
            quoted = !quoted;
        else if (!quoted && line[i] == '\t')
            return '\t';
        else if (!quoted && line[i] == ';')
            seen_semicolon = 1;
    }
    return seen_semicolon ? ';' : ',';
}


static int contains(const char *text, size_t length, const char *word)
{
    size_t word_length = strlen(word);

    for (size_t i = 0; i + word_length <= length; i++)
        if (memcmp(text + i, word, word_length) == 0)
            return 1;
    return 0;
}


int format_is_banner(const char *line, size_t length)
{
    return contains(line, length, "://") || contains(line, length, "www.");
}


int format_is_data_line(const format_field *fields, size_t count)
{
    size_t filled = 0, values = 0;

    for (size_t i = 0; i < count && i < FORMAT_MAX_FIELDS; i++) {
        int kind = format_classify_value(fields[i].text, fields[i].length, 0);

        if (kind == FORMAT_VALUE_EMPTY)
            continue;
        filled++;
        values += kind != FORMAT_VALUE_TEXT;
    }
    return filled > 0 && 2 * values >= filled;
}


/* Returns NUMBER_EVIDENCE_COMMA, NUMBER_EVIDENCE_POINT or 0 when the text
 * reads the same either way ("1,234", "17", "1.234"). */
static int decimal_evidence(const char *text, size_t length)
{
    const char *last_comma = NULL, *last_point = NULL;
    size_t digits_after = 0;
    int commas = 0, points = 0;

    for (size_t i = 0; i < length; i++) {
        if (text[i] == ',') {
            last_comma = text + i;
            commas++;
        } else if (text[i] == '.') {
            last_point = text + i;
            points++;
        }
    }
    if (last_comma != NULL && last_point != NULL)
        return last_comma > last_point ? NUMBER_EVIDENCE_COMMA : NUMBER_EVIDENCE_POINT;
    if (last_comma == NULL && last_point == NULL)
        return 0;

    const char *separator = last_comma != NULL ? last_comma : last_point;
    for (const char *p = separator + 1; p < text + length && is_digit(*p); p++)
        digits_after++;
    if (last_comma != NULL) {
        if (commas > 1)
            return NUMBER_EVIDENCE_POINT; /* 1,234,567: commas group thousands */
        return digits_after != 3 ? NUMBER_EVIDENCE_COMMA : 0;
    }
    if (points > 1)
        return NUMBER_EVIDENCE_COMMA; /* 1.234.567: dots group thousands */
    return digits_after != 3 ? NUMBER_EVIDENCE_POINT : 0;
}


/* Returns 1 for day first, -1 for month first, 0 when the date does not
 * tell ("03/04/2019" or no slash date at all). */
static int slash_date_evidence(const char *text, size_t length)
{
    int first = 0, second = 0;
    size_t i = 0;

    for (; i < length && i < 2 && is_digit(text[i]); i++)
        first = first * 10 + (text[i] - '0');
    if (i == 0 || i >= length || text[i] != '/')
        return 0;
    size_t start = ++i;
    for (; i < length && i - start < 2 && is_digit(text[i]); i++)
        second = second * 10 + (text[i] - '0');
    if (i == start || i >= length || text[i] != '/')
        return 0;
    if (first > 12)
        return 1;
    if (second > 12)
        return -1;
    return 0;
}


static void sniff_line(const format_line *line, format_layout *layout, int *number_style,
                       int *date_order)
{
    format_field fields[FORMAT_MAX_FIELDS];
    size_t count = format_split_delimited(line->text, line->length, layout->delimiter, fields,
                                          FORMAT_MAX_FIELDS);
    size_t time_index = layout->date_column != FORMAT_NO_COLUMN
                            ? layout->date_column
                            : layout->column[FORMAT_ROLE_TIME];

    if (count != layout->field_count)
        return;
    for (int role = FORMAT_ROLE_OPEN; role < FORMAT_ROLE_COUNT && *number_style == 0; role++) {
        size_t index = layout->column[role];
        if (index != FORMAT_NO_COLUMN)
            *number_style = decimal_evidence(fields[index].text, fields[index].length);
    }
    if (time_index != FORMAT_NO_COLUMN && *date_order == 0)
        *date_order = slash_date_evidence(fields[time_index].text, fields[time_index].length);
}


void format_sniff_values(const format_line *lines, size_t count, format_layout *layout)
{
    int number_style = 0, date_order = 0;
    size_t time_index = layout->date_column != FORMAT_NO_COLUMN
                            ? layout->date_column
                            : layout->column[FORMAT_ROLE_TIME];

    for (size_t i = 0; i < count; i++) {
        if (lines[i].number < layout->first_data_line)
            continue;
        sniff_line(&lines[i], layout, &number_style, &date_order);
    }
    layout->decimal_comma = number_style == NUMBER_EVIDENCE_COMMA;
    layout->day_first = date_order > 0;

    /* The first data line decides whether eight digits are a date. */
    for (size_t i = 0; i < count && time_index != FORMAT_NO_COLUMN; i++) {
        format_field fields[FORMAT_MAX_FIELDS];
        size_t fields_found = 0;

        if (lines[i].number < layout->first_data_line)
            continue;
        fields_found = format_split_delimited(lines[i].text, lines[i].length, layout->delimiter,
                                              fields, FORMAT_MAX_FIELDS);
        if (fields_found > time_index)
            layout->compact_date =
                format_classify_value(fields[time_index].text, fields[time_index].length, 0) ==
                    FORMAT_VALUE_DATE &&
                fields[time_index].length == 8;
        break;
    }
}
