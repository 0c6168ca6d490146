/*
 * Training checkpoints: encoding, atomic writing, and reading with checks.
 *
 * The layout is in include/ohlcx/nn.h. A checkpoint is encoded into one
 * buffer and written in one pass, because its SHA-256 trailer covers every
 * byte before it. Reading takes the whole file into memory, checks the
 * digest first and then every field, so a truncated, extended or bit-flipped
 * file fails before any field is trusted. The buffer is about 16 bytes per
 * weight plus 8 per training sample, which is small beside the samples.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn/nn_internal.h"
#include "ohlcx/error.h"
#include "util/util.h"

#define CHECKPOINT_MAGIC "OHLCXCKP"
#define CHECKPOINT_VERSION 2u
#define DIGEST_SIZE 64 /* SHA-256 as hex characters */

/* Bytes before the history's loss arrays in version 1: magic 8, version 4,
 * config 28, options 24, counts 16, epoch/finished/stale 12, best_val 8,
 * adam_step 8, rng_state 32, best_epoch 4. */
#define V1_FIXED_HEAD 144

/* Bytes of version 2 between the configuration and the loss arrays:
 * options 40, counts 16, epoch/finished/stale 12, best_val 8, adam_step 8,
 * rng_state and dropout_rng_state 64, best_epoch 4. */
#define V2_AFTER_CONFIG 152

/* A growing or a bounded byte buffer. */
typedef struct byte_buffer {
    unsigned char *data;
    size_t size;     /* bytes written, or the bytes to read */
    size_t position; /* next byte to read */
} byte_buffer;


static void put_u32(byte_buffer *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b->data[b->size++] = (unsigned char)(v >> (8 * i));
}


static void put_u64(byte_buffer *b, uint64_t v)
{
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}


static void put_float(byte_buffer *b, float value)
{
    uint32_t bits;

    memcpy(&bits, &value, 4);
    put_u32(b, bits);
}


static void put_double(byte_buffer *b, double value)
{
    uint64_t bits;

    memcpy(&bits, &value, 8);
    put_u64(b, bits);
}


static void put_floats(byte_buffer *b, const float *values, size_t count)
{
    for (size_t i = 0; i < count; i++)
        put_float(b, values[i]);
}


/* The reader is only called after the size check, so every read is in
 * bounds. */
static uint32_t get_u32(byte_buffer *b)
{
    uint32_t v = 0;

    for (int i = 0; i < 4; i++)
        v |= (uint32_t)b->data[b->position + (size_t)i] << (8 * i);
    b->position += 4;
    return v;
}


static uint64_t get_u64(byte_buffer *b)
{
    uint64_t low = get_u32(b);

    return low | (uint64_t)get_u32(b) << 32;
}


static int32_t get_i32(byte_buffer *b)
{
    return (int32_t)get_u32(b);
}


static float get_float(byte_buffer *b)
{
    uint32_t bits = get_u32(b);
    float value;

    memcpy(&value, &bits, 4);
    return value;
}


static double get_double(byte_buffer *b)
{
    uint64_t bits = get_u64(b);
    double value;

    memcpy(&value, &bits, 8);
    return value;
}


/* Returns the encoded size, digest included, of a checkpoint of the given
 * version and counts, or 0 when it would overflow size_t. */
static size_t encoded_size(uint32_t version, int conv_count, uint64_t epochs,
                           uint64_t param_count, uint64_t running_count,
                           uint64_t train_count)
{
    uint64_t limit = (uint64_t)SIZE_MAX / 32;
    size_t head;

    if (epochs > 256 || param_count > limit || running_count > limit ||
        train_count > limit)
        return 0;
    if (version == 1)
        return V1_FIXED_HEAD + 8 * (size_t)epochs + 8 + 16 * (size_t)param_count +
               8 * (size_t)train_count + DIGEST_SIZE;
    head = 12 + NN_CONFIG_BYTES(conv_count) + V2_AFTER_CONFIG;
    return head + 8 * (size_t)epochs + 8 + 16 * (size_t)param_count + 8 +
           8 * (size_t)running_count + 8 * (size_t)train_count + DIGEST_SIZE;
}


