/*
 * Time order of unsorted rows: a stable sort of the open times that keeps
 * file order among equal open times.
 *
 * Files are usually nearly sorted (a few rows swapped or repeated), so an
 * insertion sort runs first, in O(n + moves), and stops once it has moved
 * rows n times. An LSD radix sort on the open times minus the smallest one
 * then finishes the work, in one O(n) pass per 11 bits of the span of the
 * open times (five passes for two years in microseconds).
 * Insertion sort is stable, so rows of one open time are still in file
 * order when it stops, and the radix sort keeps that order.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ohlcx/error.h"
#include "quality/checks_internal.h"

#define RADIX_BITS 11
#define RADIX_SIZE (1u << RADIX_BITS)

/* Sorts time[0, n) with insertion, moving row alongside, and moves at most
 * budget entries. Returns 1 when sorted, else 0 with both arrays still
 * permuted alike and equal open times in file order. */
static int insertion_sort_bounded(int64_t *time, size_t *row, size_t n, size_t budget)
{
    size_t moves = 0;

    for (size_t i = 1; i < n; i++) {
        int64_t t = time[i];
        size_t r = row[i], j = i;

        if (t >= time[i - 1])
            continue;
        for (; j > 0 && time[j - 1] > t; j--) {
            time[j] = time[j - 1];
            row[j] = row[j - 1];
        }
        time[j] = t;
        row[j] = r;
        moves += i - j;
        if (moves > budget)
            return 0;
    }
    return 1;
}


static size_t digit_of(int64_t time, int64_t smallest, unsigned shift)
{
    return (size_t)((((uint64_t)time - (uint64_t)smallest) >> shift) & (RADIX_SIZE - 1));
}


/* Stable LSD radix sort of time[0, n) by value, moving row alongside. */
static int radix_sort(int64_t *time, size_t *row, size_t n)
{
    int64_t smallest = time[0], largest = time[0];
    int64_t *time_tmp = malloc(n * sizeof *time_tmp);
    size_t *row_tmp = malloc(n * sizeof *row_tmp);
    int64_t *time_src = time, *time_dst = time_tmp;
    size_t *row_src = row, *row_dst = row_tmp;
    size_t count[RADIX_SIZE];
    uint64_t span;

    if (time_tmp == NULL || row_tmp == NULL) {
        free(time_tmp);
        free(row_tmp);
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory sorting %zu bars", n);
    }
    for (size_t i = 1; i < n; i++) {
        smallest = time[i] < smallest ? time[i] : smallest;
        largest = time[i] > largest ? time[i] : largest;
    }
    span = (uint64_t)largest - (uint64_t)smallest;

    for (unsigned shift = 0; shift < 64 && (span >> shift) != 0; shift += RADIX_BITS) {
        size_t total = 0;
        int64_t *time_swap = time_src;
        size_t *row_swap = row_src;

        memset(count, 0, sizeof count);
        for (size_t i = 0; i < n; i++)
            count[digit_of(time_src[i], smallest, shift)]++;
        for (size_t d = 0; d < RADIX_SIZE; d++) {
            size_t here = count[d];

            count[d] = total;
            total += here;
        }
        for (size_t i = 0; i < n; i++) {
            size_t to = count[digit_of(time_src[i], smallest, shift)]++;

            time_dst[to] = time_src[i];
            row_dst[to] = row_src[i];
        }
        time_src = time_dst;
        row_src = row_dst;
        time_dst = time_swap;
        row_dst = row_swap;
    }
    if (time_src != time) {
        memcpy(time, time_src, n * sizeof *time);
        memcpy(row, row_src, n * sizeof *row);
    }
    free(time_tmp);
    free(row_tmp);
    return 0;
}


int check_order_by_time(const int64_t *open_time, size_t n, int64_t *sorted_time, size_t *order)
{
    memcpy(sorted_time, open_time, n * sizeof *sorted_time);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    if (n > 1 && !insertion_sort_bounded(sorted_time, order, n, n))
        return radix_sort(sorted_time, order, n);
    return 0;
}
