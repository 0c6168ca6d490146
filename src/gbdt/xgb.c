/*
 * GBDT: a checked wrapper around XGBoost's C API (libxgboost 1.7).
 *
 * Training adds one boosting round at a time and scores the validation rows
 * after each. When early_stopping rounds pass without a strictly lower log
 * loss, training stops, and the booster is sliced to the rounds up to and
 * including the best one. So a model handle only ever contains the kept
 * rounds: prediction uses all of its trees, and the saved JSON contains
 * nothing else.
 *
 * The validation log loss is computed here instead of by
 * XGBoosterEvalOneIter. On a quantile DMatrix XGBoost 1.7 scores each row by
 * turning its bin indices back into values (GHistIndexMatrix::GetFvalue),
 * which cost more than the training itself, and a plain DMatrix would hold
 * the whole validation matrix as floats. So each round reads the validation
 * rows again in batches, walks the new tree on them, and adds its output to
 * a float margin per row, as XGBoost's prediction cache does. The loss then
 * follows XGBoost's "logloss" metric, so it matches XGBoosterEvalOneIter on
 * a DMatrix of the same rows up to the order of a double sum.
 *
 * Every XGBoost call is checked. A failure becomes OHLCX_ELIB with the name
 * of the call and XGBGetLastError() in the message.
 *
 * libxgboost is loaded with dlopen() on first use (src/util/libraries.c), and
 * its functions are called through the table xgb points to. The functions
 * that create a model (ohlcx_gbdt_train(), ohlcx_gbdt_train_source() and
 * ohlcx_gbdt_load()) load it first, and every other XGBoost call needs a
 * model or a matrix made after that.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <xgboost/c_api.h>

#include "ohlcx/error.h"
#include "ohlcx/gbdt.h"
#include "util/libraries.h"

static const ohlcx_xgboost_api *const xgb = &ohlcx_xgboost;

struct ohlcx_gbdt {
    BoosterHandle booster;
    size_t n_features;
    int rounds;      /* boosting rounds in booster */
    int threads;     /* nthread for prediction */
    double *losses;  /* validation log loss after each trained round, or NULL */
    int loss_count;  /* entries in losses: the rounds trained, kept or not */
};

/* Maximum accepted by max_rounds; far above any useful value. */
#define MAX_ROUNDS_LIMIT 1000000

/* Validation rows that ohlcx_gbdt_train() copies per batch for scoring. */
#define ARRAY_BATCH_ROWS 16384


/* Turns a non-zero XGBoost return code into OHLCX_ELIB with its message. */
static int xgb_check(int rc, const char *call)
{
    if (rc == 0)
        return 0;
    return ohlcx_set_error(OHLCX_ELIB, "XGBoost %s failed: %s", call, xgb->XGBGetLastError());
}


void ohlcx_gbdt_options_default(ohlcx_gbdt_options *options)
{
    options->max_depth = 4;
    options->learning_rate = 0.05;
    options->max_rounds = 400;
    options->early_stopping = 30;
    options->subsample = 0.8;
    options->colsample_bytree = 0.8;
    options->min_child_weight = 5;
    options->positive_weight = 1;
    options->threads = 1;
    options->seed = 0;
}


static int check_fraction(double value, const char *name)
{
    if (value > 0 && value <= 1)
        return 0;
    return ohlcx_set_error(OHLCX_EINVAL, "invalid GBDT option %s %g: use a value in (0, 1]",
                           name, value);
}


static int check_options(const ohlcx_gbdt_options *options)
{
    int status = 0;

    if (options->max_depth < 1 || options->max_depth > 64)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid GBDT max_depth %d: use 1 to 64",
                               options->max_depth);
    if (options->max_rounds < 1 || options->max_rounds > MAX_ROUNDS_LIMIT)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid GBDT max_rounds %d: use 1 to %d",
                               options->max_rounds, MAX_ROUNDS_LIMIT);
    if (options->early_stopping < 0)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid GBDT early_stopping %d: use 0 (off) or a positive "
                               "number of rounds",
                               options->early_stopping);
    if (!(options->min_child_weight >= 0) || isinf(options->min_child_weight))
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid GBDT min_child_weight %g: use a finite value >= 0",
                               options->min_child_weight);
    if (options->threads < 1)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid GBDT threads %d: use 1 or more",
                               options->threads);
    if (!(options->positive_weight > 0) || isinf(options->positive_weight))
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid GBDT positive_weight %g: use a finite value above 0",
                               options->positive_weight);
    status = check_fraction(options->learning_rate, "learning_rate");
    if (status == 0)
        status = check_fraction(options->subsample, "subsample");
    if (status == 0)
        status = check_fraction(options->colsample_bytree, "colsample_bytree");
    return status;
}


/* Checks that every label is exactly 0 or 1. */
static int check_labels(const float *y, size_t n, const char *part)
{
    for (size_t row = 0; row < n; row++)
        if (y[row] != 0.0f && y[row] != 1.0f)
            return ohlcx_set_error(OHLCX_EINVAL,
                                   "invalid %s label %g at row %zu: labels must be 0 or 1", part,
                                   (double)y[row], row);
    return 0;
}


