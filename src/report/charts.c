/*
 * Report: the inline SVG charts. Each chart is one <svg> with a fixed id,
 * role="img" and a <title>, sized in pixels through its viewBox, and drawn
 * from plain shapes so that it renders without scripts or fonts beyond the
 * browser's default sans-serif.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ohlcx/report.h"
#include "ohlcx/series.h"
#include "report/report_internal.h"

#define TEXT_STYLE "font-family=\"sans-serif\" font-size=\"12\""


static void svg_open(FILE *out, const char *id, const char *title, int width, int height)
{
    fprintf(out,
            "<svg id=\"%s\" role=\"img\" aria-labelledby=\"%s-title\" viewBox=\"0 0 %d %d\" "
            "width=\"%d\" height=\"%d\">\n<title id=\"%s-title\">",
            id, id, width, height, width, height, id);
    ohlcx_html_escape(out, title);
    fputs("</title>\n", out);
}


static void svg_text(FILE *out, double x, double y, const char *anchor, const char *text)
{
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" " TEXT_STYLE ">", x, y, anchor);
    ohlcx_html_escape(out, text);
    fputs("</text>\n", out);
}


static double clamp(double value, double lo, double hi)
{
    return value < lo ? lo : value > hi ? hi : value;
}


/* Draws a horizontal axis with ticks + 1 ticks from lo to hi at height y. */
static void x_axis_ticks(FILE *out, double left, double right, double y, double lo, double hi,
                         int decimals, int ticks)
{
    char label[32];

    fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>\n",
            left, y, right, y);
    for (int tick = 0; tick <= ticks; tick++) {
        double x = left + (right - left) * tick / ticks;

        snprintf(label, sizeof label, "%.*f", decimals, lo + (hi - lo) * tick / ticks);
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>\n",
                x, y, x, y + 4);
        svg_text(out, x, y + 17, "middle", label);
    }
}


static void x_axis(FILE *out, double left, double right, double y, double lo, double hi,
                   int decimals)
{
    x_axis_ticks(out, left, right, y, lo, hi, decimals, 4);
}


/* Draws a vertical axis with five ticks from lo (bottom) to hi (top). */
static void y_axis(FILE *out, double x, double top, double bottom, double lo, double hi,
                   int decimals)
{
    char label[32];

    fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>\n", x,
            top, x, bottom);
    for (int tick = 0; tick <= 4; tick++) {
        double y = bottom - (bottom - top) * tick / 4;

        snprintf(label, sizeof label, "%.*f", decimals, lo + (hi - lo) * tick / 4);
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ccc\"/>\n",
                x, y, x + 4, y);
        svg_text(out, x - 6, y + 4, "end", label);
    }
}


void chart_bars(FILE *out, const char *id, const char *title, const report_bar *bars,
                size_t count, double lo, double hi, double reference, const char *reference_label,
                int value_decimals)
{
    const double left = 190, right = 640, top = 20, row = 28;
    double bottom = top + row * (double)count;
    char label[32];

    svg_open(out, id, title, 720, (int)bottom + 50);
    for (size_t i = 0; i < count; i++) {
        double y = top + row * (double)i;
        double value = isnan(bars[i].value) ? lo : clamp(bars[i].value, lo, hi);
        double width = (right - left) * (value - lo) / (hi - lo);

        svg_text(out, left - 8, y + 18, "end", bars[i].label);
        fprintf(out,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"20\" fill=\"%s\"/>\n", left,
                y + 4, width, report_color(i));
        if (isnan(bars[i].value))
            snprintf(label, sizeof label, "n/a");
        else
            snprintf(label, sizeof label, "%.*f", value_decimals, bars[i].value);
        svg_text(out, left + width + 4, y + 18, "start", label);
    }
    x_axis(out, left, right, bottom + 6, lo, hi, value_decimals > 2 ? 2 : value_decimals);
    if (!isnan(reference) && reference >= lo && reference <= hi) {
        double x = left + (right - left) * (reference - lo) / (hi - lo);

        fprintf(out,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\" "
                "stroke-dasharray=\"4 3\"/>\n",
                x, top, x, bottom + 6);
        svg_text(out, x, top - 6, "middle", reference_label);
    }
    fputs("</svg>\n", out);
}


