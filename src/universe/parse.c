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
 *
 * libyaml marks count lines and columns from 0; messages add 1.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "ohlcx/error.h"
#include "ohlcx/format.h"
#include "ohlcx/universe.h"

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
    const char *path;
    yaml_document_t *document;
    series_key *keys;
    size_t key_count;
    size_t key_capacity;
} parser_state;

/* The keys of one mapping: names[i] is required when required[i] is 1. */
typedef struct key_table {
    const char *mapping_name; /* "the top level", "a group" */
    const char *const *names;
    const int *required;
    int count;
} key_table;

static const char *const top_keys[] = {"name", "description", "start", "months", "groups"};
static const int top_required[] = {1, 0, 0, 0, 1};
static const char *const group_keys[] = {"asset_class", "tier", "timeframes", "symbols"};
static const int group_required[] = {1, 0, 1, 1};

enum { TOP_NAME, TOP_DESCRIPTION, TOP_START, TOP_MONTHS, TOP_GROUPS, TOP_KEY_COUNT };
enum { GROUP_CLASS, GROUP_TIER, GROUP_TIMEFRAMES, GROUP_SYMBOLS, GROUP_KEY_COUNT };

/* Keys in the longest table. */
#define KEY_TABLE_MAX 5
_Static_assert(TOP_KEY_COUNT <= KEY_TABLE_MAX && GROUP_KEY_COUNT <= KEY_TABLE_MAX,
               "KEY_TABLE_MAX must hold every key table");


