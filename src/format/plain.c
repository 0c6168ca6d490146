/*
 * Fast path for plain delimited rows, such as Binance klines.
 *
 * Most files are an epoch open time and plain decimals between one-byte
 * delimiters, with no quotes, blanks or decimal commas. For those layouts
 * the reader parses each line here, straight from the chunk, without the
 * field table, trimming and strtod() copies of format_parse_row(). A line
 * is taken only when all of these hold:
 *   - the time field is 1 to 16 digits: an integer epoch time in seconds,
 *     milliseconds or microseconds;
 *   - a number field is [+-]digits[.digits] or [+-].digits, with at most 19
 *     digits, a mantissa of at most 2^53 and at most 22 fraction digits;
 *   - no field has a quote or a '\0';
 *   - the line has exactly the layout's field count, is at most 256 bytes
 *     long and ends in "\n" or "\r\n" inside the chunk.
 * The pass stops at the first line that fails one of them and the reader
 * hands that line to format_parse_row(), so odd lines get the same values,
 * errors and messages as before. Under those limits mantissa /
 * 10^fraction_digits divides two exactly represented doubles. The quotient
 * is therefore correctly rounded, which makes it the double that strtod()
 * and format_parse_number() return.
 *
 * SIMD compares turn 64 bytes of a line at a time into bit masks of its
 * delimiters, line end and non-digits. The fields are found from these
 * masks before any number is parsed, so each number is parsed on its own
 * and does not wait for the end of the one before. Runs of up to 8 digits
 * convert with a few multiplications (see digits_value()).
 *
 * The pass reads the text without bounds checks. The caller ends the text
 * with a '\0' or with a whole line, and leaves zeroed padding after the
 * buffer for the 64-byte reads. The one-thread reader puts the '\0' after
 * the last byte of its chunk, and the pieces of parallel.c end in a '\n'.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

/* Building with -DFORMAT_PLAIN_PORTABLE selects the plain C bit masks, so
 * that they can be tested on x86 too. */
#if defined(FORMAT_PLAIN_PORTABLE)
#define PLAIN_MASKS_PORTABLE 1
#elif defined(__AVX512BW__)
#include <immintrin.h>
#define PLAIN_MASKS_AVX512 1
#elif defined(__SSE2__)
#include <emmintrin.h>
#define PLAIN_MASKS_SSE2 1
#endif

#include "format_internal.h"
#include "ohlcx/series.h"

/* Digits that fit a uint64_t whatever they are: 10^19 - 1 < 2^64. */
#define PLAIN_DIGITS_MAX 19

/* 2^53: every integer up to it is exact in a double. */
#define PLAIN_EXACT_MANTISSA_MAX (UINT64_C(1) << 53)

/* The largest power of ten that a double represents exactly. */
#define PLAIN_EXACT_POWER_MAX 22

/* Action of a field: skip it, or store it in slot (action - 1). */
#define PLAIN_SKIP 0
#define PLAIN_TIME_ACTION (FORMAT_ROLE_TIME + 1)

static const double plain_powers_of_ten[PLAIN_EXACT_POWER_MAX + 1] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};


static const uint64_t plain_powers_of_ten_u64[9] = {
    1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000,
};


/* Loads the 8 bytes at text; the first byte is the lowest. */
static inline uint64_t load_eight(const char *text)
{
    uint64_t word = 0;

    memcpy(&word, text, sizeof word);
    return word;
}


/* Returns how many of the 8 bytes in word, lowest first, are digits before
 * the first byte that is not. A byte is a digit when its high nibble is 3
 * and stays 3 after adding 6. Adding 6 to a byte of 0xFA or more carries
 * into the next byte, but such a byte is no digit itself, so only bytes
 * after the first non-digit can be wrong. */
static inline unsigned count_digits(uint64_t word)
{
    uint64_t high = word & UINT64_C(0xF0F0F0F0F0F0F0F0);
    uint64_t shifted = (word + UINT64_C(0x0606060606060606)) & UINT64_C(0xF0F0F0F0F0F0F0F0);
    uint64_t mismatch = (high | shifted >> 4) ^ UINT64_C(0x3333333333333333);

    return mismatch == 0 ? 8 : (unsigned)__builtin_ctzll(mismatch) / 8;
}