/* Scans the loss arrays of every CNN for the epoch count and loss range. */
static void loss_range(const cJSON *cnn, int *epochs, double *lo, double *hi)
{
    static const char *const names[] = {"train_loss", "val_loss"};
    const cJSON *group, *value;

    *epochs = 1;
    *lo = INFINITY;
    *hi = -INFINITY;
    cJSON_ArrayForEach(group, cnn)
    {
        for (int k = 0; k < 2; k++) {
            const cJSON *losses = cJSON_GetObjectItemCaseSensitive(group, names[k]);
            int size = cJSON_GetArraySize(losses);

            if (size > *epochs)
                *epochs = size;
            cJSON_ArrayForEach(value, losses)
            {
                if (cJSON_IsNumber(value) && isfinite(value->valuedouble)) {
                    *lo = fmin(*lo, value->valuedouble);
                    *hi = fmax(*hi, value->valuedouble);
                }
            }
        }
    }
    if (!(*lo <= *hi)) {
        *lo = 0;
        *hi = 1;
    }
    if (*hi - *lo < 1e-3) {
        *lo -= 0.005;
        *hi += 0.005;
    }
}


/* Returns the number of tick intervals, at most 4, that splits epochs 1 to
 * epochs into whole numbers of epochs. */
static int epoch_intervals(int epochs)
{
    int span = epochs - 1;

    if (span <= 4)
        return span < 1 ? 1 : span;
    for (int intervals = 4; intervals > 1; intervals--)
        if (span % intervals == 0)
            return intervals;
    return 1;
}


void chart_learning_curves(FILE *out, const cJSON *cnn)
{
    static const char *const names[] = {"train_loss", "val_loss"};
    const double left = 60, right = 540, top = 20, bottom = 300;
    const cJSON *group, *value;
    double lo, hi;
    int epochs;
    size_t index = 0;
    char label[64];

    loss_range(cnn, &epochs, &lo, &hi);
    svg_open(out, "chart-learning-curves",
             "CNN learning curves: training loss (solid) and validation loss (dashed) by epoch",
             760, 350);
    y_axis(out, left, top, bottom, lo, hi, 3);
    x_axis_ticks(out, left, right, bottom, 1, epochs, 0, epoch_intervals(epochs));
    svg_text(out, (left + right) / 2, bottom + 34, "middle", "epoch");

    cJSON_ArrayForEach(group, cnn)
    {
        for (int k = 0; k < 2; k++) {
            const cJSON *losses = cJSON_GetObjectItemCaseSensitive(group, names[k]);
            int epoch = 0;

            fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"",
                    report_color(index), k ? " stroke-dasharray=\"6 4\"" : "");
            cJSON_ArrayForEach(value, losses)
            {
                double x = epochs > 1 ? left + (right - left) * epoch / (epochs - 1) : left;

                if (cJSON_IsNumber(value) && isfinite(value->valuedouble))
                    fprintf(out, "%.1f,%.1f ", x,
                            bottom - (bottom - top) * (value->valuedouble - lo) / (hi - lo));
                epoch++;
            }
            fputs("\"/>\n", out);
        }
        /* The legend lists the first 20 groups, which fit beside the plot. */
        if (index < 20) {
            double y = top + 14 * (double)index;

            fprintf(out,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                    "stroke-width=\"3\"/>\n",
                    right + 20, y, right + 40, y, report_color(index));
            svg_text(out, right + 46, y + 4, "start", report_string_of(group, "group"));
        } else if (index == 20) {
            snprintf(label, sizeof label, "and %d more", cJSON_GetArraySize(cnn) - 20);
            svg_text(out, right + 46, top + 14 * 20 + 4, "start", label);
        }
        index++;
    }
    fputs("</svg>\n", out);
}


/* Draws one cell of the confusion matrix. */
static void confusion_cell(FILE *out, double x, double y, double count, double total,
                           const char *name)
{
    char label[64];
    double share = total > 0 ? count / total : 0;

    fprintf(out,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"160\" height=\"90\" fill=\"#1f77b4\" "
            "fill-opacity=\"%.3f\" stroke=\"#444\"/>\n",
            x, y, 0.08 + 0.8 * share);
    svg_text(out, x + 80, y + 32, "middle", name);
    snprintf(label, sizeof label, "%.0f (%.1f%%)", count, 100 * share);
    svg_text(out, x + 80, y + 56, "middle", label);
}