static int fail_at(const parser_state *state, yaml_mark_t mark, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(const parser_state *state, yaml_mark_t mark, const char *format, ...)
{
    char message[512];
    va_list args;

    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    return ohlcx_set_error(OHLCX_EFORMAT, "%s:%zu:%zu: %s", state->path, mark.line + 1,
                           mark.column + 1, message);
}


static const char *node_kind_name(const yaml_node_t *node)
{
    switch (node->type) {
    case YAML_SCALAR_NODE: return "a single value";
    case YAML_SEQUENCE_NODE: return "a list";
    case YAML_MAPPING_NODE: return "a mapping";
    default: return "nothing";
    }
}


/* Returns 1 for a plain empty value, "~" or "null", which is what `key:`
 * with nothing after it gives. */
static int is_null(const yaml_node_t *node)
{
    const char *text = (const char *)node->data.scalar.value;

    if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    return text[0] == '\0' || strcmp(text, "~") == 0 || strcmp(text, "null") == 0 ||
           strcmp(text, "Null") == 0 || strcmp(text, "NULL") == 0;
}


static yaml_node_t *node_at(const parser_state *state, int index)
{
    return yaml_document_get_node(state->document, index);
}


/* Returns where to report a problem with value: at its key when the value
 * is empty, because libyaml places an empty value at the next token. */
static yaml_mark_t mark_of(const yaml_node_t *key, const yaml_node_t *value)
{
    return key != NULL && is_null(value) ? key->start_mark : value->start_mark;
}


/* Reads a non-empty scalar. key is the node's key in a mapping, or NULL. */
static int scalar_text(const parser_state *state, const yaml_node_t *key, const yaml_node_t *node,
                       const char *field, const char **text)
{
    if (node->type != YAML_SCALAR_NODE || is_null(node))
        return fail_at(state, mark_of(key, node), "expected a value for %s, found %s", field,
                       is_null(node) ? "an empty value" : node_kind_name(node));
    *text = (const char *)node->data.scalar.value;
    return 0;
}


static int scalar_int(const parser_state *state, const yaml_node_t *key, const yaml_node_t *node,
                      const char *field, int min, int max, int *out)
{
    const char *text = NULL;
    char *end = NULL;
    long value;
    int status = scalar_text(state, key, node, field, &text);

    if (status != 0)
        return status;
    errno = 0;
    value = strtol(text, &end, 10);
    if (!isdigit((unsigned char)text[0]) || *end != '\0' || errno != 0 || value < min ||
        value > max)
        return fail_at(state, node->start_mark, "invalid %s '%s': use an integer from %d to %d",
                       field, text, min, max);
    *out = (int)value;
    return 0;
}


/* Writes "a, b or c" into out. */
static void join_names(const key_table *table, char *out, size_t size)
{
    size_t used = 0;

    out[0] = '\0';
    for (int i = 0; i < table->count && used < size; i++) {
        const char *separator = ", ";
        int written;

        if (i == 0)
            separator = "";
        else if (i == table->count - 1)
            separator = " or ";
        written = snprintf(out + used, size - used, "%s%s", separator, table->names[i]);

        if (written < 0)
            break;
        used += (size_t)written;
    }
}


static int find_key(const key_table *table, const char *name)
{
    for (int i = 0; i < table->count; i++)
        if (strcmp(table->names[i], name) == 0)
            return i;
    return -1;
}


/*
 * Looks up the keys of a mapping: keys[i] and values[i] become the key and
 * value nodes of table->names[i], or NULL when that optional key is absent.
 * Rejects keys that are not in the table, keys given twice and missing
 * required keys.
 */
static int read_mapping(const parser_state *state, const yaml_node_t *mapping,
                        const key_table *table, yaml_node_t **keys, yaml_node_t **values)
{
    char expected[128];

    for (int i = 0; i < table->count; i++)
        keys[i] = values[i] = NULL;
    join_names(table, expected, sizeof expected);
    if (mapping->type != YAML_MAPPING_NODE)
        return fail_at(state, mapping->start_mark, "expected a mapping with the keys %s for %s, "
                       "found %s", expected, table->mapping_name, node_kind_name(mapping));

    for (yaml_node_pair_t *pair = mapping->data.mapping.pairs.start;
         pair < mapping->data.mapping.pairs.top; pair++) {
        yaml_node_t *key = node_at(state, pair->key);
        const char *name = NULL;
        int index;

        if (key->type != YAML_SCALAR_NODE)
            return fail_at(state, key->start_mark, "expected a key name in %s, found %s",
                           table->mapping_name, node_kind_name(key));
        name = (const char *)key->data.scalar.value;
        index = find_key(table, name);
        if (index < 0)
            return fail_at(state, key->start_mark, "unknown key '%s' in %s: use %s", name,
                           table->mapping_name, expected);
        if (keys[index] != NULL)
            return fail_at(state, key->start_mark, "key '%s' is given twice in %s (first at "
                           "line %zu)", name, table->mapping_name, keys[index]->start_mark.line + 1);
        keys[index] = key;
        values[index] = node_at(state, pair->value);
    }

    for (int i = 0; i < table->count; i++)
        if (table->required[i] && keys[i] == NULL)
            return fail_at(state, mapping->start_mark, "missing key '%s' in %s",
                           table->names[i], table->mapping_name);
    return 0;
}


/* Checks that node, the value of key, is a non-empty list and returns its
 * items. */
static int read_list(const parser_state *state, const yaml_node_t *key, const yaml_node_t *node,
                     const char *field, const char *example, yaml_node_item_t **items,
                     size_t *count)
{
    if (is_null(node))
        return fail_at(state, mark_of(key, node), "%s is empty: list at least one, such as %s",
                       field, example);
    if (node->type != YAML_SEQUENCE_NODE)
        return fail_at(state, node->start_mark, "expected a list for %s, such as %s, found %s",
                       field, example, node_kind_name(node));
    *items = node->data.sequence.items.start;
    *count = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    if (*count == 0)
        return fail_at(state, node->start_mark, "%s is an empty list: list at least one, such "
                       "as %s", field, example);
    return 0;
}


static int parse_asset_class(const parser_state *state, const yaml_node_t *key,
                             const yaml_node_t *node, int *out)
{
    const char *text = NULL;
    int status = scalar_text(state, key, node, "asset_class", &text);

    if (status != 0)
        return status;
    for (int i = 0; i < OHLCX_ASSET_COUNT; i++) {
        if (strcmp(text, ohlcx_asset_class_name(i)) == 0) {
            *out = i;
            return 0;
        }
    }
    return fail_at(state, node->start_mark, "unknown asset_class '%s': use crypto, stocks, "
                   "forex, indices, commodities or bonds", text);
}


static int parse_timeframes(const parser_state *state, const yaml_node_t *key,
                            const yaml_node_t *node, ohlcx_universe_group *group)
{
    yaml_node_item_t *items = NULL;
    size_t count = 0;
    int status = read_list(state, key, node, "timeframes", "[1h, 1d]", &items, &count);

    for (size_t i = 0; i < count && status == 0; i++) {
        yaml_node_t *item = node_at(state, items[i]);
        const char *text = NULL;
        char canonical[OHLCX_TIMEFRAME_MAX];

        status = scalar_text(state, NULL, item, "a timeframe", &text);
        if (status != 0)
            break;
        if (ohlcx_timeframe_parse(text, canonical) != 0)
            return fail_at(state, item->start_mark, "%s", ohlcx_last_error());
        for (int j = 0; j < group->timeframe_count; j++)
            if (strcmp(group->timeframes[j], canonical) == 0)
                return fail_at(state, item->start_mark, "timeframe '%s' repeats %s in this "
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
            return ohlcx_set_error(OHLCX_ENOMEM, "out of memory reading %s", state->path);
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
    int status = read_list(state, key, node, "symbols", "[BTCUSDT, ETHUSDT]", &items, &count);

    if (status != 0)
        return status;
    group->symbols = calloc(count, sizeof *group->symbols);
    if (group->symbols == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory reading %s", state->path);

    for (size_t i = 0; i < count && status == 0; i++) {
        yaml_node_t *item = node_at(state, items[i]);
        const char *text = NULL;

        status = scalar_text(state, NULL, item, "a symbol", &text);
        if (status != 0)
            break;
        if (!is_valid_symbol(text))
            return fail_at(state, item->start_mark, "invalid symbol '%s': use 1 to %d letters "
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
    static const key_table table = {"a group", group_keys, group_required, GROUP_KEY_COUNT};
    yaml_node_t *keys[GROUP_KEY_COUNT] = {0}, *values[GROUP_KEY_COUNT] = {0};
    int status = read_mapping(state, node, &table, keys, values);

    group->line = (int)node->start_mark.line + 1;
    if (status == 0)
        status = parse_asset_class(state, keys[GROUP_CLASS], values[GROUP_CLASS],
                                   &group->asset_class);
    if (status == 0 && values[GROUP_TIER] != NULL)
        status = scalar_int(state, keys[GROUP_TIER], values[GROUP_TIER], "tier", 1, TIER_MAX,
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
    int status = read_list(state, key, node, "groups", "[{asset_class: crypto, timeframes: [1h], "
                           "symbols: [BTCUSDT]}]", &items, &count);

    if (status != 0)
        return status;
    out->groups = calloc(count, sizeof *out->groups);
    if (out->groups == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory reading %s", state->path);
    for (size_t i = 0; i < count && status == 0; i++) {
        out->group_count++;
        status = parse_group(state, node_at(state, items[i]), &out->groups[i]);
    }
    return status;
}


static int parse_name(const parser_state *state, const yaml_node_t *key, const yaml_node_t *node,
                      ohlcx_universe *out)
{
    const char *text = NULL;
    int status = scalar_text(state, key, node, "name", &text);

    if (status != 0)
        return status;
    if (strlen(text) >= sizeof out->name)
        return fail_at(state, node->start_mark, "name is %zu characters long: use at most %zu",
                       strlen(text), sizeof out->name - 1);
    memcpy(out->name, text, strlen(text) + 1);
    return 0;
}


static int parse_start(const parser_state *state, const yaml_node_t *key, const yaml_node_t *node,
                       ohlcx_universe *out)
{
    const char *text = NULL;
    int status = scalar_text(state, key, node, "start", &text);

    if (status != 0)
        return status;
    if (ohlcx_parse_datetime(text, strlen(text), &out->start_us) != 0 || out->start_us < 0 ||
        out->start_us >= START_LIMIT_US)
        return fail_at(state, node->start_mark, "invalid start '%s': use a UTC date from "
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
    return fail_at(state, repeat->mark, "symbol %s is listed twice for %s at %s (first at "
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
    static const key_table table = {"the top level", top_keys, top_required, TOP_KEY_COUNT};
    yaml_node_t *keys[TOP_KEY_COUNT] = {0}, *values[TOP_KEY_COUNT] = {0};
    const char *description = NULL;
    int status = read_mapping(state, root, &table, keys, values);

    if (status == 0)
        status = parse_name(state, keys[TOP_NAME], values[TOP_NAME], out);
    if (status == 0 && values[TOP_DESCRIPTION] != NULL)
        status = scalar_text(state, keys[TOP_DESCRIPTION], values[TOP_DESCRIPTION],
                             "description", &description);
    if (status == 0 && values[TOP_START] != NULL)
        status = parse_start(state, keys[TOP_START], values[TOP_START], out);
    if (status == 0 && values[TOP_MONTHS] != NULL)
        status = scalar_int(state, keys[TOP_MONTHS], values[TOP_MONTHS], "months", 1, MONTHS_MAX,
                            &out->months);
    if (status == 0)
        status = parse_groups(state, keys[TOP_GROUPS], values[TOP_GROUPS], out);
    if (status == 0)
        status = check_duplicates(state);
    if (status == 0)
        count_universe(state, out);
    return status;
}


/* Turns a libyaml parser failure into an error message. */
static int yaml_failure(const char *path, const yaml_parser_t *parser)
{
    const char *problem = parser->problem ? parser->problem : "unknown problem";

    if (parser->error == YAML_MEMORY_ERROR)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory reading %s", path);
    if (parser->error == YAML_READER_ERROR)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: invalid YAML: %s at byte %zu", path, problem,
                               parser->problem_offset);
    if (parser->context != NULL)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s:%zu:%zu: invalid YAML: %s (%s at line %zu, "
                               "column %zu)", path, parser->problem_mark.line + 1,
                               parser->problem_mark.column + 1, problem, parser->context,
                               parser->context_mark.line + 1, parser->context_mark.column + 1);
    return ohlcx_set_error(OHLCX_EFORMAT, "%s:%zu:%zu: invalid YAML: %s", path,
                           parser->problem_mark.line + 1, parser->problem_mark.column + 1,
                           problem);
}


/* Rejects a second document after the first one. */
static int check_single_document(const char *path, yaml_parser_t *parser)
{
    yaml_document_t next;
    yaml_node_t *root;
    int status = 0;

    if (!yaml_parser_load(parser, &next))
        return yaml_failure(path, parser);
    root = yaml_document_get_root_node(&next);
    if (root != NULL)
        status = ohlcx_set_error(OHLCX_EFORMAT, "%s:%zu:%zu: a second YAML document starts "
                                 "here: a universe file holds one", path,
                                 root->start_mark.line + 1, root->start_mark.column + 1);
    yaml_document_delete(&next);
    return status;
}


int ohlcx_universe_parse(const char *text, size_t length, const char *path,
                         ohlcx_universe *out)
{
    yaml_parser_t parser;
    yaml_document_t document;
    parser_state state = {path, &document, NULL, 0, 0};
    yaml_node_t *root;
    int status;

    memset(out, 0, sizeof *out);
    if (text == NULL || path == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "ohlcx_universe_parse: text and path must not be "
                               "NULL");
    snprintf(out->path, sizeof out->path, "%s", path);
    if (!yaml_parser_initialize(&parser))
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory reading %s", path);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, length);
    if (!yaml_parser_load(&parser, &document)) {
        status = yaml_failure(path, &parser);
        yaml_parser_delete(&parser);
        return status;
    }

    root = yaml_document_get_root_node(&document);
    if (root == NULL)
        status = ohlcx_set_error(OHLCX_EFORMAT, "%s:1:1: the file is empty: give at least "
                                 "name and groups", path);
    else
        status = parse_root(&state, root, out);
    if (status == 0)
        status = check_single_document(path, &parser);

    free(state.keys);
    yaml_document_delete(&document);
    yaml_parser_delete(&parser);
    if (status != 0)
        ohlcx_universe_free(out);
    return status;
}


static int read_whole_file(const char *path, char **text, size_t *length)
{
    FILE *file = fopen(path, "rb");
    size_t capacity = 4096, used = 0, got;
    char *buffer = NULL;

    if (file == NULL)
        return ohlcx_set_error(OHLCX_EIO, "cannot open universe file %s: %s", path,
                               strerror(errno));
    buffer = malloc(capacity);
    while (buffer != NULL && (got = fread(buffer + used, 1, capacity - used, file)) > 0) {
        used += got;
        if (used == capacity) {
            char *grown = realloc(buffer, 2 * capacity);
            if (grown == NULL) {
                free(buffer);
                buffer = NULL;
                break;
            }
            buffer = grown;
            capacity *= 2;
        }
    }
    if (buffer == NULL) {
        fclose(file);
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory reading %s", path);
    }
    if (ferror(file)) {
        free(buffer);
        fclose(file);
        return ohlcx_set_error(OHLCX_EIO, "cannot read universe file %s", path);
    }
    fclose(file);
    *text = buffer;
    *length = used;
    return 0;
}


int ohlcx_universe_load(const char *path, ohlcx_universe *out)
{
    char *text = NULL;
    size_t length = 0;
    int status;

    memset(out, 0, sizeof *out);
    if (path == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "ohlcx_universe_load: path must not be NULL");
    status = read_whole_file(path, &text, &length);
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