static int check_train_inputs(const float *x_train, const float *y_train, size_t n_train,
                              const float *x_val, const float *y_val, size_t n_val,
                              size_t n_features, const ohlcx_gbdt_options *options,
                              ohlcx_gbdt **out)
{
    int status;

    if (out == NULL || options == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid GBDT call: options and out must be set");
    if (n_train == 0 || x_train == NULL || y_train == NULL)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid GBDT training set: %zu rows; give at least one row "
                               "with features and labels",
                               n_train);
    if (n_val > 0 && (x_val == NULL || y_val == NULL))
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid GBDT validation set: %zu rows but no features or labels",
                               n_val);
    if (n_features == 0 || n_features > SIZE_MAX / sizeof(float) / n_train ||
        (n_val > 0 && n_features > SIZE_MAX / sizeof(float) / n_val))
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid GBDT feature count %zu for %zu training rows", n_features,
                               n_train);
    status = check_options(options);
    if (status == 0)
        status = check_labels(y_train, n_train, "training");
    if (status == 0)
        status = check_labels(y_val, n_val, "validation");
    return status;
}


/* Builds a DMatrix from a dense row-major matrix (NaN is missing) and its labels. */
static int make_dmatrix(const float *x, const float *y, size_t n, size_t n_features, int threads,
                        DMatrixHandle *out)
{
    int status;

    *out = NULL;
    status = xgb_check(xgb->XGDMatrixCreateFromMat_omp(x, (bst_ulong)n, (bst_ulong)n_features, NAN,
                                                       out, threads),
                       "XGDMatrixCreateFromMat");
    if (status == 0 && y != NULL)
        status = xgb_check(xgb->XGDMatrixSetFloatInfo(*out, "label", y, (bst_ulong)n),
                           "XGDMatrixSetFloatInfo(label)");
    return status;
}


static int set_param(BoosterHandle booster, const char *name, const char *value)
{
    if (xgb->XGBoosterSetParam(booster, name, value) == 0)
        return 0;
    return ohlcx_set_error(OHLCX_ELIB, "XGBoost XGBoosterSetParam(%s=%s) failed: %s", name,
                           value, xgb->XGBGetLastError());
}


/* Sets the training parameters. The 64-bit seed is folded to 31 bits, which
 * every XGBoost version accepts as its integer seed, and seeds below 2^31
 * pass unchanged. */
static int set_train_params(BoosterHandle booster, const ohlcx_gbdt_options *options)
{
    char text[64];
    uint64_t seed = (options->seed ^ (options->seed >> 32)) & UINT64_C(0x7fffffff);
    int status = 0;

    status = set_param(booster, "objective", "binary:logistic");
    if (status == 0)
        status = set_param(booster, "tree_method", "hist");
    if (status == 0)
        status = set_param(booster, "eval_metric", "logloss");
    if (status == 0)
        status = set_param(booster, "verbosity", "0");
    snprintf(text, sizeof text, "%d", options->max_depth);
    if (status == 0)
        status = set_param(booster, "max_depth", text);
    snprintf(text, sizeof text, "%.17g", options->learning_rate);
    if (status == 0)
        status = set_param(booster, "eta", text);
    snprintf(text, sizeof text, "%.17g", options->subsample);
    if (status == 0)
        status = set_param(booster, "subsample", text);
    snprintf(text, sizeof text, "%.17g", options->colsample_bytree);
    if (status == 0)
        status = set_param(booster, "colsample_bytree", text);
    snprintf(text, sizeof text, "%.17g", options->min_child_weight);
    if (status == 0)
        status = set_param(booster, "min_child_weight", text);
    snprintf(text, sizeof text, "%.17g", options->positive_weight);
    if (status == 0)
        status = set_param(booster, "scale_pos_weight", text);
    snprintf(text, sizeof text, "%d", options->threads);
    if (status == 0)
        status = set_param(booster, "nthread", text);
    snprintf(text, sizeof text, "%" PRIu64, seed);
    if (status == 0)
        status = set_param(booster, "seed", text);
    return status;
}


/* Fills rows first to first + count - 1 of a source and checks their
 * labels. part ("training" or "validation") names the source in messages. */
static int fill_batch(const ohlcx_gbdt_source *source, const char *part, size_t first,
                      size_t count, float *x, float *y)
{
    int status = source->fill(source->context, first, count, x, y);

    if (status > 0)
        return ohlcx_set_error(OHLCX_EINVAL, "GBDT %s rows %zu to %zu: the fill returned %d",
                               part, first, first + count - 1, status);
    if (status != 0)
        return status;
    for (size_t row = 0; row < count; row++)
        if (y[row] != 0.0f && y[row] != 1.0f)
            return ohlcx_set_error(OHLCX_EINVAL,
                                   "invalid %s label %g at row %zu: labels must be 0 or 1", part,
                                   (double)y[row], first + row);
    return 0;
}


/*
 * Batches of a row source handed to XGBoost through its data iterator. A
 * fill or label failure ends the iteration early; the failure is kept in
 * status and message, and the caller reports it after XGBoost returns.
 */
