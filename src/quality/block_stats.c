/*
 * Block statistics: the median, and the median absolute deviation of log
 * ratios, of one block of a hopping window (checks_consistency.c).
 *
 * Consecutive blocks of one series have similar distributions, so the
 * values that bracketed the middle of the last block usually bracket the
 * middle of the next. A check_bracket keeps two such values. One pass,
 * without branches, counts the values below the bracket and copies those
 * inside it to scratch. When the middle ranks fall inside, they are picked
 * from the copied values (about a fifth of the block) by counting ranks.
 * When they do not, the bracket widens on the side that missed, and after
 * BRACKET_ATTEMPTS passes the whole block is sorted. Either way the result
 * is the exact order statistic: the bracket only decides how much work is
 * done. The middle values also set the bracket for the next block.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include "quality/checks_internal.h"

/* Ranges at most this long are sorted by insertion. */
#define SORT_SMALL 12

/* Brackets with at most this many values inside select by counting ranks,
 * larger ones by sorting. */
#define COUNTING_MAX 64

/* Passes over a block with a widening bracket before the whole block is
 * sorted. */
#define BRACKET_ATTEMPTS 3

/* Values compared per step when counting ranks: one AVX-512 vector, or two
 * of AVX2. COUNTING_MAX is a multiple of it. */
#define COUNTING_LANES 8


static void insertion_sort(double *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        double x = a[i];
        size_t j = i;

        for (; j > 0 && a[j - 1] > x; j--)
            a[j] = a[j - 1];
        a[j] = x;
    }
}


/* Merges the sorted a[0, na) and b[0, nb) into out. The choice of source
 * is a select, not a branch, so random data costs no mispredictions. */
static void merge(const double *a, size_t na, const double *b, size_t nb, double *out)
{
    size_t i = 0, j = 0, o = 0;

    while (i < na && j < nb) {
        double x = a[i], y = b[j];
        int take_b = y < x;

        out[o++] = take_b ? y : x;
        i += (size_t)!take_b;
        j += (size_t)take_b;
    }
    while (i < na)
        out[o++] = a[i++];
    while (j < nb)
        out[o++] = b[j++];
}


/* Sorts a[0, n) ascending (values must not be NaN); tmp has room for n
 * doubles.
 * Insertion-sorted runs, then bottom-up merges between a and tmp. */
