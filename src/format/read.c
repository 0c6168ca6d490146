/*
 * Reading candle files into series (see include/ohlcx/format.h for the
 * layouts and options).
 *
 * The file is read in chunks of FORMAT_CHUNK_BYTES (1 MiB) and decompressed
 * on the way when it is gzip or zstd. A partial last line is carried over
 * to the next chunk, so memory does not grow with the file beyond the
 * series itself. The layout is detected from the first lines of the first
 * chunk. Lines and fields are (pointer, length) views into the chunk, so
 * the row loop allocates nothing but the doubling growth of the series
 * columns. A row that cannot be parsed stops the read with
 * "FILE:LINE:COLUMN: reason" (COLUMN counts bytes from 1) or, under
 * OHLCX_BAD_ROWS_SKIP, is counted and listed in the report. Rows keep file
 * order, newest-first files included; sorting and duplicate checks belong
 * to ohlcx_validate_basic().
 *
 * With more than one thread (ohlcx_read_candles_parallel()), the lines
 * after the header go to parallel.c, which gives the same rows, report and
 * errors.
 *
 * Files labelled by bar close time get open = close - timeframe, after
 * rounding a close time that ends in .999 ms (or later) up to the next whole
 * second, so that 00:14:59.999+01:00 on a 15m file opens at 23:00:00 UTC.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format_internal.h"
#include "ohlcx/error.h"
#include "ohlcx/format.h"
#include "ohlcx/series.h"
#include "util/util.h"


/* Cuts the next line from the chunks, reading more as needed. Returns 1
 * with a line, 0 at the end, or a negative status. */
static int next_line(format_chunks *chunks, size_t line_number, const char **line,
                     size_t *length)
{
    for (;;) {
        char *start = chunks->data + chunks->start;
        size_t available = chunks->end - chunks->start;
        char *newline = memchr(start, '\n', available);
        int status = 0;

        if (newline != NULL || (chunks->eof && available > 0)) {
            size_t used = newline ? (size_t)(newline - start) : available;
            *line = start;
            *length = format_strip_carriage_return(start, used);
            chunks->start += used + (newline ? 1 : 0);
            return 1;
        }
        if (chunks->eof)
            return 0;
        if (chunks->start == 0 && chunks->end == FORMAT_CHUNK_BYTES)
            return ohlcx_set_error(OHLCX_EFORMAT, "%s:%zu: line is longer than %zu bytes",
                                   chunks->path, line_number, (size_t)FORMAT_CHUNK_BYTES);
        status = format_chunks_fill(chunks);
        if (status != 0)
            return status;
    }
}


/* Collects the first non-blank lines of the first chunk without consuming
 * them. Only whole lines count, unless the input ends. */
static size_t collect_sniff_lines(const format_chunks *chunks, format_line *lines)
{
    const char *cursor = chunks->data + chunks->start, *end = chunks->data + chunks->end;
    size_t count = 0, number = 0;

    while (cursor < end && count < FORMAT_SNIFF_LINES) {
        const char *newline = memchr(cursor, '\n', (size_t)(end - cursor));
        size_t length = 0;

        if (newline == NULL && !chunks->eof)
            break;
        length = (size_t)((newline ? newline : end) - cursor);
        number++;
        length = format_strip_carriage_return(cursor, length);
        if (!format_is_blank_line(cursor, length)) {
            lines[count].text = cursor;
            lines[count].length = length;
            lines[count].number = number;
            count++;
        }
        cursor = newline ? newline + 1 : end;
    }
    return count;
}


int format_handle_bad_row(format_reader *r, size_t line_number, const format_row_error *error)
{
    ohlcx_read_report *report = r->report;

    if (r->policy == OHLCX_BAD_ROWS_FAIL)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s:%zu:%zu: %s", r->path, line_number,
                               error->column, error->reason);

    if (report->bad_row_count == 0) {
        r->first_bad_line = line_number;
        snprintf(r->first_bad_reason, sizeof r->first_bad_reason, "%s", error->reason);
    }
    if (report->bad_rows == NULL) {
        report->bad_rows = calloc(OHLCX_BAD_ROWS_LISTED, sizeof *report->bad_rows);
        if (report->bad_rows == NULL)
            return ohlcx_set_error(OHLCX_ENOMEM, "%s: out of memory listing bad rows", r->path);
    }
    if (report->bad_row_count < OHLCX_BAD_ROWS_LISTED) {
        ohlcx_bad_row *listed = &report->bad_rows[report->bad_row_count];
        listed->line = line_number;
        snprintf(listed->reason, sizeof listed->reason, "%s", error->reason);
    }
    report->bad_row_count++;
    return 0;
}


