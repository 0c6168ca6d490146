/*
 * Saving and loading a CNN.
 *
 * File layout, every number little-endian:
 *
 *   offset  size  field
 *   0       8     magic "OHLCXCNN"
 *   8       4     format version (uint32, currently 1)
 *   12      28    channels, window, kernel1, filters1, kernel2, filters2,
 *                 hidden (int32 each)
 *   40      8     parameter count P (uint64)
 *   48      4 P   parameters (IEEE 754 binary32), blocks in the order of
 *                 ohlcx_cnn_param_name()
 *
 * Loading checks every field: a short file, a wrong magic or version, an
 * invalid configuration, a count that does not match the configuration, a
 * non-finite weight or bytes after the last weight all fail with
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
#define FILE_VERSION 1u
#define HEADER_SIZE 48
#define CONFIG_FIELDS 7

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


static void config_fields(const ohlcx_cnn_config *c, int32_t out[CONFIG_FIELDS])
{
    out[0] = c->channels;
    out[1] = c->window;
    out[2] = c->kernel1;
    out[3] = c->filters1;
    out[4] = c->kernel2;
    out[5] = c->filters2;
    out[6] = c->hidden;
}


static void encode_header(const ohlcx_cnn *cnn, unsigned char *header)
{
    int32_t fields[CONFIG_FIELDS];

    memcpy(header, FILE_MAGIC, 8);
    put_u32(header + 8, FILE_VERSION);
    config_fields(&cnn->config, fields);
    for (int i = 0; i < CONFIG_FIELDS; i++)
        put_u32(header + 12 + 4 * i, (uint32_t)fields[i]);
    put_u64(header + 40, cnn->offset[NN_BLOCK_COUNT]);
}


static int write_params(const ohlcx_cnn *cnn, FILE *f)
{
    unsigned char bytes[4 * CHUNK_FLOATS];
    size_t count = cnn->offset[NN_BLOCK_COUNT];

    for (size_t start = 0; start < count; start += CHUNK_FLOATS) {
        size_t n = count - start < CHUNK_FLOATS ? count - start : CHUNK_FLOATS;

        for (size_t i = 0; i < n; i++) {
            uint32_t bits;

            memcpy(&bits, &cnn->params[start + i], 4);
            put_u32(bytes + 4 * i, bits);
        }
        if (fwrite(bytes, 4, n, f) != n)
            return -1;
    }
    return 0;
}


int ohlcx_cnn_save(const ohlcx_cnn *cnn, const char *path)
{
    unsigned char header[HEADER_SIZE];
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

    encode_header(cnn, header);
    if (fwrite(header, 1, HEADER_SIZE, f) != HEADER_SIZE ||
        write_params(cnn, f) != 0) {
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


/* Decodes and checks the header, leaving the configuration in config. */
static int decode_header(const unsigned char *header, const char *path,
                         ohlcx_cnn_config *config, uint64_t *param_count)
{
    int32_t fields[CONFIG_FIELDS];
    uint32_t version;

    if (memcmp(header, FILE_MAGIC, 8) != 0)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: not an ohlcx CNN file "
                               "(magic is not %s)", path, FILE_MAGIC);

    version = get_u32(header + 8);
    if (version != FILE_VERSION)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: unsupported CNN file "
                               "version %u: this build reads version %u",
                               path, version, FILE_VERSION);

    for (int i = 0; i < CONFIG_FIELDS; i++)
        fields[i] = (int32_t)get_u32(header + 12 + 4 * i);
    config->channels = fields[0];
    config->window = fields[1];
    config->kernel1 = fields[2];
    config->filters1 = fields[3];
    config->kernel2 = fields[4];
    config->filters2 = fields[5];
    config->hidden = fields[6];
    *param_count = get_u64(header + 40);

    if (nn_config_check(config, path) != OHLCX_OK) {
        char reason[512];

        snprintf(reason, sizeof reason, "%s", ohlcx_last_error());
        return ohlcx_set_error(OHLCX_EFORMAT, "corrupt CNN file: %s", reason);
    }
    return OHLCX_OK;
}


/* Checks the stored parameter count against the configuration and the file
 * size against both, before anything is allocated, so that a corrupt count
 * fails as a format error instead of a huge allocation. Leaves f positioned
 * at the first parameter. */
static int check_size(FILE *f, const char *path, uint64_t stored,
                      size_t expected)
{
    long size;

    if (stored != expected)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: corrupt CNN file: %llu "
                               "parameters stored, the configuration needs "
                               "%zu", path, (unsigned long long)stored,
                               expected);

    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        fseek(f, HEADER_SIZE, SEEK_SET) != 0)
        return ohlcx_set_error(OHLCX_EIO, "%s: cannot seek in the CNN file: "
                               "%s", path, strerror(errno));

    if ((uint64_t)size < HEADER_SIZE + 4 * (uint64_t)expected)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: truncated CNN file: %ld "
                               "bytes, %zu parameters need %llu", path, size,
                               expected, (unsigned long long)(HEADER_SIZE +
                               4 * (uint64_t)expected));
    if ((uint64_t)size > HEADER_SIZE + 4 * (uint64_t)expected)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: corrupt CNN file: %ld "
                               "bytes, more than the %zu parameters need",
                               path, size, expected);
    return OHLCX_OK;
}


static int read_params(ohlcx_cnn *cnn, FILE *f, const char *path)
{
    unsigned char bytes[4 * CHUNK_FLOATS];
    size_t count = cnn->offset[NN_BLOCK_COUNT];

    for (size_t start = 0; start < count; start += CHUNK_FLOATS) {
        size_t n = count - start < CHUNK_FLOATS ? count - start : CHUNK_FLOATS;

        if (fread(bytes, 4, n, f) != n)
            return ohlcx_set_error(OHLCX_EFORMAT, "%s: truncated CNN file: "
                                   "expected %zu parameters", path, count);

        for (size_t i = 0; i < n; i++) {
            uint32_t bits = get_u32(bytes + 4 * i);
            float value;

            memcpy(&value, &bits, 4);
            if (!isfinite(value))
                return ohlcx_set_error(OHLCX_EFORMAT, "%s: corrupt CNN file: "
                                       "parameter %zu is %g", path,
                                       start + i, (double)value);
            cnn->params[start + i] = value;
        }
    }

    if (fgetc(f) != EOF)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: corrupt CNN file: data "
                               "after the last of %zu parameters", path,
                               count);
    return OHLCX_OK;
}


int ohlcx_cnn_load(const char *path, ohlcx_cnn **out)
{
    unsigned char header[HEADER_SIZE];
    ohlcx_cnn_config config;
    uint64_t param_count = 0;
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

    if (fread(header, 1, HEADER_SIZE, f) != HEADER_SIZE) {
        rc = ohlcx_set_error(OHLCX_EFORMAT, "%s: truncated CNN file: the "
                             "header is %d bytes", path, HEADER_SIZE);
        goto fail;
    }
    rc = decode_header(header, path, &config, &param_count);
    if (rc != OHLCX_OK)
        goto fail;

    rc = check_size(f, path, param_count, nn_param_count(&config));
    if (rc != OHLCX_OK)
        goto fail;

    cnn = nn_alloc(&config);
    if (!cnn) {
        rc = OHLCX_ENOMEM;
        goto fail;
    }

    rc = read_params(cnn, f, path);
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
