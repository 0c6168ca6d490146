/*
 * Unit tests of the pipeline configuration file (`ohlcx run --config`):
 * every key lands in its field, keys left out keep the values already
 * there, and each kind of mistake fails with its line and column and leaves
 * the options unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ohlcx/error.h"
#include "ohlcx/nn.h"
#include "ohlcx/pipeline.h"

typedef struct parsed {
    ohlcx_run_options options;
    ohlcx_cnn_config architecture;
    int status;
} parsed;


static parsed parse(const char *text)
{
    parsed out;

    ohlcx_run_options_default(&out.options);
    ohlcx_cnn_config_default(&out.architecture);
    out.status = ohlcx_run_config_parse(text, strlen(text), "pipeline.yaml", &out.options,
                                        &out.architecture);
    return out;
}


/* Fails unless text is rejected with exactly the message expected. */
static void assert_rejected(const char *text, const char *expected)
{
    parsed out = parse(text);
    ohlcx_run_options defaults;

    ohlcx_run_options_default(&defaults);
    assert_int_equal(out.status, OHLCX_EFORMAT);
    assert_string_equal(ohlcx_last_error(), expected);
    assert_int_equal(out.options.window, defaults.window);
    assert_int_equal(out.options.epochs, defaults.epochs);
    assert_null(out.options.architecture);
    assert_int_equal(out.architecture.conv_count, 2);
}


static void every_key(void **unused)
{
    (void)unused;
    parsed out = parse("window: 48\n"
                       "horizon: 3\n"
                       "seed: 7\n"
                       "cnn:\n"
                       "  mode: global\n"
                       "  layers:\n"
                       "    - {filters: 16, kernel: 3}\n"
                       "    - {filters: 24, kernel: 5, dilation: 2, pool: 2}\n"
                       "    - filters: 40\n"
                       "      kernel: 3\n"
                       "      dilation: 4\n"
                       "  batch_norm: true\n"
                       "  dropout: 0.25\n"
                       "  embedding: 12\n"
                       "  symbol_embedding: 6\n"
                       "  learning_rate: 0.003\n"
                       "  weight_decay: 0.0001\n"
                       "  schedule: step\n"
                       "  step_epochs: 4\n"
                       "  gamma: 0.5\n"
                       "  epochs: 30\n"
                       "  patience: 5\n"
                       "  batch: 128\n");

    assert_int_equal(out.status, 0);
    assert_int_equal(out.options.window, 48);
    assert_int_equal(out.options.horizon, 3);
    assert_int_equal(out.options.seed, 7);
    assert_int_equal(out.options.cnn_mode, OHLCX_CNN_GLOBAL);
    assert_int_equal(out.architecture.conv_count, 3);
    assert_int_equal(out.architecture.conv[0].filters, 16);
    assert_int_equal(out.architecture.conv[0].kernel, 3);
    assert_int_equal(out.architecture.conv[0].dilation, 1);
    assert_int_equal(out.architecture.conv[0].pool, 1);
    assert_int_equal(out.architecture.conv[1].filters, 24);
    assert_int_equal(out.architecture.conv[1].dilation, 2);
    assert_int_equal(out.architecture.conv[1].pool, 2);
    assert_int_equal(out.architecture.conv[2].filters, 40);
    assert_int_equal(out.architecture.conv[2].kernel, 3);
    assert_int_equal(out.architecture.conv[2].dilation, 4);
    assert_int_equal(out.architecture.batch_norm, 1);
    assert_true(out.architecture.dropout == 0.25f);
    assert_int_equal(out.architecture.hidden, 12);
    assert_int_equal(out.options.symbol_embedding, 6);
    assert_true(out.options.learning_rate == 0.003f);
    assert_true(out.options.weight_decay == 0.0001f);
    assert_int_equal(out.options.lr_schedule, OHLCX_LR_STEP);
    assert_int_equal(out.options.lr_step_epochs, 4);
    assert_true(out.options.lr_gamma == 0.5f);
    assert_int_equal(out.options.epochs, 30);
    assert_int_equal(out.options.patience, 5);
    assert_int_equal(out.options.batch_size, 128);
}


/* The options point to the architecture the call filled. */
static void points_to_architecture(void **unused)
{
    (void)unused;
    ohlcx_run_options options;
    ohlcx_cnn_config architecture;
    const char *text = "cnn: {layers: [{filters: 8, kernel: 2}]}\n";

    ohlcx_run_options_default(&options);
    ohlcx_cnn_config_default(&architecture);
    assert_int_equal(ohlcx_run_config_parse(text, strlen(text), "p.yaml", &options,
                                            &architecture), 0);
    assert_ptr_equal(options.architecture, &architecture);
    assert_int_equal(architecture.conv_count, 1);
    assert_int_equal(architecture.conv[0].filters, 8);
}


/* Keys left out keep what the options had, and an empty file changes
 * nothing. */
static void missing_keys_keep_values(void **unused)
{
    (void)unused;
    parsed out = parse("cnn:\n  schedule: cosine\n");
    parsed empty = parse("");

    assert_int_equal(out.status, 0);
    assert_int_equal(out.options.lr_schedule, OHLCX_LR_COSINE);
    assert_int_equal(out.options.window, 64);
    assert_int_equal(out.options.epochs, 20);
    assert_int_equal(out.options.cnn_mode, OHLCX_CNN_PER_SYMBOL);
    assert_int_equal(out.architecture.conv_count, 2);
    assert_int_equal(out.architecture.conv[1].filters, 64);
    assert_int_equal(out.architecture.batch_norm, 0);

    assert_int_equal(empty.status, 0);
    assert_int_equal(empty.options.window, 64);

}


