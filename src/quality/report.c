/*
 * Quality report as JSON, in the schema of docs/quality.md. Every check is
 * listed with its count, zero included, so a reader sees what ran. Open
 * times are "YYYY-MM-DD HH:MM:SS" UTC; values that are not finite are null.
 * Only the first REPORT_GAPS_LISTED gaps are written, and "gap_count" gives
 * the total.
 */
#include <math.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "ohlcx/check.h"
#include "ohlcx/error.h"
#include "ohlcx/format.h"

#define REPORT_GAPS_LISTED 100

/* A stream's report lists only its first gaps, and add_gaps() reads the
 * first REPORT_GAPS_LISTED of them. */
_Static_assert(OHLCX_CHECK_STREAM_GAPS_KEPT >= REPORT_GAPS_LISTED,
               "a stream's report must list every gap that the JSON report writes");


static cJSON *add_time(cJSON *object, const char *name, int64_t time_us)
{
    char text[20];

    ohlcx_format_datetime(time_us, text);
    return cJSON_AddStringToObject(object, name, text);
}


static cJSON *add_value(cJSON *object, const char *name, double value)
{
    if (!isfinite(value))
        return cJSON_AddNullToObject(object, name);
    return cJSON_AddNumberToObject(object, name, value);
}


static cJSON *result_json(const ohlcx_check_result *result)
{
    cJSON *item = cJSON_CreateObject();
    cJSON *examples = cJSON_AddArrayToObject(item, "examples");
    int ok = examples != NULL;

    ok = ok && cJSON_AddStringToObject(item, "name", result->name) != NULL;
    ok = ok && cJSON_AddStringToObject(item, "severity",
                                       ohlcx_severity_name(result->severity)) != NULL;
    ok = ok && cJSON_AddNumberToObject(item, "count", (double)result->count) != NULL;
    for (size_t i = 0; ok && i < result->example_count; i++) {
        const ohlcx_check_example *example = &result->examples[i];
        cJSON *entry = cJSON_CreateObject();

        ok = cJSON_AddItemToArray(examples, entry);
        ok = ok && cJSON_AddNumberToObject(entry, "row", (double)example->row) != NULL;
        ok = ok && add_time(entry, "open_time", example->open_time) != NULL;
        ok = ok && add_value(entry, "value", example->value) != NULL;
        ok = ok && cJSON_AddStringToObject(entry, "note", example->note) != NULL;
    }
    if (!ok) {
        cJSON_Delete(item);
        return NULL;
    }
    return item;
}


static int add_results(cJSON *root, const char *name, const ohlcx_check_result *results,
                       size_t count)
{
    cJSON *array = cJSON_AddArrayToObject(root, name);

    if (array == NULL)
        return 0;
    for (size_t i = 0; i < count; i++)
        if (!cJSON_AddItemToArray(array, result_json(&results[i])))
            return 0;
    return 1;
}


static int add_gaps(cJSON *root, const ohlcx_quality_report *report)
{
    cJSON *array = cJSON_AddArrayToObject(root, "gaps");
    size_t listed = report->gap_count < REPORT_GAPS_LISTED ? report->gap_count
                                                           : REPORT_GAPS_LISTED;

    if (array == NULL)
        return 0;
    for (size_t i = 0; i < listed; i++) {
        cJSON *entry = cJSON_CreateObject();
        int ok = cJSON_AddItemToArray(array, entry);

        ok = ok && add_time(entry, "first_missing", report->gaps[i].first_missing) != NULL;
        ok = ok && cJSON_AddNumberToObject(entry, "missing", (double)report->gaps[i].missing) != NULL;
        ok = ok && cJSON_AddBoolToObject(entry, "filled", report->gaps[i].filled) != NULL;
        if (!ok)
            return 0;
    }
    return cJSON_AddNumberToObject(root, "gap_count", (double)report->gap_count) != NULL;
}


int ohlcx_quality_report_json(const ohlcx_quality_report *report, char **out)
{
    cJSON *root;
    int ok;

    if (report == NULL || out == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "ohlcx_quality_report_json: report and out must "
                               "not be NULL");
    *out = NULL;
    root = cJSON_CreateObject();
    ok = root != NULL;
    ok = ok && cJSON_AddStringToObject(root, "symbol", report->symbol) != NULL;
    ok = ok && cJSON_AddStringToObject(root, "timeframe", report->timeframe) != NULL;
    ok = ok && cJSON_AddStringToObject(root, "source", report->source) != NULL;
    ok = ok && cJSON_AddNumberToObject(root, "rows", (double)report->rows) != NULL;
    ok = ok && cJSON_AddNumberToObject(root, "expected_bars",
                                       (double)report->expected_bars) != NULL;
    ok = ok && add_value(root, "missing_ratio", report->missing_ratio) != NULL;
    ok = ok && cJSON_AddStringToObject(root, "calendar",
                                       ohlcx_calendar_name(report->calendar)) != NULL;
    ok = ok && add_results(root, "checks", report->checks, report->check_count);
    ok = ok && add_results(root, "repairs", report->repairs, report->repair_count);
    ok = ok && add_gaps(root, report);
    ok = ok && cJSON_AddStringToObject(root, "verdict",
                                       ohlcx_verdict_name(report->verdict)) != NULL;
    if (ok)
        *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (*out == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory writing the quality report of %s",
                               report->symbol);
    return 0;
}