static unsigned extra_bits(const format_layout *layout)
{
    unsigned bits = 0;

    for (int i = 0; i < OHLCX_EXTRA_COUNT; i++)
        if (layout->extra[i] != FORMAT_NO_COLUMN)
            bits |= 1u << i;
    return bits;
}


/* Sizes the series for the rows that an uncompressed file is likely to
 * hold: its size over the mean length of the data lines among the sniffed
 * ones, plus an eighth. Growing by doubling instead would copy every column
 * several times, which costs about as much as parsing a Binance file. Pages
 * that a too high estimate leaves unused are never touched, and a too low
 * one grows by doubling as before. The size is a hint, so a failed
 * reservation leaves the series to grow as rows come. */
static void reserve_rows(format_reader *r, const format_chunks *chunks, const format_line *lines,
                         size_t count)
{
    size_t size = format_source_plain_size(chunks->source);
    size_t data_lines = 0, data_bytes = 0, rows = 0;

    for (size_t i = 0; i < count; i++) {
        if (lines[i].number < r->layout.first_data_line)
            continue;
        data_lines++;
        data_bytes += lines[i].length + 1;
    }
    if (size == 0 || data_lines == 0)
        return;
    rows = size / (data_bytes / data_lines);
    /* NOTE: the columns get no MADV_HUGEPAGE advice. 2 MiB pages made the
     * first touch of 100 MB of columns 20 ms faster on a 2-core AMD EPYC
     * machine. On a 2-core Intel Xeon Firecracker VM, free huge pages went
     * back to the host after about 2 s of rest. The first touch then took
     * 90 to 210 ms, against a steady 33 ms with 4 KiB pages. */
    (void)ohlcx_series_reserve(r->out, rows + rows / 8 + 1);
}


static int name_series(const char *path, const ohlcx_read_options *options, ohlcx_series *out);
static int close_times_to_open_times(const char *path, ohlcx_series *series);


/* Passes the rows parsed so far to the sink of a streaming read, named and
 * with open times, and empties the series. */
static int flush_rows(format_reader *r)
{
    size_t rows = r->out->n;
    int status = 0;

    if (rows == 0)
        return 0;
    if (r->rows_streamed == 0)
        status = name_series(r->path, r->options, r->out);
    if (status == 0 && r->layout.time_is_close)
        status = close_times_to_open_times(r->path, r->out);
    if (status == 0)
        status = r->sink(r->sink_arg, r->out);
    /* The sink may have swapped the columns for empty ones. */
    r->rows_streamed += rows;
    r->out->n = 0;
    return status;
}


/* Flushes the rows of a streaming read once a batch has gathered. */
static inline int flush_full_batch(format_reader *r)
{
    return r->sink != NULL && r->out->n >= r->sink_rows ? flush_rows(r) : 0;
}


/* Skips the lines above the data on this thread and parses the rest on
 * r->threads threads. */
static int read_rows_parallel(format_reader *r, format_chunks *chunks)
{
    size_t line_number = 0, length = 0;
    const char *line = NULL;

    while (line_number + 1 < r->layout.first_data_line) {
        int status = next_line(chunks, line_number + 1, &line, &length);

        if (status < 0)
            return status;
        if (status == 0) {
            r->report->lines = line_number;
            return 0;
        }
        line_number++;
    }
    return format_read_parallel(r, chunks, line_number, r->threads);
}


