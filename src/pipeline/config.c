/*
 * The pipeline configuration file of `ohlcx run --config FILE`: the CNN's
 * architecture and training settings, read strictly (an unknown key, a
 * repeated key or a value out of range fails with its line and column).
 * docs/commands.md shows a complete file.
 *
 * Values the file gives replace those already in the run options; keys it
 * leaves out keep them. The command line is applied afterwards, so a flag
 * overrides the file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ohlcx/error.h"
#include "ohlcx/nn.h"
#include "ohlcx/pipeline.h"
#include "pipeline/internal.h"
#include "util/yaml_doc.h"

/* Largest filter count, kernel, dilation, pooling and symbol embedding
 * accepted. The network's own checks bound their products. */
#define CONFIG_DIM_MAX 4096

/* Largest hidden layer: predict builds each row with at most 256 embedding
 * values. */
#define EMBEDDING_MAX 256

/* Largest seed: JSON outputs record every integer below 10^15 exactly. */
#define SEED_MAX 999999999999999ULL

static const char *const top_keys[] = {"window", "horizon", "seed", "cnn"};
static const int top_required[] = {0, 0, 0, 0};
enum { TOP_WINDOW, TOP_HORIZON, TOP_SEED, TOP_CNN, TOP_KEY_COUNT };

static const char *const cnn_keys[] = {
    "mode",          "layers",       "batch_norm", "dropout",    "embedding",
    "symbol_embedding", "learning_rate", "weight_decay", "schedule", "step_epochs",
    "gamma",         "epochs",       "patience",   "batch"};
