/*
 * Saving and loading a CNN.
 *
 * File layout of version 2, every number little-endian:
 *
 *   offset  size  field
 *   0       8     magic "OHLCXCNN"
 *   8       4     format version (uint32, 2)
 *   12      4 E   the configuration as E int32 fields (nn_config_encode()):
 *                 channels, window, conv_count, then filters, kernel,
 *                 dilation and pool of each of the conv_count stages, then
 *                 batch_norm, dropout (IEEE 754 binary32 bits), hidden,
 *                 symbols, symbol_dim; E = 8 + 4 conv_count
 *   12 + 4 E   8  parameter count P (uint64)
 *   20 + 4 E   8  running-statistics count R (uint64)
 *   28 + 4 E  4 P parameters (binary32), blocks in the order of
 *                 ohlcx_cnn_param_name()
 *   ...       4 R batch-normalisation running statistics (binary32), in
 *                 the order of ohlcx_cnn_running_stats()
 *
 * Version 1, written before configurable architectures, has a 48-byte
 * header: magic, version 1, channels, window, kernel1, filters1, kernel2,
 * filters2, hidden (int32 each), P (uint64), then the parameters. It loads as
 * the two-stage network it describes, whose blocks have the same order.
 *
 * Loading checks every field: a short file, a wrong magic or version, an
 * invalid configuration, a count that does not match the configuration, a
 * non-finite value or bytes after the last value all fail with
 * OHLCX_EFORMAT and the path. Saving writes "<path>.tmp" and renames it over
 * path, so a failed save leaves any earlier file intact.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"
#include "ohlcx/error.h"

#define FILE_MAGIC "OHLCXCNN"
#define FILE_VERSION 2u
#define V1_HEADER_SIZE 48
#define V1_CONFIG_FIELDS 7

/* Parameters converted per fread() or fwrite() call. */
#define CHUNK_FLOATS 1024


static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}


static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;

    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}


static void put_u64(unsigned char *p, uint64_t v)
{
    put_u32(p, (uint32_t)v);
    put_u32(p + 4, (uint32_t)(v >> 32));
}


static uint64_t get_u64(const unsigned char *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}


size_t nn_config_encode(const ohlcx_cnn_config *c, unsigned char *out)
{
    uint32_t dropout_bits;
    size_t n = 0;

    memcpy(&dropout_bits, &c->dropout, 4);
    put_u32(out + 4 * n++, (uint32_t)c->channels);
    put_u32(out + 4 * n++, (uint32_t)c->window);
    put_u32(out + 4 * n++, (uint32_t)c->conv_count);
    for (int i = 0; i < c->conv_count; i++) {
        put_u32(out + 4 * n++, (uint32_t)c->conv[i].filters);
        put_u32(out + 4 * n++, (uint32_t)c->conv[i].kernel);
        put_u32(out + 4 * n++, (uint32_t)c->conv[i].dilation);
        put_u32(out + 4 * n++, (uint32_t)c->conv[i].pool);
    }
    put_u32(out + 4 * n++, (uint32_t)c->batch_norm);
    put_u32(out + 4 * n++, dropout_bits);
    put_u32(out + 4 * n++, (uint32_t)c->hidden);
    put_u32(out + 4 * n++, (uint32_t)c->symbols);
    put_u32(out + 4 * n++, (uint32_t)c->symbol_dim);
    return 4 * n;
}