static void rejects_mistakes(void **unused)
{
    (void)unused;
    assert_rejected("windw: 32\n",
                    "pipeline.yaml:1:1: unknown key 'windw' in the top level: use window, "
                    "horizon, seed or cnn");
    assert_rejected("window: 32\ncnn:\n  dropout: 1\n",
                    "pipeline.yaml:3:12: invalid dropout '1': use a number from 0 to 1 (not "
                    "included)");
    assert_rejected("cnn:\n  layers: []\n",
                    "pipeline.yaml:2:11: layers is an empty list: list at least one, such as "
                    "[{filters: 32, kernel: 5}]");
    assert_rejected("cnn:\n  layers:\n    - {filters: 8}\n",
                    "pipeline.yaml:3:7: missing key 'kernel' in a layer");
    assert_rejected("cnn:\n  layers:\n    - {filters: 8, kernel: 3, dilation: 0}\n",
                    "pipeline.yaml:3:41: invalid dilation of layer 1 '0': use an integer from 1 "
                    "to 4096");
    assert_rejected("cnn:\n  schedule: linear\n",
                    "pipeline.yaml:2:13: unknown schedule 'linear': use constant, step or "
                    "cosine");
    assert_rejected("cnn:\n  mode: per-asset\n",
                    "pipeline.yaml:2:9: unknown CNN mode 'per-asset': use per-symbol, "
                    "per-market or global");
    assert_rejected("cnn:\n  batch_norm: maybe\n",
                    "pipeline.yaml:2:15: invalid batch_norm 'maybe': use true or false");
    assert_rejected("cnn:\n  epochs: 3\n  epochs: 4\n",
                    "pipeline.yaml:3:3: key 'epochs' is given twice in cnn (first at line 2)");
    assert_rejected("cnn:\n  layers: [{filters: 1, kernel: 1}, {filters: 1, kernel: 1}, "
                    "{filters: 1, kernel: 1}, {filters: 1, kernel: 1}, {filters: 1, kernel: 1}, "
                    "{filters: 1, kernel: 1}, {filters: 1, kernel: 1}, {filters: 1, kernel: 1}, "
                    "{filters: 1, kernel: 1}]\n",
                    "pipeline.yaml:2:11: layers lists 9 convolutions: use 1 to 8");
    assert_rejected("window: 32\n---\nwindow: 16\n",
                    "pipeline.yaml:3:1: a second YAML document starts here: a configuration "
                    "file holds one");
    /* A value error after valid keys leaves the earlier ones unapplied. */
    assert_rejected("window: 32\nhorizon: 0\n",
                    "pipeline.yaml:2:10: invalid horizon '0': use an integer from 1 to 1000");
}


/* Numbers written in quotes are strings; seeds go up to 10^15 - 1. */
static void rejects_quotes_and_big_seeds(void **unused)
{
    (void)unused;
    parsed big = parse("seed: 999999999999999\n");

    assert_int_equal(big.status, 0);
    assert_true(big.options.seed == 999999999999999ULL);
    assert_rejected("window: \"16\"\n",
                    "pipeline.yaml:1:9: invalid window \"16\": write an integer without quotes");
    assert_rejected("cnn:\n  batch_norm: 'true'\n",
                    "pipeline.yaml:2:15: invalid batch_norm \"true\": write true or false without "
                    "quotes");
    assert_rejected("seed: 1000000000000000\n",
                    "pipeline.yaml:1:7: invalid seed '1000000000000000': use an integer from 0 to "
                    "999999999999999");
    assert_rejected("cnn:\n  embedding: 257\n",
                    "pipeline.yaml:2:14: invalid embedding '257': use an integer from 1 to 256");
}


/* Nesting deeper than 64 levels and text over 1 MiB fail before libyaml
 * loads the document, whose time grows with the depth. */
static void rejects_deep_and_long_text(void **unused)
{
    (void)unused;
    char deep[5 + 100 + 100 + 2];
    size_t length = 1024 * 1024 + 1;
    char *long_text = malloc(length + 1);
    parsed out;

    /* "cnn: " then 100 '[': the mapping is level 1, so the 64th bracket, at
     * column 5 + 64 = 69, opens level 65. */
    memcpy(deep, "cnn: ", 5);
    memset(deep + 5, '[', 100);
    memset(deep + 105, ']', 100);
    memcpy(deep + 205, "\n", 2);
    assert_rejected(deep, "pipeline.yaml:1:69: lists and mappings nest more than 64 levels deep "
                          "here: a configuration file needs a few");

    assert_non_null(long_text);
    memset(long_text, ' ', length);
    long_text[0] = '#';
    long_text[length] = '\0';
    out = parse(long_text);
    assert_int_equal(out.status, OHLCX_EFORMAT);
    assert_string_equal(ohlcx_last_error(), "pipeline.yaml: 1048577 bytes is too long for a "
                        "configuration file: it may have at most 1048576");
    free(long_text);
}


static void missing_file(void **unused)
{
    (void)unused;
    ohlcx_run_options options;
    ohlcx_cnn_config architecture;

    ohlcx_run_options_default(&options);
    ohlcx_cnn_config_default(&architecture);
    assert_int_equal(ohlcx_run_config_load("/nonexistent/pipeline.yaml", &options,
                                           &architecture), OHLCX_EIO);
    assert_string_equal(ohlcx_last_error(), "cannot open configuration file "
                        "/nonexistent/pipeline.yaml: No such file or directory");
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_key),
        cmocka_unit_test(points_to_architecture),
        cmocka_unit_test(missing_keys_keep_values),
        cmocka_unit_test(rejects_mistakes),
        cmocka_unit_test(rejects_quotes_and_big_seeds),
        cmocka_unit_test(rejects_deep_and_long_text),
        cmocka_unit_test(missing_file),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
