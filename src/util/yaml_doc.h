/*
 * Strict reading of small YAML files (universe files, pipeline
 * configurations) through libyaml's document API. Every failure becomes one
 * error message that starts with "PATH:LINE:COLUMN: ", so a typo is reported
 * where it was written instead of being ignored.
 *
 * libyaml counts lines and columns from 0; messages add 1.
 */
#ifndef OHLCX_YAML_DOC_H
#define OHLCX_YAML_DOC_H

#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

/* Maximum length of a file or text, in bytes. The largest shipped universe
 * file has 8 KB. */
#define OHLCX_YAML_MAX_BYTES (1024 * 1024)

/* One loaded document. path is not copied and must outlive the document. */
typedef struct ohlcx_yaml_doc {
    const char *path;
    const char *kind; /* what the file is, for messages: "a universe file" */
    yaml_document_t document;
} ohlcx_yaml_doc;

/* The keys a mapping may have: names[i] is required when required[i] is 1. */
typedef struct ohlcx_yaml_keys {
    const char *mapping_name; /* for messages: "the top level", "a group" */
    const char *const *names;
    const int *required;
    int count;
} ohlcx_yaml_keys;

/*
 * Parses text (length bytes) as exactly one YAML document. *root receives
 * its root node, or NULL for an empty file. Fails with OHLCX_EFORMAT on
 * invalid YAML, a second document, lists and mappings nested more than 64
 * deep, or more than OHLCX_YAML_MAX_BYTES of text, with the place in the
 * message. On success the caller releases the document with
 * ohlcx_yaml_doc_free().
 */
int ohlcx_yaml_doc_parse(ohlcx_yaml_doc *doc, const char *text, size_t length,
                         const char *path, const char *kind, yaml_node_t **root);
void ohlcx_yaml_doc_free(ohlcx_yaml_doc *doc);

/* Reads a whole file into a new buffer, which the caller frees. kind names
 * the file in messages: "cannot open universe file PATH: ...". A file
 * longer than OHLCX_YAML_MAX_BYTES fails with OHLCX_EFORMAT. */
int ohlcx_read_text_file(const char *path, const char *kind, char **text, size_t *length);

/* Sets an OHLCX_EFORMAT error "PATH:LINE:COLUMN: message" and returns it. */
int ohlcx_yaml_fail(const ohlcx_yaml_doc *doc, yaml_mark_t mark, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

yaml_node_t *ohlcx_yaml_node(const ohlcx_yaml_doc *doc, int index);

/* "a single value", "a list", "a mapping" or "nothing". */
const char *ohlcx_yaml_kind_name(const yaml_node_t *node);

/* 1 for a plain empty value, "~" or "null": what `key:` alone gives. */
int ohlcx_yaml_is_null(const yaml_node_t *node);

/* Where to report a problem with value: at its key when the value is empty,
 * because libyaml places an empty value at the next token. key may be NULL. */
yaml_mark_t ohlcx_yaml_mark(const yaml_node_t *key, const yaml_node_t *value);

/* Reads a non-empty scalar. key is the node's key in a mapping, or NULL.
 * field names the value in messages. */
int ohlcx_yaml_text(const ohlcx_yaml_doc *doc, const yaml_node_t *key, const yaml_node_t *node,
                    const char *field, const char **text);

/* Reads a decimal integer from min to max. */
int ohlcx_yaml_int(const ohlcx_yaml_doc *doc, const yaml_node_t *key, const yaml_node_t *node,
                   const char *field, int min, int max, int *out);

/* Reads a decimal integer from 0 to max. */
int ohlcx_yaml_u64(const ohlcx_yaml_doc *doc, const yaml_node_t *key, const yaml_node_t *node,
                   const char *field, uint64_t max, uint64_t *out);

/* Reads a finite number from min to max. upper_open excludes max itself. */
int ohlcx_yaml_number(const ohlcx_yaml_doc *doc, const yaml_node_t *key,
                      const yaml_node_t *node, const char *field, double min, double max,
                      int upper_open, double *out);

/* Reads true or false (also yes/no and on/off, as YAML 1.1 writes them). */
int ohlcx_yaml_bool(const ohlcx_yaml_doc *doc, const yaml_node_t *key, const yaml_node_t *node,
                    const char *field, int *out);

/*
 * Looks up the keys of a mapping: keys[i] and values[i] become the key and
 * value nodes of table->names[i], or NULL when that optional key is absent.
 * Rejects a node that is not a mapping, keys not in the table, keys given
 * twice and missing required keys.
 */
int ohlcx_yaml_read_mapping(const ohlcx_yaml_doc *doc, const yaml_node_t *mapping,
                            const ohlcx_yaml_keys *table, yaml_node_t **keys,
                            yaml_node_t **values);

/* Checks that node, the value of key, is a non-empty list and returns its
 * items. example shows a valid list in messages. */
int ohlcx_yaml_read_list(const ohlcx_yaml_doc *doc, const yaml_node_t *key,
                         const yaml_node_t *node, const char *field, const char *example,
                         yaml_node_item_t **items, size_t *count);

#endif
