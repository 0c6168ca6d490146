/*
 * Report: the page. It reads the run folder's JSON files, then writes the
 * sections in a fixed order: summary, metrics, ablation, groups, learning
 * curves, confusion matrix, calibration, heat map, walk-forward, feature
 * importance and data quality. A section whose data the run lacks keeps its
 * figure and shows why in place of the chart (report.h lists the ids).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ohlcx/error.h"
#include "ohlcx/eval.h"
#include "ohlcx/report.h"
#include "ohlcx/store.h"
#include "report/report_internal.h"

#define PATH_SIZE 4096

static const char style[] =
    "body{font-family:sans-serif;margin:24px;max-width:1180px;color:#222}"
    "table{border-collapse:collapse;margin:8px 0 16px}"
    "th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    "th:first-child,td:first-child{text-align:left}"
    "th{background:#f2f2f2}figure{margin:12px 0}figcaption{font-size:13px;color:#555}"
    ".unavailable{border:1px dashed #999;background:#fafafa;padding:16px;color:#555}"
    ".note{font-size:13px;color:#555}";

/* The run folder's inputs. */
typedef struct report_run {
    const char *dir;
    cJSON *metrics;
    cJSON *checkpoint; /* NULL when checkpoints/run.json is missing */
} report_run;


/* Parses dir/name. On failure returns NULL, and when required also sets the
 * error and *status. */
static cJSON *read_json(const char *dir, const char *name, int required, int *status)
{
    char path[PATH_SIZE];
    FILE *file;
    char *text = NULL;
    long size = -1;
    cJSON *root = NULL;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    file = fopen(path, "rb");
    if (file == NULL) {
        if (required)
            *status = ohlcx_set_error(OHLCX_EIO,
                                      "cannot open %s: %s; pass the --out folder of 'ohlcx run'",
                                      path, strerror(errno));
        return NULL;
    }
    if (fseek(file, 0, SEEK_END) == 0)
        size = ftell(file);
    if (size >= 0 && fseek(file, 0, SEEK_SET) == 0 && (text = malloc((size_t)size + 1)) != NULL &&
        fread(text, 1, (size_t)size, file) == (size_t)size) {
        text[size] = '\0';
        root = cJSON_Parse(text);
    }
    fclose(file);
    free(text);
    if (root == NULL && required)
        *status = ohlcx_set_error(OHLCX_EFORMAT, "%s is not valid JSON", path);
    return root;
}


/* One row of the metrics table: the tested model and its metrics object. */
typedef struct model_row {
    const char *name;
    const cJSON *metrics;
} model_row;

enum { MODEL_ROWS_MAX = 16 };


static size_t collect_models(const report_run *run, model_row *rows)
{
    const cJSON *baselines = cJSON_GetObjectItemCaseSensitive(run->metrics, "baselines");
    const cJSON *baseline;
    size_t count = 0;

    rows[count].name = "cnn+xgboost";
    rows[count++].metrics = cJSON_GetObjectItemCaseSensitive(run->metrics, "test");
    cJSON_ArrayForEach(baseline, baselines)
    {
        if (count == MODEL_ROWS_MAX)
            break;
        rows[count].name = baseline->string;
        rows[count++].metrics = baseline;
    }
    return count;
}


/* Returns the share of the larger class in the test labels: recorded by the
 * run, else the majority baseline's accuracy a, which is the test share of
 * one class, so the larger share is max(a, 1 - a). */
static double majority_share(const report_run *run)
{
    const cJSON *test = cJSON_GetObjectItemCaseSensitive(run->metrics, "test");
    const cJSON *baselines = cJSON_GetObjectItemCaseSensitive(run->metrics, "baselines");
    double share = report_number_of(test, "majority_share");
    double majority_accuracy;

    if (!isnan(share))
        return share;
    majority_accuracy =
        report_number_of(cJSON_GetObjectItemCaseSensitive(baselines, "majority"), "accuracy");
    return isnan(majority_accuracy) ? NAN : fmax(majority_accuracy, 1 - majority_accuracy);
}