static void encode(const ohlcx_cnn_checkpoint *c, byte_buffer *b)
{
    char digest[65];

    memcpy(b->data, CHECKPOINT_MAGIC, 8);
    b->size = 8;
    put_u32(b, CHECKPOINT_VERSION);
    b->size += nn_config_encode(&c->config, b->data + b->size);

    put_u32(b, (uint32_t)c->batch_size);
    put_u32(b, (uint32_t)c->max_epochs);
    put_u32(b, (uint32_t)c->patience);
    put_float(b, c->learning_rate);
    put_u64(b, c->seed);
    put_float(b, c->weight_decay);
    put_u32(b, (uint32_t)c->lr_schedule);
    put_u32(b, (uint32_t)c->lr_step_epochs);
    put_float(b, c->lr_gamma);
    put_u64(b, c->train_count);
    put_u64(b, c->val_count);

    put_u32(b, (uint32_t)c->epoch);
    put_u32(b, (uint32_t)c->finished);
    put_u32(b, (uint32_t)c->stale);
    put_double(b, c->best_val);
    put_u64(b, (uint64_t)c->adam_step);
    for (int i = 0; i < 4; i++)
        put_u64(b, c->rng_state[i]);
    for (int i = 0; i < 4; i++)
        put_u64(b, c->dropout_rng_state[i]);

    put_u32(b, (uint32_t)c->history.best_epoch);
    put_floats(b, c->history.train_loss, (size_t)c->epoch);
    put_floats(b, c->history.val_loss, (size_t)c->epoch);

    put_u64(b, c->param_count);
    put_floats(b, c->params, c->param_count);
    put_floats(b, c->adam_m, c->param_count);
    put_floats(b, c->adam_v, c->param_count);
    put_floats(b, c->best_params, c->param_count);
    put_u64(b, c->running_count);
    put_floats(b, c->running, c->running_count);
    put_floats(b, c->best_running, c->running_count);
    for (uint64_t i = 0; i < c->train_count; i++)
        put_u64(b, c->order[i]);

    ohlcx_sha256_hex(b->data, b->size, digest);
    memcpy(b->data + b->size, digest, DIGEST_SIZE);
    b->size += DIGEST_SIZE;
}


/* Opens the folder that contains path and syncs it, so that a rename into
 * it survives a crash of the machine. */
