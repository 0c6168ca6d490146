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
 * The scalar path turns 64 bytes of a line at a time into bit masks of its
 * delimiters, line end and non-digits, with SIMD compares where the CPU
 * has them. The fields are found from these masks before any number is
 * parsed, so each number is parsed on its own and does not wait for the
 * end of the one before. Runs of up to 8 digits convert with a few
 * multiplications (see digits_value()).
 *
 * Where the compiler targets AVX-512 VBMI and VBMI2, a vector path parses
 * the first 8 number fields of a line at once, one field a lane. It hands
 * any line with a field outside its narrower limits to the scalar path, as
 * the section of the vector path below explains. On the 24-month BTCUSDT
 * 1m file of `ohlcx synth`, parsed alone in 1 MiB chunks, this function
 * took about 40 ns a line with the vector path. The scalar path alone took
 * 76 ns (measured on a 2.6 GHz Xeon with AVX-512 FP16).
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
#if defined(__AVX512VBMI__) && defined(__AVX512VBMI2__) && defined(__AVX512DQ__) && \
    defined(__AVX512CD__) && defined(__AVX512VL__)
#define PLAIN_VECTOR_PARSE 1
#endif
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
    return *out_us < FORMAT_EPOCH_LIMIT_US ? 0 : -1;
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