/* Returns the recorded binomial p-value, or computes it from accuracy and n
 * against the majority share; *computed tells which. */
static double binomial_p_of(const cJSON *metrics, double share, int *computed)
{
    double p = report_number_of(metrics, "binomial_p");
    double accuracy = report_number_of(metrics, "accuracy"), n = report_number_of(metrics, "n");

    if (!isnan(p))
        return p;
    if (isnan(accuracy) || isnan(n) || isnan(share) || n < 1)
        return NAN;
    *computed = 1;
    return ohlcx_binomial_tail((uint64_t)llround(accuracy * n), (uint64_t)n, share);
}


static void write_header(FILE *out, const report_run *run)
{
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(run->metrics, "config");
    const cJSON *item;

    fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                 "<title>ohlcx run report</title>\n<style>%s</style>\n</head>\n<body>\n",
            style);
    fputs("<h1>ohlcx run report</h1>\n<p id=\"run-config\">Run folder <code>", out);
    ohlcx_html_escape(out, run->dir);
    fputs("</code>", out);
    cJSON_ArrayForEach(item, config)
    {
        fputs(", ", out);
        ohlcx_html_escape(out, item->string);
        fputs(" ", out);
        if (cJSON_IsString(item))
            ohlcx_html_escape(out, item->valuestring);
        else if (cJSON_IsNumber(item))
            fprintf(out, "%.15g", item->valuedouble);
    }
    fputs(".</p>\n", out);
}


static void write_summary(FILE *out, const report_run *run)
{
    const cJSON *test = cJSON_GetObjectItemCaseSensitive(run->metrics, "test");
    double share = majority_share(run);
    int computed = 0;
    double p = binomial_p_of(test, share, &computed);

    fputs("<section id=\"summary\">\n<h2>Summary</h2>\n<p>The CNN + XGBoost model scored "
          "accuracy ",
          out);
    report_write_number(out, report_number_of(test, "accuracy"), 4);
    fputs(" on ", out);
    report_write_number(out, report_number_of(test, "n"), 0);
    fputs(" test samples, against a majority-class share of ", out);
    report_write_number(out, share, 4);
    fputs(". One-sided binomial p-value of that many correct predictions or more at the "
          "majority share: ",
          out);
    report_write_p_value(out, p);
    fputs(computed ? " (computed by the report from accuracy and n).</p>\n</section>\n"
                   : ".</p>\n</section>\n",
          out);
}


static void write_metrics_table(FILE *out, const report_run *run)
{
    static const char *const names[] = {"accuracy", "balanced_accuracy", "macro_f1", "auc",
                                        "log_loss", "brier",             "ic",       "rank_ic"};
    model_row rows[MODEL_ROWS_MAX];
    size_t count = collect_models(run, rows);
    double share = majority_share(run);
    int computed = 0;

    fputs("<section id=\"metrics\">\n<h2>Test metrics</h2>\n<table id=\"metrics-table\">\n"
          "<tr><th>model</th><th>accuracy</th><th>balanced accuracy</th><th>macro-F1</th>"
          "<th>ROC AUC</th><th>log loss</th><th>Brier</th><th>IC</th><th>rank IC</th>"
          "<th>p vs majority</th><th>n</th></tr>\n",
          out);
    for (size_t i = 0; i < count; i++) {
        fputs("<tr><td>", out);
        ohlcx_html_escape(out, rows[i].name);
        fputs("</td>", out);
        for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
            fputs("<td>", out);
            report_write_number(out, report_number_of(rows[i].metrics, names[k]), 4);
            fputs("</td>", out);
        }
        fputs("<td>", out);
        report_write_p_value(out, binomial_p_of(rows[i].metrics, share, &computed));
        fputs("</td><td>", out);
        report_write_number(out, report_number_of(rows[i].metrics, "n"), 0);
        fputs("</td></tr>\n", out);
    }
    fputs("</table>\n<p class=\"note\">A dash marks a metric this run did not record. "
          "p vs majority is the one-sided binomial p-value of the accuracy against the "
          "majority-class share",
          out);
    fputs(computed ? "; where the run did not record it, the report computed it from accuracy "
                     "and n.</p>\n</section>\n"
                   : ".</p>\n</section>\n",
          out);
}