void chart_confusion(FILE *out, double true_positives, double false_positives,
                     double true_negatives, double false_negatives)
{
    double total = true_positives + false_positives + true_negatives + false_negatives;

    svg_open(out, "chart-confusion",
             "Confusion matrix of the test predictions (up when the probability is above 0.5)",
             480, 260);
    svg_text(out, 290, 20, "middle", "predicted");
    svg_text(out, 210, 42, "middle", "up");
    svg_text(out, 370, 42, "middle", "down");
    svg_text(out, 40, 150, "middle", "actual");
    svg_text(out, 110, 100, "end", "up");
    svg_text(out, 110, 190, "end", "down");
    confusion_cell(out, 130, 50, true_positives, total, "true positive");
    confusion_cell(out, 290, 50, false_negatives, total, "false negative");
    confusion_cell(out, 130, 140, false_positives, total, "false positive");
    confusion_cell(out, 290, 140, true_negatives, total, "true negative");
    fputs("</svg>\n", out);
}


void chart_calibration(FILE *out, const cJSON *bins)
{
    const double left = 60, right = 420, top = 20, bottom = 380;
    const cJSON *bin;
    double max_count = 1;

    cJSON_ArrayForEach(bin, bins)
        max_count = fmax(max_count, report_number_of(bin, "count"));

    svg_open(out, "chart-calibration",
             "Calibration: observed up share against mean predicted probability, per bin of "
             "width 0.1; the dashed diagonal is perfect calibration",
             460, 430);
    y_axis(out, left, top, bottom, 0, 1, 1);
    x_axis(out, left, right, bottom, 0, 1, 1);
    svg_text(out, (left + right) / 2, bottom + 34, "middle", "mean predicted probability");
    fprintf(out,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\" "
            "stroke-dasharray=\"4 3\"/>\n",
            left, bottom, right, top);

    fputs("<polyline fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\" points=\"", out);
    cJSON_ArrayForEach(bin, bins)
    {
        double p = report_number_of(bin, "mean_prob"), up = report_number_of(bin, "up_share");

        if (report_number_of(bin, "count") > 0 && isfinite(p) && isfinite(up))
            fprintf(out, "%.1f,%.1f ", left + (right - left) * p, bottom - (bottom - top) * up);
    }
    fputs("\"/>\n", out);
    cJSON_ArrayForEach(bin, bins)
    {
        double count = report_number_of(bin, "count");
        double p = report_number_of(bin, "mean_prob"), up = report_number_of(bin, "up_share");

        if (!(count > 0) || !isfinite(p) || !isfinite(up))
            continue;
        fprintf(out,
                "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"#d62728\" "
                "fill-opacity=\"0.6\"><title>%.0f rows, mean probability %.3f, up share "
                "%.3f</title></circle>\n",
                left + (right - left) * p, bottom - (bottom - top) * up,
                3 + 9 * sqrt(count / max_count), count, p, up);
    }
    fputs("</svg>\n", out);
}


/* Appends name to names unless present; returns its index, or -1 when the
 * list is full. */
static int intern(const char **names, int *count, int capacity, const char *name)
{
    for (int i = 0; i < *count; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    if (*count == capacity)
        return -1;
    names[*count] = name;
    return (*count)++;
}


static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}


static int compare_timeframes(const void *a, const void *b)
{
    int64_t x = ohlcx_timeframe_us(*(const char *const *)a);
    int64_t y = ohlcx_timeframe_us(*(const char *const *)b);

    return x != y ? (x > y) - (x < y) : compare_names(a, b);
}


/* Writes the fill colour of an accuracy: white at 0.5, full green at 0.6
 * and above, full red at 0.4 and below. */
static void accuracy_color(double accuracy, char *color, size_t size)
{
    double d = clamp((accuracy - 0.5) / 0.1, -1, 1);
    int r, g, b;

    if (d >= 0) {
        r = (int)(255 - (255 - 46) * d);
        g = (int)(255 - (255 - 160) * d);
        b = (int)(255 - (255 - 67) * d);
    } else {
        r = (int)(255 - (255 - 211) * -d);
        g = (int)(255 - (255 - 47) * -d);
        b = (int)(255 - (255 - 47) * -d);
    }
    snprintf(color, size, "rgb(%d,%d,%d)", r, g, b);
}


enum { HEATMAP_MAX = 512 };

