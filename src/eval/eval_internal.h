/*
 * Eval: helpers shared by the metric files. Not part of the public API.
 */
#ifndef OHLCX_EVAL_INTERNAL_H
#define OHLCX_EVAL_INTERNAL_H

#include <stddef.h>

/* Returns the Pearson correlation of x and y, or NaN with n < 2 or when
 * either is constant. Two passes in double: the means, then the moments. */
double eval_pearson(const double *x, const double *y, size_t n);

/* Returns the Spearman correlation of x and y: the Pearson correlation of
 * their ranks, equal values sharing the mean of the ranks they span.
 * scratch must hold 2 * n doubles and index_scratch n indices. */
double eval_spearman(const double *x, const double *y, size_t n, double *scratch,
                     size_t *index_scratch);

#endif