static void write_ablation(FILE *out, const report_run *run)
{
    model_row rows[MODEL_ROWS_MAX];
    report_bar bars[MODEL_ROWS_MAX];
    size_t count = collect_models(run, rows);
    double base_accuracy = report_number_of(rows[0].metrics, "accuracy");
    double base_auc = report_number_of(rows[0].metrics, "auc");
    double lo = 1, hi = 0;

    fputs("<section id=\"ablation\">\n<h2>Ablation</h2>\n<table id=\"ablation-table\">\n"
          "<tr><th>model</th><th>accuracy</th><th>&#916; accuracy vs cnn+xgboost</th>"
          "<th>ROC AUC</th><th>&#916; AUC</th></tr>\n",
          out);
    for (size_t i = 0; i < count; i++) {
        double accuracy = report_number_of(rows[i].metrics, "accuracy");
        double auc = report_number_of(rows[i].metrics, "auc");

        fputs("<tr><td>", out);
        ohlcx_html_escape(out, rows[i].name);
        fputs("</td><td>", out);
        report_write_number(out, accuracy, 4);
        fputs("</td><td>", out);
        report_write_number(out, accuracy - base_accuracy, 4);
        fputs("</td><td>", out);
        report_write_number(out, auc, 4);
        fputs("</td><td>", out);
        report_write_number(out, auc - base_auc, 4);
        fputs("</td></tr>\n", out);
        bars[i].label = rows[i].name;
        bars[i].value = accuracy;
        if (!isnan(accuracy)) {
            lo = fmin(lo, accuracy);
            hi = fmax(hi, accuracy);
        }
    }
    fputs("</table>\n<figure id=\"figure-ablation\">\n", out);
    lo = fmax(0, floor((fmin(lo, 0.5) - 0.02) * 50) / 50);
    hi = fmin(1, ceil((fmax(hi, 0.5) + 0.02) * 50) / 50);
    chart_bars(out, "chart-ablation", "Test accuracy of the model and each baseline or ablation",
               bars, count, lo, hi, majority_share(run), "majority share", 4);
    fputs("<figcaption>Test accuracy per model; the dashed line is the majority-class "
          "share.</figcaption>\n</figure>\n</section>\n",
          out);
}


/* Accuracy of the rows of per_series whose field equals value, weighted by
 * n_test, which is exact because accuracy is a mean over rows. */
typedef struct group_total {
    const char *name;
    size_t series;
    double n, correct;
} group_total;

enum { GROUPS_MAX = 64 };