static void sort_values(double *a, size_t n, double *tmp)
{
    double *src = a, *dst = tmp;

    for (size_t start = 0; start < n; start += SORT_SMALL)
        insertion_sort(a + start, n - start < SORT_SMALL ? n - start : SORT_SMALL);
    for (size_t width = SORT_SMALL; width < n; width *= 2) {
        double *swap;

        for (size_t start = 0; start < n; start += 2 * width) {
            size_t mid = n - start < width ? n : start + width;
            size_t end = n - start < 2 * width ? n : start + 2 * width;

            merge(src + start, mid - start, src + mid, end - mid, dst + start);
        }
        swap = src;
        src = dst;
        dst = swap;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
}


/* Ranks kept on each side of the middle when the bracket is set. Between
 * two blocks of n values from one distribution, the rank that the middle
 * of one has in the other varies with a standard deviation of about
 * sqrt(n / 2). A margin of one standard deviation misses the next middle
 * in about one block in three, and the second, wider bracket then catches
 * almost all of those: two cheap passes cost less than a wide bracket's
 * larger count. */
static double bracket_margin(size_t n)
{
    return sqrt((double)n / 2) + 1;
}


/* Sets the bracket around the middle values lower and upper of a block of
 * n, given that count values from smallest to largest span the ranks
 * around them: margin ranks on each side, at the mean spacing of those
 * values. The bracket is a guess for the next block and needs no exact
 * rank. */
static void bracket_set(check_bracket *bracket, size_t n, double lower, double upper,
                        double smallest, double largest, size_t count)
{
    double spacing = count > 1 ? (largest - smallest) / (double)(count - 1) : 0;
    double margin = bracket_margin(n);

    bracket->low = lower - spacing * margin;
    bracket->high = upper + spacing * margin;
    bracket->valid = 1;
}


/* COUNTING_LANES doubles and their counts, in GCC's generic vectors: one
 * AVX-512 register, two of AVX2, or four of SSE2, as the target has. */
typedef double lane_values __attribute__((vector_size(COUNTING_LANES * sizeof(double))));
typedef int64_t lane_counts __attribute__((vector_size(COUNTING_LANES * sizeof(int64_t))));


/* Returns candidate when take is 1, else current, by blending bits: a
 * compiler turns a select here into a branch that mispredicts often. */
static double blend(double candidate, double current, int take)
{
    uint64_t a, b, mask = (uint64_t)0 - (uint64_t)take;
    double out;

    memcpy(&a, &candidate, sizeof a);
    memcpy(&b, &current, sizeof b);
    a = (a & mask) | (b & ~mask);
    memcpy(&out, &a, sizeof out);
    return out;
}


/*
 * Sets *first and *second to the values of ranks r1 and r2 among a[0, m),
 * m <= COUNTING_MAX, and *smallest and *largest to their extremes. The
 * value of rank r is the largest value with at most r values below it
 * (ties included), so only those counts are needed. Counting them takes
 * O(m^2) comparisons, but COUNTING_LANES at a time and without a branch,
 * so it beats a sort while m is a few dozen. The counts run over whole
 * groups of lanes, and the padding lanes get counts that are never read.
 */
static void select_by_counting(const double *a, size_t m, size_t r1, size_t r2, double *first,
                               double *second, double *smallest, double *largest)
{
    lane_values padded[COUNTING_MAX / COUNTING_LANES] = {{0}};
    lane_counts below[COUNTING_MAX / COUNTING_LANES] = {{0}};
    size_t groups = (m + COUNTING_LANES - 1) / COUNTING_LANES;
    double low = a[0], high = a[0], v1 = -INFINITY, v2 = -INFINITY;

    memcpy(padded, a, m * sizeof *a);
    for (size_t j = 0; j < m; j++) {
        lane_values y = (lane_values){0} + a[j];

        /* A true comparison is -1 in every bit of its lane. */
        for (size_t g = 0; g < groups; g++)
            below[g] -= y < padded[g];
    }

    for (size_t i = 0; i < m; i++) {
        double x = a[i];
        int64_t under = below[i / COUNTING_LANES][i % COUNTING_LANES];

        v1 = blend(x, v1, (under <= (int64_t)r1) & (x > v1));
        v2 = blend(x, v2, (under <= (int64_t)r2) & (x > v2));
        low = x < low ? x : low;
        high = x > high ? x : high;
    }
    *first = v1;
    *second = v2;
    *smallest = low;
    *largest = high;
}


/* Copies the values of [low, high] to out and counts those below low; out
 * has room for n values. Each value is stored, and only the index of the copy
 * moves, so the loop has no branch. With AVX-512 it copies eight values a
 * step with a compress. */
static size_t copy_inside(const double *values, size_t n, double low, double high, double *out,
                          size_t *below)
{
    size_t inside = 0, under = 0, i = 0;

#ifdef __AVX512F__
    __m512d low8 = _mm512_set1_pd(low), high8 = _mm512_set1_pd(high);

    for (; i + 8 <= n; i += 8) {
        __m512d x = _mm512_loadu_pd(values + i);
        __mmask8 in = _mm512_cmp_pd_mask(x, low8, _CMP_GE_OQ) &
                      _mm512_cmp_pd_mask(x, high8, _CMP_LE_OQ);
        __mmask8 under_mask = _mm512_cmp_pd_mask(x, low8, _CMP_LT_OQ);

        /* Compress into a register and store all eight lanes, because a
         * compress straight to memory is slow on some CPUs. inside <= i,
         * so the store stays below out + i + 8, and its lanes past the
         * copied values are overwritten or ignored. */
        _mm512_storeu_pd(out + inside, _mm512_maskz_compress_pd(in, x));
        inside += (size_t)__builtin_popcount(in);
        under += (size_t)__builtin_popcount(under_mask);
    }
#endif
    for (; i < n; i++) {
        double x = values[i];

        out[inside] = x;
        inside += (size_t)((x >= low) & (x <= high));
        under += (size_t)(x < low);
    }
    *below = under;
    return inside;
}


/* Tries the bracket and, while it misses, again with the missed side moved
 * out by its width, so the bracket doubles in width each time. Returns 1
 * when the middle ranks fell inside and *lower and *upper are set. */
static int middle_in_bracket(const double *values, size_t n, double *scratch,
                             check_bracket *bracket, double *lower, double *upper)
{
    size_t high_rank = n / 2, low_rank = n % 2 ? high_rank : high_rank - 1;
    double low = bracket->low, high = bracket->high;

    for (int attempt = 0; attempt < BRACKET_ATTEMPTS; attempt++) {
        size_t below, inside = copy_inside(values, n, low, high, scratch, &below);
        double width = high - low, smallest, largest;

        if (below <= low_rank && below + inside > high_rank) {
            if (low == high) { /* every copied value is the same */
                *lower = *upper = smallest = largest = low;
            } else if (inside <= COUNTING_MAX) {
                select_by_counting(scratch, inside, low_rank - below, high_rank - below, lower,
                                   upper, &smallest, &largest);
            } else {
                sort_values(scratch, inside, scratch + n);
                *lower = scratch[low_rank - below];
                *upper = scratch[high_rank - below];
                smallest = scratch[0];
                largest = scratch[inside - 1];
            }
            bracket_set(bracket, n, *lower, *upper, smallest, largest, inside);
            return 1;
        }
        if (!(width > 0))
            return 0;
        if (below > low_rank)
            low -= width;
        if (below + inside <= high_rank)
            high += width;
    }
    return 0;
}


void check_middle(const double *values, size_t n, double *scratch, check_bracket *bracket,
                  double *lower, double *upper)
{
    size_t high_rank = n / 2, low_rank = n % 2 ? high_rank : high_rank - 1;

    if (bracket != NULL && bracket->valid &&
        middle_in_bracket(values, n, scratch, bracket, lower, upper))
        return;

    memcpy(scratch, values, n * sizeof *scratch);
    sort_values(scratch, n, scratch + n);
    *lower = scratch[low_rank];
    *upper = scratch[high_rank];
    if (bracket != NULL) {
        size_t margin = (size_t)bracket_margin(n);

        bracket->low = scratch[low_rank > margin ? low_rank - margin : 0];
        bracket->high = scratch[high_rank + margin < n ? high_rank + margin : n - 1];
        bracket->valid = 1;
    }
}


double check_median(const double *values, size_t n, double *scratch, check_bracket *bracket)
{
    double lower, upper;

    check_middle(values, n, scratch, bracket, &lower, &upper);
    return n % 2 ? upper : 0.5 * (lower + upper);
}


/* Returns the log of the median of n > 0 positive values; *center gets
 * the median itself, exp() of the result. */
static double log_median(const double *a, size_t n, double *scratch, check_bracket *bracket,
                         double *center)
{
    double lower, upper;

    check_middle(a, n, scratch, bracket, &lower, &upper);
    *center = upper;
    if (n % 2 || lower == upper)
        return log(upper);
    *center = sqrt(lower) * sqrt(upper);
    return 0.5 * (log(lower) + log(upper));
}


/* The deviation of ratio r from center c in log terms is
 * |log r - log c| = log max(r / c, c / r). The larger quotient is the
 * larger of r and c over the smaller: division rounds monotonically, so
 * r > c gives r / c >= 1 >= c / r, and one division per ratio gives the
 * same value as both. */
void check_log_median_mad(double *ratios, size_t n, double *scratch, check_bracket *brackets,
                          double *median, double *mad)
{
    double center, unused;

    *median = log_median(ratios, n, scratch, brackets != NULL ? &brackets[0] : NULL, &center);
    for (size_t i = 0; i < n; i++) {
        double r = ratios[i];
        double larger = r > center ? r : center, smaller = r > center ? center : r;

        ratios[i] = larger / smaller;
    }
    *mad = log_median(ratios, n, scratch, brackets != NULL ? &brackets[1] : NULL, &unused);
}
