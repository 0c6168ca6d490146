/*
 * Logging and progress lines on stderr, and clocks.
 *
 * Progress redraws at most ten times a second and only when stderr is a
 * terminal, so logs captured to files stay plain.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "util/util.h"


static void log_line(const char *level, const char *format, va_list args)
{
    fprintf(stderr, "ohlcx: %s: ", level);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
}


void ohlcx_log_info(const char *format, ...)
{
    va_list args;

    va_start(args, format);
    log_line("info", format, args);
    va_end(args);
}


void ohlcx_log_warn(const char *format, ...)
{
    va_list args;

    va_start(args, format);
    log_line("warning", format, args);
    va_end(args);
}


double ohlcx_now_seconds(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
}


int64_t ohlcx_wall_time_us(void)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}


void ohlcx_progress_start(ohlcx_progress *progress, const char *label)
{
    progress->label = label;
    progress->started = ohlcx_now_seconds();
    progress->last_drawn = 0;
    progress->drawn = 0;
}


void ohlcx_progress_update(ohlcx_progress *progress, double done, double total)
{
    double now = ohlcx_now_seconds();
    double elapsed = now - progress->started;
    double share = total > 0 ? done / total : 0;

    if (!isatty(STDERR_FILENO) || elapsed < 1.0 || now - progress->last_drawn < 0.1)
        return;
    progress->last_drawn = now;
    progress->drawn = 1;
    if (share > 0 && share < 1)
        fprintf(stderr, "\r\033[K%s: %3.0f%%  %.0fs elapsed, about %.0fs left", progress->label,
                100 * share, elapsed, elapsed * (1 - share) / share);
    else
        fprintf(stderr, "\r\033[K%s: %3.0f%%  %.0fs elapsed", progress->label, 100 * share,
                elapsed);
    fflush(stderr);
}


void ohlcx_progress_finish(ohlcx_progress *progress)
{
    if (progress->drawn)
        fprintf(stderr, "\r\033[K");
    progress->drawn = 0;
}