typedef struct batch_iterator {
    const ohlcx_gbdt_source *source;
    const char *part;   /* "training" or "validation", for messages */
    size_t n_features;
    size_t batch_rows;
    size_t next_row;    /* first row of the next batch */
    float *x;           /* batch_rows x n_features */
    float *y;           /* batch_rows */
    DMatrixHandle proxy;
    int status;
    char message[1024];
} batch_iterator;


static void iterator_fail(batch_iterator *it, int status)
{
    it->status = status;
    snprintf(it->message, sizeof it->message, "%s", ohlcx_last_error());
}


static void iterator_reset(DataIterHandle handle)
{
    batch_iterator *it = handle;

    it->next_row = 0;
}


/* Fills the next batch and hands it to the proxy; returns 0 at the end. */
static int iterator_next(DataIterHandle handle)
{
    batch_iterator *it = handle;
    size_t count = it->source->rows - it->next_row;
    char interface[256];
    int status;

    if (it->status != 0 || count == 0)
        return 0;
    if (count > it->batch_rows)
        count = it->batch_rows;
    status = fill_batch(it->source, it->part, it->next_row, count, it->x, it->y);
    snprintf(interface, sizeof interface,
             "{\"data\": [%" PRIuPTR ", true], \"shape\": [%zu, %zu], "
             "\"typestr\": \"<f4\", \"version\": 3}",
             (uintptr_t)it->x, count, it->n_features);
    if (status == 0)
        status = xgb_check(xgb->XGProxyDMatrixSetDataDense(it->proxy, interface),
                           "XGProxyDMatrixSetDataDense");
    if (status == 0)
        status = xgb_check(xgb->XGDMatrixSetFloatInfo(it->proxy, "label", it->y, (bst_ulong)count),
                           "XGDMatrixSetFloatInfo(label)");
    if (status != 0) {
        iterator_fail(it, status);
        return 0;
    }
    it->next_row += count;
    return 1;
}


/* Builds a quantile DMatrix of 256 bins per feature from a source, batch by
 * batch. */
static int make_quantile_dmatrix(const ohlcx_gbdt_source *source, const char *part,
                                 size_t n_features, size_t batch_rows, int threads,
                                 DMatrixHandle *out)
{
    batch_iterator it = {.source = source, .part = part, .n_features = n_features,
                         .batch_rows = batch_rows};
    char config[128];
    bst_ulong rows = 0;
    int status;

    *out = NULL;
    if (it.batch_rows > source->rows)
        it.batch_rows = source->rows;
    it.x = malloc(it.batch_rows * n_features * sizeof *it.x);
    it.y = malloc(it.batch_rows * sizeof *it.y);
    if (it.x == NULL || it.y == NULL) {
        status = ohlcx_set_error(OHLCX_ENOMEM, "out of memory for a GBDT batch of %zu rows",
                                 it.batch_rows);
        goto done;
    }
    status = xgb_check(xgb->XGProxyDMatrixCreate(&it.proxy), "XGProxyDMatrixCreate");
    if (status != 0)
        goto done;
    snprintf(config, sizeof config, "{\"missing\": NaN, \"nthread\": %d, \"max_bin\": 256}",
             threads);
    status = xgb_check(xgb->XGQuantileDMatrixCreateFromCallback(&it, it.proxy, NULL, iterator_reset,
                                                                iterator_next, config, out),
                       "XGQuantileDMatrixCreateFromCallback");
    /* A failed batch ends the iteration early, which XGBoost may then report
     * in its own words: the batch's failure is the one to return. */
    if (it.status != 0)
        status = ohlcx_set_error(it.status, "%s", it.message);
    if (status == 0)
        status = xgb_check(xgb->XGDMatrixNumRow(*out, &rows), "XGDMatrixNumRow");
    if (status == 0 && rows != (bst_ulong)source->rows)
        status = ohlcx_set_error(OHLCX_ELIB,
                                 "XGBoost built a %s matrix of %llu rows from %zu rows", part,
                                 (unsigned long long)rows, source->rows);
done:
    if (status != 0 && *out != NULL) {
        xgb->XGDMatrixFree(*out);
        *out = NULL;
    }
    if (it.proxy != NULL)
        xgb->XGDMatrixFree(it.proxy);
    free(it.x);
    free(it.y);
    return status;
}


/*
 * Validation rows scored after every round without holding their features:
 * a float margin per row, and one batch that each round fills again from the
 * source.
 *
 * The new tree is read from the booster (sliced to that round and saved as
 * JSON) and walked here. XGBoosterPredictFromDense would give the same
 * values, but XGBoost 1.7 reads every element of a dense array through a
 * type switch, and on the demo universe that cost about as much as the
 * training round. A walk reads only the split features on a row's path.
 *
 * The margins grow as XGBoost's prediction cache does: they start at the
 * base margin, and each round adds its tree's output in float. So they equal
 * the margins that XGBoosterEvalOneIter scores, bit for bit.
 */

/* A node of a regression tree, as XGBoost's JSON model stores it. */
typedef struct tree_node {
    int left;         /* child id, or -1 at a leaf */
    int right;
    int default_left; /* 1 when a missing (NaN) value goes left */
    size_t feature;   /* split feature */
    float value;      /* split condition (values below it go left), or the output at a leaf */
} tree_node;