static int sync_parent_folder(const char *path)
{
    const char *slash = strrchr(path, '/');
    char folder[4096];
    int fd, rc = 0;

    if (slash == NULL)
        snprintf(folder, sizeof folder, ".");
    else if (slash == path)
        snprintf(folder, sizeof folder, "/");
    else
        snprintf(folder, sizeof folder, "%.*s", (int)(slash - path), path);

    fd = open(folder, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    if (fsync(fd) != 0 && errno != EINVAL)
        rc = -1;
    close(fd);
    return rc;
}


static int write_file_synced(const char *tmp_path, const byte_buffer *b)
{
    FILE *f = fopen(tmp_path, "wb");
    int failed;

    if (f == NULL)
        return ohlcx_set_error(OHLCX_EIO, "%s: cannot create the checkpoint file: %s", tmp_path,
                               strerror(errno));
    failed = fwrite(b->data, 1, b->size, f) != b->size;
    failed = failed || fflush(f) != 0;
    failed = failed || fsync(fileno(f)) != 0;
    if (fclose(f) != 0)
        failed = 1;
    if (failed)
        return ohlcx_set_error(OHLCX_EIO, "%s: checkpoint write failed: %s", tmp_path,
                               strerror(errno));
    return OHLCX_OK;
}


int ohlcx_cnn_checkpoint_save(const ohlcx_cnn_checkpoint *checkpoint, const char *path)
{
    byte_buffer b = {0};
    char *tmp_path = NULL;
    size_t size;
    int rc;

    if (checkpoint == NULL || path == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "cnn checkpoint save: checkpoint or path is NULL");
    if (checkpoint->epoch < 0 || checkpoint->epoch > 256)
        return ohlcx_set_error(OHLCX_EINVAL, "cnn checkpoint save: invalid epoch %d",
                               checkpoint->epoch);
    if (checkpoint->config.conv_count < 1 ||
        checkpoint->config.conv_count > OHLCX_CNN_MAX_CONV)
        return ohlcx_set_error(OHLCX_EINVAL, "cnn checkpoint save: invalid conv_count %d",
                               checkpoint->config.conv_count);
    size = encoded_size(CHECKPOINT_VERSION, checkpoint->config.conv_count,
                        (uint64_t)checkpoint->epoch, checkpoint->param_count,
                        checkpoint->running_count, checkpoint->train_count);
    if (size == 0)
        return ohlcx_set_error(OHLCX_EINVAL, "cnn checkpoint save: %zu parameters and %llu "
                               "samples are too many to encode", checkpoint->param_count,
                               (unsigned long long)checkpoint->train_count);

    b.data = malloc(size);
    tmp_path = malloc(strlen(path) + 5);
    if (b.data == NULL || tmp_path == NULL) {
        rc = ohlcx_set_error(OHLCX_ENOMEM, "cnn checkpoint save: out of memory for %zu bytes",
                             size);
        goto done;
    }
    sprintf(tmp_path, "%s.tmp", path);
    encode(checkpoint, &b);

    rc = write_file_synced(tmp_path, &b);
    if (rc != OHLCX_OK) {
        remove(tmp_path);
        goto done;
    }
    if (rename(tmp_path, path) != 0) {
        rc = ohlcx_set_error(OHLCX_EIO, "%s: cannot rename %s into place: %s", path, tmp_path,
                             strerror(errno));
        remove(tmp_path);
        goto done;
    }
    if (sync_parent_folder(path) != 0)
        rc = ohlcx_set_error(OHLCX_EIO, "%s: cannot sync the folder after the rename: %s", path,
                             strerror(errno));

done:
    free(b.data);
    free(tmp_path);
    return rc;
}


static int read_whole_file(const char *path, byte_buffer *b)
{
    FILE *f = fopen(path, "rb");
    struct stat info;
    long size;

    if (f == NULL)
        return ohlcx_set_error(OHLCX_EIO, "%s: cannot open the checkpoint: %s", path,
                               strerror(errno));
    if (fstat(fileno(f), &info) != 0 || !S_ISREG(info.st_mode)) {
        fclose(f);
        return ohlcx_set_error(OHLCX_EIO, "%s: the checkpoint is not a regular file", path);
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return ohlcx_set_error(OHLCX_EIO, "%s: cannot seek in the checkpoint: %s", path,
                               strerror(errno));
    }
    b->size = (size_t)size;
    b->position = 0;
    b->data = malloc(b->size ? b->size : 1);
    if (b->data == NULL) {
        fclose(f);
        return ohlcx_set_error(OHLCX_ENOMEM, "%s: out of memory for a %zu-byte checkpoint",
                               path, b->size);
    }
    if (fread(b->data, 1, b->size, f) != b->size) {
        fclose(f);
        free(b->data);
        b->data = NULL;
        return ohlcx_set_error(OHLCX_EIO, "%s: cannot read the checkpoint: %s", path,
                               strerror(errno));
    }
    fclose(f);
    return OHLCX_OK;
}


/* Checks the magic, version and digest of a whole file in b and stores the
 * version. */
static int check_envelope(const byte_buffer *b, const char *path, uint32_t *version)
{
    char digest[65];

    if (b->size < 12 + DIGEST_SIZE)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: truncated checkpoint: %zu bytes, the "
                               "smallest is %d", path, b->size, V1_FIXED_HEAD + 8 + DIGEST_SIZE);
    if (memcmp(b->data, CHECKPOINT_MAGIC, 8) != 0)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: not an ohlcx CNN checkpoint (magic is not "
                               "%s)", path, CHECKPOINT_MAGIC);
    *version = (uint32_t)b->data[8] | (uint32_t)b->data[9] << 8 |
               (uint32_t)b->data[10] << 16 | (uint32_t)b->data[11] << 24;
    if (*version != 1 && *version != CHECKPOINT_VERSION)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: unsupported checkpoint version %u: this "
                               "build reads versions 1 and %u", path, *version,
                               CHECKPOINT_VERSION);
    if (b->size < (*version == 1 ? V1_FIXED_HEAD + 8 + DIGEST_SIZE
                                 : 12 + NN_CONFIG_BYTES(1) + V2_AFTER_CONFIG + DIGEST_SIZE))
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: truncated checkpoint: %zu bytes, too few "
                               "for its version %u", path, b->size, *version);

    ohlcx_sha256_hex(b->data, b->size - DIGEST_SIZE, digest);
    if (memcmp(digest, b->data + b->size - DIGEST_SIZE, DIGEST_SIZE) != 0)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: corrupt or truncated checkpoint: its "
                               "SHA-256 does not match its contents", path);
    return OHLCX_OK;
}