int nn_config_decode(const unsigned char *in, size_t available,
                     ohlcx_cnn_config *c, size_t *used)
{
    size_t n = 0;
    uint32_t dropout_bits;
    int count;

    memset(c, 0, sizeof *c);
    if (available < 12)
        return -1;
    c->channels = (int32_t)get_u32(in);
    c->window = (int32_t)get_u32(in + 4);
    count = (int32_t)get_u32(in + 8);
    c->conv_count = count;
    if (count < 1 || count > OHLCX_CNN_MAX_CONV)
        return -2;
    if (available < NN_CONFIG_BYTES(count))
        return -1;

    n = 3;
    for (int i = 0; i < count; i++) {
        c->conv[i].filters = (int32_t)get_u32(in + 4 * n++);
        c->conv[i].kernel = (int32_t)get_u32(in + 4 * n++);
        c->conv[i].dilation = (int32_t)get_u32(in + 4 * n++);
        c->conv[i].pool = (int32_t)get_u32(in + 4 * n++);
    }
    c->batch_norm = (int32_t)get_u32(in + 4 * n++);
    dropout_bits = get_u32(in + 4 * n++);
    memcpy(&c->dropout, &dropout_bits, 4);
    c->hidden = (int32_t)get_u32(in + 4 * n++);
    c->symbols = (int32_t)get_u32(in + 4 * n++);
    c->symbol_dim = (int32_t)get_u32(in + 4 * n++);
    *used = 4 * n;
    return 0;
}


void nn_config_from_v1(const int32_t fields[7], ohlcx_cnn_config *c)
{
    ohlcx_cnn_config_default(c);
    c->channels = fields[0];
    c->window = fields[1];
    c->conv[0].kernel = fields[2];
    c->conv[0].filters = fields[3];
    c->conv[1].kernel = fields[4];
    c->conv[1].filters = fields[5];
    c->hidden = fields[6];
}


static int write_floats(const float *values, size_t count, FILE *f)
{
    unsigned char bytes[4 * CHUNK_FLOATS];

    for (size_t start = 0; start < count; start += CHUNK_FLOATS) {
        size_t n = count - start < CHUNK_FLOATS ? count - start : CHUNK_FLOATS;

        for (size_t i = 0; i < n; i++) {
            uint32_t bits;

            memcpy(&bits, &values[start + i], 4);
            put_u32(bytes + 4 * i, bits);
        }
        if (fwrite(bytes, 4, n, f) != n)
            return -1;
    }
    return 0;
}


/* Encodes the version 2 header into header and returns its size. */
static size_t encode_header(const ohlcx_cnn *cnn, unsigned char *header)
{
    size_t size;

    memcpy(header, FILE_MAGIC, 8);
    put_u32(header + 8, FILE_VERSION);
    size = 12 + nn_config_encode(&cnn->config, header + 12);
    put_u64(header + size, cnn->offset[cnn->block_count]);
    put_u64(header + size + 8, cnn->running_count);
    return size + 16;
}


int ohlcx_cnn_save(const ohlcx_cnn *cnn, const char *path)
{
    unsigned char header[NN_MAX_HEADER_BYTES];
    size_t header_size;
    char *tmp_path = NULL;
    FILE *f = NULL;
    int rc = OHLCX_OK;

    if (!cnn || !path)
        return ohlcx_set_error(OHLCX_EINVAL, "cnn save: network or path is "
                               "NULL");

    tmp_path = malloc(strlen(path) + 5);
    if (!tmp_path)
        return ohlcx_set_error(OHLCX_ENOMEM, "cnn save: out of memory");
    sprintf(tmp_path, "%s.tmp", path);

    f = fopen(tmp_path, "wb");
    if (!f) {
        rc = ohlcx_set_error(OHLCX_EIO, "%s: cannot create the model file: "
                             "%s", tmp_path, strerror(errno));
        goto fail;
    }

    header_size = encode_header(cnn, header);
    if (fwrite(header, 1, header_size, f) != header_size ||
        write_floats(cnn->params, cnn->offset[cnn->block_count], f) != 0 ||
        write_floats(cnn->running, cnn->running_count, f) != 0) {
        rc = ohlcx_set_error(OHLCX_EIO, "%s: write failed: %s", tmp_path,
                             strerror(errno));
        goto fail;
    }

    if (fclose(f) != 0) {
        f = NULL;
        rc = ohlcx_set_error(OHLCX_EIO, "%s: write failed: %s", tmp_path,
                             strerror(errno));
        goto fail;
    }
    f = NULL;

    if (rename(tmp_path, path) != 0) {
        rc = ohlcx_set_error(OHLCX_EIO, "%s: cannot rename %s into place: %s",
                             path, tmp_path, strerror(errno));
        goto fail;
    }
    free(tmp_path);
    return OHLCX_OK;

fail:
    if (f)
        fclose(f);
    remove(tmp_path);
    free(tmp_path);
    return rc;
}