/* Returns the value of the first count (1 to 8) digits in word. Shifting
 * them to the top bytes leaves zeros below, which read as leading zeros.
 * Then adjacent digits combine into pairs, pairs into fours and fours into
 * the eight-digit value, each step in one multiplication. */
static inline uint64_t digits_value(uint64_t word, unsigned count)
{
    uint64_t value = (word & UINT64_C(0x0F0F0F0F0F0F0F0F)) << (8 * (8 - count));

    value = value * 10 + (value >> 8);
    value = ((value & UINT64_C(0x000000FF000000FF)) * (100 + (UINT64_C(1000000) << 32)) +
             ((value >> 16) & UINT64_C(0x000000FF000000FF)) * (1 + (UINT64_C(10000) << 32))) >>
            32;
    return value;
}


/* Parses the run of digits at text onto *mantissa, 8 bytes at a time, and
 * returns the byte after it. More than 19 digits wrap around, which is
 * harmless because the caller rejects them by their count. The loads may
 * read up to 7 bytes past the byte that ends the run. */
static inline const char *scan_digits(const char *text, uint64_t *mantissa)
{
    uint64_t value = *mantissa;

    for (;;) {
        uint64_t word = load_eight(text);
        unsigned count = count_digits(word);

        if (count == 0)
            break;
        value = value * plain_powers_of_ten_u64[count] + digits_value(word, count);
        text += count;
        if (count < 8)
            break;
    }
    *mantissa = value;
    return text;
}


static inline const char *scan_plain_number(const char *text, double *out)
{
    const char *p = text, *integer_start = NULL, *fraction_start = NULL;
    uint64_t mantissa = 0;
    size_t fraction_digits = 0, digits = 0;
    int negative = 0;
    double value = 0;

    if (*p == '-' || *p == '+')
        negative = *p++ == '-';
    integer_start = p;
    p = scan_digits(p, &mantissa);
    digits = (size_t)(p - integer_start);
    if (*p == '.') {
        fraction_start = ++p;
        p = scan_digits(p, &mantissa);
        fraction_digits = (size_t)(p - fraction_start);
        digits += fraction_digits;
    }

    if (digits == 0 || digits > PLAIN_DIGITS_MAX || mantissa > PLAIN_EXACT_MANTISSA_MAX ||
        fraction_digits > PLAIN_EXACT_POWER_MAX)
        return NULL;
    /* An exponent, or a second point as in "1.2.3", is for
     * format_parse_number() to accept or reject. */
    if (*p == 'e' || *p == 'E' || *p == '.')
        return NULL;

    value = (double)mantissa / plain_powers_of_ten[fraction_digits];
    *out = negative ? -value : value;
    return p;
}


const char *format_scan_plain_number(const char *text, double *out)
{
    return scan_plain_number(text, out);
}


/* Bit masks of the 64 bytes of one block of a line: bit i is set when
 * byte i is the delimiter, a '\n', a quote or '\0' (stop), or no digit. */
typedef struct plain_block {
    uint64_t delimiters;
    uint64_t newlines;
    uint64_t stops;
    uint64_t non_digits;
} plain_block;