static const int cnn_required[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
enum {
    CNN_MODE, CNN_LAYERS, CNN_BATCH_NORM, CNN_DROPOUT, CNN_EMBEDDING, CNN_SYMBOL_EMBEDDING,
    CNN_LEARNING_RATE, CNN_WEIGHT_DECAY, CNN_SCHEDULE, CNN_STEP_EPOCHS, CNN_GAMMA, CNN_EPOCHS,
    CNN_PATIENCE, CNN_BATCH, CNN_KEY_COUNT
};

static const char *const layer_keys[] = {"filters", "kernel", "dilation", "pool"};
static const int layer_required[] = {1, 1, 0, 0};
enum { LAYER_FILTERS, LAYER_KERNEL, LAYER_DILATION, LAYER_POOL, LAYER_KEY_COUNT };

_Static_assert(sizeof cnn_keys / sizeof cnn_keys[0] == CNN_KEY_COUNT &&
                   sizeof cnn_required / sizeof cnn_required[0] == CNN_KEY_COUNT,
               "one name and one flag per cnn key");


static int parse_layer(const ohlcx_yaml_doc *doc, const yaml_node_t *node, int number,
                       ohlcx_cnn_conv *layer)
{
    static const ohlcx_yaml_keys table = {"a layer", layer_keys, layer_required,
                                          LAYER_KEY_COUNT};
    yaml_node_t *keys[LAYER_KEY_COUNT], *values[LAYER_KEY_COUNT];
    char field[4][48];
    int status = ohlcx_yaml_read_mapping(doc, node, &table, keys, values);

    snprintf(field[0], sizeof field[0], "filters of layer %d", number);
    snprintf(field[1], sizeof field[1], "kernel of layer %d", number);
    snprintf(field[2], sizeof field[2], "dilation of layer %d", number);
    snprintf(field[3], sizeof field[3], "pool of layer %d", number);
    layer->dilation = 1;
    layer->pool = 1;
    if (status == 0)
        status = ohlcx_yaml_int(doc, keys[LAYER_FILTERS], values[LAYER_FILTERS], field[0], 1,
                                CONFIG_DIM_MAX, &layer->filters);
    if (status == 0)
        status = ohlcx_yaml_int(doc, keys[LAYER_KERNEL], values[LAYER_KERNEL], field[1], 1,
                                CONFIG_DIM_MAX, &layer->kernel);
    if (status == 0 && values[LAYER_DILATION] != NULL)
        status = ohlcx_yaml_int(doc, keys[LAYER_DILATION], values[LAYER_DILATION], field[2], 1,
                                CONFIG_DIM_MAX, &layer->dilation);
    if (status == 0 && values[LAYER_POOL] != NULL)
        status = ohlcx_yaml_int(doc, keys[LAYER_POOL], values[LAYER_POOL], field[3], 1,
                                CONFIG_DIM_MAX, &layer->pool);
    return status;
}


static int parse_layers(const ohlcx_yaml_doc *doc, const yaml_node_t *key,
                        const yaml_node_t *node, ohlcx_cnn_config *architecture)
{
    yaml_node_item_t *items = NULL;
    size_t count = 0;
    int status = ohlcx_yaml_read_list(doc, key, node, "layers", "[{filters: 32, kernel: 5}]",
                                      &items, &count);

    if (status != 0)
        return status;
    if (count > OHLCX_CNN_MAX_CONV)
        return ohlcx_yaml_fail(doc, node->start_mark, "layers lists %zu convolutions: use 1 "
                               "to %d", count, OHLCX_CNN_MAX_CONV);
    for (size_t i = 0; i < count && status == 0; i++)
        status = parse_layer(doc, ohlcx_yaml_node(doc, items[i]), (int)i + 1,
                             &architecture->conv[i]);
    if (status == 0)
        architecture->conv_count = (int)count;
    return status;
}


static int parse_mode(const ohlcx_yaml_doc *doc, const yaml_node_t *key,
                      const yaml_node_t *node, int *out)
{
    const char *text = NULL;
    int status = ohlcx_yaml_text(doc, key, node, "mode", &text);

    if (status != 0)
        return status;
    *out = pipeline_cnn_mode_parse(text);
    if (*out < 0)
        return ohlcx_yaml_fail(doc, node->start_mark, "unknown CNN mode '%s': use per-symbol, "
                               "per-market or global", text);
    return 0;
}


static int parse_schedule(const ohlcx_yaml_doc *doc, const yaml_node_t *key,
                          const yaml_node_t *node, int *out)
{
    const char *text = NULL;
    int status = ohlcx_yaml_text(doc, key, node, "schedule", &text);

    if (status != 0)
        return status;
    *out = pipeline_lr_schedule_parse(text);
    if (*out < 0)
        return ohlcx_yaml_fail(doc, node->start_mark, "unknown schedule '%s': use constant, "
                               "step or cosine", text);
    return 0;
}


/* Reads a number into a float field. */
static int parse_float(const ohlcx_yaml_doc *doc, const yaml_node_t *key, const yaml_node_t *node,
                       const char *field, double min, double max, int upper_open, float *out)
{
    double value = 0;
    int status = ohlcx_yaml_number(doc, key, node, field, min, max, upper_open, &value);

    if (status == 0)
        *out = (float)value;
    return status;
}


static int parse_cnn(const ohlcx_yaml_doc *doc, const yaml_node_t *node,
                     ohlcx_run_options *options, ohlcx_cnn_config *architecture)
{
    static const ohlcx_yaml_keys table = {"cnn", cnn_keys, cnn_required, CNN_KEY_COUNT};
    yaml_node_t *keys[CNN_KEY_COUNT], *values[CNN_KEY_COUNT];
    int status = ohlcx_yaml_read_mapping(doc, node, &table, keys, values);

#define HAS(k) (status == 0 && values[k] != NULL)
    if (HAS(CNN_MODE))
        status = parse_mode(doc, keys[CNN_MODE], values[CNN_MODE], &options->cnn_mode);
    if (HAS(CNN_LAYERS))
        status = parse_layers(doc, keys[CNN_LAYERS], values[CNN_LAYERS], architecture);
    if (HAS(CNN_BATCH_NORM))
        status = ohlcx_yaml_bool(doc, keys[CNN_BATCH_NORM], values[CNN_BATCH_NORM],
                                 "batch_norm", &architecture->batch_norm);
    if (HAS(CNN_DROPOUT))
        status = parse_float(doc, keys[CNN_DROPOUT], values[CNN_DROPOUT], "dropout", 0, 1, 1,
                             &architecture->dropout);
    if (HAS(CNN_EMBEDDING))
        status = ohlcx_yaml_int(doc, keys[CNN_EMBEDDING], values[CNN_EMBEDDING], "embedding", 1,
                                EMBEDDING_MAX, &architecture->hidden);
    if (HAS(CNN_SYMBOL_EMBEDDING))
        status = ohlcx_yaml_int(doc, keys[CNN_SYMBOL_EMBEDDING], values[CNN_SYMBOL_EMBEDDING],
                                "symbol_embedding", 0, CONFIG_DIM_MAX,
                                &options->symbol_embedding);
    if (HAS(CNN_LEARNING_RATE))
        status = parse_float(doc, keys[CNN_LEARNING_RATE], values[CNN_LEARNING_RATE],
                             "learning_rate", 1e-8, 1, 0, &options->learning_rate);
    if (HAS(CNN_WEIGHT_DECAY))
        status = parse_float(doc, keys[CNN_WEIGHT_DECAY], values[CNN_WEIGHT_DECAY],
                             "weight_decay", 0, 1, 0, &options->weight_decay);
    if (HAS(CNN_SCHEDULE))
        status = parse_schedule(doc, keys[CNN_SCHEDULE], values[CNN_SCHEDULE],
                                &options->lr_schedule);
    if (HAS(CNN_STEP_EPOCHS))
        status = ohlcx_yaml_int(doc, keys[CNN_STEP_EPOCHS], values[CNN_STEP_EPOCHS],
                                "step_epochs", 1, 256, &options->lr_step_epochs);
    if (HAS(CNN_GAMMA))
        status = parse_float(doc, keys[CNN_GAMMA], values[CNN_GAMMA], "gamma", 1e-6, 1, 0,
                             &options->lr_gamma);
    if (HAS(CNN_EPOCHS))
        status = ohlcx_yaml_int(doc, keys[CNN_EPOCHS], values[CNN_EPOCHS], "epochs", 1, 256,
                                &options->epochs);
    if (HAS(CNN_PATIENCE))
        status = ohlcx_yaml_int(doc, keys[CNN_PATIENCE], values[CNN_PATIENCE], "patience", 1,
                                256, &options->patience);
    if (HAS(CNN_BATCH))
        status = ohlcx_yaml_int(doc, keys[CNN_BATCH], values[CNN_BATCH], "batch", 1, 65536,
                                &options->batch_size);
#undef HAS
    return status;
}


static int parse_root(const ohlcx_yaml_doc *doc, const yaml_node_t *root,
                      ohlcx_run_options *options, ohlcx_cnn_config *architecture)
{
    static const ohlcx_yaml_keys table = {"the top level", top_keys, top_required,
                                          TOP_KEY_COUNT};
    yaml_node_t *keys[TOP_KEY_COUNT], *values[TOP_KEY_COUNT];
    int status = ohlcx_yaml_read_mapping(doc, root, &table, keys, values);

    if (status == 0 && values[TOP_WINDOW] != NULL)
        status = ohlcx_yaml_int(doc, keys[TOP_WINDOW], values[TOP_WINDOW], "window", 9, 1024,
                                &options->window);
    if (status == 0 && values[TOP_HORIZON] != NULL)
        status = ohlcx_yaml_int(doc, keys[TOP_HORIZON], values[TOP_HORIZON], "horizon", 1,
                                1000, &options->horizon);
    if (status == 0 && values[TOP_SEED] != NULL)
        status = ohlcx_yaml_u64(doc, keys[TOP_SEED], values[TOP_SEED], "seed", SEED_MAX,
                                &options->seed);
    if (status == 0 && values[TOP_CNN] != NULL)
        status = parse_cnn(doc, values[TOP_CNN], options, architecture);
    return status;
}


int ohlcx_run_config_parse(const char *text, size_t length, const char *path,
                           ohlcx_run_options *options, ohlcx_cnn_config *architecture)
{
    ohlcx_run_options parsed = *options;
    ohlcx_cnn_config layout = *architecture;
    ohlcx_yaml_doc doc;
    yaml_node_t *root = NULL;
    int status = ohlcx_yaml_doc_parse(&doc, text, length, path, "a configuration file", &root);

    if (status != 0)
        return status;
    if (root != NULL)
        status = parse_root(&doc, root, &parsed, &layout);
    ohlcx_yaml_doc_free(&doc);
    if (status != 0)
        return status;
    *options = parsed;
    *architecture = layout;
    options->architecture = architecture;
    return 0;
}


int ohlcx_run_config_load(const char *path, ohlcx_run_options *options,
                          ohlcx_cnn_config *architecture)
{
    char *text = NULL;
    size_t length = 0;
    int status = ohlcx_read_text_file(path, "configuration file", &text, &length);

    if (status == 0)
        status = ohlcx_run_config_parse(text, length, path, options, architecture);
    free(text);
    return status;
}