typedef struct validation_scorer {
    const ohlcx_gbdt_source *source;
    size_t n_features;
    size_t batch_rows;
    float *x;         /* batch_rows x n_features */
    float *y;         /* batch_rows */
    float *margin;    /* source->rows margins of the rounds so far */
    tree_node *tree;  /* the last round's tree */
    size_t tree_nodes;
    size_t tree_capacity;
} validation_scorer;


static void scorer_free(validation_scorer *scorer)
{
    free(scorer->x);
    free(scorer->y);
    free(scorer->margin);
    free(scorer->tree);
    memset(scorer, 0, sizeof *scorer);
}


static int scorer_init(validation_scorer *scorer, const ohlcx_gbdt_source *source,
                       size_t n_features, size_t batch_rows)
{
    memset(scorer, 0, sizeof *scorer);
    scorer->source = source;
    scorer->n_features = n_features;
    scorer->batch_rows = batch_rows < source->rows ? batch_rows : source->rows;
    scorer->x = malloc(scorer->batch_rows * n_features * sizeof *scorer->x);
    scorer->y = malloc(scorer->batch_rows * sizeof *scorer->y);
    scorer->margin = malloc(source->rows * sizeof *scorer->margin);
    if (scorer->x == NULL || scorer->y == NULL || scorer->margin == NULL) {
        scorer_free(scorer);
        return ohlcx_set_error(OHLCX_ENOMEM,
                               "out of memory scoring %zu GBDT validation rows", source->rows);
    }
    return 0;
}


/* Reports a model JSON from XGBoosterSaveModelToBuffer that the scorer
 * cannot walk. */
static int model_json_error(const char *problem)
{
    return ohlcx_set_error(OHLCX_ELIB,
                           "cannot score the validation rows: the JSON model that XGBoost "
                           "saved has %s. This wrapper reads the format of libxgboost 1.7.",
                           problem);
}


/* Returns the array `name` of a JSON tree if it has `nodes` numbers, else NULL. */
static const cJSON *node_array(const cJSON *tree, const char *name, int nodes)
{
    const cJSON *array = cJSON_GetObjectItemCaseSensitive(tree, name);

    if (!cJSON_IsArray(array) || cJSON_GetArraySize(array) != nodes)
        return NULL;
    return array;
}


/* Returns 1 when item is a JSON integer in [minimum, maximum). */
static int is_integer_in(const cJSON *item, double minimum, double maximum)
{
    return cJSON_IsNumber(item) && item->valuedouble >= minimum &&
           item->valuedouble < maximum && item->valuedouble == floor(item->valuedouble);
}


/* Reads one tree of XGBoost's JSON model into the scorer. Every child id and
 * split feature is checked, so that walking the tree stays in bounds. */
static int read_tree(validation_scorer *scorer, const cJSON *tree)
{
    const cJSON *left_children = cJSON_GetObjectItemCaseSensitive(tree, "left_children");
    int nodes = cJSON_IsArray(left_children) ? cJSON_GetArraySize(left_children) : 0;
    const cJSON *right_children = node_array(tree, "right_children", nodes);
    const cJSON *split_indices = node_array(tree, "split_indices", nodes);
    const cJSON *split_conditions = node_array(tree, "split_conditions", nodes);
    const cJSON *default_left = node_array(tree, "default_left", nodes);
    const cJSON *split_type = cJSON_GetObjectItemCaseSensitive(tree, "split_type");
    const cJSON *left = NULL, *right = NULL, *index = NULL, *condition = NULL, *missing = NULL;

    if (nodes < 1 || right_children == NULL || split_indices == NULL ||
        split_conditions == NULL || default_left == NULL)
        return model_json_error("a tree without node arrays of one size");
    if ((size_t)nodes > scorer->tree_capacity) {
        tree_node *grown = realloc(scorer->tree, (size_t)nodes * sizeof *grown);

        if (grown == NULL)
            return ohlcx_set_error(OHLCX_ENOMEM, "out of memory for a tree of %d nodes", nodes);
        scorer->tree = grown;
        scorer->tree_capacity = (size_t)nodes;
    }
    scorer->tree_nodes = (size_t)nodes;

    left = left_children->child;
    right = right_children->child;
    index = split_indices->child;
    condition = split_conditions->child;
    missing = default_left->child;
    for (int id = 0; id < nodes; id++) {
        tree_node *node = &scorer->tree[id];

        if (!is_integer_in(left, -1, nodes) || !is_integer_in(right, -1, nodes) ||
            !is_integer_in(index, 0, (double)scorer->n_features) ||
            !cJSON_IsNumber(condition) || !cJSON_IsNumber(missing))
            return model_json_error("a tree node with a child or feature out of range");
        node->left = (int)left->valuedouble;
        node->right = (int)right->valuedouble;
        node->default_left = missing->valuedouble != 0;
        node->feature = (size_t)index->valuedouble;
        node->value = (float)condition->valuedouble;
        if (node->left >= 0 && node->right < 0)
            return model_json_error("a split node without a right child");
        left = left->next;
        right = right->next;
        index = index->next;
        condition = condition->next;
        missing = missing->next;
    }

    /* Categorical splits test set membership instead of "<". This wrapper
     * never declares a feature categorical, so XGBoost makes none. */
    for (const cJSON *type = cJSON_IsArray(split_type) ? split_type->child : NULL; type != NULL;
         type = type->next)
        if (type->valuedouble != 0)
            return model_json_error("a categorical split");
    return 0;
}


