/*
 * Report: HTML escaping, number formatting and the JSON accessors that the
 * page and its charts share.
 */
#include <math.h>
#include <stdio.h>

#include "ohlcx/report.h"
#include "report/report_internal.h"

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};


void ohlcx_html_escape(FILE *out, const char *text)
{
    for (const unsigned char *c = (const unsigned char *)text; *c != '\0'; c++) {
        switch (*c) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&#39;", out);
            break;
        default:
            if (*c < 0x20 && *c != '\t' && *c != '\n')
                fputc('?', out);
            else
                fputc(*c, out);
        }
    }
}


double report_number_of(const cJSON *object, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);

    return cJSON_IsNumber(item) ? item->valuedouble : NAN;
}


const char *report_string_of(const cJSON *object, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);

    return cJSON_IsString(item) ? item->valuestring : "";
}


void report_write_number(FILE *out, double value, int decimals)
{
    if (isnan(value))
        fputs("&#8212;", out);
    else
        fprintf(out, "%.*f", decimals, value);
}


void report_write_p_value(FILE *out, double p)
{
    if (isnan(p))
        fputs("&#8212;", out);
    else if (p >= 0.001)
        fprintf(out, "%.4f", p);
    else
        fprintf(out, "%.3g", p);
}


void report_write_unavailable(FILE *out, const char *chart_id, const char *why)
{
    fprintf(out, "<div id=\"%s-unavailable\" class=\"unavailable\" role=\"note\">"
                 "<strong>Not available in this run:</strong> ",
            chart_id);
    ohlcx_html_escape(out, why);
    fputs("</div>\n", out);
}


const char *report_color(size_t i)
{
    return palette[i % (sizeof palette / sizeof *palette)];
}