/* Detects the layout from the first chunk and parses every line. */
static int read_delimited(format_reader *r, format_chunks *chunks, const char *columns)
{
    format_line sniff[FORMAT_SNIFF_LINES];
    size_t sniff_count = collect_sniff_lines(chunks, sniff);
    size_t line_number = 0, length = 0, plain_misses = 0;
    const char *line = NULL;
    int status = 0;

    if (sniff_count == 0)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: the file is empty", r->path);
    status = format_detect_layout(r->path, sniff, sniff_count, columns, &r->layout);
    if (status == 0)
        status = ohlcx_series_add_extra(r->out, extra_bits(&r->layout));
    if (status != 0)
        return status;
    if (r->sink == NULL)
        reserve_rows(r, chunks, sniff, sniff_count);
    else if (ohlcx_series_reserve(r->out, r->sink_rows + FORMAT_CHUNK_BYTES / 8) != 0)
        return ohlcx_set_error(OHLCX_ENOMEM, "%s: out of memory for a batch of rows", r->path);

    format_plain_plan_init(&r->plain, &r->layout);
    if (r->threads > 1 && r->zone == NULL && r->sink == NULL)
        return read_rows_parallel(r, chunks);

    for (;;) {
        format_row_error error;

        /* Plain lines take the fast path; the line it stops at, and any
         * line before the data, takes the general one. A file whose lines
         * keep missing it, such as one with datetime strings, stops trying. */
        if (r->plain.enabled && line_number + 1 >= r->layout.first_data_line) {
            const char *end = chunks->data + chunks->end;
            const char *next = NULL;
            size_t parsed = 0;
            char after = chunks->data[chunks->end]; /* the file's next byte when mapped */

            chunks->data[chunks->end] = '\0';
            next = format_parse_plain_span(r, chunks->data + chunks->start, end, &parsed, &status);
            chunks->data[chunks->end] = after;
            chunks->start = (size_t)(next - chunks->data);
            if (status != 0)
                return status;
            line_number += parsed;
            plain_misses = parsed > 0 ? 0 : plain_misses + 1;
            if (plain_misses == FORMAT_PLAIN_MISSES_MAX)
                r->plain.enabled = 0;
            status = flush_full_batch(r);
            if (status != 0)
                return status;
        }
        status = next_line(chunks, line_number + 1, &line, &length);
        if (status != 1)
            break;
        line_number++;
        if (line_number < r->layout.first_data_line || format_is_blank_line(line, length))
            continue;
        status = format_parse_row(r, line, length, &error);
        if (status == FORMAT_BAD_ROW)
            status = format_handle_bad_row(r, line_number, &error);
        if (status == 0)
            status = flush_full_batch(r);
        if (status != 0)
            return status;
    }
    r->report->lines = line_number;
    if (status == 0 && r->sink != NULL)
        status = flush_rows(r);
    return status;
}


static int check_rows(const format_reader *r)
{
    size_t rows = r->out->n + r->rows_streamed;

    if (rows == 0 && r->report->bad_row_count == 0)
        return ohlcx_set_error(OHLCX_EDATA, "%s: no data rows: the file has only a header line",
                               r->path);
    if (rows == 0)
        return ohlcx_set_error(OHLCX_EDATA, "%s: no valid rows: all %zu data rows are bad "
                                            "(first at line %zu: %s)",
                               r->path, r->report->bad_row_count, r->first_bad_line,
                               r->first_bad_reason);
    return 0;
}


/* Returns 1 when the first non-blank byte of the chunk is '['. */
static int starts_json_array(const format_chunks *chunks)
{
    for (size_t i = chunks->start; i < chunks->end; i++) {
        char c = chunks->data[i];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
            return c == '[';
    }
    return 0;
}


/* Reads the whole file through chunks into r->out. */
/* Parses every row of the chunks and completes the digest. */
static int read_chunks(format_reader *r, format_chunks *chunks, const char *columns)
{
    int status = format_chunks_fill(chunks);

    if (status != 0)
        return status;
    /* A UTF-8 byte order mark would otherwise stick to the first column name. */
    if (chunks->end >= 3 && memcmp(chunks->data, "\xEF\xBB\xBF", 3) == 0)
        chunks->start = 3;

    if (starts_json_array(chunks) && columns != NULL && columns[0] != '\0')
        status = ohlcx_set_error(OHLCX_EINVAL, "%s: --columns applies to delimited text, and "
                                               "this is a JSON file",
                                 r->path);
    else if (starts_json_array(chunks) && r->sink != NULL)
        status = OHLCX_WHOLE_SERIES;
    else if (starts_json_array(chunks))
        status = format_read_json(r, chunks);
    else
        status = read_delimited(r, chunks, columns);
    if (status == 0)
        status = check_rows(r);
    /* The buffer of a read source serves as scratch for the rest of the
     * file; a mapped one is hashed from the mapping. */
    if (status == 0 && r->hasher != NULL)
        status = format_source_finish_hash(chunks->source, chunks->mapped ? NULL : chunks->data,
                                           FORMAT_CHUNK_BYTES, &r->hashed_whole);
    return status;
}


