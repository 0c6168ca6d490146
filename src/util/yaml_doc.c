/*
 * Strict YAML reading shared by the universe file and the pipeline
 * configuration, as yaml_doc.h describes.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ohlcx/error.h"
#include "util/yaml_doc.h"

/* Deepest nesting of lists and mappings accepted. libyaml's scanner works in
 * proportion to the depth on every token, so 200 KB of nested brackets took
 * 40 s to load, and no configuration or universe file needs more than a few
 * levels. */
#define DEPTH_MAX 64


int ohlcx_yaml_fail(const ohlcx_yaml_doc *doc, yaml_mark_t mark, const char *format, ...)
{
    char message[512];
    va_list args;

    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    return ohlcx_set_error(OHLCX_EFORMAT, "%s:%zu:%zu: %s", doc->path, mark.line + 1,
                           mark.column + 1, message);
}


yaml_node_t *ohlcx_yaml_node(const ohlcx_yaml_doc *doc, int index)
{
    return yaml_document_get_node((yaml_document_t *)&doc->document, index);
}


const char *ohlcx_yaml_kind_name(const yaml_node_t *node)
{
    switch (node->type) {
    case YAML_SCALAR_NODE: return "a single value";
    case YAML_SEQUENCE_NODE: return "a list";
    case YAML_MAPPING_NODE: return "a mapping";
    default: return "nothing";
    }
}


int ohlcx_yaml_is_null(const yaml_node_t *node)
{
    const char *text = (const char *)node->data.scalar.value;

    if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    return text[0] == '\0' || strcmp(text, "~") == 0 || strcmp(text, "null") == 0 ||
           strcmp(text, "Null") == 0 || strcmp(text, "NULL") == 0;
}


yaml_mark_t ohlcx_yaml_mark(const yaml_node_t *key, const yaml_node_t *value)
{
    return key != NULL && ohlcx_yaml_is_null(value) ? key->start_mark : value->start_mark;
}


int ohlcx_yaml_text(const ohlcx_yaml_doc *doc, const yaml_node_t *key, const yaml_node_t *node,
                    const char *field, const char **text)
{
    if (node->type != YAML_SCALAR_NODE || ohlcx_yaml_is_null(node))
        return ohlcx_yaml_fail(doc, ohlcx_yaml_mark(key, node), "expected a value for %s, "
                               "found %s", field, ohlcx_yaml_is_null(node) ? "an empty value" :
                               ohlcx_yaml_kind_name(node));
    *text = (const char *)node->data.scalar.value;
    return 0;
}


/* Reads the text of a number or a boolean, which YAML writes unquoted: a
 * quoted "16" is a string. */
