/*
 * Pieces shared by training and prediction: the layout of an XGBoost row and
 * thread settings.
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
    const float *features = series->features + t * OHLCX_FEATURE_COUNT;
    int column = 0;

    for (int i = 0; i < hidden; i++)
        row[column++] = embedding[i];
    for (int i = 0; i < OHLCX_FEATURE_COUNT; i++)
        row[column++] = features[i];
    row[column++] = (float)ohlcx_timeframe_id(series->bars.timeframe);
    row[column] = (float)series->bars.asset_class;
}


const char *pipeline_column_name(int i, int hidden, char *buffer, size_t size)
{
    if (i < hidden)
        snprintf(buffer, size, "cnn_embedding_%d", i);
    else if (i < hidden + OHLCX_FEATURE_COUNT)
        snprintf(buffer, size, "%s", ohlcx_feature_name(i - hidden));
    else if (i == hidden + OHLCX_FEATURE_COUNT)
        snprintf(buffer, size, "timeframe_id");
    else
        snprintf(buffer, size, "asset_class_id");
    return buffer;
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