static inline void classify_block(const char *text, char delimiter, plain_block *block)
{
#if defined(PLAIN_MASKS_AVX512)
    __m512i bytes = _mm512_loadu_si512((const void *)text);

    block->delimiters = _mm512_cmpeq_epi8_mask(bytes, _mm512_set1_epi8(delimiter));
    block->newlines = _mm512_cmpeq_epi8_mask(bytes, _mm512_set1_epi8('\n'));
    block->stops = _mm512_cmpeq_epi8_mask(bytes, _mm512_set1_epi8('"')) |
                   _mm512_testn_epi8_mask(bytes, bytes);
    block->non_digits = ~(_mm512_cmpge_epu8_mask(bytes, _mm512_set1_epi8('0')) &
                          _mm512_cmple_epu8_mask(bytes, _mm512_set1_epi8('9')));
#elif defined(PLAIN_MASKS_SSE2)
    const __m128i delimiter_bytes = _mm_set1_epi8(delimiter);
    const __m128i newline_bytes = _mm_set1_epi8('\n');
    const __m128i quote_bytes = _mm_set1_epi8('"');
    const __m128i zero_bytes = _mm_setzero_si128();
    const __m128i below_zero_digit = _mm_set1_epi8('0' - 1);
    const __m128i above_nine_digit = _mm_set1_epi8('9' + 1);

    memset(block, 0, sizeof *block);
    for (int part = 0; part < 4; part++) {
        __m128i bytes = _mm_loadu_si128((const __m128i *)(const void *)(text + 16 * part));
        __m128i stop = _mm_or_si128(_mm_cmpeq_epi8(bytes, quote_bytes),
                                    _mm_cmpeq_epi8(bytes, zero_bytes));
        /* Signed compares: bytes of 0x80 and above are negative, so no digit. */
        __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(bytes, below_zero_digit),
                                      _mm_cmplt_epi8(bytes, above_nine_digit));
        int shift = 16 * part;

        block->delimiters |=
            (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, delimiter_bytes)) << shift;
        block->newlines |=
            (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, newline_bytes)) << shift;
        block->stops |= (uint64_t)(uint16_t)_mm_movemask_epi8(stop) << shift;
        block->non_digits |= (uint64_t)(uint16_t)~_mm_movemask_epi8(digit) << shift;
    }
#else
    memset(block, 0, sizeof *block);
    for (int i = 0; i < 64; i++) {
        char c = text[i];

        block->delimiters |= (uint64_t)(c == delimiter) << i;
        block->newlines |= (uint64_t)(c == '\n') << i;
        block->stops |= (uint64_t)(c == '"' || c == '\0') << i;
        block->non_digits |= (uint64_t)(c < '0' || c > '9') << i;
    }
#endif
}


/* Blocks of 64 bytes that a line may span on the fast path; longer lines
 * take the general one. */
#define PLAIN_LINE_BLOCKS 4

/* Field ends and non-digit bits of one line. */
typedef struct plain_line {
    uint32_t ends[FORMAT_MAX_FIELDS]; /* offset after each field, before a "\r\n" */
    uint64_t non_digits[PLAIN_LINE_BLOCKS + 1]; /* bit i: byte i is no digit */
} plain_line;


/* Finds the fields of the line at text. Returns the offset of its '\n', or
 * -1 when the line has another field count, a quote or '\0', or is longer
 * than PLAIN_LINE_BLOCKS blocks. A '\0' ends the data in the chunk, so a
 * line that runs past the chunk stops there. Reads text in 64-byte blocks,
 * up to 63 bytes past the '\n' or the '\0'. */
static inline long find_plain_fields(const format_plain_plan *plan, const char *text,
                                     plain_line *line)
{
    size_t delimiters_expected = plan->field_count - 1, found = 0;

    for (size_t index = 0; index < PLAIN_LINE_BLOCKS; index++) {
        plain_block block;
        uint64_t before_newline = ~UINT64_C(0);
        size_t base = 64 * index, newline = 0;

        classify_block(text + base, plan->delimiter, &block);
        if (block.newlines != 0) {
            newline = (size_t)__builtin_ctzll(block.newlines);
            before_newline = (UINT64_C(1) << newline) - 1; /* newline < 64 */
        }
        if ((block.stops & before_newline) != 0)
            return -1;
        line->non_digits[index] = block.non_digits;
        for (uint64_t bits = block.delimiters & before_newline; bits != 0; bits &= bits - 1) {
            if (found == delimiters_expected)
                return -1;
            line->ends[found++] = (uint32_t)(base + (size_t)__builtin_ctzll(bits));
        }
        if (block.newlines == 0)
            continue;

        if (found != delimiters_expected)
            return -1;
        line->non_digits[index + 1] = ~UINT64_C(0);
        newline += base;
        line->ends[found] = (uint32_t)(newline > 0 && text[newline - 1] == '\r' ? newline - 1
                                                                               : newline);
        return (long)newline;
    }
    return -1;
}


