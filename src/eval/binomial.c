/*
 * Eval: the upper tail of the binomial distribution, for the test of a
 * model's accuracy against the majority-class share.
 *
 * Each probability mass is computed in log space by Loader's saddle-point
 * form (C. Loader, "Fast and accurate computation of binomial
 * probabilities", 2000):
 *
 *   ln P(X = x) = stirlerr(n) - stirlerr(x) - stirlerr(n - x)
 *                 - bd0(x, n p) - bd0(n - x, n q) - ln(2 pi x (n - x) / n) / 2
 *
 * where stirlerr(m) = ln m! - ln(sqrt(2 pi m) (m / e)^m) is the error of
 * Stirling's formula and bd0(x, M) = x ln(x / M) + M - x is the deviance
 * term. Both are small and computed without cancellation, unlike
 * lgamma(n + 1) - lgamma(x + 1) - lgamma(n - x + 1), whose terms reach 1.5e8
 * at n = 10^7 and so lose 8 of the 16 digits.
 *
 * The tail is summed from its first term outwards, relative to that term,
 * using the ratio of neighbouring masses. Past the mean every ratio is below
 * 1 and falls, so once term * r / (1 - r) is below 1e-17 of the sum, the
 * rest cannot change the sum.
 */
#include <math.h>

#include "ohlcx/eval.h"

#define LN_SQRT_2PI 0.918938533204672741780329736406
#define TAIL_TOLERANCE 1e-17


/* ln m! - ln(sqrt(2 pi m) (m / e)^m), exact for small m and by the
 * asymptotic series 1/(12m) - 1/(360m^3) + ... above 15. */
static double stirling_error(double m)
{
    static const double s0 = 1.0 / 12, s1 = 1.0 / 360, s2 = 1.0 / 1260, s3 = 1.0 / 1680,
                        s4 = 1.0 / 1188;
    double mm = m * m;

    if (m <= 15)
        return lgamma(m + 1) - (m + 0.5) * log(m) + m - LN_SQRT_2PI;
    if (m > 500)
        return (s0 - s1 / mm) / m;
    if (m > 80)
        return (s0 - (s1 - s2 / mm) / mm) / m;
    if (m > 35)
        return (s0 - (s1 - (s2 - s3 / mm) / mm) / mm) / m;
    return (s0 - (s1 - (s2 - (s3 - s4 / mm) / mm) / mm) / mm) / m;
}


/* x ln(x / mean) + mean - x. Near x == mean the direct form cancels, so it
 * uses the series 2x (v^3/3 + v^5/5 + ...) + (x - mean) v with
 * v = (x - mean) / (x + mean). */
static double deviance(double x, double mean)
{
    if (fabs(x - mean) < 0.1 * (x + mean)) {
        double v = (x - mean) / (x + mean);
        double sum = (x - mean) * v;
        double power = 2 * x * v;

        for (int j = 1; j < 1000; j++) {
            double next;

            power *= v * v;
            next = sum + power / (2 * j + 1);
            if (next == sum)
                return next;
            sum = next;
        }
        return sum;
    }
    return x * log(x / mean) + mean - x;
}


/* ln P(X = x) for X ~ Binomial(n, p), 0 < p < 1, x <= n. */
static double log_mass(double x, double n, double p)
{
    double q = 1 - p;

    if (x == 0)
        return n * log1p(-p);
    if (x == n)
        return n * log(p);
    return stirling_error(n) - stirling_error(x) - stirling_error(n - x) -
           deviance(x, n * p) - deviance(n - x, n * q) -
           0.5 * (2 * LN_SQRT_2PI + log(x) + log1p(-x / n));
}


/* Sum of P(X = i) / P(X = first) for i from first up to n (step +1) or
 * down to 0 (step -1). The caller starts on the far side of the mean, where
 * every ratio is below 1. */
static double relative_tail_sum(double first, double n, double p, int step)
{
    double q = 1 - p;
    double sum = 1, term = 1;

    for (double i = first; step > 0 ? i < n : i > 0; i += step) {
        /* P(X = i + 1) / P(X = i), or P(X = i - 1) / P(X = i) */
        double ratio = step > 0 ? (n - i) / (i + 1) * (p / q) : i / (n - i + 1) * (q / p);

        term *= ratio;
        sum += term;
        if (ratio >= 1)
            continue; /* not reached from the far side of the mean; kept as a guard */
        if (term * ratio / (1 - ratio) < TAIL_TOLERANCE * sum)
            break;
    }
    return sum;
}


double ohlcx_binomial_log_tail(uint64_t k, uint64_t n, double p0)
{
    double kd = (double)k, nd = (double)n;
    double lower;

    if (!(p0 >= 0 && p0 <= 1))
        return NAN;
    if (k == 0)
        return 0;
    if (k > n)
        return -INFINITY;
    if (p0 == 0)
        return -INFINITY;
    if (p0 == 1)
        return 0;

    if (kd > nd * p0)
        return log_mass(kd, nd, p0) + log(relative_tail_sum(kd, nd, p0, +1));

    /* k at or below the mean: 1 - P(X <= k - 1), whose sum starts below the
     * mean and is at most about one half, so the subtraction keeps its digits. */
    lower = exp(log_mass(kd - 1, nd, p0)) * relative_tail_sum(kd - 1, nd, p0, -1);
    if (lower >= 1)
        return -INFINITY;
    return log1p(-lower);
}


double ohlcx_binomial_tail(uint64_t k, uint64_t n, double p0)
{
    return exp(ohlcx_binomial_log_tail(k, n, p0));
}