/* Decodes a version 1 configuration and sets the options it lacks to their
 * defaults. */
static void decode_config_v1(byte_buffer *b, ohlcx_cnn_checkpoint *c)
{
    int32_t fields[7];

    for (int i = 0; i < 7; i++)
        fields[i] = get_i32(b);
    nn_config_from_v1(fields, &c->config);
}


/* Decodes a version 2 configuration, failing when it does not fit the
 * file. */
static int decode_config_v2(byte_buffer *b, ohlcx_cnn_checkpoint *c, const char *path)
{
    size_t used = 0;
    size_t available = b->size - DIGEST_SIZE - b->position;
    int rc = nn_config_decode(b->data + b->position, available, &c->config, &used);

    if (rc == -2)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: corrupt checkpoint: invalid conv_count "
                               "%d: expected 1 to %d", path, c->config.conv_count,
                               OHLCX_CNN_MAX_CONV);
    if (rc != 0 || available - used < V2_AFTER_CONFIG)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: truncated checkpoint: %zu bytes end "
                               "inside its head", path, b->size);
    b->position += used;
    return OHLCX_OK;
}


static int decode_head(byte_buffer *b, ohlcx_cnn_checkpoint *c, uint32_t version,
                       const char *path)
{
    ohlcx_cnn_train_options defaults;

    ohlcx_cnn_train_options_default(&defaults);
    b->position = 12;
    if (version == 1) {
        decode_config_v1(b, c);
    } else {
        int rc = decode_config_v2(b, c, path);

        if (rc != OHLCX_OK)
            return rc;
    }

    c->batch_size = get_i32(b);
    c->max_epochs = get_i32(b);
    c->patience = get_i32(b);
    c->learning_rate = get_float(b);
    c->seed = get_u64(b);
    c->weight_decay = defaults.weight_decay;
    c->lr_schedule = defaults.lr_schedule;
    c->lr_step_epochs = defaults.lr_step_epochs;
    c->lr_gamma = defaults.lr_gamma;
    if (version != 1) {
        c->weight_decay = get_float(b);
        c->lr_schedule = get_i32(b);
        c->lr_step_epochs = get_i32(b);
        c->lr_gamma = get_float(b);
    }
    c->train_count = get_u64(b);
    c->val_count = get_u64(b);

    c->epoch = get_i32(b);
    c->finished = get_i32(b);
    c->stale = get_i32(b);
    c->best_val = get_double(b);
    c->adam_step = (int64_t)get_u64(b);
    for (int i = 0; i < 4; i++)
        c->rng_state[i] = get_u64(b);
    if (version != 1) {
        for (int i = 0; i < 4; i++)
            c->dropout_rng_state[i] = get_u64(b);
    } else {
        /* A version 1 training had no dropout, so its dropout generator
         * never ran and is still in its seeded state. */
        nn_rng dropout;

        nn_dropout_rng_seed(&dropout, c->seed);
        memcpy(c->dropout_rng_state, dropout.state, sizeof c->dropout_rng_state);
    }
    c->history.best_epoch = get_i32(b);
    c->history.epochs = c->epoch;
    return OHLCX_OK;
}


