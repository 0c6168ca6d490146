/*
 * Report: feature-group importance of the run's XGBoost model.
 *
 * model/xgboost.json (XGBoost's JSON model format) lists, for every tree,
 * the feature index and the loss change (gain) of each split node; leaves
 * have left_children == -1. Summing the gain by feature and then by group
 * gives XGBoost's "total_gain" importance, grouped. Gain measures how much
 * the training loss fell at splits on a group, not how much the test
 * accuracy depends on it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_internal.h"

static const char *const group_names[REPORT_FEATURE_GROUPS] = {
    "CNN embedding", "returns", "volatility",       "momentum", "Bollinger bands",
    "volume",        "ids",     "higher timeframe", "other",
};


/* Returns 1 when name starts with a higher-timeframe prefix such as "h4_"
 * or "d1_": letters, digits, then an underscore. */
static int has_higher_prefix(const char *name)
{
    size_t i = 0;

    while (islower((unsigned char)name[i]))
        i++;
    if (i == 0 || !isdigit((unsigned char)name[i]))
        return 0;
    while (isdigit((unsigned char)name[i]))
        i++;
    return name[i] == '_';
}


static int starts_with(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}


/* Returns the group index of an XGBoost column name (features.h names). */
static int feature_group(const char *name)
{
    size_t length = strlen(name);

    if (starts_with(name, "cnn_embedding_"))
        return 0;
    if (has_higher_prefix(name))
        return 7;
    if (starts_with(name, "ret_"))
        return 1;
    if (starts_with(name, "volatility_") || starts_with(name, "atr_"))
        return 2;
    if (starts_with(name, "rsi_") || starts_with(name, "macd"))
        return 3;
    if (starts_with(name, "bb_"))
        return 4;
    if (starts_with(name, "volume_"))
        return 5;
    if (length > 3 && strcmp(name + length - 3, "_id") == 0)
        return 6;
    return 8;
}


static char *read_text(const char *path, char *why, size_t why_size)
{
    FILE *file = fopen(path, "rb");
    char *text = NULL;
    long size;

    if (file == NULL) {
        snprintf(why, why_size, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fseek(file, 0, SEEK_END) == 0 && (size = ftell(file)) >= 0 &&
        fseek(file, 0, SEEK_SET) == 0) {
        text = malloc((size_t)size + 1);
        if (text != NULL && fread(text, 1, (size_t)size, file) == (size_t)size) {
            text[size] = '\0';
        } else {
            free(text);
            text = NULL;
        }
    }
    if (text == NULL)
        snprintf(why, why_size, "cannot read %s", path);
    fclose(file);
    return text;
}


/* Adds the gain of every split node of one tree to by_group. */
static void add_tree_gain(const cJSON *tree, const int *column_group, int column_count,
                          double by_group[REPORT_FEATURE_GROUPS])
{
    const cJSON *split = cJSON_GetObjectItemCaseSensitive(tree, "split_indices");
    const cJSON *gain = cJSON_GetObjectItemCaseSensitive(tree, "loss_changes");
    const cJSON *left = cJSON_GetObjectItemCaseSensitive(tree, "left_children");
    const cJSON *s, *g, *l;

    s = split ? split->child : NULL;
    g = gain ? gain->child : NULL;
    l = left ? left->child : NULL;
    for (; s != NULL && g != NULL && l != NULL; s = s->next, g = g->next, l = l->next) {
        int column = s->valueint;

        if (l->valueint == -1)
            continue; /* a leaf */
        by_group[column >= 0 && column < column_count ? column_group[column] : 8] +=
            g->valuedouble;
    }
}


int report_feature_group_gain(const char *model_path, report_group_gain gains[REPORT_FEATURE_GROUPS],
                              char *why, size_t why_size)
{
    char *text = read_text(model_path, why, why_size);
    cJSON *root = NULL;
    const cJSON *learner, *booster, *model, *trees, *names, *name, *tree;
    double by_group[REPORT_FEATURE_GROUPS] = {0};
    int *column_group = NULL;
    int column_count, status = -1;

    if (text == NULL)
        return -1;
    root = cJSON_Parse(text);
    free(text);
    learner = cJSON_GetObjectItemCaseSensitive(root, "learner");
    booster = cJSON_GetObjectItemCaseSensitive(learner, "gradient_booster");
    model = cJSON_GetObjectItemCaseSensitive(booster, "model");
    trees = cJSON_GetObjectItemCaseSensitive(model, "trees");
    names = cJSON_GetObjectItemCaseSensitive(learner, "feature_names");
    if (!cJSON_IsArray(trees) || !cJSON_IsArray(names)) {
        snprintf(why, why_size,
                 "%s is not an XGBoost gbtree model with feature names (learner.gradient_booster."
                 "model.trees and learner.feature_names)",
                 model_path);
        goto done;
    }

    column_count = cJSON_GetArraySize(names);
    column_group = malloc(((size_t)column_count + 1) * sizeof *column_group);
    if (column_group == NULL) {
        snprintf(why, why_size, "out of memory reading %s", model_path);
        goto done;
    }
    column_count = 0;
    cJSON_ArrayForEach(name, names)
        column_group[column_count++] = cJSON_IsString(name) ? feature_group(name->valuestring) : 8;
    cJSON_ArrayForEach(tree, trees)
        add_tree_gain(tree, column_group, column_count, by_group);

    for (int g = 0; g < REPORT_FEATURE_GROUPS; g++) {
        gains[g].group = group_names[g];
        gains[g].gain = by_group[g];
    }
    status = 0;

done:
    free(column_group);
    cJSON_Delete(root);
    return status;
}