void chart_heatmap(FILE *out, const cJSON *per_series)
{
    static const char *symbols[HEATMAP_MAX], *timeframes[32];
    int symbol_count = 0, timeframe_count = 0;
    const double left = 170, top = 40, cell_width = 80, cell_height = 26;
    const cJSON *row;
    char color[32], label[64];

    cJSON_ArrayForEach(row, per_series)
    {
        intern(symbols, &symbol_count, HEATMAP_MAX, report_string_of(row, "symbol"));
        intern(timeframes, &timeframe_count, 32, report_string_of(row, "timeframe"));
    }
    qsort(symbols, (size_t)symbol_count, sizeof *symbols, compare_names);
    qsort(timeframes, (size_t)timeframe_count, sizeof *timeframes, compare_timeframes);

    svg_open(out, "chart-heatmap",
             "Test accuracy by symbol and timeframe: green above 0.5, red below, saturated at "
             "0.1 away",
             (int)(left + cell_width * timeframe_count + 20),
             (int)(top + cell_height * symbol_count + 20));
    for (int t = 0; t < timeframe_count; t++)
        svg_text(out, left + cell_width * (t + 0.5), top - 10, "middle", timeframes[t]);
    for (int s = 0; s < symbol_count; s++)
        svg_text(out, left - 8, top + cell_height * (s + 0.5) + 4, "end", symbols[s]);

    cJSON_ArrayForEach(row, per_series)
    {
        const char *symbol = report_string_of(row, "symbol");
        const char *timeframe = report_string_of(row, "timeframe");
        const char **s = bsearch(&symbol, symbols, (size_t)symbol_count, sizeof *symbols,
                                 compare_names);
        int t = 0;
        double accuracy = report_number_of(row, "accuracy");
        double x, y;

        while (t < timeframe_count && strcmp(timeframes[t], timeframe) != 0)
            t++;
        if (s == NULL || t == timeframe_count)
            continue; /* beyond the grid's capacity */
        x = left + cell_width * t;
        y = top + cell_height * (double)(s - symbols);
        if (isnan(accuracy))
            snprintf(color, sizeof color, "#eeeeee");
        else
            accuracy_color(accuracy, color, sizeof color);
        fprintf(out, "<g><title>");
        ohlcx_html_escape(out, symbol);
        fputc(' ', out);
        ohlcx_html_escape(out, timeframe);
        fprintf(out, ": accuracy %.4f on %.0f test samples</title>\n", accuracy,
                report_number_of(row, "n_test"));
        fprintf(out,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
                "stroke=\"#fff\"/>\n",
                x, y, cell_width, cell_height, color);
        if (isnan(accuracy))
            snprintf(label, sizeof label, "n/a");
        else
            snprintf(label, sizeof label, "%.3f", accuracy);
        svg_text(out, x + cell_width / 2, y + cell_height / 2 + 4, "middle", label);
        fputs("</g>\n", out);
    }
    fputs("</svg>\n", out);
}


void chart_walk_forward(FILE *out, const cJSON *folds)
{
    const double left = 60, right = 680, top = 20, bottom = 260;
    int count = cJSON_GetArraySize(folds), index = 0;
    const cJSON *fold;

    svg_open(out, "chart-walk-forward",
             "Walk-forward test accuracy per fold in time order (dashed: majority share)", 720,
             330);
    y_axis(out, left, top, bottom, 0.3, 0.7, 2);
    fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>\n",
            left, bottom, right, bottom);
    fputs("<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"", out);
    cJSON_ArrayForEach(fold, folds)
    {
        double x = left + (right - left) * (index + 0.5) / count;
        double accuracy = clamp(report_number_of(fold, "accuracy"), 0.3, 0.7);

        if (!isnan(accuracy))
            fprintf(out, "%.1f,%.1f ", x, bottom - (bottom - top) * (accuracy - 0.3) / 0.4);
        index++;
    }
    fputs("\"/>\n", out);
    index = 0;
    cJSON_ArrayForEach(fold, folds)
    {
        double x = left + (right - left) * (index + 0.5) / count;
        double majority = clamp(report_number_of(fold, "majority_share"), 0.3, 0.7);

        if (!isnan(majority))
            fprintf(out,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\" "
                    "stroke-dasharray=\"4 3\"/>\n",
                    x - 10, bottom - (bottom - top) * (majority - 0.3) / 0.4, x + 10,
                    bottom - (bottom - top) * (majority - 0.3) / 0.4);
        /* Labels of more than 12 folds would overlap, so only about 12 are drawn. */
        if (count <= 12 || index % ((count + 11) / 12) == 0)
            svg_text(out, x, bottom + 18, "middle", report_string_of(fold, "test_first_open_time"));
        index++;
    }
    fputs("</svg>\n", out);
}
