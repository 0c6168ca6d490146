/*
 * Unit tests of ohlcx_gbdt_options.rounds_per_validation_pass: scoring
 * several boosting rounds per pass over the validation rows gives the same
 * losses, kept rounds and model as a pass per round, and reads the
 * validation source once per pass.
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

#include "ohlcx/error.h"
#include "ohlcx/gbdt.h"

#define FEATURES 5
#define TRAIN_ROWS 1500
#define VAL_ROWS 500
#define TEST_ROWS 300
#define ROWS (TRAIN_ROWS + VAL_ROWS + TEST_ROWS)

typedef struct table {
    float x[ROWS * FEATURES];
    float y[ROWS];
} table;

/* Rows of a table, counting the calls that read them. */
typedef struct counted_rows {
    const float *x;
    const float *y;
    size_t calls;
} counted_rows;

/* What one training gives: the model's rounds, losses, test predictions
 * and saved JSON, and the validation reads. */
typedef struct trained {
    int rounds;
    int loss_count;
    double losses[400];
    float prob[TEST_ROWS];
    char *json;
    size_t validation_calls;
} trained;


static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}


/* Features uniform in [-1, 1). With noise the label is a coin flip, which
 * early stopping ends within a few dozen rounds; else it is
 * x0 + 0.5 x1 > 0.2 with one label in ten flipped, which keeps improving
 * for longer. */
static void make_table(table *t, int noise)
{
    uint64_t state = 0x2545f4914f6cdd1du;

    for (size_t row = 0; row < ROWS; row++) {
        float *x = t->x + row * FEATURES;

        for (size_t column = 0; column < FEATURES; column++)
            x[column] = (float)((double)(next_random(&state) >> 11) / 9007199254740992.0 * 2 - 1);
        if (noise)
            t->y[row] = (float)(next_random(&state) >> 63);
        else
            t->y[row] = (x[0] + 0.5f * x[1] > 0.2f) != (next_random(&state) % 10 == 0);
    }
}


static int fill_counted(void *context, size_t first, size_t count, float *x, float *y)
{
    counted_rows *rows = context;

    rows->calls++;
    memcpy(x, rows->x + first * FEATURES, count * FEATURES * sizeof *x);
    memcpy(y, rows->y + first, count * sizeof *y);
    return 0;
}


static char *read_file(const char *path)
{
    FILE *file = fopen(path, "rb");
    char *text;
    long size;

    assert_non_null(file);
    assert_int_equal(fseek(file, 0, SEEK_END), 0);
    size = ftell(file);
    assert_true(size > 0);
    rewind(file);
    text = calloc((size_t)size + 1, 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)size, file), (size_t)size);
    fclose(file);
    return text;
}


/* Trains on the table's sources with `per_pass` rounds per validation pass,
 * in one batch per pass (batch rows above the validation rows). */
static void train_with(const table *t, int per_pass, int max_rounds, trained *out)
{
    counted_rows train_rows = {t->x, t->y, 0};
    counted_rows validation_rows = {t->x + TRAIN_ROWS * FEATURES, t->y + TRAIN_ROWS, 0};
    ohlcx_gbdt_source train = {fill_counted, &train_rows, TRAIN_ROWS};
    ohlcx_gbdt_source validation = {fill_counted, &validation_rows, VAL_ROWS};
    ohlcx_gbdt_options options;
    ohlcx_gbdt *model = NULL;
    const double *losses = NULL;
    char path[] = "/tmp/ohlcx-test-gbdt-pass-XXXXXX";
    int fd;

    ohlcx_gbdt_options_default(&options);
    options.max_rounds = max_rounds;
    options.rounds_per_validation_pass = per_pass;
    if (ohlcx_gbdt_train_source(&train, &validation, FEATURES, 4096, &options, &model) != 0)
        print_error("training failed: %s\n", ohlcx_last_error());
    assert_non_null(model);

    memset(out, 0, sizeof *out);
    out->rounds = ohlcx_gbdt_rounds(model);
    out->loss_count = ohlcx_gbdt_validation_losses(model, &losses);
    assert_true(out->loss_count > 0 && out->loss_count <= 400);
    memcpy(out->losses, losses, (size_t)out->loss_count * sizeof *losses);
    assert_int_equal(ohlcx_gbdt_predict(model, t->x + (TRAIN_ROWS + VAL_ROWS) * FEATURES,
                                        TEST_ROWS, out->prob),
                     0);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(ohlcx_gbdt_save(model, path), 0);
    out->json = read_file(path);
    unlink(path);
    out->validation_calls = validation_rows.calls;
    ohlcx_gbdt_free(model);
}