static void write_group_table(FILE *out, const report_run *run, const char *field,
                              const char *recorded_name, const char *table_id, const char *title)
{
    const cJSON *recorded = cJSON_GetObjectItemCaseSensitive(run->metrics, recorded_name);
    const cJSON *per_series = cJSON_GetObjectItemCaseSensitive(run->metrics, "per_series");
    const cJSON *row;
    group_total totals[GROUPS_MAX];
    size_t count = 0;

    fprintf(out, "<h3>%s</h3>\n<table id=\"%s\">\n<tr><th>%s</th><th>n</th><th>accuracy</th>"
                 "<th>balanced accuracy</th><th>ROC AUC</th><th>IC</th><th>rank IC</th></tr>\n",
            title, table_id, field);
    if (cJSON_IsArray(recorded)) {
        cJSON_ArrayForEach(row, recorded)
        {
            fputs("<tr><td>", out);
            ohlcx_html_escape(out, report_string_of(row, field));
            fputs("</td><td>", out);
            report_write_number(out, report_number_of(row, "n"), 0);
            for (int k = 0; k < 5; k++) {
                static const char *const names[] = {"accuracy", "balanced_accuracy", "auc", "ic",
                                                    "rank_ic"};
                fputs("</td><td>", out);
                report_write_number(out, report_number_of(row, names[k]), 4);
            }
            fputs("</td></tr>\n", out);
        }
        fputs("</table>\n", out);
        return;
    }

    cJSON_ArrayForEach(row, per_series)
    {
        const char *name = report_string_of(row, field);
        double n = report_number_of(row, "n_test"), accuracy = report_number_of(row, "accuracy");
        size_t g = 0;

        while (g < count && strcmp(totals[g].name, name) != 0)
            g++;
        if (g == count) {
            if (count == GROUPS_MAX)
                continue;
            totals[count++] = (group_total){name, 0, 0, 0};
        }
        totals[g].series++;
        if (!isnan(n) && !isnan(accuracy)) {
            totals[g].n += n;
            totals[g].correct += accuracy * n;
        }
    }
    for (size_t g = 0; g < count; g++) {
        fputs("<tr><td>", out);
        ohlcx_html_escape(out, totals[g].name);
        fprintf(out, "</td><td>%.0f</td><td>", totals[g].n);
        report_write_number(out, totals[g].n > 0 ? totals[g].correct / totals[g].n : NAN, 4);
        fputs("</td><td>&#8212;</td><td>&#8212;</td><td>&#8212;</td><td>&#8212;</td></tr>\n",
              out);
    }
    fputs("</table>\n<p class=\"note\">Accuracy pooled from the per-series rows, weighted by "
          "their test samples; the run did not record the other metrics per group.</p>\n",
          out);
}


static void write_per_series(FILE *out, const report_run *run)
{
    const cJSON *per_series = cJSON_GetObjectItemCaseSensitive(run->metrics, "per_series");
    const cJSON *row;

    fputs("<section id=\"groups\">\n<h2>By timeframe, asset class and series</h2>\n", out);
    write_group_table(out, run, "timeframe", "per_timeframe", "per-timeframe-table",
                      "By timeframe");
    write_group_table(out, run, "asset_class", "per_asset_class", "per-asset-class-table",
                      "By asset class");
    fputs("<h3>By series</h3>\n<table id=\"per-series-table\">\n<tr><th>symbol</th>"
          "<th>timeframe</th><th>asset class</th><th>n</th><th>accuracy</th><th>ROC AUC</th>"
          "<th>log loss</th></tr>\n",
          out);
    cJSON_ArrayForEach(row, per_series)
    {
        fputs("<tr><td>", out);
        ohlcx_html_escape(out, report_string_of(row, "symbol"));
        fputs("</td><td>", out);
        ohlcx_html_escape(out, report_string_of(row, "timeframe"));
        fputs("</td><td>", out);
        ohlcx_html_escape(out, report_string_of(row, "asset_class"));
        fputs("</td><td>", out);
        report_write_number(out, report_number_of(row, "n_test"), 0);
        fputs("</td><td>", out);
        report_write_number(out, report_number_of(row, "accuracy"), 4);
        fputs("</td><td>", out);
        report_write_number(out, report_number_of(row, "auc"), 4);
        fputs("</td><td>", out);
        report_write_number(out, report_number_of(row, "log_loss"), 4);
        fputs("</td></tr>\n", out);
    }
    fputs("</table>\n</section>\n", out);
}


static void figure_open(FILE *out, const char *section, const char *heading)
{
    fprintf(out, "<section id=\"%s\">\n<h2>%s</h2>\n<figure id=\"figure-%s\">\n", section,
            heading, section);
}


static void figure_close(FILE *out, const char *caption)
{
    fprintf(out, "<figcaption>%s</figcaption>\n</figure>\n</section>\n", caption);
}