/* Returns the 64 non-digit bits from bit start on. */
static inline uint64_t non_digit_bits(const plain_line *line, size_t start)
{
    size_t word = start / 64, offset = start % 64;

    /* Two shifts, so that offset 0 shifts by 64 in total and not by 64 at once. */
    return line->non_digits[word] >> offset | (line->non_digits[word + 1] << 1) << (63 - offset);
}


/* Parses the number in text[start, end) of a line. Returns 0, or -1 when it
 * is not plain. Numbers of up to 8 integer and 8 fraction digits take the
 * non-digit bits; longer ones are scanned. */
static inline int parse_field_number(const char *text, const plain_line *line, size_t start,
                                     size_t end, double *out)
{
    size_t length = end - start, integer_digits = 0, fraction_digits = 0;
    const char *field = text + start;
    uint64_t non_digits = 0, mantissa = 0;
    int negative = 0;
    double value = 0;

    if (length == 0 || length > 18)
        return scan_plain_number(field, out) == text + end ? 0 : -1;
    non_digits = non_digit_bits(line, start) & ((UINT64_C(1) << length) - 1);
    if (non_digits & 1) {
        if (text[start] != '-' && text[start] != '+')
            return -1;
        negative = text[start] == '-';
        start++;
        length--;
        non_digits >>= 1;
    }
    integer_digits = length;
    if (non_digits != 0) {
        integer_digits = (size_t)__builtin_ctzll(non_digits);
        if ((non_digits & (non_digits - 1)) != 0 || text[start + integer_digits] != '.')
            return -1;
        fraction_digits = length - integer_digits - 1;
    }
    if (integer_digits > 8 || fraction_digits > 8)
        return scan_plain_number(field, out) == text + end ? 0 : -1;
    if (integer_digits + fraction_digits == 0)
        return -1;

    if (integer_digits > 0)
        mantissa = digits_value(load_eight(text + start), (unsigned)integer_digits);
    if (fraction_digits > 0)
        mantissa = mantissa * plain_powers_of_ten_u64[fraction_digits] +
                   digits_value(load_eight(text + start + integer_digits + 1),
                                (unsigned)fraction_digits);
    if (mantissa > PLAIN_EXACT_MANTISSA_MAX)
        return -1;
    value = (double)(int64_t)mantissa / plain_powers_of_ten[fraction_digits];
    *out = negative ? -value : value;
    return 0;
}


/* Parses the integer epoch time in text[start, end) of a line. Returns 0,
 * or -1 when it is not 1 to 16 digits. */
static inline int parse_field_epoch(const char *text, const plain_line *line, size_t start,
                                    size_t end, int64_t *out_us)
{
    size_t length = end - start;
    uint64_t value = 0;

    if (length == 0 || length > 16 ||
        (non_digit_bits(line, start) & ((UINT64_C(1) << length) - 1)) != 0)
        return -1;
    if (length > 8)
        value = digits_value(load_eight(text + start), (unsigned)(length - 8)) * 100000000 +
                digits_value(load_eight(text + end - 8), 8);
    else
        value = digits_value(load_eight(text + start), (unsigned)length);
    *out_us = format_epoch_integer_us((int64_t)value);
    return 0;
}


/* Returns 1 when a delimiter may end plain fields: it can be no part of a
 * number, a quote or a line end. */
static int is_plain_delimiter(char delimiter)
{
    return delimiter == ',' || delimiter == ';' || delimiter == '\t' || delimiter == '|' ||
           delimiter == ' ';
}


/* Sets the action of field index, or returns -1 when two roles share it. */
static int plan_field(format_plain_plan *plan, size_t index, unsigned char action)
{
    if (index == FORMAT_NO_COLUMN)
        return 0;
    if (index >= plan->field_count || plan->action[index] != PLAIN_SKIP)
        return -1;
    plan->action[index] = action;
    return 0;
}