/* Lists the time field and the number fields of the actions, in line order. */
static void plan_field_list(format_plain_plan *plan)
{
    for (size_t field = 0; field < plan->field_count; field++) {
        unsigned action = plan->action[field];

        if (action == PLAIN_TIME_ACTION) {
            plan->time_field = field;
        } else if (action != PLAIN_SKIP) {
            plan->number_field[plan->number_count] = (unsigned char)field;
            plan->number_slot[plan->number_count] = (unsigned char)(action - 1);
            plan->number_count++;
        }
    }
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
    if (usable)
        plan_field_list(plan);
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


#if defined(PLAIN_VECTOR_PARSE)
/*
 * The vector path, for AVX-512 with VBMI and VBMI2. It finds a line and
 * its fields as find_plain_fields() does, and parses the first 8 number
 * fields at once, one field a lane:
 *   - the field bounds come from compressing the delimiter positions of
 *     each block into one byte vector;
 *   - each lane takes 32 non-digit bits from its field start, which give
 *     the point and the digit counts;
 *   - the integer and the fraction digits of each lane are gathered from
 *     the line's bytes into 8-byte words, right-aligned, and converted as
 *     digits_value() does, with multiply-adds.
 * A lane takes only numbers without a sign, of 1 to 8 integer and up to 8
 * fraction digits, which parse_field_number() takes through its digit
 * words with the same mantissa and quotient. The time and the numbers
 * after the eighth take the scalar functions, which run on other ports
 * alongside the vector work. A line with a field outside these limits goes
 * to the scalar path whole, and that path decides.
 */

/* Columns of the series that a row goes to. Number k of the plan goes to
 * number[k], and columns that the layout lacks get a constant: volume 0,
 * extras NaN. */
typedef struct plain_columns {
    int64_t *open_time;
    uint8_t *flags;
    double *number[FORMAT_PLAIN_NUMBERS_MAX];
    size_t constant_count;
    double *constant[1 + OHLCX_EXTRA_COUNT];
    double constant_value[1 + OHLCX_EXTRA_COUNT];
} plain_columns;


/* Returns the column of slot in out, NULL for an absent optional column. */
static double *slot_column(ohlcx_series *out, size_t slot)
{
    double *role_column[FORMAT_ROLE_COUNT] = {NULL,     out->open,  out->high,
                                              out->low, out->close, out->volume};

    return slot < FORMAT_ROLE_COUNT ? role_column[slot]
                                    : out->extra_column[slot - FORMAT_ROLE_COUNT];
}


/* Points columns at the series, again after each growth of it. Returns 0
 * when a number of the plan has no column in the series. Only
 * store_plain_row() handles that case, and it drops the value. */
static int bind_plain_columns(plain_columns *columns, const format_plain_plan *plan,
                              ohlcx_series *out)
{
    int has_slot[FORMAT_ROLE_COUNT + OHLCX_EXTRA_COUNT] = {0};

    columns->open_time = out->open_time;
    columns->flags = out->flags;
    for (size_t k = 0; k < plan->number_count; k++) {
        columns->number[k] = slot_column(out, plan->number_slot[k]);
        if (columns->number[k] == NULL)
            return 0;
        has_slot[plan->number_slot[k]] = 1;
    }
    columns->constant_count = 0;
    for (size_t slot = FORMAT_ROLE_VOLUME; slot < FORMAT_ROLE_COUNT + OHLCX_EXTRA_COUNT; slot++) {
        double *column = slot_column(out, slot);

        if (has_slot[slot] || column == NULL)
            continue;
        columns->constant[columns->constant_count] = column;
        columns->constant_value[columns->constant_count] = slot < FORMAT_ROLE_COUNT ? 0 : NAN;
        columns->constant_count++;
    }
    return 1;
}


/* Number fields that the vector path takes, one a lane. */
#define PLAIN_VECTOR_LANES 8

/* Constants of the vector path for one plan. */
typedef struct plain_vector_plan {
    __m512i start_index; /* byte k: the index in the bounds vector before number k */
    __m512i end_index;   /* byte k: the index of the end of number k */
    __mmask8 lanes;      /* the lanes in use */
    size_t delimiters;   /* field_count - 1 */
    char delimiter;
} plain_vector_plan;


/* Sets up the vector path for a plan. Returns 1, or 0 when the plan has
 * more fields than the bounds vector takes. */
static int plan_vector(const format_plain_plan *plan, plain_vector_plan *vector)
{
    unsigned char start[64] = {0};
    size_t lanes = plan->number_count < PLAIN_VECTOR_LANES ? plan->number_count
                                                          : PLAIN_VECTOR_LANES;

    memset(vector, 0, sizeof *vector);
    if (plan->field_count > 63 || lanes == 0)
        return 0;
    for (size_t k = 0; k < lanes; k++)
        start[k] = plan->number_field[k];
    vector->start_index = _mm512_loadu_si512((const void *)start);
    vector->end_index = _mm512_add_epi8(vector->start_index, _mm512_set1_epi8(1));
    vector->lanes = (__mmask8)((1u << lanes) - 1);
    vector->delimiters = plan->field_count - 1;
    vector->delimiter = plan->delimiter;
    return 1;
}


/* The bytes of a found line, its field bounds and non-digit bits. */
typedef struct plain_vector_line {
    __m512i block[PLAIN_LINE_BLOCKS];
    size_t blocks; /* blocks up to the one with the '\n' */
    __m512i bounds; /* byte 0 is 0xFF, byte i + 1 the end of field i */
    plain_line scalar; /* its non-digit words, for the scalar functions; no ends */
} plain_vector_line;


/* Finds the fields of the line at text like find_plain_fields(), reading
 * the same blocks. Returns the offset of its '\n', or -1 when
 * find_plain_fields() would. */
static inline long find_vector_fields(const plain_vector_plan *plan, const char *text,
                                      plain_vector_line *line)
{
    const __m512i byte_index = _mm512_set_epi8(
        63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42,
        41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20,
        19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    __m512i bounds = _mm512_maskz_set1_epi8(1, (char)0xFF);
    size_t found = 0;

    /* Blocks after the line are never read, but gather_line_bytes() and
     * split_vector_fields() pass them on. */
    for (size_t index = 0; index < PLAIN_LINE_BLOCKS; index++) {
        line->block[index] = _mm512_setzero_si512();
        line->scalar.non_digits[index] = ~UINT64_C(0);
    }
    for (size_t index = 0; index < PLAIN_LINE_BLOCKS; index++) {
        __m512i bytes = _mm512_loadu_si512((const void *)(text + 64 * index));
        uint64_t newlines = _mm512_cmpeq_epi8_mask(bytes, _mm512_set1_epi8('\n'));
        uint64_t stops = _mm512_cmpeq_epi8_mask(bytes, _mm512_set1_epi8('"')) |
                         _mm512_testn_epi8_mask(bytes, bytes);
        uint64_t line_end = newlines | stops, first_end = line_end & (0 - line_end);
        uint64_t delimiters = _mm512_cmpeq_epi8_mask(bytes, _mm512_set1_epi8(plan->delimiter)) &
                              (first_end - 1);
        size_t count = (size_t)__builtin_popcountll(delimiters);
        __m512i positions;
        size_t newline = 0, end = 0;

        line->block[index] = bytes;
        line->scalar.non_digits[index] =
            _mm512_cmpgt_epu8_mask(_mm512_sub_epi8(bytes, _mm512_set1_epi8('0')),
                                   _mm512_set1_epi8(9));
        if (found + count > plan->delimiters)
            return -1;

        /* Bytes 1 + found on get the positions of this block's delimiters. */
        positions = _mm512_maskz_compress_epi8(
            delimiters, _mm512_add_epi8(byte_index, _mm512_set1_epi8((char)(64 * index))));
        positions = _mm512_maskz_permutexvar_epi8(
            ~UINT64_C(0) << (found + 1),
            _mm512_sub_epi8(byte_index, _mm512_set1_epi8((char)(found + 1))), positions);
        bounds = _mm512_or_si512(bounds, positions);
        found += count;
        if (line_end == 0)
            continue;

        if ((first_end & stops) != 0 || found != plan->delimiters)
            return -1;
        newline = 64 * index + (size_t)__builtin_ctzll(first_end);
        end = newline > 0 && text[newline - 1] == '\r' ? newline - 1 : newline;
        line->bounds = _mm512_mask_set1_epi8(bounds, UINT64_C(1) << (found + 1), (char)end);
        line->blocks = index + 1;
        line->scalar.non_digits[index + 1] = ~UINT64_C(0);
        return (long)newline;
    }
    return -1;
}


/* Returns the index of the lowest set bit of each dword, or 0xFFFFFFFF for
 * a dword of 0. */
static inline __m256i lowest_bits(__m256i bits)
{
    __m256i lowest = _mm256_and_si256(bits, _mm256_sub_epi32(_mm256_setzero_si256(), bits));

    return _mm256_sub_epi32(_mm256_set1_epi32(31), _mm256_lzcnt_epi32(lowest));
}


/* Gathers the bytes of the line at the byte indexes of index, where mask
 * is set, and zeros elsewhere. Indexes past the line's blocks give junk. */
static inline __m512i gather_line_bytes(const plain_vector_line *line, __m512i index,
                                        __mmask64 mask)
{
    __mmask64 high = _mm512_movepi8_mask(index);

    if (line->blocks <= 2)
        return _mm512_maskz_permutex2var_epi8(mask, line->block[0], index, line->block[1]);
    return _mm512_or_si512(
        _mm512_maskz_permutex2var_epi8(mask & ~high, line->block[0], index, line->block[1]),
        _mm512_maskz_permutex2var_epi8(mask & high, line->block[2], index, line->block[3]));
}


/* Returns, for each lane as a qword, the value of the count (0 to 8)
 * digits of the line that end before byte end. */
static inline __m512i gather_digits(const plain_vector_line *line, __m256i end, __m256i count)
{
    /* Byte j of qword k takes the low byte of dword k. */
    const __m512i spread = _mm512_set_epi64(
        0x1C1C1C1C1C1C1C1C, 0x1818181818181818, 0x1414141414141414, 0x1010101010101010,
        0x0C0C0C0C0C0C0C0C, 0x0808080808080808, 0x0404040404040404, 0x0000000000000000);
    const __m512i byte_in_word = _mm512_set1_epi64(0x0706050403020100);
    __m512i index = _mm512_add_epi8(_mm512_permutexvar_epi8(spread, _mm512_castsi256_si512(end)),
                                    _mm512_sub_epi8(byte_in_word, _mm512_set1_epi8(8)));
    __m512i digits_in_word = _mm512_add_epi8(
        _mm512_permutexvar_epi8(spread, _mm512_castsi256_si512(count)), byte_in_word);
    __mmask64 digit = _mm512_cmpge_epu8_mask(digits_in_word, _mm512_set1_epi8(8));
    __m512i digits = _mm512_and_si512(gather_line_bytes(line, index, digit),
                                      _mm512_set1_epi8(0x0F));

    /* Pairs of digits, then fours, then the eight. */
    digits = _mm512_maddubs_epi16(digits, _mm512_set1_epi16(0x010A));
    digits = _mm512_madd_epi16(digits, _mm512_set1_epi32(0x00010064));
    return _mm512_add_epi64(_mm512_mul_epu32(digits, _mm512_set1_epi64(10000)),
                            _mm512_srli_epi64(digits, 32));
}


/* Digit ends and counts of the lanes of a found line, and the lanes that
 * pass the checks. */
typedef struct plain_vector_fields {
    __m256i integer_end, integer_digits, fraction_end, fraction_digits; /* dwords */
    __mmask8 passed;
} plain_vector_fields;


/* Computes the digit ends and counts of every lane from its start, end and
 * non-digit bits, with the checks of parse_field_number() for numbers without a
 * sign, of at most 8 integer and 8 fraction digits. */
static inline void split_vector_fields(const plain_vector_plan *plan,
                                       const plain_vector_line *line,
                                       plain_vector_fields *fields)
{
    const __m256i one = _mm256_set1_epi32(1), zero = _mm256_setzero_si256();
    __m256i start = _mm256_cvtepu8_epi32(_mm512_castsi512_si128(_mm512_add_epi8(
        _mm512_permutexvar_epi8(plan->start_index, line->bounds), _mm512_set1_epi8(1))));
    __m256i end = _mm256_cvtepu8_epi32(
        _mm512_castsi512_si128(_mm512_permutexvar_epi8(plan->end_index, line->bounds)));
    __m256i length = _mm256_sub_epi32(end, start);
    __m256i word = _mm256_srli_epi32(start, 5);
    /* Built from the words rather than loaded: a load of the four words
     * just stored would wait for the stores to complete. */
    __m256i non_digit_words = _mm256_set_epi64x(
        (long long)line->scalar.non_digits[3], (long long)line->scalar.non_digits[2],
        (long long)line->scalar.non_digits[1], (long long)line->scalar.non_digits[0]);
    __m256i non_digits, first, fraction;
    __m512i point_characters;
    __mmask8 point, dot;

    /* The non-digits of each field, 32 bits from its start. The bits past
     * the field, which for a field in dword 7 wrap around to dword 0, are
     * masked off. Fields longer than 32 bytes fail on their digit counts. */
    non_digits = _mm256_shrdv_epi32(
        _mm256_permutexvar_epi32(word, non_digit_words),
        _mm256_permutexvar_epi32(_mm256_add_epi32(word, one), non_digit_words), start);
    non_digits = _mm256_andnot_si256(_mm256_sllv_epi32(_mm256_set1_epi32(-1), length),
                                     non_digits);
    first = _mm256_min_epu32(lowest_bits(non_digits), length);

    /* The one non-digit allowed is the point, after at least one digit. */
    point_characters = gather_line_bytes(
        line, _mm512_castsi128_si512(_mm256_cvtepi32_epi8(_mm256_add_epi32(start, first))),
        0xFF);
    dot = (__mmask8)_mm512_cmpeq_epi8_mask(point_characters, _mm512_set1_epi8('.'));
    point = _mm256_cmplt_epu32_mask(first, length);
    fraction = _mm256_mask_sub_epi32(_mm256_sub_epi32(length, first), point,
                                     _mm256_sub_epi32(length, first), one);
    fields->passed = _mm256_cmpneq_epi32_mask(first, zero) &
                     _mm256_testn_epi32_mask(non_digits,
                                             _mm256_sub_epi32(non_digits, one)) &
                     (~point | dot) &
                     _mm256_cmple_epu32_mask(first, _mm256_set1_epi32(8)) &
                     _mm256_cmple_epu32_mask(fraction, _mm256_set1_epi32(8));
    fields->integer_digits = first;
    fields->integer_end = _mm256_add_epi32(start, first);
    fields->fraction_digits = fraction;
    fields->fraction_end = end;
}


/* Converts the digits of the lanes into their values, as parse_field_number()
 * does, and stores them to values. Returns the lanes whose mantissa is
 * above 2^53. */
static inline __mmask8 convert_vector_fields(const plain_vector_line *line,
                                             const plain_vector_fields *fields, double *values)
{
    const __m512i powers_low = _mm512_set_epi64(10000000, 1000000, 100000, 10000, 1000, 100,
                                                10, 1);
    const __m512d divisors_low = _mm512_set_pd(1e7, 1e6, 1e5, 1e4, 1e3, 1e2, 1e1, 1e0);
    __m512i integer = gather_digits(line, fields->integer_end, fields->integer_digits);
    __m512i fraction = gather_digits(line, fields->fraction_end, fields->fraction_digits);
    __m512i count = _mm512_cvtepu32_epi64(fields->fraction_digits);
    /* Counts of 8 take entry 8, the first of the high table. */
    __m512i mantissa = _mm512_add_epi64(
        _mm512_mul_epu32(integer, _mm512_permutex2var_epi64(powers_low, count,
                                                            _mm512_set1_epi64(100000000))),
        fraction);
    __m512d value = _mm512_div_pd(
        _mm512_cvtepu64_pd(mantissa),
        _mm512_permutex2var_pd(divisors_low, count, _mm512_set1_pd(1e8)));

    _mm512_storeu_pd(values, value);
    return _mm512_cmpgt_epu64_mask(mantissa,
                                   _mm512_set1_epi64((long long)PLAIN_EXACT_MANTISSA_MAX));
}


/* Returns the offset where field starts in a found line, from bounds as
 * bytes. */
static inline size_t vector_field_start(const unsigned char *bounds, size_t field)
{
    return (size_t)(unsigned char)(bounds[field] + 1);
}


/* Parses a found line into row i of columns. Returns 1, or 0 when a field
 * fails and the scalar path must decide. Row i then contains junk. */
static inline int parse_vector_row(const format_plain_plan *plan,
                                   const plain_vector_plan *vector, const char *text,
                                   const plain_vector_line *line, const plain_columns *columns,
                                   size_t i)
{
    plain_vector_fields fields;
    double values[PLAIN_VECTOR_LANES];
    unsigned char bounds[64];
    size_t time_field = plan->time_field;
    int64_t time_us = 0;

    split_vector_fields(vector, line, &fields);
    if ((fields.passed & vector->lanes) != vector->lanes)
        return 0;
    if ((convert_vector_fields(line, &fields, values) & vector->lanes) != 0)
        return 0;

    /* The time and the numbers after the eighth take the scalar functions. */
    _mm512_storeu_si512((void *)bounds, line->bounds);
    if (parse_field_epoch(text, &line->scalar, vector_field_start(bounds, time_field),
                          bounds[time_field + 1], &time_us) != 0)
        return 0;
    for (size_t k = PLAIN_VECTOR_LANES; k < plan->number_count; k++) {
        size_t field = plan->number_field[k];

        if (parse_field_number(text, &line->scalar, vector_field_start(bounds, field),
                               bounds[field + 1], &columns->number[k][i]) != 0)
            return 0;
    }

    columns->open_time[i] = time_us;
    for (size_t k = 0; k < plan->number_count && k < PLAIN_VECTOR_LANES; k++) {
        /* The empty asm keeps GCC 12 from turning these stores into a
         * scatter, which took longer than the scalar stores. */
        __asm__("");
        columns->number[k][i] = values[k];
    }
    for (size_t k = 0; k < columns->constant_count; k++)
        columns->constant[k][i] = columns->constant_value[k];
    columns->flags[i] = 0;
    return 1;
}


/* Lines that the vector path may hand to the scalar path in a span, beyond
 * one in 16 of those it takes, before the span stops trying it. */
#define PLAIN_VECTOR_MISSES_MAX 16

/* Parses the lines at p with the vector path into the columns, and returns
 * the first line that it did not take: end, a line for the scalar path, or
 * the line after a full series. Adds the lines taken to *lines. */
static const char *parse_vector_lines(format_reader *reader, const plain_vector_plan *vector,
                                      const plain_columns *columns, const char *p,
                                      const char *end, size_t *lines)
{
    const format_plain_plan *plan = &reader->plain;
    ohlcx_series *out = reader->out;
    size_t i = out->n;

    while (p < end && i < out->capacity) {
        plain_vector_line line;
        long newline = find_vector_fields(vector, p, &line);

        if (newline < 0 || !parse_vector_row(plan, vector, p, &line, columns, i))
            break;
        p += newline + 1;
        i++;
    }
    if (i > out->n) {
        *lines += i - out->n;
        out->n = i;
        reader->previous_time_us = columns->open_time[i - 1];
        reader->has_previous_time = 1;
    }
    return p;
}
#endif

const char *format_parse_plain_span(format_reader *reader, const char *text, const char *end,
                                    size_t *lines_out, int *status_out)
{
    const format_plain_plan *plan = &reader->plain;
    const char *p = text;
    double slots[FORMAT_ROLE_COUNT + OHLCX_EXTRA_COUNT];
    int64_t time_us = 0;
    size_t lines = 0;
    int status = 0;

#if defined(PLAIN_VECTOR_PARSE)
    plain_vector_plan vector;
    plain_columns columns;
    size_t vector_lines = 0, vector_misses = 0;
    int use_vector = plan_vector(plan, &vector);
#endif

    /* Columns the layout lacks keep these: volume 0, extras NaN. */
    for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++)
        slots[i] = i < FORMAT_ROLE_COUNT ? 0 : NAN;

    while (p < end) {
        const char *next = NULL;

#if defined(PLAIN_VECTOR_PARSE)
        /* The vector path takes what it can, and the scalar path the line
         * that it stops at. A span whose lines keep missing the vector
         * path, such as one with long numbers, stops trying it. The
         * columns are bound each time, because store_plain_row() may have
         * grown the series. */
        if (use_vector && bind_plain_columns(&columns, plan, reader->out)) {
            size_t before = lines;

            p = parse_vector_lines(reader, &vector, &columns, p, end, &lines);
            vector_lines += lines - before;
            if (p >= end)
                break;
            vector_misses++;
            if (vector_misses > PLAIN_VECTOR_MISSES_MAX + vector_lines / 16)
                use_vector = 0;
        }
#endif
        next = parse_plain_line(plan, p, &time_us, slots);
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