/* Checks that two trainings kept the same rounds, recorded the same losses
 * bit for bit, and saved the same model. */
static void assert_same_training(const trained *a, const trained *b)
{
    assert_int_equal(a->rounds, b->rounds);
    assert_int_equal(a->loss_count, b->loss_count);
    assert_memory_equal(a->losses, b->losses, (size_t)a->loss_count * sizeof *a->losses);
    assert_memory_equal(a->prob, b->prob, sizeof a->prob);
    assert_string_equal(a->json, b->json);
}


/* On noise, early stopping ends the training: with 30 rounds of patience
 * the losses cover the best round and the 30 after it. One pass per round
 * reads the validation rows once per loss recorded. With 7 rounds per pass
 * the stop at round loss_count - 1 comes in pass floor((loss_count - 1) /
 * 7) + 1, and with 31 in pass floor((loss_count - 1) / 31) + 1. */
static void noise_same_model_fewer_passes(void **unused)
{
    static table t;
    static trained single, seven, thirty_one;

    make_table(&t, 1);
    train_with(&t, 1, 400, &single);
    train_with(&t, 7, 400, &seven);
    train_with(&t, 31, 400, &thirty_one);

    assert_true(single.loss_count < 400);
    assert_int_equal(single.loss_count, single.rounds + 30);
    assert_same_training(&single, &seven);
    assert_same_training(&single, &thirty_one);
    assert_int_equal(single.validation_calls, (size_t)single.loss_count);
    assert_int_equal(seven.validation_calls, (size_t)(single.loss_count - 1) / 7 + 1);
    assert_int_equal(thirty_one.validation_calls, (size_t)(single.loss_count - 1) / 31 + 1);
    free(single.json);
    free(seven.json);
    free(thirty_one.json);
}


/* A learnable rule with 40 rounds at most: the last pass of 16 rounds per
 * pass is cut to the 8 rounds left (40 = 2 x 16 + 8), so the validation
 * rows are read 3 times when no early stop comes first. */
static void rule_same_model_last_pass_cut(void **unused)
{
    static table t;
    static trained single, sixteen;

    make_table(&t, 0);
    train_with(&t, 1, 40, &single);
    train_with(&t, 16, 40, &sixteen);

    assert_same_training(&single, &sixteen);
    assert_int_equal(single.loss_count, 40);
    assert_int_equal(sixteen.validation_calls, 3);
    free(single.json);
    free(sixteen.json);
}


/* 0 counts as 1; a negative count is rejected with a message that names
 * the option. */
static void option_values(void **unused)
{
    static table t;
    static trained pass_zero, pass_one;
    counted_rows rows = {NULL, NULL, 0};
    ohlcx_gbdt_source source;
    ohlcx_gbdt_options options;
    ohlcx_gbdt *model = NULL;

    make_table(&t, 1);
    train_with(&t, 0, 60, &pass_zero);
    train_with(&t, 1, 60, &pass_one);
    assert_same_training(&pass_zero, &pass_one);
    assert_int_equal(pass_zero.validation_calls, pass_one.validation_calls);
    free(pass_zero.json);
    free(pass_one.json);

    rows.x = t.x;
    rows.y = t.y;
    source = (ohlcx_gbdt_source){fill_counted, &rows, TRAIN_ROWS};
    ohlcx_gbdt_options_default(&options);
    options.rounds_per_validation_pass = -1;
    assert_int_equal(ohlcx_gbdt_train_source(&source, &source, FEATURES, 4096, &options, &model),
                     OHLCX_EINVAL);
    assert_null(model);
    assert_non_null(strstr(ohlcx_last_error(), "rounds_per_validation_pass -1"));
    assert_int_equal(rows.calls, 0);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(noise_same_model_fewer_passes),
        cmocka_unit_test(rule_same_model_last_pass_cut),
        cmocka_unit_test(option_values),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