static void write_charts(FILE *out, const report_run *run)
{
    const cJSON *cnn = cJSON_GetObjectItemCaseSensitive(run->metrics, "cnn");
    const cJSON *test = cJSON_GetObjectItemCaseSensitive(run->metrics, "test");
    const cJSON *confusion = cJSON_GetObjectItemCaseSensitive(test, "confusion");
    const cJSON *calibration = cJSON_GetObjectItemCaseSensitive(test, "calibration");
    const cJSON *per_series = cJSON_GetObjectItemCaseSensitive(run->metrics, "per_series");
    const cJSON *folds = cJSON_GetObjectItemCaseSensitive(run->metrics, "walk_forward");

    figure_open(out, "learning-curves", "CNN learning curves");
    if (cJSON_GetArraySize(cnn) > 0)
        chart_learning_curves(out, cnn);
    else
        report_write_unavailable(out, "chart-learning-curves",
                                 "metrics.json has no \"cnn\" array of per-epoch losses.");
    figure_close(out, "Mean binary cross-entropy per epoch of each CNN.");

    figure_open(out, "confusion", "Confusion matrix");
    if (cJSON_IsObject(confusion))
        chart_confusion(out, report_number_of(confusion, "true_positives"),
                        report_number_of(confusion, "false_positives"),
                        report_number_of(confusion, "true_negatives"),
                        report_number_of(confusion, "false_negatives"));
    else
        report_write_unavailable(out, "chart-confusion",
                                 "metrics.json records no confusion counts (test.confusion); "
                                 "'ohlcx run' does not write them yet.");
    figure_close(out, "Counts of the CNN + XGBoost test predictions.");

    figure_open(out, "calibration", "Calibration");
    if (cJSON_GetArraySize(calibration) > 0)
        chart_calibration(out, calibration);
    else
        report_write_unavailable(out, "chart-calibration",
                                 "metrics.json records no calibration bins (test.calibration); "
                                 "'ohlcx run' does not write them yet.");
    figure_close(out, "Points sized by the number of test rows in the bin.");

    figure_open(out, "heatmap", "Accuracy by symbol and timeframe");
    if (cJSON_GetArraySize(per_series) > 0)
        chart_heatmap(out, per_series);
    else
        report_write_unavailable(out, "chart-heatmap", "metrics.json has no per_series rows.");
    figure_close(out, "Test accuracy of the CNN + XGBoost model per series.");

    figure_open(out, "walk-forward", "Walk-forward accuracy over time");
    if (cJSON_GetArraySize(folds) > 0)
        chart_walk_forward(out, folds);
    else
        report_write_unavailable(out, "chart-walk-forward",
                                 "the run used one chronological train, validation and test "
                                 "split; 'ohlcx run' has no walk-forward folds yet.");
    figure_close(out, "Accuracy of each fold's test part, labelled by its first open time.");
}


static void write_importance(FILE *out, const report_run *run)
{
    report_group_gain gains[REPORT_FEATURE_GROUPS];
    report_bar bars[REPORT_FEATURE_GROUPS];
    char path[PATH_SIZE], why[PATH_SIZE + 256];
    double total = 0;

    figure_open(out, "feature-importance", "Feature-group importance");
    snprintf(path, sizeof path, "%s/model/xgboost.json", run->dir);
    if (report_feature_group_gain(path, gains, why, sizeof why) != 0) {
        report_write_unavailable(out, "chart-feature-importance", why);
    } else {
        for (int g = 0; g < REPORT_FEATURE_GROUPS; g++)
            total += gains[g].gain;
        for (int g = 0; g < REPORT_FEATURE_GROUPS; g++) {
            bars[g].label = gains[g].group;
            bars[g].value = total > 0 ? gains[g].gain / total : 0;
        }
        chart_bars(out, "chart-feature-importance",
                   "Share of the total split gain of the XGBoost model by feature group", bars,
                   REPORT_FEATURE_GROUPS, 0, 1, NAN, "", 3);
    }
    figure_close(out, "Share of XGBoost's total split gain (training loss reduction) per "
                      "feature group; gain is not the effect on test accuracy.");
}


