/*
 * Pieces shared by training and prediction: the layout of an XGBoost row, the
 * CNN group of a series, and thread settings.
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ohlcx/features.h"
#include "pipeline/internal.h"


void pipeline_fill_row(const pipeline_series *series, size_t t, const float *embedding,
                       int hidden, float *row)
{
    const float *features = series->features + t * series->feature_width;
    int column = 0;

    for (int i = 0; i < hidden; i++)
        row[column++] = embedding[i];
    for (size_t i = 0; i < series->feature_width; i++)
        row[column++] = features[i];
    row[column++] = (float)ohlcx_timeframe_id(series->bars.timeframe);
    row[column] = (float)series->bars.asset_class;
}


size_t pipeline_column_count(int hidden, const pipeline_higher *higher)
{
    return (size_t)hidden + pipeline_feature_width(higher) + PIPELINE_ID_COLUMNS;
}


const char *pipeline_column_name(int i, int hidden, const pipeline_higher *higher, char *buffer,
                                 size_t size)
{
    int features = (int)pipeline_feature_width(higher);

    if (i < hidden)
        snprintf(buffer, size, "cnn_embedding_%d", i);
    else if (i < hidden + OHLCX_FEATURE_COUNT)
        snprintf(buffer, size, "%s", ohlcx_feature_name(i - hidden));
    else if (i == hidden + features - 1 && higher->debug_leak != OHLCX_DEBUG_LEAK_NONE)
        snprintf(buffer, size, "%s", PIPELINE_LEAK_COLUMN);
    else if (i < hidden + features) {
        int column = i - hidden - OHLCX_FEATURE_COUNT;

        /* The timeframes are canonical, so only a short buffer makes the
         * name fail. The buffer is then left empty. */
        if (ohlcx_higher_feature_name(higher->timeframes[column / OHLCX_FEATURE_COUNT],
                                      column % OHLCX_FEATURE_COUNT, buffer, size) != 0 &&
            size > 0)
            buffer[0] = '\0';
    } else if (i == hidden + features)
        snprintf(buffer, size, "timeframe_id");
    else
        snprintf(buffer, size, "asset_class_id");
    return buffer;
}


const char *pipeline_cnn_mode_name(int cnn_mode)
{
    switch (cnn_mode) {
    case OHLCX_CNN_GLOBAL: return "global";
    case OHLCX_CNN_PER_MARKET: return "per-market";
    default: return "per-symbol";
    }
}


int pipeline_cnn_mode_parse(const char *name)
{
    static const int modes[] = {OHLCX_CNN_PER_SYMBOL, OHLCX_CNN_GLOBAL, OHLCX_CNN_PER_MARKET};

    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++)
        if (strcmp(name, pipeline_cnn_mode_name(modes[i])) == 0)
            return modes[i];
    return -1;
}


const char *pipeline_lr_schedule_name(int schedule)
{
    switch (schedule) {
    case OHLCX_LR_STEP: return "step";
    case OHLCX_LR_COSINE: return "cosine";
    default: return "constant";
    }
}


int pipeline_lr_schedule_parse(const char *name)
{
    static const int schedules[] = {OHLCX_LR_CONSTANT, OHLCX_LR_STEP, OHLCX_LR_COSINE};

    for (size_t i = 0; i < sizeof schedules / sizeof *schedules; i++)
        if (strcmp(name, pipeline_lr_schedule_name(schedules[i])) == 0)
            return schedules[i];
    return -1;
}


const char *pipeline_cnn_group_key(int cnn_mode, const ohlcx_series *bars)
{
    if (cnn_mode == OHLCX_CNN_GLOBAL)
        return "global";
    if (cnn_mode == OHLCX_CNN_PER_MARKET)
        return ohlcx_asset_class_name(bars->asset_class);
    return bars->symbol;
}


int pipeline_cnn_embed(const ohlcx_cnn *cnn, const float *x, int32_t symbol_id, size_t n,
                       float *prob, float *embedding)
{
    enum { CHUNK = 256 };
    const ohlcx_cnn_config *config = ohlcx_cnn_get_config(cnn);
    size_t sample = (size_t)config->channels * (size_t)config->window;
    int32_t ids[CHUNK];
    int status = 0;

    if (symbol_id < 0)
        return ohlcx_cnn_predict(cnn, x, n, prob, embedding);
    for (size_t i = 0; i < CHUNK; i++)
        ids[i] = symbol_id;
    for (size_t start = 0; start < n && status == 0; start += CHUNK) {
        size_t count = n - start < CHUNK ? n - start : CHUNK;

        status = ohlcx_cnn_predict_ids(cnn, x + start * sample, ids, count,
                                       prob != NULL ? prob + start : NULL,
                                       embedding != NULL ?
                                           embedding + start * (size_t)config->hidden : NULL);
    }
    return status;
}


void pipeline_set_blas_threads(int jobs)
{
    openblas_set_num_threads(jobs < 1 ? 1 : jobs);
}


int pipeline_default_jobs(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    return cores < 1 ? 1 : (int)cores;
}
