/*
 * Universe files: YAML read through libyaml's document API and validated
 * strictly, so that a typo fails with its line and column instead of quietly
 * dropping a group or a timeframe.
 *
 * The walk over the node tree reports structure errors (unknown or repeated
 * keys, a list where a value belongs, empty lists, invalid values) as it
 * meets them, which is file order. Duplicate series are found afterwards:
 * every (asset class, timeframe, symbol) triple becomes one key, the keys are
 * sorted, and equal neighbours are duplicates. Of all duplicates the one
 * written first in the file is reported, together with the place of the
 * entry it repeats.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ohlcx/error.h"
#include "ohlcx/format.h"
#include "ohlcx/universe.h"
#include "util/yaml_doc.h"

#define MONTHS_MAX 1200
#define TIER_MAX 99
/* 2200-01-01 00:00 UTC, where the synthetic calendar ends. */
#define START_LIMIT_US (INT64_C(7258118400) * OHLCX_US_PER_SECOND)

/* One (asset class, timeframe, symbol) series, for the duplicate check. */
typedef struct series_key {
    int asset_class;
    int timeframe_id;
    const char *symbol; /* points into a group's symbols */
    yaml_mark_t mark;   /* where the symbol is written */
    size_t order;       /* position in file order */
} series_key;

typedef struct parser_state {
    const ohlcx_yaml_doc *doc;
    series_key *keys;
    size_t key_count;
    size_t key_capacity;
} parser_state;

static const char *const top_keys[] = {"name", "description", "start", "months", "groups"};
static const int top_required[] = {1, 0, 0, 0, 1};
static const char *const group_keys[] = {"asset_class", "tier", "timeframes", "symbols"};
static const int group_required[] = {1, 0, 1, 1};

enum { TOP_NAME, TOP_DESCRIPTION, TOP_START, TOP_MONTHS, TOP_GROUPS, TOP_KEY_COUNT };
enum { GROUP_CLASS, GROUP_TIER, GROUP_TIMEFRAMES, GROUP_SYMBOLS, GROUP_KEY_COUNT };

static int parse_asset_class(const parser_state *state, const yaml_node_t *key,
                             const yaml_node_t *node, int *out)
{
    const char *text = NULL;
    int status = ohlcx_yaml_text(state->doc, key, node, "asset_class", &text);

    if (status != 0)
        return status;
    for (int i = 0; i < OHLCX_ASSET_COUNT; i++) {
        if (strcmp(text, ohlcx_asset_class_name(i)) == 0) {
            *out = i;
            return 0;
        }
    }
    return ohlcx_yaml_fail(state->doc, node->start_mark, "unknown asset_class '%s': use crypto, stocks, "
                   "forex, indices, commodities or bonds", text);
}


static int parse_timeframes(const parser_state *state, const yaml_node_t *key,
                            const yaml_node_t *node, ohlcx_universe_group *group)
{
    yaml_node_item_t *items = NULL;
    size_t count = 0;
    int status = ohlcx_yaml_read_list(state->doc, key, node, "timeframes", "[1h, 1d]", &items, &count);

    for (size_t i = 0; i < count && status == 0; i++) {
        yaml_node_t *item = ohlcx_yaml_node(state->doc, items[i]);
        const char *text = NULL;
        char canonical[OHLCX_TIMEFRAME_MAX];

        status = ohlcx_yaml_text(state->doc, NULL, item, "a timeframe", &text);
        if (status != 0)
            break;
        if (ohlcx_timeframe_parse(text, canonical) != 0)
            return ohlcx_yaml_fail(state->doc, item->start_mark, "%s", ohlcx_last_error());
        for (int j = 0; j < group->timeframe_count; j++)
            if (strcmp(group->timeframes[j], canonical) == 0)
                return ohlcx_yaml_fail(state->doc, item->start_mark, "timeframe '%s' repeats %s in this "
                               "group", text, canonical);
        /* Distinct canonical names number OHLCX_TIMEFRAME_COUNT, so the
         * check above stops a longer list before it overflows. */
        memcpy(group->timeframes[group->timeframe_count++], canonical, sizeof canonical);
    }
    return status;
}