/* Writes the store's check counts of one series, or nothing when the store
 * or its summary is missing. */
static void write_store_checks(FILE *out, ohlcx_store *store, const char *symbol,
                               const char *timeframe)
{
    ohlcx_store_entry entry;
    cJSON *quality = NULL;
    const cJSON *check;
    int listed = 0;

    if (store == NULL || ohlcx_store_get(store, symbol, timeframe, &entry) != 0)
        return;
    if (entry.quality != NULL)
        quality = cJSON_Parse(entry.quality);
    cJSON_ArrayForEach(check, cJSON_GetObjectItemCaseSensitive(quality, "checks"))
    {
        if (!(report_number_of(check, "count") > 0))
            continue;
        fputs(listed++ ? ", " : "", out);
        ohlcx_html_escape(out, report_string_of(check, "name"));
        fprintf(out, " %.0f (", report_number_of(check, "count"));
        ohlcx_html_escape(out, report_string_of(check, "severity"));
        fputs(")", out);
    }
    if (quality != NULL && listed == 0)
        fputs("none", out);
    cJSON_Delete(quality);
    ohlcx_store_entry_free(&entry);
}


static void write_data_quality(FILE *out, const report_run *run)
{
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(run->metrics, "rows");
    const cJSON *per_series = cJSON_GetObjectItemCaseSensitive(run->metrics, "per_series");
    const cJSON *arguments = cJSON_GetObjectItemCaseSensitive(run->checkpoint, "arguments");
    const char *store_dir = report_string_of(arguments, "--store");
    ohlcx_store *store = NULL;
    const cJSON *row;
    static const char *const names[] = {"read", "dropped", "bad_rows_skipped", "filled",
                                        "samples", "samples_excluded"};
    report_bar bars[6];

    if (store_dir[0] != '\0' && ohlcx_store_open_existing(store_dir, &store) != 0)
        store = NULL;

    fputs("<section id=\"data-quality\">\n<h2>Data quality of the inputs</h2>\n", out);
    if (store != NULL) {
        fputs("<p>Check counts from the quality summaries in store <code>", out);
        ohlcx_html_escape(out, store_dir);
        fputs("</code>.</p>\n", out);
    } else if (store_dir[0] != '\0') {
        fputs("<p>The run read store <code>", out);
        ohlcx_html_escape(out, store_dir);
        fputs("</code>, which could not be opened, so only the run's own summary is "
              "shown.</p>\n",
              out);
    }
    fputs("<table id=\"data-quality-table\">\n<tr><th>symbol</th><th>timeframe</th>"
          "<th>file</th><th>bars filled</th><th>long gaps</th><th>samples excluded</th>"
          "<th>store checks with findings</th></tr>\n",
          out);
    cJSON_ArrayForEach(row, per_series)
    {
        fputs("<tr><td>", out);
        ohlcx_html_escape(out, report_string_of(row, "symbol"));
        fputs("</td><td>", out);
        ohlcx_html_escape(out, report_string_of(row, "timeframe"));
        fputs("</td><td>", out);
        ohlcx_html_escape(out, report_string_of(row, "file"));
        fputs("</td><td>", out);
        report_write_number(out, report_number_of(row, "bars_filled"), 0);
        fputs("</td><td>", out);
        report_write_number(out, report_number_of(row, "long_gaps"), 0);
        fputs("</td><td>", out);
        report_write_number(out, report_number_of(row, "samples_excluded"), 0);
        fputs("</td><td>", out);
        write_store_checks(out, store, report_string_of(row, "symbol"),
                           report_string_of(row, "timeframe"));
        fputs("</td></tr>\n", out);
    }
    fputs("</table>\n<figure id=\"figure-data-quality\">\n", out);
    ohlcx_store_close(store);

    if (cJSON_IsObject(rows)) {
        double read = fmax(1, report_number_of(rows, "read"));

        for (int i = 0; i < 6; i++) {
            bars[i].label = names[i];
            bars[i].value = report_number_of(rows, names[i]) / read;
        }
        chart_bars(out, "chart-data-quality",
                   "Rows read, dropped, skipped and filled, and samples kept and excluded, as "
                   "shares of the rows read",
                   bars, 6, 0, 1, NAN, "", 4);
    } else {
        report_write_unavailable(out, "chart-data-quality", "metrics.json has no rows summary.");
    }
    fputs("<figcaption>Counts over every input series, as shares of the rows read.</figcaption>"
          "\n</figure>\n</section>\n",
          out);
}


