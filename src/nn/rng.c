/*
 * The CNN's seeded generator: xoshiro256** (Blackman and Vigna, 2018) with
 * its state filled by splitmix64, so that any 64-bit seed, zero included,
 * gives a well-mixed, nonzero state.
 *
 * Every draw is a pure function of the seed and the number of earlier draws,
 * which is what makes weight initialisation and batch order reproducible.
 */
#include <math.h>

#include "nn/nn_internal.h"


static uint64_t splitmix64_next(uint64_t *x)
{
    uint64_t z;

    *x += 0x9e3779b97f4a7c15u;
    z = *x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}


static uint64_t rotate_left(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}


void nn_rng_seed(nn_rng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng->state[i] = splitmix64_next(&seed);
}


/* Seeds the generator of a training's dropout masks. It is a stream apart
 * from the batch order's, seeded from seed with a fixed constant mixed in,
 * so that dropout leaves the batch order unchanged. */
void nn_dropout_rng_seed(nn_rng *rng, uint64_t seed)
{
    nn_rng_seed(rng, seed ^ 0x64726f706f757400u); /* "dropout\0" */
}


uint64_t nn_rng_next(nn_rng *rng)
{
    uint64_t *s = rng->state;
    uint64_t result = rotate_left(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotate_left(s[3], 45);
    return result;
}


/* Returns a uniform double in [0, 1) with 53 random bits. */
static double rng_uniform(nn_rng *rng)
{
    return (double)(nn_rng_next(rng) >> 11) * 0x1.0p-53;
}


/* Draws a standard normal value by the Box-Muller transform, using one of
 * the pair it produces. */
double nn_rng_normal(nn_rng *rng)
{
    double u1 = 1.0 - rng_uniform(rng); /* (0, 1], so log() is finite */
    double u2 = rng_uniform(rng);

    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}


/* Returns a uniform integer in [0, bound) for bound >= 1. Draws below
 * 2^64 mod bound are rejected, so that every residue is equally likely. */
uint64_t nn_rng_below(nn_rng *rng, uint64_t bound)
{
    uint64_t threshold = (0 - bound) % bound;

    for (;;) {
        uint64_t r = nn_rng_next(rng);

        if (r >= threshold)
            return r % bound;
    }
}


/* Shuffles items in place by Fisher-Yates. */
void nn_rng_shuffle(nn_rng *rng, size_t *items, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)nn_rng_below(rng, i);
        size_t tmp = items[i - 1];

        items[i - 1] = items[j];
        items[j] = tmp;
    }
}