/* What a file's header gives. */
typedef struct file_header {
    ohlcx_cnn_config config;
    uint64_t param_count;
    uint64_t running_count;
    size_t size; /* bytes before the first parameter */
} file_header;


static int truncated_header(const char *path)
{
    return ohlcx_set_error(OHLCX_EFORMAT, "%s: truncated CNN file: the "
                           "header ends early", path);
}


/* Reads the rest of a version 1 header, after magic and version. */
static int read_header_v1(FILE *f, const char *path, file_header *h)
{
    unsigned char bytes[V1_HEADER_SIZE - 12];
    int32_t fields[V1_CONFIG_FIELDS];

    if (fread(bytes, 1, sizeof bytes, f) != sizeof bytes)
        return truncated_header(path);
    for (int i = 0; i < V1_CONFIG_FIELDS; i++)
        fields[i] = (int32_t)get_u32(bytes + 4 * i);
    nn_config_from_v1(fields, &h->config);
    h->param_count = get_u64(bytes + 4 * V1_CONFIG_FIELDS);
    h->running_count = 0;
    h->size = V1_HEADER_SIZE;
    return OHLCX_OK;
}


/* Reads the rest of a version 2 header, after magic and version. */
static int read_header_v2(FILE *f, const char *path, file_header *h)
{
    unsigned char bytes[NN_MAX_HEADER_BYTES];
    size_t config_size;
    size_t rest;
    int count;

    if (fread(bytes, 1, 12, f) != 12)
        return truncated_header(path);
    count = (int32_t)get_u32(bytes + 8);
    if (count < 1 || count > OHLCX_CNN_MAX_CONV)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: corrupt CNN file: invalid "
                               "conv_count %d: expected 1 to %d", path, count,
                               OHLCX_CNN_MAX_CONV);
    rest = NN_CONFIG_BYTES(count) - 12 + 16;
    if (fread(bytes + 12, 1, rest, f) != rest)
        return truncated_header(path);
    if (nn_config_decode(bytes, NN_CONFIG_BYTES(count), &h->config,
                         &config_size) != 0)
        return truncated_header(path);
    h->param_count = get_u64(bytes + config_size);
    h->running_count = get_u64(bytes + config_size + 8);
    h->size = 12 + config_size + 16;
    return OHLCX_OK;
}


/* Reads and checks the header, leaving f at the first parameter. */
static int read_header(FILE *f, const char *path, file_header *h)
{
    unsigned char start[12];
    uint32_t version;
    int rc;

    if (fread(start, 1, 12, f) != 12)
        return truncated_header(path);
    if (memcmp(start, FILE_MAGIC, 8) != 0)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: not an ohlcx CNN file "
                               "(magic is not %s)", path, FILE_MAGIC);

    version = get_u32(start + 8);
    if (version == 1)
        rc = read_header_v1(f, path, h);
    else if (version == FILE_VERSION)
        rc = read_header_v2(f, path, h);
    else
        rc = ohlcx_set_error(OHLCX_EFORMAT, "%s: unsupported CNN file "
                             "version %u: this build reads versions 1 and %u",
                             path, version, FILE_VERSION);
    if (rc != OHLCX_OK)
        return rc;

    if (nn_config_check(&h->config, path) != OHLCX_OK) {
        char reason[512];

        snprintf(reason, sizeof reason, "%s", ohlcx_last_error());
        return ohlcx_set_error(OHLCX_EFORMAT, "corrupt CNN file: %s", reason);
    }
    nn_config_normalise(&h->config);
    return OHLCX_OK;
}