static int write_page(FILE *out, const report_run *run)
{
    write_header(out, run);
    write_summary(out, run);
    write_metrics_table(out, run);
    write_ablation(out, run);
    write_per_series(out, run);
    write_charts(out, run);
    write_importance(out, run);
    write_data_quality(out, run);
    fputs("<p class=\"note\">Written by ohlcx " OHLCX_VERSION
          " report. docs/evaluation.md defines every metric.</p>\n</body>\n</html>\n",
          out);
    return ferror(out) ? -1 : 0;
}


/* Fails unless run_dir holds what `ohlcx run` writes for a finished run:
 * model/manifest.json of format "ohlcx-model", and metrics.json (parsed in
 * metrics) with the test metrics of the combined model. */
static int check_run_folder(const char *run_dir, const cJSON *metrics)
{
    const cJSON *test = cJSON_GetObjectItemCaseSensitive(metrics, "test");
    const cJSON *format;
    cJSON *manifest;
    int status = 0;

    if (!cJSON_IsObject(metrics))
        return ohlcx_set_error(OHLCX_EFORMAT, "%s/metrics.json is not a JSON object", run_dir);
    if (!cJSON_IsObject(test) || !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(test, "n")))
        return ohlcx_set_error(OHLCX_EFORMAT, "%s/metrics.json lacks the \"test\" metrics "
                               "object: pass the --out folder of a finished 'ohlcx run'",
                               run_dir);
    manifest = read_json(run_dir, "model/manifest.json", 1, &status);
    if (manifest == NULL)
        return status;
    format = cJSON_GetObjectItemCaseSensitive(manifest, "format");
    if (!cJSON_IsString(format) || strcmp(format->valuestring, "ohlcx-model") != 0)
        status = ohlcx_set_error(OHLCX_EFORMAT, "%s/model/manifest.json is not a model "
                                 "manifest (expected \"format\": \"ohlcx-model\")", run_dir);
    cJSON_Delete(manifest);
    return status;
}


int ohlcx_report_write(const char *run_dir, const char *out_path)
{
    report_run run = {run_dir, NULL, NULL};
    char temporary[PATH_SIZE + 32];
    FILE *out = NULL;
    int status = 0, failed;

    run.metrics = read_json(run_dir, "metrics.json", 1, &status);
    if (run.metrics == NULL)
        return status;
    status = check_run_folder(run_dir, run.metrics);
    if (status != 0)
        goto done;
    run.checkpoint = read_json(run_dir, "checkpoints/run.json", 0, &status);

    snprintf(temporary, sizeof temporary, "%s.tmp-%ld", out_path, (long)getpid());
    out = fopen(temporary, "w");
    if (out == NULL) {
        status = ohlcx_set_error(OHLCX_EIO, "cannot create %s: %s", temporary, strerror(errno));
        goto done;
    }
    failed = write_page(out, &run) != 0;
    if (fclose(out) != 0)
        failed = 1;
    if (failed) {
        status = ohlcx_set_error(OHLCX_EIO, "cannot write %s: %s", temporary, strerror(errno));
        remove(temporary);
        goto done;
    }
    if (rename(temporary, out_path) != 0) {
        status = ohlcx_set_error(OHLCX_EIO, "cannot rename %s to %s: %s", temporary, out_path,
                                 strerror(errno));
        remove(temporary);
    }

done:
    cJSON_Delete(run.metrics);
    cJSON_Delete(run.checkpoint);
    return status;
}