/* Reads the base margin of binary:logistic from the model's base_score, as
 * XGBoost 1.7 turns it into a margin: -log(1 / base_score - 1) in float. */
static int read_base_margin(const cJSON *learner, float *base_margin)
{
    const cJSON *parameters = cJSON_GetObjectItemCaseSensitive(learner, "learner_model_param");
    const cJSON *base_score = cJSON_GetObjectItemCaseSensitive(parameters, "base_score");
    char *end = NULL;
    float score;

    if (!cJSON_IsString(base_score))
        return model_json_error("no learner_model_param.base_score");
    score = strtof(base_score->valuestring, &end);
    if (end == base_score->valuestring || !(score > 0.0f && score < 1.0f))
        return model_json_error("a base_score outside (0, 1)");
    *base_margin = -logf(1.0f / score - 1.0f);
    return 0;
}


/* Reads the tree of round `round` into the scorer, and at round 0 also the
 * base margin. */
static int read_round_tree(BoosterHandle booster, validation_scorer *scorer, int round,
                           float *base_margin)
{
    BoosterHandle sliced = NULL;
    const char *json = NULL;
    bst_ulong length = 0;
    cJSON *model = NULL;
    const cJSON *learner, *trees;
    int status = xgb_check(xgb->XGBoosterSlice(booster, round, round + 1, 1, &sliced),
                           "XGBoosterSlice");

    if (status == 0)
        status = xgb_check(xgb->XGBoosterSaveModelToBuffer(sliced, "{\"format\": \"json\"}",
                                                           &length, &json),
                           "XGBoosterSaveModelToBuffer");
    if (status == 0) {
        model = cJSON_ParseWithLength(json, (size_t)length);
        if (model == NULL)
            status = model_json_error("invalid JSON syntax");
    }
    learner = cJSON_GetObjectItemCaseSensitive(model, "learner");
    trees = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(learner, "gradient_booster"), "model"),
        "trees");
    /* One tree per round: this wrapper never sets num_parallel_tree. */
    if (status == 0 && (!cJSON_IsArray(trees) || cJSON_GetArraySize(trees) != 1))
        status = model_json_error("a round with other than one tree");
    if (status == 0)
        status = read_tree(scorer, trees->child);
    if (status == 0 && round == 0)
        status = read_base_margin(learner, base_margin);
    cJSON_Delete(model);
    if (sliced != NULL)
        xgb->XGBoosterFree(sliced);
    return status;
}


/* Returns the output of the scorer's tree for one row, walking from the
 * root. The walk takes at most one step per node, so a tree with a cycle
 * fails instead of looping. */
static int walk_tree(const validation_scorer *scorer, const float *row, float *output)
{
    const tree_node *tree = scorer->tree;
    size_t id = 0;

    for (size_t steps = 0; steps < scorer->tree_nodes; steps++) {
        const tree_node *node = &tree[id];
        float value;

        if (node->left < 0) {
            *output = node->value;
            return 0;
        }
        value = row[node->feature];
        if (isnan(value))
            id = (size_t)(node->default_left ? node->left : node->right);
        else
            id = (size_t)(value < node->value ? node->left : node->right);
    }
    return model_json_error("a tree with a cycle");
}


/* Log loss of one row as the "logloss" metric of XGBoost 1.7 computes it:
 * the sigmoid and the logarithm in float, and the probability of the true
 * label clipped below at 1e-16. */
static float row_log_loss(float label, float margin)
{
    const float eps = 1e-16f;
    float p = 1.0f / (1.0f + expf(-margin));

    if (label != 0.0f)
        return -logf(fmaxf(p, eps));
    return -logf(fmaxf(1.0f - p, eps));
}


/* Adds the scorer's tree to the margins of rows first to first + count - 1,
 * which are in its batch, and adds their log loss to *sum. At round 0 the
 * margins start at base_margin. */
static int score_batch(validation_scorer *scorer, int round, float base_margin, size_t first,
                       size_t count, double *sum)
{
    for (size_t i = 0; i < count; i++) {
        float *margin = &scorer->margin[first + i];
        float output = 0;
        int status = walk_tree(scorer, scorer->x + i * scorer->n_features, &output);

        if (status != 0)
            return status;
        if (round == 0)
            *margin = base_margin;
        *margin += output;
        *sum += row_log_loss(scorer->y[i], *margin);
    }
    return 0;
}


/* Scores the booster after round `round` (rounds 0 to round - 1 already
 * scored) and stores the mean validation log loss in *loss. */