static int plain_text(const ohlcx_yaml_doc *doc, const yaml_node_t *key, const yaml_node_t *node,
                      const char *field, const char *expected, const char **text)
{
    int status = ohlcx_yaml_text(doc, key, node, field, text);

    if (status == 0 && node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return ohlcx_yaml_fail(doc, node->start_mark, "invalid %s \"%s\": write %s without "
                               "quotes", field, *text, expected);
    return status;
}


int ohlcx_yaml_int(const ohlcx_yaml_doc *doc, const yaml_node_t *key, const yaml_node_t *node,
                   const char *field, int min, int max, int *out)
{
    const char *text = NULL;
    char *end = NULL;
    long value;
    int status = plain_text(doc, key, node, field, "an integer", &text);

    if (status != 0)
        return status;
    errno = 0;
    value = strtol(text, &end, 10);
    if (!isdigit((unsigned char)text[0]) || *end != '\0' || errno != 0 || value < min ||
        value > max)
        return ohlcx_yaml_fail(doc, node->start_mark, "invalid %s '%s': use an integer from "
                               "%d to %d", field, text, min, max);
    *out = (int)value;
    return 0;
}


int ohlcx_yaml_u64(const ohlcx_yaml_doc *doc, const yaml_node_t *key, const yaml_node_t *node,
                   const char *field, uint64_t max, uint64_t *out)
{
    const char *text = NULL;
    char *end = NULL;
    unsigned long long value;
    int status = plain_text(doc, key, node, field, "an integer", &text);

    if (status != 0)
        return status;
    errno = 0;
    value = strtoull(text, &end, 10);
    if (!isdigit((unsigned char)text[0]) || *end != '\0' || errno != 0 || value > max)
        return ohlcx_yaml_fail(doc, node->start_mark, "invalid %s '%s': use an integer from "
                               "0 to %llu", field, text, (unsigned long long)max);
    *out = value;
    return 0;
}


int ohlcx_yaml_number(const ohlcx_yaml_doc *doc, const yaml_node_t *key,
                      const yaml_node_t *node, const char *field, double min, double max,
                      int upper_open, double *out)
{
    const char *text = NULL;
    char *end = NULL;
    double value;
    int status = plain_text(doc, key, node, field, "a number", &text);

    if (status != 0)
        return status;
    errno = 0;
    value = strtod(text, &end);
    if (end == text || *end != '\0' || errno != 0 || !isfinite(value) || value < min ||
        value > max || (upper_open && value == max))
        return ohlcx_yaml_fail(doc, node->start_mark, "invalid %s '%s': use a number from %g "
                               "to %g%s", field, text, min, max,
                               upper_open ? " (not included)" : "");
    *out = value;
    return 0;
}


int ohlcx_yaml_bool(const ohlcx_yaml_doc *doc, const yaml_node_t *key, const yaml_node_t *node,
                    const char *field, int *out)
{
    static const char *const truths[] = {"true", "True", "TRUE", "yes", "Yes", "on", "On"};
    static const char *const lies[] = {"false", "False", "FALSE", "no", "No", "off", "Off"};
    const char *text = NULL;
    int status = plain_text(doc, key, node, field, "true or false", &text);

    if (status != 0)
        return status;
    for (size_t i = 0; i < sizeof truths / sizeof truths[0]; i++) {
        if (strcmp(text, truths[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcmp(text, lies[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return ohlcx_yaml_fail(doc, node->start_mark, "invalid %s '%s': use true or false", field,
                           text);
}


/* Writes "a, b or c" into out. */
static void join_names(const ohlcx_yaml_keys *table, char *out, size_t size)
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


static int find_key(const ohlcx_yaml_keys *table, const char *name)
{
    for (int i = 0; i < table->count; i++)
        if (strcmp(table->names[i], name) == 0)
            return i;
    return -1;
}


int ohlcx_yaml_read_mapping(const ohlcx_yaml_doc *doc, const yaml_node_t *mapping,
                            const ohlcx_yaml_keys *table, yaml_node_t **keys,
                            yaml_node_t **values)
{
    char expected[384];

    for (int i = 0; i < table->count; i++)
        keys[i] = values[i] = NULL;
    join_names(table, expected, sizeof expected);
    if (mapping->type != YAML_MAPPING_NODE)
        return ohlcx_yaml_fail(doc, mapping->start_mark, "expected a mapping with the keys %s "
                               "for %s, found %s", expected, table->mapping_name,
                               ohlcx_yaml_kind_name(mapping));

    for (yaml_node_pair_t *pair = mapping->data.mapping.pairs.start;
         pair < mapping->data.mapping.pairs.top; pair++) {
        yaml_node_t *key = ohlcx_yaml_node(doc, pair->key);
        const char *name = NULL;
        int index;

        if (key->type != YAML_SCALAR_NODE)
            return ohlcx_yaml_fail(doc, key->start_mark, "expected a key name in %s, found %s",
                                   table->mapping_name, ohlcx_yaml_kind_name(key));
        name = (const char *)key->data.scalar.value;
        index = find_key(table, name);
        if (index < 0)
            return ohlcx_yaml_fail(doc, key->start_mark, "unknown key '%s' in %s: use %s", name,
                                   table->mapping_name, expected);
        if (keys[index] != NULL)
            return ohlcx_yaml_fail(doc, key->start_mark, "key '%s' is given twice in %s (first "
                                   "at line %zu)", name, table->mapping_name,
                                   keys[index]->start_mark.line + 1);
        keys[index] = key;
        values[index] = ohlcx_yaml_node(doc, pair->value);
    }

    for (int i = 0; i < table->count; i++)
        if (table->required[i] && keys[i] == NULL)
            return ohlcx_yaml_fail(doc, mapping->start_mark, "missing key '%s' in %s",
                                   table->names[i], table->mapping_name);
    return 0;
}


int ohlcx_yaml_read_list(const ohlcx_yaml_doc *doc, const yaml_node_t *key,
                         const yaml_node_t *node, const char *field, const char *example,
                         yaml_node_item_t **items, size_t *count)
{
    if (ohlcx_yaml_is_null(node))
        return ohlcx_yaml_fail(doc, ohlcx_yaml_mark(key, node), "%s is empty: list at least "
                               "one, such as %s", field, example);
    if (node->type != YAML_SEQUENCE_NODE)
        return ohlcx_yaml_fail(doc, node->start_mark, "expected a list for %s, such as %s, "
                               "found %s", field, example, ohlcx_yaml_kind_name(node));
    *items = node->data.sequence.items.start;
    *count = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    if (*count == 0)
        return ohlcx_yaml_fail(doc, node->start_mark, "%s is an empty list: list at least one, "
                               "such as %s", field, example);
    return 0;
}


/* Turns a libyaml parser failure into an error message. */
static int parser_failure(const char *path, const yaml_parser_t *parser)
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


/* Fails when lists and mappings nest deeper than DEPTH_MAX, reading events
 * only up to that point. A syntax error ends the check without failing it,
 * so that the document loader reports it as usual. */
static int check_depth(const ohlcx_yaml_doc *doc, const char *text, size_t length)
{
    yaml_parser_t parser;
    int depth = 0, done = 0, status = 0;

    if (!yaml_parser_initialize(&parser))
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory reading %s", doc->path);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, length);
    while (!done && status == 0) {
        yaml_event_t event;

        if (!yaml_parser_parse(&parser, &event))
            break;
        if (event.type == YAML_SEQUENCE_START_EVENT || event.type == YAML_MAPPING_START_EVENT) {
            if (++depth > DEPTH_MAX)
                status = ohlcx_yaml_fail(doc, event.start_mark, "lists and mappings nest more "
                                         "than %d levels deep here: %s needs a few",
                                         DEPTH_MAX, doc->kind);
        } else if (event.type == YAML_SEQUENCE_END_EVENT ||
                   event.type == YAML_MAPPING_END_EVENT) {
            depth--;
        } else if (event.type == YAML_STREAM_END_EVENT) {
            done = 1;
        }
        yaml_event_delete(&event);
    }
    yaml_parser_delete(&parser);
    return status;
}


/* Rejects a second document after the first one. */
static int check_single_document(const ohlcx_yaml_doc *doc, yaml_parser_t *parser)
{
    yaml_document_t next;
    yaml_node_t *root;
    int status = 0;

    if (!yaml_parser_load(parser, &next))
        return parser_failure(doc->path, parser);
    root = yaml_document_get_root_node(&next);
    if (root != NULL)
        status = ohlcx_set_error(OHLCX_EFORMAT, "%s:%zu:%zu: a second YAML document starts "
                                 "here: %s holds one", doc->path, root->start_mark.line + 1,
                                 root->start_mark.column + 1, doc->kind);
    yaml_document_delete(&next);
    return status;
}


int ohlcx_yaml_doc_parse(ohlcx_yaml_doc *doc, const char *text, size_t length,
                         const char *path, const char *kind, yaml_node_t **root)
{
    yaml_parser_t parser;
    int status = 0;

    doc->path = path;
    doc->kind = kind;
    *root = NULL;
    if (length > OHLCX_YAML_MAX_BYTES)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: %zu bytes is too long for %s: it may have "
                               "at most %d", path, length, kind, OHLCX_YAML_MAX_BYTES);
    status = check_depth(doc, text, length);
    if (status != 0)
        return status;
    if (!yaml_parser_initialize(&parser))
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory reading %s", path);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, length);
    if (!yaml_parser_load(&parser, &doc->document)) {
        status = parser_failure(path, &parser);
        yaml_parser_delete(&parser);
        return status;
    }
    *root = yaml_document_get_root_node(&doc->document);
    if (*root != NULL)
        status = check_single_document(doc, &parser);
    yaml_parser_delete(&parser);
    if (status != 0) {
        yaml_document_delete(&doc->document);
        *root = NULL;
    }
    return status;
}


void ohlcx_yaml_doc_free(ohlcx_yaml_doc *doc)
{
    yaml_document_delete(&doc->document);
}


int ohlcx_read_text_file(const char *path, const char *kind, char **text, size_t *length)
{
    FILE *file = fopen(path, "rb");
    size_t capacity = 4096, used = 0, got;
    char *buffer = NULL;
    int read_error;

    if (file == NULL)
        return ohlcx_set_error(OHLCX_EIO, "cannot open %s %s: %s", kind, path, strerror(errno));
    buffer = malloc(capacity);
    while (buffer != NULL && (got = fread(buffer + used, 1, capacity - used, file)) > 0) {
        used += got;
        if (used > OHLCX_YAML_MAX_BYTES) {
            free(buffer);
            fclose(file);
            return ohlcx_set_error(OHLCX_EFORMAT, "%s %s is longer than %d bytes: such a file "
                                   "has a few kilobytes", kind, path, OHLCX_YAML_MAX_BYTES);
        }
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
    read_error = errno;
    if (ferror(file)) {
        free(buffer);
        fclose(file);
        return ohlcx_set_error(OHLCX_EIO, "cannot read %s %s: %s", kind, path,
                               strerror(read_error));
    }
    fclose(file);
    *text = buffer;
    *length = used;
    return 0;
}
