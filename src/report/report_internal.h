/*
 * Report: pieces shared by the page (report.c), its charts (charts.c) and
 * the feature-group importance (importance.c). Not part of the public API.
 */
#ifndef OHLCX_REPORT_INTERNAL_H
#define OHLCX_REPORT_INTERNAL_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>

/* Returns the number called name in object, or NaN when it is missing or
 * null (metrics.json writes NaN as null). */
double report_number_of(const cJSON *object, const char *name);

/* Returns the string called name in object, or "" when it is missing. */
const char *report_string_of(const cJSON *object, const char *name);

/* Writes value with the given decimals, or an em dash when it is NaN. */
void report_write_number(FILE *out, double value, int decimals);

/* Writes a p-value: 4 decimals above 0.001, else 3 significant digits. */
void report_write_p_value(FILE *out, double p);

/* Writes the "not available in this run" panel that stands in for the
 * chart chart_id, with why as its escaped reason. */
void report_write_unavailable(FILE *out, const char *chart_id, const char *why);

/* Returns line colour i of a fixed palette (cycles). */
const char *report_color(size_t i);

/* One bar of a horizontal bar chart. */
typedef struct report_bar {
    const char *label;
    double value;
} report_bar;

/* Draws horizontal bars on an axis from lo to hi, with a dashed reference
 * line at reference unless it is NaN. value_decimals sets the labels. */
void chart_bars(FILE *out, const char *id, const char *title, const report_bar *bars,
                size_t count, double lo, double hi, double reference, const char *reference_label,
                int value_decimals);

/* Draws train and validation loss by epoch for each CNN of the run's "cnn"
 * array. */
void chart_learning_curves(FILE *out, const cJSON *cnn);

/* Draws the 2 x 2 confusion matrix of the test predictions. */
void chart_confusion(FILE *out, double true_positives, double false_positives,
                     double true_negatives, double false_negatives);

/* Draws observed up share against mean predicted probability for each
 * calibration bin of bins (objects with count, mean_prob, up_share). */
void chart_calibration(FILE *out, const cJSON *bins);

/* Draws test accuracy of each series as a symbol x timeframe grid. */
void chart_heatmap(FILE *out, const cJSON *per_series);

/* Draws accuracy per walk-forward fold in time order against the majority
 * share. folds holds objects with test_first_open_time, accuracy and n. */
void chart_walk_forward(FILE *out, const cJSON *folds);

/* Total split gain of each feature group of an XGBoost model. */
typedef struct report_group_gain {
    const char *group;
    double gain;
} report_group_gain;

enum { REPORT_FEATURE_GROUPS = 9 };

/* Sums the split gain of every tree node of model/xgboost.json by feature
 * group, using the feature names the model stores. On failure writes the
 * reason into why and returns -1. */
int report_feature_group_gain(const char *model_path, report_group_gain gains[REPORT_FEATURE_GROUPS],
                              char *why, size_t why_size);

#endif
