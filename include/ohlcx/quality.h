/*
 * Quality: the basic validation every series passes before features.
 *
 * ohlcx_validate_basic() sorts rows by open time, drops exact duplicate rows,
 * keeps the first of rows that share an open time with other values (and
 * counts them), and drops rows with a non-positive or non-finite price,
 * high < low, open or close outside [low, high], or negative volume. Every
 * dropped row is counted by reason, so that nothing disappears silently.
 */
#ifndef OHLCX_QUALITY_H
#define OHLCX_QUALITY_H

#include <stddef.h>

#include "ohlcx/series.h"

enum ohlcx_drop_reason {
    OHLCX_DROP_DUPLICATE = 0,      /* exact copy of an earlier row */
    OHLCX_DROP_CONFLICT,           /* same open time, other values */
    OHLCX_DROP_NONPOSITIVE_PRICE,  /* a price <= 0, NaN or infinite */
    OHLCX_DROP_HIGH_BELOW_LOW,     /* high < low */
    OHLCX_DROP_OUTSIDE_RANGE,      /* open or close outside [low, high] */
    OHLCX_DROP_NEGATIVE_VOLUME,    /* volume < 0, NaN or infinite */
    OHLCX_DROP_REASON_COUNT
};

typedef struct ohlcx_validation {
    size_t rows_in;
    size_t rows_out;
    int was_unsorted; /* rows were not in open-time order and were sorted */
    size_t dropped[OHLCX_DROP_REASON_COUNT];
} ohlcx_validation;

/* Validates and cleans series in place, filling result. */
int ohlcx_validate_basic(ohlcx_series *series, ohlcx_validation *result);

/* Returns the snake_case name of a drop reason, as used in metrics.json. */
const char *ohlcx_drop_reason_name(int reason);

/* Returns the total number of rows dropped. */
size_t ohlcx_validation_dropped(const ohlcx_validation *result);

#endif
