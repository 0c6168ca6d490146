/*
 * Eval: the information coefficient (Pearson) and rank information
 * coefficient (Spearman) of predicted probabilities against realised returns.
 *
 * Ranks start at 1, and a run of equal values gets the mean of the ranks it
 * spans, so the Spearman coefficient is the Pearson coefficient of the ranks
 * with ties averaged. Ranking sorts indices in O(n log n).
 */
#include <math.h>
#include <stdlib.h>

#include "eval/eval_internal.h"

/* qsort() has no context argument; the values being ranked are passed here.
 * NOTE: this makes ranking not thread-safe. Each thread ranking at once
 * would need its own copy. */
static _Thread_local const double *ranked_values;


double eval_pearson(const double *x, const double *y, size_t n)
{
    double mean_x = 0, mean_y = 0, sxx = 0, syy = 0, sxy = 0;

    if (n < 2)
        return NAN;
    for (size_t i = 0; i < n; i++) {
        mean_x += x[i];
        mean_y += y[i];
    }
    mean_x /= (double)n;
    mean_y /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double dx = x[i] - mean_x, dy = y[i] - mean_y;

        sxx += dx * dx;
        syy += dy * dy;
        sxy += dx * dy;
    }
    if (sxx == 0 || syy == 0)
        return NAN;
    return sxy / sqrt(sxx * syy);
}


static int compare_ranked(const void *a, const void *b)
{
    double x = ranked_values[*(const size_t *)a], y = ranked_values[*(const size_t *)b];

    return (x > y) - (x < y);
}


/* Writes the tie-averaged rank of every value into rank. */
static void average_ranks(const double *values, size_t n, double *rank, size_t *order)
{
    size_t run_begin = 0;

    for (size_t i = 0; i < n; i++)
        order[i] = i;
    ranked_values = values;
    qsort(order, n, sizeof *order, compare_ranked);
    ranked_values = NULL;

    while (run_begin < n) {
        size_t run_end = run_begin + 1;
        double mean_rank;

        while (run_end < n && values[order[run_end]] == values[order[run_begin]])
            run_end++;
        /* ranks run_begin + 1 .. run_end */
        mean_rank = ((double)run_begin + 1 + (double)run_end) / 2;
        for (size_t i = run_begin; i < run_end; i++)
            rank[order[i]] = mean_rank;
        run_begin = run_end;
    }
}


double eval_spearman(const double *x, const double *y, size_t n, double *scratch,
                     size_t *index_scratch)
{
    double *rank_x = scratch, *rank_y = scratch + n;

    if (n < 2)
        return NAN;
    average_ranks(x, n, rank_x, index_scratch);
    average_ranks(y, n, rank_y, index_scratch);
    return eval_pearson(rank_x, rank_y, n);
}