static int score_round(BoosterHandle booster, validation_scorer *scorer, int round, double *loss)
{
    size_t rows = scorer->source->rows;
    float base_margin = 0;
    double sum = 0;
    int status = read_round_tree(booster, scorer, round, &base_margin);

    for (size_t first = 0; first < rows && status == 0; first += scorer->batch_rows) {
        size_t count = rows - first < scorer->batch_rows ? rows - first : scorer->batch_rows;

        status = fill_batch(scorer->source, "validation", first, count, scorer->x, scorer->y);
        if (status == 0)
            status = score_batch(scorer, round, base_margin, first, count, &sum);
    }
    *loss = sum / (double)rows;
    return status;
}


/* Runs the boosting rounds and returns the number to keep in *kept: all of
 * them without a scorer, else the rounds up to the one with the lowest
 * validation log loss. Each round's loss goes to model->losses. */
static int boost_rounds(ohlcx_gbdt *model, DMatrixHandle train, validation_scorer *scorer,
                        const ohlcx_gbdt_options *options, int *kept)
{
    double best_loss = INFINITY;
    int best_round = -1;

    for (int round = 0; round < options->max_rounds; round++) {
        double loss = 0;
        int status = xgb_check(xgb->XGBoosterUpdateOneIter(model->booster, round, train),
                               "XGBoosterUpdateOneIter");

        if (status != 0)
            return status;
        if (scorer == NULL) {
            best_round = round;
            continue;
        }
        status = score_round(model->booster, scorer, round, &loss);
        if (status != 0)
            return status;
        model->losses[model->loss_count++] = loss;

        if (loss < best_loss) {
            best_loss = loss;
            best_round = round;
        } else if (round - best_round >= options->early_stopping) {
            break;
        }
    }
    *kept = best_round + 1;
    return 0;
}


/* Replaces model->booster by its first `rounds` rounds. */
static int keep_rounds(ohlcx_gbdt *model, int trained, int rounds)
{
    BoosterHandle sliced = NULL;
    char threads[32];
    int status;

    if (rounds == trained)
        return 0;
    status = xgb_check(xgb->XGBoosterSlice(model->booster, 0, rounds, 1, &sliced),
                       "XGBoosterSlice");
    if (status != 0)
        return status;
    xgb->XGBoosterFree(model->booster);
    model->booster = sliced;
    snprintf(threads, sizeof threads, "%d", model->threads);
    return set_param(model->booster, "nthread", threads);
}


static int count_rounds(BoosterHandle booster, int *rounds)
{
    return xgb_check(xgb->XGBoosterBoostedRounds(booster, rounds), "XGBoosterBoostedRounds");
}


/* Trains a model on a DMatrix handle that the caller frees. scorer, when not
 * NULL, scores the validation rows for early stopping. */
static int train_on_matrix(DMatrixHandle train, validation_scorer *scorer, size_t n_features,
                           const ohlcx_gbdt_options *options, ohlcx_gbdt **out)
{
    ohlcx_gbdt *model = calloc(1, sizeof *model);
    int trained = 0, kept = 0;
    int status = 0;

    if (model == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory allocating a GBDT model");
    model->n_features = n_features;
    model->threads = options->threads;
    if (scorer != NULL) {
        model->losses = malloc((size_t)options->max_rounds * sizeof *model->losses);
        if (model->losses == NULL)
            status = ohlcx_set_error(OHLCX_ENOMEM, "out of memory for %d GBDT round losses",
                                     options->max_rounds);
    }
    if (status == 0)
        status = xgb_check(xgb->XGBoosterCreate(&train, 1, &model->booster), "XGBoosterCreate");
    if (status == 0)
        status = set_train_params(model->booster, options);
    if (status == 0)
        status = boost_rounds(model, train, scorer, options, &kept);
    if (status == 0)
        status = count_rounds(model->booster, &trained);
    if (status == 0)
        status = keep_rounds(model, trained, kept);
    if (status != 0) {
        ohlcx_gbdt_free(model);
        return status;
    }
    model->rounds = kept;
    *out = model;
    return 0;
}


/* Rows of a dense matrix and its labels, as a source. */
typedef struct array_rows {
    const float *x;
    const float *y;
    size_t n_features;
} array_rows;


static int fill_array_rows(void *context, size_t first, size_t count, float *x, float *y)
{
    const array_rows *rows = context;

    memcpy(x, rows->x + first * rows->n_features, count * rows->n_features * sizeof *x);
    memcpy(y, rows->y + first, count * sizeof *y);
    return 0;
}


int ohlcx_gbdt_train(const float *x_train, const float *y_train, size_t n_train,
                     const float *x_val, const float *y_val, size_t n_val,
                     size_t n_features, const ohlcx_gbdt_options *options,
                     ohlcx_gbdt **out)
{
    array_rows validation_rows = {x_val, y_val, n_features};
    ohlcx_gbdt_source validation = {fill_array_rows, &validation_rows, n_val};
    validation_scorer scorer = {0};
    int use_scorer = n_val > 0 && options != NULL && options->early_stopping > 0;
    DMatrixHandle train = NULL;
    int status = check_train_inputs(x_train, y_train, n_train, x_val, y_val, n_val, n_features,
                                    options, out);

    if (status == 0)
        status = ohlcx_xgboost_load();
    if (status != 0)
        return status;
    *out = NULL;
    status = make_dmatrix(x_train, y_train, n_train, n_features, options->threads, &train);
    if (status == 0 && use_scorer)
        status = scorer_init(&scorer, &validation, n_features, ARRAY_BATCH_ROWS);
    if (status == 0)
        status = train_on_matrix(train, use_scorer ? &scorer : NULL, n_features, options, out);
    if (train != NULL)
        xgb->XGDMatrixFree(train);
    scorer_free(&scorer);
    return status;
}


int ohlcx_gbdt_train_source(const ohlcx_gbdt_source *train, const ohlcx_gbdt_source *validation,
                            size_t n_features, size_t batch_rows,
                            const ohlcx_gbdt_options *options, ohlcx_gbdt **out)
{
    DMatrixHandle train_matrix = NULL;
    validation_scorer scorer = {0};
    int use_scorer;
    int status;

    if (out == NULL || options == NULL || train == NULL)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid GBDT call: training source, options and out must be set");
    *out = NULL;
    use_scorer = validation != NULL && validation->rows > 0 && options->early_stopping > 0;
    if (train->rows == 0 || train->fill == NULL)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid GBDT training set: %zu rows; give at least one row "
                               "with features and labels",
                               train->rows);
    if (validation != NULL && validation->rows > 0 && validation->fill == NULL)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid GBDT validation set: %zu rows but no fill function",
                               validation->rows);
    if (n_features == 0 || batch_rows == 0 || n_features > SIZE_MAX / sizeof(float) / batch_rows)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid GBDT batch: %zu features x %zu rows", n_features,
                               batch_rows);
    status = check_options(options);
    if (status == 0)
        status = ohlcx_xgboost_load();
    if (status == 0)
        status = make_quantile_dmatrix(train, "training", n_features, batch_rows,
                                       options->threads, &train_matrix);
    if (status == 0 && use_scorer)
        status = scorer_init(&scorer, validation, n_features, batch_rows);
    if (status == 0)
        status = train_on_matrix(train_matrix, use_scorer ? &scorer : NULL, n_features, options,
                                 out);
    if (train_matrix != NULL)
        xgb->XGDMatrixFree(train_matrix);
    scorer_free(&scorer);
    return status;
}