/* Reads the whole file through chunks into r->out (or its sink). A file
 * that one thread parses is mapped when it is large enough. The pieces of a
 * parallel parse are read through buffers, because only the reading thread
 * is guarded against the SIGBUS of a file cut short. */
static int read_source(format_reader *r, const char *columns)
{
    format_chunks chunks;
    sigjmp_buf fault;
    int status = 0;

    memset(&chunks, 0, sizeof chunks);
    chunks.path = r->path;
    status = format_source_open(r->path, &chunks.source);
    if (status != 0)
        return status;
    if (r->hasher != NULL)
        format_source_hash(chunks.source, r->hasher, r->hash_whole_file);
    if (r->threads == 1)
        chunks.mapped = format_source_map(chunks.source);
    if (chunks.mapped && r->ahead != NULL)
        format_source_read_ahead(chunks.source, r->ahead);
    if (!chunks.mapped) {
        chunks.data = calloc(1, FORMAT_CHUNK_BYTES + FORMAT_CHUNK_PADDING);
        if (chunks.data == NULL) {
            format_source_close(chunks.source);
            return ohlcx_set_error(OHLCX_ENOMEM, "%s: out of memory for the read buffer",
                                   r->path);
        }
    }
    /* chunks.mapped and chunks.source do not change after sigsetjmp(), so
     * they keep their values when the fault handler jumps back here. The
     * signal mask is saved too: SIGBUS is blocked while its handler runs,
     * and the jump must unblock it, or the next fault kills the process. */
    if (chunks.mapped && sigsetjmp(fault, 1) != 0) {
        format_source_guard(NULL);
        format_source_close(chunks.source);
        r->hashed_whole = 0;
        return ohlcx_set_error(OHLCX_EIO, "%s: the file was cut short while it was read "
                                          "(another program truncated it): read it again",
                               r->path);
    }
    if (chunks.mapped)
        format_source_guard(&fault);
    status = read_chunks(r, &chunks, columns);
    format_source_guard(NULL);
    /* A file cut short or rewritten while it was read shows as a bad row at
     * a line it may no longer have, or as an early end. The error names the
     * cause instead. */
    if (status < 0 && format_source_changed(chunks.source))
        status = ohlcx_set_error(OHLCX_EIO, "%s: the file changed while it was read (another "
                                            "program truncated or rewrote it): read it again",
                                 r->path);
    r->hashed_bytes = format_source_hashed_bytes(chunks.source);
    if (!chunks.mapped)
        free(chunks.data);
    format_source_close(chunks.source);
    return status;
}


/* Sets symbol, timeframe and asset class from the options or the file name,
 * inferring the timeframe from the open times when neither gives it. */
static int name_series(const char *path, const ohlcx_read_options *options, ohlcx_series *out)
{
    char symbol[OHLCX_SYMBOL_MAX], timeframe[OHLCX_TIMEFRAME_MAX];

    format_file_name_parts(path, symbol, timeframe);
    if (options != NULL && options->symbol != NULL) {
        if (options->symbol[0] == '\0' || strlen(options->symbol) >= OHLCX_SYMBOL_MAX)
            return ohlcx_set_error(OHLCX_EINVAL, "invalid symbol '%s': use 1 to %d characters",
                                   options->symbol, OHLCX_SYMBOL_MAX - 1);
        strcpy(symbol, options->symbol);
    } else if (symbol[0] == '\0') {
        return ohlcx_parse_file_name(path, symbol, timeframe);
    }

    if (options != NULL && options->timeframe != NULL) {
        int status = ohlcx_timeframe_parse(options->timeframe, timeframe);
        if (status != 0)
            return status;
    } else if (timeframe[0] == '\0') {
        int status = format_infer_timeframe(path, out->open_time, out->n, timeframe);
        if (status != 0)
            return status;
    }

    strcpy(out->symbol, symbol);
    strcpy(out->timeframe, timeframe);
    out->asset_class = ohlcx_asset_class_guess(symbol);
    snprintf(out->source_path, sizeof out->source_path, "%s", path);
    return 0;
}


