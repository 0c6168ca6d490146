/*
 * Unit tests of the XGBoost wrapper: learning a threshold rule, early
 * stopping on noise, the validation loss and kept rounds against XGBoost's
 * own evaluation, JSON save and load, determinism and input checks.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <xgboost/c_api.h>

#include "ohlcx/error.h"
#include "ohlcx/gbdt.h"

#define ROWS 2000
#define FEATURES 6
#define TRAIN_ROWS 1200
#define VAL_ROWS 400
#define TEST_ROWS (ROWS - TRAIN_ROWS - VAL_ROWS)

/* A labelled table split into training, validation and test rows. */
typedef struct table {
    float x[ROWS * FEATURES];
    float y[ROWS];
} table;


static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}


static float uniform_pm1(uint64_t *state)
{
    return (float)((double)(next_random(state) >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}


/* Fills features uniform in [-1, 1), with every 10th value of column 2
 * missing. With noise_labels the label is a coin flip, else x0 > 0.3. */
static void make_table(table *t, int noise_labels)
{
    uint64_t state = 0x9e3779b97f4a7c15u;

    for (size_t row = 0; row < ROWS; row++) {
        for (size_t column = 0; column < FEATURES; column++)
            t->x[row * FEATURES + column] = uniform_pm1(&state);
        if (row % 10 == 0)
            t->x[row * FEATURES + 2] = NAN;
        if (noise_labels)
            t->y[row] = (float)(next_random(&state) >> 63);
        else
            t->y[row] = t->x[row * FEATURES] > 0.3f ? 1.0f : 0.0f;
    }
}


static const float *train_x(const table *t) { return t->x; }
static const float *train_y(const table *t) { return t->y; }
static const float *val_x(const table *t) { return t->x + TRAIN_ROWS * FEATURES; }
static const float *val_y(const table *t) { return t->y + TRAIN_ROWS; }
static const float *test_x(const table *t) { return t->x + (TRAIN_ROWS + VAL_ROWS) * FEATURES; }
static const float *test_y(const table *t) { return t->y + TRAIN_ROWS + VAL_ROWS; }


static ohlcx_gbdt *train_on(const table *t, const ohlcx_gbdt_options *options)
{
    ohlcx_gbdt *model = NULL;
    int status = ohlcx_gbdt_train(train_x(t), train_y(t), TRAIN_ROWS, val_x(t), val_y(t),
                                  VAL_ROWS, FEATURES, options, &model);

    if (status != 0)
        print_error("training failed: %s\n", ohlcx_last_error());
    assert_int_equal(status, 0);
    assert_non_null(model);
    return model;
}


static double log_loss(const float *prob, const float *y, size_t n)
{
    double sum = 0;

    for (size_t i = 0; i < n; i++) {
        double p = fmin(fmax((double)prob[i], 1e-7), 1 - 1e-7);
        sum -= y[i] > 0.5f ? log(p) : log(1 - p);
    }
    return sum / (double)n;
}


/* Makes an empty folder under /tmp; the caller removes it. */
static void make_temp_dir(char *path, size_t size)
{
    snprintf(path, size, "/tmp/ohlcx-test-gbdt-XXXXXX");
    assert_non_null(mkdtemp(path));
}


static void gbdt_threshold_accuracy(void **unused)
{
    static table t;
    static float prob[TEST_ROWS];
    ohlcx_gbdt_options options;
    ohlcx_gbdt *model;
    size_t correct = 0;

    make_table(&t, 0);
    ohlcx_gbdt_options_default(&options);
    model = train_on(&t, &options);
    assert_int_equal(ohlcx_gbdt_predict(model, test_x(&t), TEST_ROWS, prob), 0);
    for (size_t i = 0; i < TEST_ROWS; i++)
        correct += (prob[i] > 0.5f) == (test_y(&t)[i] > 0.5f);

    assert_true((double)correct / TEST_ROWS > 0.95);
    assert_int_equal(ohlcx_gbdt_feature_count(model), FEATURES);
    assert_in_range(ohlcx_gbdt_rounds(model), 1, options.max_rounds);
    ohlcx_gbdt_free(model);
}


/* On coin-flip labels the validation loss stops improving after a few
 * rounds. The kept model must be the one with the lowest validation loss
 * among all lengths that training went through. */
static void gbdt_noise_stops_early(void **unused)
{
    static table t;
    static float prob[VAL_ROWS], best_prob[VAL_ROWS];
    ohlcx_gbdt_options options;
    ohlcx_gbdt *model;
    int rounds, best_length = 0;
    double best_loss = INFINITY;

    make_table(&t, 1);
    ohlcx_gbdt_options_default(&options);
    options.max_rounds = 400;
    options.early_stopping = 10;
    model = train_on(&t, &options);
    rounds = ohlcx_gbdt_rounds(model);
    assert_in_range(rounds, 1, 100);
    assert_int_equal(ohlcx_gbdt_predict(model, val_x(&t), VAL_ROWS, best_prob), 0);
    ohlcx_gbdt_free(model);

    /* Retrain every length up to where early stopping ended, without it. */
    options.early_stopping = 0;
    for (int length = 1; length <= rounds + 10; length++) {
        double loss;

        options.max_rounds = length;
        model = train_on(&t, &options);
        assert_int_equal(ohlcx_gbdt_rounds(model), length);
        assert_int_equal(ohlcx_gbdt_predict(model, val_x(&t), VAL_ROWS, prob), 0);
        loss = log_loss(prob, val_y(&t), VAL_ROWS);
        if (loss < best_loss) {
            best_loss = loss;
            best_length = length;
        }
        if (length == rounds)
            assert_memory_equal(prob, best_prob, sizeof prob);
        ohlcx_gbdt_free(model);
    }
    assert_int_equal(best_length, rounds);
}


static void gbdt_save_load_same(void **unused)
{
    static table t;
    static float before[TEST_ROWS], after[TEST_ROWS];
    ohlcx_gbdt_options options;
    ohlcx_gbdt *model, *loaded = NULL;
    char dir[64], path[128];

    make_table(&t, 0);
    ohlcx_gbdt_options_default(&options);
    options.max_rounds = 60;
    model = train_on(&t, &options);
    assert_int_equal(ohlcx_gbdt_predict(model, test_x(&t), TEST_ROWS, before), 0);
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/model.json", dir);

    assert_int_equal(ohlcx_gbdt_save(model, path), 0);
    assert_int_equal(ohlcx_gbdt_load(path, FEATURES, 2, &loaded), 0);
    assert_int_equal(ohlcx_gbdt_predict(loaded, test_x(&t), TEST_ROWS, after), 0);

    assert_memory_equal(before, after, sizeof before);
    assert_int_equal(ohlcx_gbdt_rounds(loaded), ohlcx_gbdt_rounds(model));
    assert_int_equal(ohlcx_gbdt_feature_count(loaded), FEATURES);
    ohlcx_gbdt_free(loaded);

    /* n_features 0 takes the count from the model. */
    assert_int_equal(ohlcx_gbdt_load(path, 0, 1, &loaded), 0);
    assert_int_equal(ohlcx_gbdt_feature_count(loaded), FEATURES);
    ohlcx_gbdt_free(loaded);

    ohlcx_gbdt_free(model);
    unlink(path);
    rmdir(dir);
}


/* The file is JSON even when its name does not end in .json. */
static void gbdt_save_writes_json(void **unused)
{
    static table t;
    static char text[1 << 20];
    ohlcx_gbdt_options options;
    ohlcx_gbdt *model;
    char dir[64], path[128];
    size_t length;
    FILE *file;

    make_table(&t, 0);
    ohlcx_gbdt_options_default(&options);
    options.max_rounds = 5;
    model = train_on(&t, &options);
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/model.bin", dir);
    assert_int_equal(ohlcx_gbdt_save(model, path), 0);

    file = fopen(path, "rb");
    assert_non_null(file);
    length = fread(text, 1, sizeof text - 1, file);
    fclose(file);
    text[length] = '\0';

    assert_true(length > 0);
    assert_int_equal(text[0], '{');
    assert_non_null(strstr(text, "\"learner\""));
    ohlcx_gbdt_free(model);
    unlink(path);
    rmdir(dir);
}


static void gbdt_same_seed_same_model(void **unused)
{
    static table t;
    static float first[TEST_ROWS], second[TEST_ROWS], other[TEST_ROWS];
    ohlcx_gbdt_options options;
    ohlcx_gbdt *model;

    make_table(&t, 0);
    ohlcx_gbdt_options_default(&options);
    options.max_rounds = 80;
    options.threads = 2;
    options.seed = 7;
    model = train_on(&t, &options);
    assert_int_equal(ohlcx_gbdt_predict(model, test_x(&t), TEST_ROWS, first), 0);
    ohlcx_gbdt_free(model);
    model = train_on(&t, &options);
    assert_int_equal(ohlcx_gbdt_predict(model, test_x(&t), TEST_ROWS, second), 0);
    ohlcx_gbdt_free(model);
    options.seed = 8;
    model = train_on(&t, &options);
    assert_int_equal(ohlcx_gbdt_predict(model, test_x(&t), TEST_ROWS, other), 0);
    ohlcx_gbdt_free(model);

    assert_memory_equal(first, second, sizeof first);
    assert_memory_not_equal(first, other, sizeof first);
}


static void gbdt_invalid_inputs(void **unused)
{
    static table t;
    ohlcx_gbdt_options options;
    ohlcx_gbdt *model = NULL;
    float bad_labels[TRAIN_ROWS];

    make_table(&t, 0);
    ohlcx_gbdt_options_default(&options);
    memcpy(bad_labels, train_y(&t), sizeof bad_labels);
    bad_labels[3] = 2.0f;

    assert_int_equal(ohlcx_gbdt_train(train_x(&t), train_y(&t), 0, val_x(&t), val_y(&t),
                                      VAL_ROWS, FEATURES, &options, &model),
                     OHLCX_EINVAL);
    assert_int_equal(ohlcx_gbdt_train(train_x(&t), train_y(&t), TRAIN_ROWS, val_x(&t),
                                      val_y(&t), VAL_ROWS, 0, &options, &model),
                     OHLCX_EINVAL);
    assert_int_equal(ohlcx_gbdt_train(train_x(&t), bad_labels, TRAIN_ROWS, val_x(&t),
                                      val_y(&t), VAL_ROWS, FEATURES, &options, &model),
                     OHLCX_EINVAL);
    assert_non_null(strstr(ohlcx_last_error(), "row 3"));
    options.subsample = 0;
    assert_int_equal(ohlcx_gbdt_train(train_x(&t), train_y(&t), TRAIN_ROWS, val_x(&t),
                                      val_y(&t), VAL_ROWS, FEATURES, &options, &model),
                     OHLCX_EINVAL);
    assert_null(model);
}


static void gbdt_load_errors(void **unused)
{
    static table t;
    ohlcx_gbdt_options options;
    ohlcx_gbdt *model, *loaded = NULL;
    char dir[64], path[128], junk[128];
    FILE *file;

    make_table(&t, 0);
    ohlcx_gbdt_options_default(&options);
    options.max_rounds = 3;
    model = train_on(&t, &options);
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/model.json", dir);
    snprintf(junk, sizeof junk, "%s/junk.json", dir);
    assert_int_equal(ohlcx_gbdt_save(model, path), 0);
    file = fopen(junk, "w");
    assert_non_null(file);
    fputs("not a model\n", file);
    fclose(file);

    assert_int_equal(ohlcx_gbdt_load(path, FEATURES + 1, 1, &loaded), OHLCX_EINVAL);
    assert_int_equal(ohlcx_gbdt_load(junk, FEATURES, 1, &loaded), OHLCX_EFORMAT);
    assert_int_equal(ohlcx_gbdt_load("/nonexistent/model.json", FEATURES, 1, &loaded),
                     OHLCX_EIO);
    assert_int_equal(ohlcx_gbdt_save(model, "/nonexistent/model.json"), OHLCX_EIO);
    assert_null(loaded);
    ohlcx_gbdt_free(model);
    unlink(path);
    unlink(junk);
    rmdir(dir);
}


/* Rows of a table for the source API, recording how they were asked for. */
typedef struct table_source {
    const float *x;
    const float *y;
    size_t next;      /* the row the next call should start at, or 0 */
    int out_of_order; /* 1 when a call started elsewhere */
    size_t calls;
    size_t rows_filled;
    size_t fail_at;   /* fail the call that would fill this row; SIZE_MAX for never */
    size_t fail_call; /* fail this call (1 for the first); 0 for never */
    int bad_label;    /* 1: row 7's label is 0.5 */
} table_source;


static int fill_table_rows(void *context, size_t first, size_t count, float *x, float *y)
{
    table_source *source = context;

    if (first != source->next && first != 0)
        source->out_of_order = 1;
    source->next = first + count;
    source->calls++;
    source->rows_filled += count;
    if (source->fail_at >= first && source->fail_at < first + count)
        return ohlcx_set_error(OHLCX_EDATA, "test fill fails at row %zu", source->fail_at);
    if (source->calls == source->fail_call)
        return ohlcx_set_error(OHLCX_EDATA, "test fill fails at call %zu", source->calls);
    memcpy(x, source->x + first * FEATURES, count * FEATURES * sizeof *x);
    memcpy(y, source->y + first, count * sizeof *y);
    if (source->bad_label && first <= 7 && 7 < first + count)
        y[7 - first] = 0.5f;
    return 0;
}


/* Trains from table sources with the given options, or the defaults when
 * options is NULL. */
static int train_from_sources_with(const table *t, size_t batch_rows,
                                   const ohlcx_gbdt_options *options, table_source *train,
                                   table_source *validation, ohlcx_gbdt **model)
{
    ohlcx_gbdt_source train_rows = {fill_table_rows, train, TRAIN_ROWS};
    ohlcx_gbdt_source validation_rows = {fill_table_rows, validation, VAL_ROWS};
    ohlcx_gbdt_options defaults;

    train->x = train_x(t);
    train->y = train_y(t);
    validation->x = val_x(t);
    validation->y = val_y(t);
    ohlcx_gbdt_options_default(&defaults);
    return ohlcx_gbdt_train_source(&train_rows, &validation_rows, FEATURES, batch_rows,
                                   options != NULL ? options : &defaults, model);
}


static int train_from_sources(const table *t, size_t batch_rows, table_source *train,
                              table_source *validation, ohlcx_gbdt **model)
{
    return train_from_sources_with(t, batch_rows, NULL, train, validation, model);
}


/* The source API learns the x0 > 0.3 rule as the matrix API does, reading
 * every row in order, 97 at a time (1200 = 12 x 97 + 36, so 13 calls per
 * pass). */
static void gbdt_source_learns_rule(void **unused)
{
    static table t;
    static float prob[TEST_ROWS];
    table_source train = {.fail_at = SIZE_MAX}, validation = {.fail_at = SIZE_MAX};
    ohlcx_gbdt *model = NULL;
    size_t correct = 0;

    make_table(&t, 0);
    assert_int_equal(train_from_sources(&t, 97, &train, &validation, &model), 0);
    assert_int_equal(ohlcx_gbdt_predict(model, test_x(&t), TEST_ROWS, prob), 0);
    for (size_t i = 0; i < TEST_ROWS; i++)
        correct += (prob[i] > 0.5f) == (test_y(&t)[i] > 0.5f);

    assert_true((double)correct / TEST_ROWS > 0.95);
    assert_int_equal(train.out_of_order, 0);
    assert_int_equal(train.rows_filled % TRAIN_ROWS, 0);
    assert_int_equal(train.calls, train.rows_filled / TRAIN_ROWS * 13);
    assert_true(validation.rows_filled >= VAL_ROWS);
    assert_int_equal(validation.rows_filled % VAL_ROWS, 0);
    ohlcx_gbdt_free(model);
}


/* Batching does not change the model: one batch of all rows and batches of
 * 97 give the same predictions. */
static void gbdt_source_batch_size_invariant(void **unused)
{
    static table t;
    static float one_batch[TEST_ROWS], batches[TEST_ROWS];
    table_source train = {.fail_at = SIZE_MAX}, validation = {.fail_at = SIZE_MAX};
    ohlcx_gbdt *model = NULL;

    make_table(&t, 0);
    assert_int_equal(train_from_sources(&t, TRAIN_ROWS, &train, &validation, &model), 0);
    assert_int_equal(ohlcx_gbdt_predict(model, test_x(&t), TEST_ROWS, one_batch), 0);
    ohlcx_gbdt_free(model);
    memset(&train, 0, sizeof train);
    memset(&validation, 0, sizeof validation);
    train.fail_at = validation.fail_at = SIZE_MAX;
    assert_int_equal(train_from_sources(&t, 97, &train, &validation, &model), 0);
    assert_int_equal(ohlcx_gbdt_predict(model, test_x(&t), TEST_ROWS, batches), 0);
    ohlcx_gbdt_free(model);

    assert_memory_equal(one_batch, batches, sizeof batches);
}


/* A failing fill and a bad label stop training with their own message. */
static void gbdt_source_errors(void **unused)
{
    static table t;
    table_source train = {.fail_at = 500}, validation = {.fail_at = SIZE_MAX};
    ohlcx_gbdt *model = NULL;

    make_table(&t, 0);
    assert_int_equal(train_from_sources(&t, 97, &train, &validation, &model), OHLCX_EDATA);
    assert_null(model);
    assert_non_null(strstr(ohlcx_last_error(), "test fill fails at row 500"));

    memset(&train, 0, sizeof train);
    train.fail_at = validation.fail_at = SIZE_MAX;
    validation.bad_label = 1;
    assert_int_equal(train_from_sources(&t, 97, &train, &validation, &model), OHLCX_EINVAL);
    assert_null(model);
    assert_non_null(strstr(ohlcx_last_error(), "invalid validation label 0.5 at row 7"));

    /* The validation rows are read again every round. 400 rows in batches
     * of 97 take 5 calls per round, so call 13 is in round 2, mid-training. */
    memset(&validation, 0, sizeof validation);
    train.fail_at = validation.fail_at = SIZE_MAX;
    validation.fail_call = 13;
    assert_int_equal(train_from_sources(&t, 97, &train, &validation, &model), OHLCX_EDATA);
    assert_null(model);
    assert_non_null(strstr(ohlcx_last_error(), "test fill fails at call 13"));
}


/* Builds a plain XGBoost DMatrix of rows of the table, with labels. */
static DMatrixHandle make_xgb_matrix(const float *x, const float *y, size_t rows)
{
    DMatrixHandle matrix = NULL;

    assert_int_equal(XGDMatrixCreateFromMat(x, rows, FEATURES, NAN, &matrix), 0);
    assert_int_equal(XGDMatrixSetFloatInfo(matrix, "label", y, rows), 0);
    return matrix;
}


/* Returns XGBoost's own log loss of booster on matrix, read from
 * XGBoosterEvalOneIter's text such as "[0]\tval-logloss:0.69314718055994529",
 * which XGBoost 1.7 prints with 17 significant digits. */
static double xgb_eval_loss(BoosterHandle booster, DMatrixHandle matrix)
{
    const char *names[] = {"val"};
    const char *text = NULL;
    const char *value;

    assert_int_equal(XGBoosterSetParam(booster, "eval_metric", "logloss"), 0);
    assert_int_equal(XGBoosterEvalOneIter(booster, 0, &matrix, names, 1, &text), 0);
    value = strstr(text, "val-logloss:");
    assert_non_null(value);
    return strtod(value + strlen("val-logloss:"), NULL);
}


/* The loss that the wrapper computes after each round equals XGBoost's own
 * "logloss" metric on a plain DMatrix of the validation rows. Each prefix of
 * the saved model is loaded into XGBoost and scored by
 * XGBoosterEvalOneIter. The source API trains on a quantile matrix and reads
 * the validation rows 97 at a time (400 = 4 x 97 + 12), so the last batch is
 * partial. Both sides add the same float margins and per-row float losses,
 * in the same order on one thread, so the values agree to 1e-12 (exactly, on
 * XGBoost 1.7.4). A sigmoid in double instead of float already differs by
 * about 3e-9. */
static void gbdt_source_loss_matches_xgboost(void **unused)
{
    static table t;
    table_source train = {.fail_at = SIZE_MAX}, validation = {.fail_at = SIZE_MAX};
    ohlcx_gbdt_options options;
    ohlcx_gbdt *model = NULL;
    BoosterHandle booster = NULL;
    DMatrixHandle matrix;
    const double *losses = NULL;
    char dir[64], path[128];
    int count, rounds;

    make_table(&t, 0);
    ohlcx_gbdt_options_default(&options);
    options.max_rounds = 40;
    options.early_stopping = 40;
    assert_int_equal(train_from_sources_with(&t, 97, &options, &train, &validation, &model), 0);
    count = ohlcx_gbdt_validation_losses(model, &losses);
    rounds = ohlcx_gbdt_rounds(model);

    /* With early_stopping 40, training cannot stop within 40 rounds, so all
     * are trained and scored, and the validation rows are read once per
     * round. On the clean x0 > 0.3 rule the loss falls every round, so all 40
     * are kept. */
    assert_int_equal(count, 40);
    assert_int_equal(validation.rows_filled, 40 * VAL_ROWS);
    assert_int_equal(rounds, 40);

    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/model.json", dir);
    assert_int_equal(ohlcx_gbdt_save(model, path), 0);
    assert_int_equal(XGBoosterCreate(NULL, 0, &booster), 0);
    assert_int_equal(XGBoosterLoadModel(booster, path), 0);
    matrix = make_xgb_matrix(val_x(&t), val_y(&t), VAL_ROWS);
    for (int length = 1; length <= rounds; length++) {
        BoosterHandle prefix = NULL;
        double expected;

        assert_int_equal(XGBoosterSlice(booster, 0, length, 1, &prefix), 0);
        expected = xgb_eval_loss(prefix, matrix);
        if (fabs(losses[length - 1] - expected) > 1e-12)
            print_error("round %d: loss %.17g, XGBoost %.17g\n", length - 1,
                        losses[length - 1], expected);
        assert_true(fabs(losses[length - 1] - expected) <= 1e-12);
        XGBoosterFree(prefix);
    }

    XGDMatrixFree(matrix);
    XGBoosterFree(booster);
    ohlcx_gbdt_free(model);
    unlink(path);
    rmdir(dir);
}


/* Runs early stopping with XGBoost alone, as the xgboost Python package does
 * it. The booster trains on plain DMatrix handles with the parameters that
 * the wrapper passes for ohlcx_gbdt_options_default(). Each round is scored
 * by XGBoosterEvalOneIter, and training stops once `patience` rounds pass
 * without a strictly lower loss. Stores the loss of each trained round,
 * returns the number of rounds trained, and sets *kept_rounds to the best
 * round + 1. */
static int xgb_reference_early_stopping(const table *t, int max_rounds, int patience,
                                        double *losses, int *kept_rounds)
{
    static const char *const parameters[][2] = {
        {"objective", "binary:logistic"}, {"tree_method", "hist"},
        {"eval_metric", "logloss"},       {"verbosity", "0"},
        {"max_depth", "4"},               {"eta", "0.05"},
        {"subsample", "0.8"},             {"colsample_bytree", "0.8"},
        {"min_child_weight", "5"},        {"scale_pos_weight", "1"},
        {"nthread", "1"},                 {"seed", "0"},
    };
    DMatrixHandle matrices[2];
    BoosterHandle booster = NULL;
    double best_loss = INFINITY;
    int best_round = -1, round;

    matrices[0] = make_xgb_matrix(train_x(t), train_y(t), TRAIN_ROWS);
    matrices[1] = make_xgb_matrix(val_x(t), val_y(t), VAL_ROWS);
    assert_int_equal(XGBoosterCreate(matrices, 2, &booster), 0);
    for (size_t i = 0; i < sizeof parameters / sizeof parameters[0]; i++)
        assert_int_equal(XGBoosterSetParam(booster, parameters[i][0], parameters[i][1]), 0);

    for (round = 0; round < max_rounds; round++) {
        assert_int_equal(XGBoosterUpdateOneIter(booster, round, matrices[0]), 0);
        losses[round] = xgb_eval_loss(booster, matrices[1]);
        if (losses[round] < best_loss) {
            best_loss = losses[round];
            best_round = round;
        } else if (round - best_round >= patience) {
            round++;
            break;
        }
    }
    XGBoosterFree(booster);
    XGDMatrixFree(matrices[0]);
    XGDMatrixFree(matrices[1]);
    *kept_rounds = best_round + 1;
    return round;
}


/* On coin-flip labels the wrapper trains, scores and keeps the same rounds
 * as XGBoost's own early-stopping loop: the same number of rounds trained,
 * the same loss after each, and the same best round kept_rounds. */
static void gbdt_early_stop_matches_xgboost(void **unused)
{
    static table t;
    static double expected[400];
    ohlcx_gbdt_options options;
    ohlcx_gbdt *model;
    const double *losses = NULL;
    int trained, kept_rounds;

    make_table(&t, 1);
    ohlcx_gbdt_options_default(&options);
    options.early_stopping = 10;
    trained = xgb_reference_early_stopping(&t, options.max_rounds, options.early_stopping,
                                           expected, &kept_rounds);
    model = train_on(&t, &options);

    /* The reference stops early, well before max_rounds, so the case tests
     * the stopping rule and not the round limit. */
    assert_in_range(trained, options.early_stopping + 1, 100);
    assert_int_equal(ohlcx_gbdt_validation_losses(model, &losses), trained);
    assert_int_equal(ohlcx_gbdt_rounds(model), kept_rounds);
    for (int round = 0; round < trained; round++) {
        if (fabs(losses[round] - expected[round]) > 1e-12)
            print_error("round %d: loss %.17g, XGBoost %.17g\n", round, losses[round],
                        expected[round]);
        assert_true(fabs(losses[round] - expected[round]) <= 1e-12);
    }
    ohlcx_gbdt_free(model);
}


/* Only training with early stopping records losses: none without it, and
 * none in a loaded model. */
static void gbdt_losses_only_with_early_stopping(void **unused)
{
    static table t;
    ohlcx_gbdt_options options;
    ohlcx_gbdt *model, *loaded = NULL;
    const double *losses = NULL;
    char dir[64], path[128];

    make_table(&t, 0);
    ohlcx_gbdt_options_default(&options);
    options.max_rounds = 5;
    options.early_stopping = 0;
    model = train_on(&t, &options);
    assert_int_equal(ohlcx_gbdt_validation_losses(model, &losses), 0);
    assert_int_equal(ohlcx_gbdt_rounds(model), 5);

    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/model.json", dir);
    assert_int_equal(ohlcx_gbdt_save(model, path), 0);
    assert_int_equal(ohlcx_gbdt_load(path, FEATURES, 1, &loaded), 0);
    assert_int_equal(ohlcx_gbdt_validation_losses(loaded, &losses), 0);
    ohlcx_gbdt_free(loaded);
    ohlcx_gbdt_free(model);
    unlink(path);
    rmdir(dir);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gbdt_threshold_accuracy),
        cmocka_unit_test(gbdt_noise_stops_early),
        cmocka_unit_test(gbdt_save_load_same),
        cmocka_unit_test(gbdt_save_writes_json),
        cmocka_unit_test(gbdt_same_seed_same_model),
        cmocka_unit_test(gbdt_invalid_inputs),
        cmocka_unit_test(gbdt_load_errors),
        cmocka_unit_test(gbdt_source_learns_rule),
        cmocka_unit_test(gbdt_source_batch_size_invariant),
        cmocka_unit_test(gbdt_source_errors),
        cmocka_unit_test(gbdt_source_loss_matches_xgboost),
        cmocka_unit_test(gbdt_early_stop_matches_xgboost),
        cmocka_unit_test(gbdt_losses_only_with_early_stopping),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