int ohlcx_gbdt_predict(const ohlcx_gbdt *model, const float *x, size_t n, float *prob)
{
    static const char config[] = "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, "
                                 "\"iteration_end\": 0, \"strict_shape\": false}";
    DMatrixHandle matrix = NULL;
    const bst_ulong *shape = NULL;
    const float *result = NULL;
    bst_ulong dimensions = 0;
    int status;

    if (model == NULL || (n > 0 && (x == NULL || prob == NULL)))
        return ohlcx_set_error(OHLCX_EINVAL, "invalid GBDT prediction call: model, rows and "
                                             "output must be set");
    if (n == 0)
        return 0;
    if (model->n_features > SIZE_MAX / sizeof(float) / n)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid GBDT prediction size: %zu rows", n);

    status = make_dmatrix(x, NULL, n, model->n_features, model->threads, &matrix);
    if (status == 0)
        status = xgb_check(xgb->XGBoosterPredictFromDMatrix(model->booster, matrix, config, &shape,
                                                            &dimensions, &result),
                           "XGBoosterPredictFromDMatrix");
    if (status == 0 && (dimensions < 1 || shape[0] != (bst_ulong)n))
        status = ohlcx_set_error(OHLCX_ELIB,
                                 "XGBoost returned predictions of an unexpected shape for "
                                 "%zu rows",
                                 n);
    if (status == 0)
        memcpy(prob, result, n * sizeof *prob);
    if (matrix != NULL)
        xgb->XGDMatrixFree(matrix);
    return status;
}


int ohlcx_gbdt_rounds(const ohlcx_gbdt *model)
{
    return model->rounds;
}


size_t ohlcx_gbdt_feature_count(const ohlcx_gbdt *model)
{
    return model->n_features;
}


int ohlcx_gbdt_validation_losses(const ohlcx_gbdt *model, const double **losses)
{
    *losses = model->losses;
    return model->loss_count;
}


int ohlcx_gbdt_save(const ohlcx_gbdt *model, const char *path)
{
    const char *json = NULL;
    bst_ulong length = 0;
    FILE *file = NULL;
    int status;

    if (model == NULL || path == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "invalid GBDT save call: model and path must be set");

    /* Ask for JSON explicitly: XGBoosterSaveModel picks the format from the
     * file name and writes the old binary format unless it ends in .json. */
    status = xgb_check(xgb->XGBoosterSaveModelToBuffer(model->booster, "{\"format\": \"json\"}",
                                                       &length, &json),
                       "XGBoosterSaveModelToBuffer");
    if (status != 0)
        return status;

    file = fopen(path, "wb");
    if (file == NULL)
        return ohlcx_set_error(OHLCX_EIO, "cannot open %s for writing: %s", path,
                               strerror(errno));
    if (fwrite(json, 1, (size_t)length, file) != (size_t)length) {
        status = ohlcx_set_error(OHLCX_EIO, "cannot write %s: %s", path, strerror(errno));
        fclose(file);
        return status;
    }
    if (fclose(file) != 0)
        return ohlcx_set_error(OHLCX_EIO, "cannot write %s: %s", path, strerror(errno));
    return 0;
}