void format_plain_plan_init(format_plain_plan *plan, const format_layout *layout)
{
    int usable = is_plain_delimiter(layout->delimiter) &&
                 layout->field_count >= 1 && layout->field_count <= FORMAT_MAX_FIELDS &&
                 !layout->decimal_comma && !layout->compact_date &&
                 layout->time_format[0] == '\0' && layout->date_column == FORMAT_NO_COLUMN &&
                 layout->column[FORMAT_ROLE_TIME] != FORMAT_NO_COLUMN;

    /* digits_value() and the bit masks take the first byte as the lowest. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    usable = 0;
#endif

    memset(plan, 0, sizeof *plan);
    plan->delimiter = layout->delimiter;
    plan->field_count = layout->field_count;
    for (int role = 0; usable && role < FORMAT_ROLE_COUNT; role++) {
        if (role != FORMAT_ROLE_VOLUME && layout->column[role] == FORMAT_NO_COLUMN)
            usable = 0;
        else if (plan_field(plan, layout->column[role], (unsigned char)(role + 1)) != 0)
            usable = 0;
    }
    for (int i = 0; usable && i < OHLCX_EXTRA_COUNT; i++)
        if (plan_field(plan, layout->extra[i], (unsigned char)(FORMAT_ROLE_COUNT + i + 1)) != 0)
            usable = 0;
    plan->enabled = usable;
}


/* Parses one plain line at text into slots (time in time_us) and returns
 * the byte after its '\n', or NULL when the line is not plain. The fields
 * and their non-digits are found for the whole line first, so that no
 * number waits on the one before. */
static inline const char *parse_plain_line(const format_plain_plan *plan, const char *text,
                                           int64_t *time_us, double *slots)
{
    plain_line line;
    long newline = find_plain_fields(plan, text, &line);
    size_t start = 0;

    if (newline < 0)
        return NULL;
    for (size_t field = 0; field < plan->field_count; field++) {
        unsigned action = plan->action[field];
        size_t end = line.ends[field];
        int status = 0;

        if (action == PLAIN_TIME_ACTION)
            status = parse_field_epoch(text, &line, start, end, time_us);
        else if (action != PLAIN_SKIP)
            status = parse_field_number(text, &line, start, end, &slots[action - 1]);
        if (status != 0)
            return NULL;
        start = end + 1;
    }
    return text + newline + 1;
}


/* Appends a parsed row. Rows go straight into the columns while there is
 * room; a full series grows through format_store_row(). */
static inline int store_plain_row(format_reader *reader, int64_t time_us, const double *slots)
{
    ohlcx_series *out = reader->out;
    size_t i = out->n;

    if (i == out->capacity)
        return format_store_row(reader, time_us, slots, slots + FORMAT_ROLE_COUNT);
    out->open_time[i] = time_us;
    out->open[i] = slots[FORMAT_ROLE_OPEN];
    out->high[i] = slots[FORMAT_ROLE_HIGH];
    out->low[i] = slots[FORMAT_ROLE_LOW];
    out->close[i] = slots[FORMAT_ROLE_CLOSE];
    out->volume[i] = slots[FORMAT_ROLE_VOLUME];
    out->flags[i] = 0;
    for (int column = 0; column < OHLCX_EXTRA_COUNT; column++)
        if (out->extra_column[column] != NULL)
            out->extra_column[column][i] = slots[FORMAT_ROLE_COUNT + column];
    out->n = i + 1;
    reader->previous_time_us = time_us;
    reader->has_previous_time = 1;
    return 0;
}


const char *format_parse_plain_span(format_reader *reader, const char *text, const char *end,
                                    size_t *lines_out, int *status_out)
{
    const format_plain_plan *plan = &reader->plain;
    const char *p = text;
    double slots[FORMAT_ROLE_COUNT + OHLCX_EXTRA_COUNT];
    int64_t time_us = 0;
    size_t lines = 0;
    int status = 0;

    /* Columns the layout lacks keep these: volume 0, extras NaN. */
    for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++)
        slots[i] = i < FORMAT_ROLE_COUNT ? 0 : NAN;

    while (p < end) {
        const char *next = parse_plain_line(plan, p, &time_us, slots);

        if (next == NULL)
            break;
        status = store_plain_row(reader, time_us, slots);
        if (status != 0)
            break;
        p = next;
        lines++;
    }
    *lines_out = lines;
    *status_out = status;
    return p;
}