/* Checks the fixed fields that decide the size of the rest. */
static int check_head(const ohlcx_cnn_checkpoint *c, const char *path)
{
    if (nn_config_check(&c->config, path) != OHLCX_OK) {
        char reason[512];

        snprintf(reason, sizeof reason, "%s", ohlcx_last_error());
        return ohlcx_set_error(OHLCX_EFORMAT, "corrupt checkpoint: %s", reason);
    }
    if (c->batch_size < 1 || c->max_epochs < 1 || c->max_epochs > 256 || c->patience < 1 ||
        !(c->learning_rate > 0.0f) || !isfinite(c->learning_rate) ||
        !(c->weight_decay >= 0.0f) || !isfinite(c->weight_decay) || c->lr_schedule < 0 ||
        c->lr_schedule > OHLCX_LR_COSINE || c->lr_step_epochs < 1 || !(c->lr_gamma > 0.0f) ||
        !isfinite(c->lr_gamma))
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: corrupt checkpoint: invalid training "
                               "options (batch_size %d, max_epochs %d, patience %d, "
                               "learning_rate %g, weight_decay %g, lr_schedule %d, "
                               "lr_step_epochs %d, lr_gamma %g)", path, c->batch_size,
                               c->max_epochs, c->patience, (double)c->learning_rate,
                               (double)c->weight_decay, c->lr_schedule, c->lr_step_epochs,
                               (double)c->lr_gamma);
    if (c->epoch < 1 || c->epoch > c->max_epochs || (c->finished != 0 && c->finished != 1) ||
        c->stale < 0 || c->stale > c->epoch || c->history.best_epoch < 0 ||
        c->history.best_epoch > c->epoch || c->adam_step < 0 || c->train_count == 0)
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: corrupt checkpoint: epoch %d of %d, "
                               "finished %d, stale %d, best epoch %d, Adam step %lld, %llu "
                               "training samples", path, c->epoch, c->max_epochs, c->finished,
                               c->stale, c->history.best_epoch, (long long)c->adam_step,
                               (unsigned long long)c->train_count);
    return OHLCX_OK;
}


/* Reads count floats into out, failing on a non-finite one. */
static int get_finite_floats(byte_buffer *b, float *out, size_t count, const char *path,
                             const char *what)
{
    for (size_t i = 0; i < count; i++) {
        out[i] = get_float(b);
        if (!isfinite(out[i]))
            return ohlcx_set_error(OHLCX_EFORMAT, "%s: corrupt checkpoint: %s %zu is %g",
                                   path, what, i, (double)out[i]);
    }
    return OHLCX_OK;
}


/* Reads the order and checks that it is a permutation of 0 .. count - 1. */
static int get_order(byte_buffer *b, ohlcx_cnn_checkpoint *c, const char *path)
{
    size_t count = (size_t)c->train_count;
    unsigned char *seen = calloc(count, 1);

    if (seen == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "%s: out of memory checking %zu sample numbers",
                               path, count);
    for (size_t i = 0; i < count; i++) {
        uint64_t index = get_u64(b);

        if (index >= count || seen[index]) {
            free(seen);
            return ohlcx_set_error(OHLCX_EFORMAT, "%s: corrupt checkpoint: sample order entry "
                                   "%zu is %llu, which is %s", path, i,
                                   (unsigned long long)index,
                                   index >= count ? "out of range" : "repeated");
        }
        seen[index] = 1;
        c->order[i] = (size_t)index;
    }
    free(seen);
    return OHLCX_OK;
}