/* Reads a whole file into a new buffer. */
static int read_file(const char *path, char **data, size_t *length)
{
    FILE *file = fopen(path, "rb");
    long size = 0;
    int status = 0;

    *data = NULL;
    if (file == NULL)
        return ohlcx_set_error(OHLCX_EIO, "cannot open GBDT model %s: %s", path, strerror(errno));
    if (fseek(file, 0, SEEK_END) != 0 || (size = ftell(file)) < 0 || fseek(file, 0, SEEK_SET) != 0) {
        status = ohlcx_set_error(OHLCX_EIO, "cannot read GBDT model %s: %s", path,
                                 strerror(errno));
        goto done;
    }
    if (size == 0) {
        status = ohlcx_set_error(OHLCX_EFORMAT, "GBDT model %s is empty: save a model again",
                                 path);
        goto done;
    }
    *data = malloc((size_t)size);
    if (*data == NULL) {
        status = ohlcx_set_error(OHLCX_ENOMEM, "out of memory reading GBDT model %s", path);
        goto done;
    }
    if (fread(*data, 1, (size_t)size, file) != (size_t)size) {
        status = ohlcx_set_error(OHLCX_EIO, "cannot read GBDT model %s: %s", path,
                                 strerror(errno));
        free(*data);
        *data = NULL;
        goto done;
    }
    *length = (size_t)size;

done:
    fclose(file);
    return status;
}


/* Checks the loaded booster's feature count against the caller's. */
static int check_feature_count(BoosterHandle booster, const char *path, size_t *n_features)
{
    bst_ulong model_features = 0;
    int status = xgb_check(xgb->XGBoosterGetNumFeature(booster, &model_features),
                           "XGBoosterGetNumFeature");

    if (status != 0)
        return status;
    if (*n_features == 0) {
        *n_features = (size_t)model_features;
        return 0;
    }
    if ((bst_ulong)*n_features != model_features)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "GBDT model %s has %" PRIu64 " features, but the caller gives %zu: "
                               "use the feature set the model was trained on",
                               path, (uint64_t)model_features, *n_features);
    return 0;
}


int ohlcx_gbdt_load(const char *path, size_t n_features, int threads, ohlcx_gbdt **out)
{
    ohlcx_gbdt *model = NULL;
    char *data = NULL;
    size_t length = 0;
    char text[32];
    int status;

    if (path == NULL || out == NULL || threads < 1)
        return ohlcx_set_error(OHLCX_EINVAL,
                               "invalid GBDT load call: path and out must be set and threads "
                               "must be 1 or more (got %d)",
                               threads);
    *out = NULL;
    status = read_file(path, &data, &length);
    if (status != 0)
        return status;
    model = calloc(1, sizeof *model);
    if (model == NULL) {
        status = ohlcx_set_error(OHLCX_ENOMEM, "out of memory loading GBDT model %s", path);
        goto fail;
    }
    model->threads = threads;

    status = ohlcx_xgboost_load();
    if (status == 0)
        status = xgb_check(xgb->XGBoosterCreate(NULL, 0, &model->booster), "XGBoosterCreate");
    if (status == 0 &&
        xgb->XGBoosterLoadModelFromBuffer(model->booster, data, (bst_ulong)length) != 0)
        status = ohlcx_set_error(OHLCX_EFORMAT, "cannot load GBDT model %s: %s", path,
                                 xgb->XGBGetLastError());
    snprintf(text, sizeof text, "%d", threads);
    if (status == 0)
        status = set_param(model->booster, "nthread", text);
    if (status == 0)
        status = check_feature_count(model->booster, path, &n_features);
    if (status == 0)
        status = count_rounds(model->booster, &model->rounds);
    if (status != 0)
        goto fail;

    model->n_features = n_features;
    free(data);
    *out = model;
    return 0;

fail:
    free(data);
    ohlcx_gbdt_free(model);
    return status;
}


void ohlcx_gbdt_free(ohlcx_gbdt *model)
{
    if (model == NULL)
        return;
    if (model->booster != NULL)
        xgb->XGBoosterFree(model->booster);
    free(model->losses);
    free(model);
}


int ohlcx_gbdt_set_feature_names(ohlcx_gbdt *model, const char *const *names, size_t n)
{
    if (model == NULL || names == NULL || n != ohlcx_gbdt_feature_count(model))
        return ohlcx_set_error(OHLCX_EINVAL,
                               "ohlcx_gbdt_set_feature_names: %zu names for a model of %zu "
                               "features",
                               n, model ? ohlcx_gbdt_feature_count(model) : 0);
    return xgb_check(xgb->XGBoosterSetStrFeatureInfo(model->booster, "feature_name",
                                                     (const char **)names, (bst_ulong)n),
                     "XGBoosterSetStrFeatureInfo");
}