/* Turns close-time labels into open times (see the file comment). */
static int close_times_to_open_times(const char *path, ohlcx_series *series)
{
    int64_t length = ohlcx_timeframe_us(series->timeframe);

    if (strcmp(series->timeframe, "1M") == 0 || strcmp(series->timeframe, "3M") == 0)
        return ohlcx_set_error(OHLCX_EFORMAT,
                               "%s: bars are labelled by close time, which needs a fixed-length "
                               "timeframe, not %s",
                               path, series->timeframe);
    for (size_t i = 0; i < series->n; i++) {
        int64_t label = series->open_time[i];
        int64_t subsecond = label % OHLCX_US_PER_SECOND;

        if (subsecond < 0)
            subsecond += OHLCX_US_PER_SECOND;
        if (subsecond >= OHLCX_US_PER_SECOND - 1000)
            label += OHLCX_US_PER_SECOND - subsecond;
        series->open_time[i] = label - length;
    }
    return 0;
}


int ohlcx_read_candles(const char *path, const ohlcx_read_options *options,
                       ohlcx_series *out, ohlcx_read_report *report)
{
    return ohlcx_read_candles_ex(path, options, NULL, out, report);
}


int ohlcx_read_candles_ex(const char *path, const ohlcx_read_options *options,
                          const ohlcx_layout_options *layout, ohlcx_series *out,
                          ohlcx_read_report *report)
{
    return ohlcx_read_candles_parallel(path, options, layout, 1, out, report);
}


int ohlcx_read_candles_parallel(const char *path, const ohlcx_read_options *options,
                                const ohlcx_layout_options *layout, int threads,
                                ohlcx_series *out, ohlcx_read_report *report)
{
    return ohlcx_read_candles_digest(path, options, layout, threads, out, report, NULL);
}


/* Where the rows of a read go: into out (sink NULL), or to sink in batches. */
typedef struct read_target {
    ohlcx_rows_sink sink;
    void *arg;
    size_t batch_rows;
    ohlcx_read_ahead *ahead;
} read_target;


/* Returns 1 when the series can be named before its rows are read: the
 * options or the file name give the timeframe. */
static int timeframe_known(const char *path, const ohlcx_read_options *options)
{
    char symbol[OHLCX_SYMBOL_MAX], timeframe[OHLCX_TIMEFRAME_MAX];

    if (options != NULL && options->timeframe != NULL)
        return 1;
    format_file_name_parts(path, symbol, timeframe);
    if (symbol[0] == '\0' && (options == NULL || options->symbol == NULL))
        return ohlcx_parse_file_name(path, symbol, timeframe) == 0;
    return timeframe[0] != '\0';
}


/* blake3 may be NULL: then nothing is hashed. whole_file hashes gzip and
 * zstd files too, and the bytes after the parsed rows. */