static int is_valid_symbol(const char *text)
{
    size_t length = strlen(text);

    if (length == 0 || length >= OHLCX_SYMBOL_MAX)
        return 0;
    for (size_t i = 0; i < length; i++)
        if (!isalnum((unsigned char)text[i]))
            return 0;
    return 1;
}


static int push_key(parser_state *state, const series_key *key)
{
    if (state->key_count == state->key_capacity) {
        size_t capacity = state->key_capacity ? 2 * state->key_capacity : 256;
        series_key *grown = realloc(state->keys, capacity * sizeof *grown);

        if (grown == NULL)
            return ohlcx_set_error(OHLCX_ENOMEM, "out of memory reading %s", state->doc->path);
        state->keys = grown;
        state->key_capacity = capacity;
    }
    state->keys[state->key_count++] = *key;
    return 0;
}


/* Reads the symbols of a group and adds one key per symbol and timeframe. */
static int parse_symbols(parser_state *state, const yaml_node_t *key, const yaml_node_t *node,
                         ohlcx_universe_group *group)
{
    yaml_node_item_t *items = NULL;
    size_t count = 0;
    int status = ohlcx_yaml_read_list(state->doc, key, node, "symbols", "[BTCUSDT, ETHUSDT]", &items, &count);

    if (status != 0)
        return status;
    group->symbols = calloc(count, sizeof *group->symbols);
    if (group->symbols == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory reading %s", state->doc->path);

    for (size_t i = 0; i < count && status == 0; i++) {
        yaml_node_t *item = ohlcx_yaml_node(state->doc, items[i]);
        const char *text = NULL;

        status = ohlcx_yaml_text(state->doc, NULL, item, "a symbol", &text);
        if (status != 0)
            break;
        if (!is_valid_symbol(text))
            return ohlcx_yaml_fail(state->doc, item->start_mark, "invalid symbol '%s': use 1 to %d letters "
                           "and digits, such as BTCUSDT", text, OHLCX_SYMBOL_MAX - 1);
        memcpy(group->symbols[i], text, strlen(text) + 1);
        group->symbol_count++;
        for (int t = 0; t < group->timeframe_count && status == 0; t++) {
            series_key series = {group->asset_class, ohlcx_timeframe_id(group->timeframes[t]),
                                 group->symbols[i], item->start_mark, state->key_count};
            status = push_key(state, &series);
        }
    }
    return status;
}


static int parse_group(parser_state *state, const yaml_node_t *node,
                       ohlcx_universe_group *group)
{
    static const ohlcx_yaml_keys table = {"a group", group_keys, group_required, GROUP_KEY_COUNT};
    yaml_node_t *keys[GROUP_KEY_COUNT] = {0}, *values[GROUP_KEY_COUNT] = {0};
    int status = ohlcx_yaml_read_mapping(state->doc, node, &table, keys, values);

    group->line = (int)node->start_mark.line + 1;
    if (status == 0)
        status = parse_asset_class(state, keys[GROUP_CLASS], values[GROUP_CLASS],
                                   &group->asset_class);
    if (status == 0 && values[GROUP_TIER] != NULL)
        status = ohlcx_yaml_int(state->doc, keys[GROUP_TIER], values[GROUP_TIER], "tier", 1, TIER_MAX,
                            &group->tier);
    if (status == 0)
        status = parse_timeframes(state, keys[GROUP_TIMEFRAMES], values[GROUP_TIMEFRAMES], group);
    if (status == 0)
        status = parse_symbols(state, keys[GROUP_SYMBOLS], values[GROUP_SYMBOLS], group);
    return status;
}


static int parse_groups(parser_state *state, const yaml_node_t *key, const yaml_node_t *node,
                        ohlcx_universe *out)
{
    yaml_node_item_t *items = NULL;
    size_t count = 0;
    int status = ohlcx_yaml_read_list(state->doc, key, node, "groups", "[{asset_class: crypto, timeframes: [1h], "
                           "symbols: [BTCUSDT]}]", &items, &count);

    if (status != 0)
        return status;
    out->groups = calloc(count, sizeof *out->groups);
    if (out->groups == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory reading %s", state->doc->path);
    for (size_t i = 0; i < count && status == 0; i++) {
        out->group_count++;
        status = parse_group(state, ohlcx_yaml_node(state->doc, items[i]), &out->groups[i]);
    }
    return status;
}


static int parse_name(const parser_state *state, const yaml_node_t *key, const yaml_node_t *node,
                      ohlcx_universe *out)
{
    const char *text = NULL;
    int status = ohlcx_yaml_text(state->doc, key, node, "name", &text);

    if (status != 0)
        return status;
    if (strlen(text) >= sizeof out->name)
        return ohlcx_yaml_fail(state->doc, node->start_mark, "name is %zu characters long: use at most %zu",
                       strlen(text), sizeof out->name - 1);
    memcpy(out->name, text, strlen(text) + 1);
    return 0;
}


static int parse_start(const parser_state *state, const yaml_node_t *key, const yaml_node_t *node,
                       ohlcx_universe *out)
{
    const char *text = NULL;
    int status = ohlcx_yaml_text(state->doc, key, node, "start", &text);

    if (status != 0)
        return status;
    if (ohlcx_parse_datetime(text, strlen(text), &out->start_us) != 0 || out->start_us < 0 ||
        out->start_us >= START_LIMIT_US)
        return ohlcx_yaml_fail(state->doc, node->start_mark, "invalid start '%s': use a UTC date from "
                       "1970-01-01 to 2199-12-31 written YYYY-MM-DD", text);
    out->has_start = 1;
    return 0;
}


static int compare_series_keys(const void *a, const void *b)
{
    const series_key *x = a, *y = b;
    int order;

    if (x->asset_class != y->asset_class)
        return x->asset_class < y->asset_class ? -1 : 1;
    if (x->timeframe_id != y->timeframe_id)
        return x->timeframe_id < y->timeframe_id ? -1 : 1;
    order = strcmp(x->symbol, y->symbol);
    if (order != 0)
        return order;
    return (x->order > y->order) - (x->order < y->order);
}


static int compare_symbol_keys(const void *a, const void *b)
{
    const series_key *x = a, *y = b;

    if (x->asset_class != y->asset_class)
        return x->asset_class < y->asset_class ? -1 : 1;
    return strcmp(x->symbol, y->symbol);
}


static int same_series(const series_key *x, const series_key *y)
{
    return x->asset_class == y->asset_class && x->timeframe_id == y->timeframe_id &&
           strcmp(x->symbol, y->symbol) == 0;
}


/* Rejects a series listed twice, reporting the first repeat in file order. */
static int check_duplicates(const parser_state *state)
{
    static const char *timeframe_names[OHLCX_TIMEFRAME_COUNT] = {
        "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h",
        "6h", "8h", "12h", "1d", "3d", "1w", "1M", "3M"};
    const series_key *repeat = NULL, *original = NULL, *first_of_run = state->keys;

    /* After sorting, equal series are neighbours in file order, so the first
     * key of a run is the original and every other one repeats it. */
    qsort(state->keys, state->key_count, sizeof *state->keys, compare_series_keys);
    for (size_t i = 1; i < state->key_count; i++) {
        const series_key *key = &state->keys[i];

        if (!same_series(first_of_run, key)) {
            first_of_run = key;
            continue;
        }
        if (repeat == NULL || key->order < repeat->order) {
            repeat = key;
            original = first_of_run;
        }
    }
    if (repeat == NULL)
        return 0;
    return ohlcx_yaml_fail(state->doc, repeat->mark, "symbol %s is listed twice for %s at %s (first at "
                   "line %zu, column %zu)", repeat->symbol,
                   ohlcx_asset_class_name(repeat->asset_class),
                   timeframe_names[repeat->timeframe_id], original->mark.line + 1,
                   original->mark.column + 1);
}


/* Counts the series and the distinct (asset class, symbol) pairs. */
static void count_universe(const parser_state *state, ohlcx_universe *out)
{
    out->series_count = state->key_count;
    out->symbol_count = 0;
    qsort(state->keys, state->key_count, sizeof *state->keys, compare_symbol_keys);
    for (size_t i = 0; i < state->key_count; i++)
        if (i == 0 || compare_symbol_keys(&state->keys[i - 1], &state->keys[i]) != 0)
            out->symbol_count++;
}


static int parse_root(parser_state *state, const yaml_node_t *root, ohlcx_universe *out)
{
    static const ohlcx_yaml_keys table = {"the top level", top_keys, top_required, TOP_KEY_COUNT};
    yaml_node_t *keys[TOP_KEY_COUNT] = {0}, *values[TOP_KEY_COUNT] = {0};
    const char *description = NULL;
    int status = ohlcx_yaml_read_mapping(state->doc, root, &table, keys, values);

    if (status == 0)
        status = parse_name(state, keys[TOP_NAME], values[TOP_NAME], out);
    if (status == 0 && values[TOP_DESCRIPTION] != NULL)
        status = ohlcx_yaml_text(state->doc, keys[TOP_DESCRIPTION], values[TOP_DESCRIPTION],
                             "description", &description);
    if (status == 0 && values[TOP_START] != NULL)
        status = parse_start(state, keys[TOP_START], values[TOP_START], out);
    if (status == 0 && values[TOP_MONTHS] != NULL)
        status = ohlcx_yaml_int(state->doc, keys[TOP_MONTHS], values[TOP_MONTHS], "months", 1, MONTHS_MAX,
                            &out->months);
    if (status == 0)
        status = parse_groups(state, keys[TOP_GROUPS], values[TOP_GROUPS], out);
    if (status == 0)
        status = check_duplicates(state);
    if (status == 0)
        count_universe(state, out);
    return status;
}


int ohlcx_universe_parse(const char *text, size_t length, const char *path,
                         ohlcx_universe *out)
{
    ohlcx_yaml_doc doc;
    parser_state state = {&doc, NULL, 0, 0};
    yaml_node_t *root = NULL;
    int status;

    memset(out, 0, sizeof *out);
    if (text == NULL || path == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "ohlcx_universe_parse: text and path must not be "
                               "NULL");
    snprintf(out->path, sizeof out->path, "%s", path);
    status = ohlcx_yaml_doc_parse(&doc, text, length, path, "a universe file", &root);
    if (status != 0)
        return status;

    if (root == NULL)
        status = ohlcx_set_error(OHLCX_EFORMAT, "%s:1:1: the file is empty: give at least "
                                 "name and groups", path);
    else
        status = parse_root(&state, root, out);

    free(state.keys);
    ohlcx_yaml_doc_free(&doc);
    if (status != 0)
        ohlcx_universe_free(out);
    return status;
}


int ohlcx_universe_load(const char *path, ohlcx_universe *out)
{
    char *text = NULL;
    size_t length = 0;
    int status;

    memset(out, 0, sizeof *out);
    if (path == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "ohlcx_universe_load: path must not be NULL");
    status = ohlcx_read_text_file(path, "universe file", &text, &length);
    if (status == 0)
        status = ohlcx_universe_parse(text, length, path, out);
    free(text);
    return status;
}


void ohlcx_universe_free(ohlcx_universe *universe)
{
    if (universe == NULL)
        return;
    for (size_t i = 0; i < universe->group_count; i++)
        free(universe->groups[i].symbols);
    free(universe->groups);
    memset(universe, 0, sizeof *universe);
}