static int decode_body(byte_buffer *b, ohlcx_cnn_checkpoint *c, uint32_t version,
                       const char *path)
{
    size_t epochs = (size_t)c->epoch;
    size_t params;
    int rc;

    for (size_t e = 0; e < epochs; e++)
        c->history.train_loss[e] = get_float(b);
    for (size_t e = 0; e < epochs; e++)
        c->history.val_loss[e] = get_float(b);

    params = (size_t)get_u64(b);
    if (params != nn_param_count(&c->config))
        return ohlcx_set_error(OHLCX_EFORMAT, "%s: corrupt checkpoint: %zu parameters "
                               "stored, the configuration needs %zu", path, params,
                               nn_param_count(&c->config));
    c->param_count = params;
    c->params = malloc(params * sizeof(float));
    c->adam_m = malloc(params * sizeof(float));
    c->adam_v = malloc(params * sizeof(float));
    c->best_params = malloc(params * sizeof(float));
    c->order = malloc((size_t)c->train_count * sizeof(size_t));
    c->running_count = nn_running_count(&c->config);
    c->running = malloc((c->running_count ? c->running_count : 1) * sizeof(float));
    c->best_running = malloc((c->running_count ? c->running_count : 1) * sizeof(float));
    if (!c->params || !c->adam_m || !c->adam_v || !c->best_params || !c->order ||
        !c->running || !c->best_running)
        return ohlcx_set_error(OHLCX_ENOMEM, "%s: out of memory reading the checkpoint", path);

    rc = get_finite_floats(b, c->params, params, path, "weight");
    if (rc == OHLCX_OK)
        rc = get_finite_floats(b, c->adam_m, params, path, "Adam first moment");
    if (rc == OHLCX_OK)
        rc = get_finite_floats(b, c->adam_v, params, path, "Adam second moment");
    if (rc == OHLCX_OK)
        rc = get_finite_floats(b, c->best_params, params, path, "best weight");
    if (rc == OHLCX_OK && version != 1) {
        uint64_t running = get_u64(b);

        if (running != c->running_count)
            return ohlcx_set_error(OHLCX_EFORMAT, "%s: corrupt checkpoint: %llu running "
                                   "statistics stored, the configuration needs %zu", path,
                                   (unsigned long long)running, c->running_count);
        rc = get_finite_floats(b, c->running, c->running_count, path, "running statistic");
        if (rc == OHLCX_OK)
            rc = get_finite_floats(b, c->best_running, c->running_count, path,
                                   "best running statistic");
    }
    if (rc == OHLCX_OK)
        rc = get_order(b, c, path);
    return rc;
}


int ohlcx_cnn_checkpoint_load(const char *path, ohlcx_cnn_checkpoint *out)
{
    byte_buffer b = {0};
    ohlcx_cnn_checkpoint c;
    uint32_t version = 0;
    size_t expected;
    int rc;

    if (path == NULL || out == NULL)
        return ohlcx_set_error(OHLCX_EINVAL, "cnn checkpoint load: path or out is NULL");
    memset(out, 0, sizeof *out);
    memset(&c, 0, sizeof c);

    rc = read_whole_file(path, &b);
    if (rc != OHLCX_OK)
        return rc;
    rc = check_envelope(&b, path, &version);
    if (rc != OHLCX_OK)
        goto done;

    rc = decode_head(&b, &c, version, path);
    if (rc == OHLCX_OK)
        rc = check_head(&c, path);
    if (rc != OHLCX_OK)
        goto done;
    nn_config_normalise(&c.config);

    /* The size check comes before any allocation, so a damaged count fails
     * as a format error instead of a huge allocation. */
    expected = encoded_size(version, c.config.conv_count, (uint64_t)c.epoch,
                            nn_param_count(&c.config), nn_running_count(&c.config),
                            c.train_count);
    if (expected != b.size) {
        rc = ohlcx_set_error(OHLCX_EFORMAT, "%s: corrupt checkpoint: %zu bytes, but its "
                             "counts need %zu", path, b.size, expected);
        goto done;
    }
    rc = decode_body(&b, &c, version, path);

done:
    free(b.data);
    if (rc != OHLCX_OK) {
        ohlcx_cnn_checkpoint_free(&c);
        return rc;
    }
    *out = c;
    return OHLCX_OK;
}


void ohlcx_cnn_checkpoint_free(ohlcx_cnn_checkpoint *checkpoint)
{
    if (checkpoint == NULL)
        return;
    free(checkpoint->params);
    free(checkpoint->adam_m);
    free(checkpoint->adam_v);
    free(checkpoint->best_params);
    free(checkpoint->order);
    free(checkpoint->running);
    free(checkpoint->best_running);
    checkpoint->running = NULL;
    checkpoint->best_running = NULL;
    checkpoint->params = NULL;
    checkpoint->adam_m = NULL;
    checkpoint->adam_v = NULL;
    checkpoint->best_params = NULL;
    checkpoint->order = NULL;
}