/* Checks the stored counts against the configuration and the file size
 * against both, before anything is allocated, so that a corrupt count
 * fails as a format error instead of a huge allocation. Leaves f positioned
 * at the first parameter. */
static int check_size(FILE *f, const char *path, const file_header *h)
{
    size_t params = nn_param_count(&h->config);
    size_t running = nn_running_count(&h->config);
    uint64_t needed = h->size + 4 * ((uint64_t)params + running);
    long size;

    if (h->param_count != params || h->running_count != running)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: corrupt CNN file: %llu "
                               "parameters and %llu running statistics "
                               "stored, the configuration needs %zu and %zu",
                               path, (unsigned long long)h->param_count,
                               (unsigned long long)h->running_count, params,
                               running);

    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        fseek(f, (long)h->size, SEEK_SET) != 0)
        return ohlcx_set_error(OHLCX_EIO, "%s: cannot seek in the CNN file: "
                               "%s", path, strerror(errno));

    if ((uint64_t)size < needed)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: truncated CNN file: %ld "
                               "bytes, %zu parameters need %llu", path, size,
                               params, (unsigned long long)needed);
    if ((uint64_t)size > needed)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: corrupt CNN file: %ld "
                               "bytes, more than the %zu parameters need",
                               path, size, params);
    return OHLCX_OK;
}


/* Reads count finite floats into out; what names them in messages. */
static int read_floats(float *out, size_t count, FILE *f, const char *path,
                       const char *what)
{
    unsigned char bytes[4 * CHUNK_FLOATS];

    for (size_t start = 0; start < count; start += CHUNK_FLOATS) {
        size_t n = count - start < CHUNK_FLOATS ? count - start : CHUNK_FLOATS;

        if (fread(bytes, 4, n, f) != n)
            return ohlcx_set_error(OHLCX_EFORMAT, "%s: truncated CNN file: "
                                   "expected %zu %s", path, count, what);

        for (size_t i = 0; i < n; i++) {
            uint32_t bits = get_u32(bytes + 4 * i);
            float value;

            memcpy(&value, &bits, 4);
            if (!isfinite(value))
                return ohlcx_set_error(OHLCX_EFORMAT, "%s: corrupt CNN file: "
                                       "%s %zu is %g", path, what, start + i,
                                       (double)value);
            out[start + i] = value;
        }
    }
    return OHLCX_OK;
}


int ohlcx_cnn_load(const char *path, ohlcx_cnn **out)
{
    file_header header;
    ohlcx_cnn *cnn = NULL;
    FILE *f;
    int rc;

    if (!path || !out)
        return ohlcx_set_error(OHLCX_EINVAL, "cnn load: path or out is NULL");
    *out = NULL;

    f = fopen(path, "rb");
    if (!f)
        return ohlcx_set_error(OHLCX_EIO, "%s: cannot open the CNN file: %s",
                               path, strerror(errno));

    rc = read_header(f, path, &header);
    if (rc == OHLCX_OK)
        rc = check_size(f, path, &header);
    if (rc != OHLCX_OK)
        goto fail;

    cnn = nn_alloc(&header.config);
    if (!cnn) {
        rc = OHLCX_ENOMEM;
        goto fail;
    }

    rc = read_floats(cnn->params, cnn->offset[cnn->block_count], f, path,
                     "parameter");
    if (rc == OHLCX_OK)
        rc = read_floats(cnn->running, cnn->running_count, f, path,
                         "running statistic");
    if (rc == OHLCX_OK && fgetc(f) != EOF)
        rc = ohlcx_set_error(OHLCX_EFORMAT, "%s: corrupt CNN file: data after "
                             "the last value", path);
    if (rc != OHLCX_OK)
        goto fail;

    fclose(f);
    *out = cnn;
    return OHLCX_OK;

fail:
    ohlcx_cnn_free(cnn);
    fclose(f);
    return rc;
}