static int read_hashing(const char *path, const ohlcx_read_options *options,
                        const ohlcx_layout_options *layout, int threads, ohlcx_series *out,
                        ohlcx_read_report *report, char blake3[65], int whole_file,
                        int64_t *size, const read_target *target)
{
    ohlcx_blake3 hasher;
    ohlcx_read_report local_report;
    format_reader r;
    format_zone *zone = NULL;
    const char *columns = layout ? layout->columns : NULL;
    const char *tz = layout ? layout->tz : NULL;
    int status = 0;

    if (path == NULL || out == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "ohlcx_read_candles: path and out must not be NULL");
    if (report == NULL)
        report = &local_report;
    memset(report, 0, sizeof *report);
    memset(&r, 0, sizeof r);
    r.path = path;
    r.policy = options ? options->bad_rows : OHLCX_BAD_ROWS_FAIL;
    r.threads = threads > 1 ? threads : 1;
    r.out = out;
    r.report = report;
    r.options = options;
    if (target != NULL) {
        if (!timeframe_known(path, options))
            return OHLCX_WHOLE_SERIES;
        r.sink = target->sink;
        r.sink_arg = target->arg;
        r.sink_rows = target->batch_rows > 0 ? target->batch_rows : 1;
        r.ahead = target->ahead;
        r.threads = 1;
    }
    if (blake3 != NULL) {
        blake3[0] = '\0';
        ohlcx_blake3_init(&hasher);
        r.hasher = &hasher;
        r.hash_whole_file = whole_file;
    }
    if (size != NULL)
        *size = 0;
    ohlcx_series_free(out);
    if (r.policy != OHLCX_BAD_ROWS_FAIL && r.policy != OHLCX_BAD_ROWS_SKIP) {
        status = ohlcx_set_error(OHLCX_EINVAL, "invalid bad-rows policy %d: use fail or skip",
                                 r.policy);
        goto fail;
    }
    if (tz != NULL && tz[0] != '\0') {
        status = format_zone_load(tz, &zone);
        if (status != 0)
            goto fail;
        r.zone = zone;
    }

    status = read_source(&r, columns);
    if (status != 0)
        goto fail;
    snprintf(report->layout, sizeof report->layout, "%s", r.layout.name);
    report->rows_read = out->n + r.rows_streamed;

    status = r.sink != NULL ? 0 : name_series(path, options, out);
    if (status != 0)
        goto fail;
    if (r.layout.time_is_close && r.sink == NULL) {
        status = close_times_to_open_times(path, out);
        if (status != 0)
            goto fail;
    }

    format_zone_free(zone);
    if (report == &local_report)
        ohlcx_read_report_free(report);
    if (blake3 != NULL && r.hashed_whole)
        ohlcx_blake3_final_hex(&hasher, blake3);
    if (size != NULL && r.hashed_whole)
        *size = (int64_t)r.hashed_bytes;
    return 0;

fail:
    format_zone_free(zone);
    ohlcx_series_free(out);
    ohlcx_read_report_free(report);
    return status;
}


int ohlcx_read_candles_digest(const char *path, const ohlcx_read_options *options,
                              const ohlcx_layout_options *layout, int threads,
                              ohlcx_series *out, ohlcx_read_report *report, char blake3[65])
{
    return read_hashing(path, options, layout, threads, out, report, blake3, 0, NULL, NULL);
}


int ohlcx_read_candles_file_digest(const char *path, const ohlcx_read_options *options,
                                   const ohlcx_layout_options *layout, int threads,
                                   ohlcx_series *out, ohlcx_read_report *report,
                                   char blake3[65], int64_t *size)
{
    if (blake3 == NULL || size == NULL)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "ohlcx_read_candles_file_digest: blake3 and size must not be NULL");
    return read_hashing(path, options, layout, threads, out, report, blake3, 1, size, NULL);
}


int ohlcx_read_candles_stream(const char *path, const ohlcx_read_options *options,
                              const ohlcx_layout_options *layout, size_t batch_rows,
                              ohlcx_rows_sink sink, void *arg, ohlcx_series *rows,
                              ohlcx_read_report *report, char blake3[65], int64_t *size)
{
    return ohlcx_read_candles_stream_ahead(path, options, layout, batch_rows, sink, arg, NULL,
                                           rows, report, blake3, size);
}


int ohlcx_read_candles_stream_ahead(const char *path, const ohlcx_read_options *options,
                                    const ohlcx_layout_options *layout, size_t batch_rows,
                                    ohlcx_rows_sink sink, void *arg, ohlcx_read_ahead *ahead,
                                    ohlcx_series *rows, ohlcx_read_report *report,
                                    char blake3[65], int64_t *size)
{
    read_target target = {sink, arg, batch_rows, ahead};

    if (blake3 == NULL || size == NULL || sink == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "ohlcx_read_candles_stream: blake3, size and sink "
                                             "must not be NULL");
    return read_hashing(path, options, layout, 1, rows, report, blake3, 1, size, &target);
}


void ohlcx_read_report_free(ohlcx_read_report *report)
{
    if (report == NULL)
        return;
    free(report->bad_rows);
    report->bad_rows = NULL;
}
