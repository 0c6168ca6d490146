/*
 * Resource snapshots, and the progress line with the run's time left
 * (monitor.h). The drawing thread wakes twice a second. On a terminal it
 * redraws the line, and elsewhere it logs a line once log_interval_s has
 * passed since the last one.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ohlcx/error.h"
#include "pipeline/monitor.h"
#include "util/util.h"

#define DEFAULT_LOG_INTERVAL_S 30.0
#define TICK_S 0.5
/* A measured rate replaces the prior once its kind has run this long, so
 * that start-up costs (thread pools, first allocations) do not skew it. */
#define MIN_MEASURED_S 0.5

static const char *stage_names[RUN_STAGE_COUNT] = {"load",    "features",     "cnn",
                                                   "xgboost", "walk_forward", "evaluate"};


const char *run_stage_name(int stage)
{
    return stage >= 0 && stage < RUN_STAGE_COUNT ? stage_names[stage] : "none";
}


/* Reads the counters of /proc/self/io; returns 0 when the file is missing
 * or unreadable, as in some containers. */
static int read_proc_io(run_usage *out)
{
    static const char *names[] = {"rchar", "wchar", "read_bytes", "write_bytes"};
    uint64_t *fields[] = {&out->rchar, &out->wchar, &out->read_bytes, &out->write_bytes};
    FILE *file = fopen("/proc/self/io", "r");
    char name[64];
    unsigned long long value;
    int found = 0;

    if (file == NULL)
        return 0;
    while (fscanf(file, "%63[^:]: %llu\n", name, &value) == 2) {
        for (int i = 0; i < 4; i++) {
            if (strcmp(name, names[i]) != 0)
                continue;
            *fields[i] = value;
            found |= 1 << i;
        }
    }
    fclose(file);
    return found == 15;
}


void run_usage_sample(run_usage *out)
{
    struct rusage usage;

    memset(out, 0, sizeof *out);
    out->wall_s = ohlcx_now_seconds();
    if (getrusage(RUSAGE_SELF, &usage) == 0) {
        out->user_s = (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec * 1e-6;
        out->sys_s = (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec * 1e-6;
        /* Linux reports ru_maxrss in KiB. */
        out->peak_rss_bytes = (uint64_t)usage.ru_maxrss * 1024u;
    }
    out->has_io = read_proc_io(out);
}


void run_resources_between(const run_usage *start, const run_usage *end, int threads,
                           run_resources *out)
{
    memset(out, 0, sizeof *out);
    out->measured = 1;
    out->wall_s = end->wall_s - start->wall_s;
    out->cpu_user_s = end->user_s - start->user_s;
    out->cpu_sys_s = end->sys_s - start->sys_s;
    out->cpu_s = out->cpu_user_s + out->cpu_sys_s;
    if (out->wall_s > 0 && threads > 0)
        out->cpu_utilisation = out->cpu_s / out->wall_s / threads;
    out->peak_rss_bytes = end->peak_rss_bytes;
    out->rss_growth_bytes = end->peak_rss_bytes - start->peak_rss_bytes;
    out->has_io = start->has_io && end->has_io;
    if (out->has_io) {
        out->read_bytes = end->read_bytes - start->read_bytes;
        out->write_bytes = end->write_bytes - start->write_bytes;
        out->rchar = end->rchar - start->rchar;
        out->wchar = end->wchar - start->wchar;
    }
}


static double mebibytes(uint64_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}


void run_resources_log(const char *stage, const run_resources *r, int threads)
{
    char io[192] = "I/O not available (/proc/self/io unreadable)";

    if (r->has_io)
        snprintf(io, sizeof io,
                 "read %.1f MiB from storage (%.1f MiB through read calls), wrote %.1f MiB "
                 "(%.1f MiB)",
                 mebibytes(r->read_bytes), mebibytes(r->rchar), mebibytes(r->write_bytes),
                 mebibytes(r->wchar));
    ohlcx_log_info("%s: %.2f s wall, %.2f s CPU (%.0f%% of %d thread%s), peak RSS %.1f MiB "
                   "(+%.1f MiB), %s",
                   stage, r->wall_s, r->cpu_s, 100 * r->cpu_utilisation, threads,
                   threads == 1 ? "" : "s", mebibytes(r->peak_rss_bytes),
                   mebibytes(r->rss_growth_bytes), io);
}


/* Writes a duration as 42s, 3m05s or 2h07m. */
static void format_duration(double seconds, char *out, size_t size)
{
    long whole = seconds > 0 ? (long)(seconds + 0.5) : 0;

    if (whole < 60)
        snprintf(out, size, "%lds", whole);
    else if (whole < 3600)
        snprintf(out, size, "%ldm%02lds", whole / 60, whole % 60);
    else
        snprintf(out, size, "%ldh%02ldm", whole / 3600, whole % 3600 / 60);
}


static const char *work_names[RUN_WORK_COUNT] = {"load", "features", "cnn", "embeddings",
                                                 "xgboost"};


/* Returns the seconds left of the kinds with a rate, and sets bit k of
 * *unknown for each kind k with work left but no rate. The caller holds
 * the lock. */
static double known_seconds_left(const run_monitor *m, double now, unsigned *unknown)
{
    double left_s = 0;

    *unknown = 0;
    for (int k = 0; k < RUN_WORK_COUNT; k++) {
        double left = m->total[k] - m->done[k];
        double spent = m->seconds[k], rate = 0, estimate;

        if (left <= 0)
            continue;
        if (m->active_since[k] > 0)
            spent += now - m->active_since[k];
        if (spent >= MIN_MEASURED_S && m->done[k] > 0)
            rate = m->done[k] / spent;
        else
            rate = m->prior_rate[k];
        if (rate <= 0) {
            *unknown |= 1u << k;
            continue;
        }
        estimate = left / rate;
        /* Work that advances in one step (an XGBoost model) counts down
         * by the time spent on it since it last advanced. */
        if (m->active_since[k] > 0)
            estimate -= spent - m->seconds_at_advance[k];
        left_s += estimate > 0 ? estimate : 0;
    }
    return left_s;
}


/* Seconds left, or -1 while some work has no rate; caller holds the lock. */
static double seconds_left_locked(const run_monitor *m, double now)
{
    unsigned unknown;
    double left = known_seconds_left(m, now, &unknown);

    return unknown || !m->totals_known ? -1 : left;
}


/* Writes "about 3m05s left", "about 20s left, plus xgboost not yet
 * estimated", "time left of cnn and xgboost not yet estimated" or
 * "estimating the time left"; caller holds the lock. */
static void format_left(const run_monitor *m, double now, char *out, size_t size)
{
    unsigned unknown;
    double left = known_seconds_left(m, now, &unknown);
    char text[32], names[64] = "";

    if (m->estimate_off) {
        snprintf(out, size, "time left not estimated");
        return;
    }
    if (!m->totals_known) {
        snprintf(out, size, "estimating the time left");
        return;
    }
    format_duration(left, text, sizeof text);
    if (unknown == 0) {
        snprintf(out, size, "about %s left", text);
        return;
    }
    for (int k = 0; k < RUN_WORK_COUNT; k++) {
        if (!(unknown >> k & 1u))
            continue;
        if (names[0])
            strcat(names, unknown >> (k + 1) ? ", " : " and ");
        strcat(names, work_names[k]);
    }
    if (left < 0.5)
        snprintf(out, size, "time left of %s not yet estimated", names);
    else
        snprintf(out, size, "about %s left, plus %s not yet estimated", text, names);
}


/* Draws or logs the progress; caller holds the lock. */
static void show_locked(run_monitor *m, int force_log)
{
    double now = ohlcx_now_seconds();
    char elapsed[32], left[128];

    if (m->stage < 0)
        return;
    format_duration(now - m->started, elapsed, sizeof elapsed);
    format_left(m, now, left, sizeof left);
    if (m->terminal) {
        if (m->quiet)
            return;
        fprintf(stderr, "\r\033[Krun: %s%s%s, %s elapsed, %s", run_stage_name(m->stage),
                m->detail[0] ? ": " : "", m->detail, elapsed, left);
        fflush(stderr);
        m->drawn = 1;
        return;
    }
    if (!force_log && now - m->last_logged < m->log_interval_s)
        return;
    m->last_logged = now;
    ohlcx_log_info("progress: stage %s%s%s, %s elapsed, %s", run_stage_name(m->stage),
                   m->detail[0] ? ", " : "", m->detail, elapsed, left);
}


static void *tick(void *context)
{
    run_monitor *m = context;

    pthread_mutex_lock(&m->lock);
    while (!m->stop) {
        struct timespec until;

        /* A log interval shorter than a tick (the test hook) shortens it. */
        double wait_s = m->log_interval_s < TICK_S ? m->log_interval_s : TICK_S;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long)(wait_s * 1e9);
        while (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&m->wake, &m->lock, &until);
        if (!m->stop)
            show_locked(m, 0);
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}


int run_monitor_start(run_monitor *m)
{
    const char *interval = getenv("OHLCX_PROGRESS_LOG_S");
    int error;

    memset(m, 0, sizeof *m);
    m->stage = -1;
    m->terminal = isatty(STDERR_FILENO);
    m->started = ohlcx_now_seconds();
    m->last_logged = m->started;
    m->log_interval_s = DEFAULT_LOG_INTERVAL_S;
    if (interval != NULL && atof(interval) > 0)
        m->log_interval_s = atof(interval);
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->wake, NULL);
    error = pthread_create(&m->ticker, NULL, tick, m);
    if (error != 0) {
        pthread_cond_destroy(&m->wake);
        pthread_mutex_destroy(&m->lock);
        return ohlcx_set_error(OHLCX_ELIB, "cannot start the progress thread: %s",
                               strerror(error));
    }
    m->ticker_running = 1;
    return 0;
}


void run_monitor_stop(run_monitor *m)
{
    if (!m->ticker_running)
        return;
    pthread_mutex_lock(&m->lock);
    m->stop = 1;
    pthread_cond_signal(&m->wake);
    pthread_mutex_unlock(&m->lock);
    pthread_join(m->ticker, NULL);
    m->ticker_running = 0;
    run_monitor_clear_line(m);
    pthread_cond_destroy(&m->wake);
    pthread_mutex_destroy(&m->lock);
}


void run_monitor_set_stage(run_monitor *m, int stage)
{
    pthread_mutex_lock(&m->lock);
    m->stage = stage;
    m->detail[0] = '\0';
    m->quiet = 0;
    pthread_mutex_unlock(&m->lock);
}


void run_monitor_set_detail(run_monitor *m, const char *format, ...)
{
    va_list args;

    pthread_mutex_lock(&m->lock);
    va_start(args, format);
    vsnprintf(m->detail, sizeof m->detail, format, args);
    va_end(args);
    m->quiet = 0;
    pthread_mutex_unlock(&m->lock);
}


void run_monitor_set_total(run_monitor *m, int work, double total)
{
    pthread_mutex_lock(&m->lock);
    m->total[work] = total;
    pthread_mutex_unlock(&m->lock);
}


void run_monitor_add_total(run_monitor *m, int work, double amount)
{
    pthread_mutex_lock(&m->lock);
    m->total[work] += amount;
    if (m->total[work] < m->done[work])
        m->total[work] = m->done[work];
    pthread_mutex_unlock(&m->lock);
}


void run_monitor_begin(run_monitor *m, int work)
{
    pthread_mutex_lock(&m->lock);
    if (m->active_since[work] == 0)
        m->active_since[work] = ohlcx_now_seconds();
    pthread_mutex_unlock(&m->lock);
}


void run_monitor_end(run_monitor *m, int work)
{
    pthread_mutex_lock(&m->lock);
    if (m->active_since[work] > 0)
        m->seconds[work] += ohlcx_now_seconds() - m->active_since[work];
    m->active_since[work] = 0;
    pthread_mutex_unlock(&m->lock);
}


void run_monitor_advance(run_monitor *m, int work, double units)
{
    pthread_mutex_lock(&m->lock);
    m->done[work] += units;
    m->seconds_at_advance[work] = m->seconds[work];
    if (m->active_since[work] > 0)
        m->seconds_at_advance[work] += ohlcx_now_seconds() - m->active_since[work];
    m->quiet = 0;
    pthread_mutex_unlock(&m->lock);
}


void run_monitor_finish(run_monitor *m, int work)
{
    pthread_mutex_lock(&m->lock);
    m->total[work] = m->done[work];
    pthread_mutex_unlock(&m->lock);
}


void run_monitor_set_prior_rate(run_monitor *m, int work, double units_per_s)
{
    pthread_mutex_lock(&m->lock);
    m->prior_rate[work] = units_per_s;
    pthread_mutex_unlock(&m->lock);
}


void run_monitor_set_totals_known(run_monitor *m)
{
    pthread_mutex_lock(&m->lock);
    m->totals_known = 1;
    pthread_mutex_unlock(&m->lock);
}


void run_monitor_disable_estimate(run_monitor *m)
{
    pthread_mutex_lock(&m->lock);
    m->estimate_off = 1;
    pthread_mutex_unlock(&m->lock);
}


void run_monitor_clear_line(run_monitor *m)
{
    if (m->ticker_running)
        pthread_mutex_lock(&m->lock);
    if (m->drawn)
        fprintf(stderr, "\r\033[K");
    m->drawn = 0;
    m->quiet = 1;
    if (m->ticker_running)
        pthread_mutex_unlock(&m->lock);
}


void run_monitor_describe_left(run_monitor *m, char *out, size_t size)
{
    pthread_mutex_lock(&m->lock);
    format_left(m, ohlcx_now_seconds(), out, size);
    pthread_mutex_unlock(&m->lock);
}


double run_monitor_seconds_left(run_monitor *m)
{
    double left;

    pthread_mutex_lock(&m->lock);
    left = seconds_left_locked(m, ohlcx_now_seconds());
    pthread_mutex_unlock(&m->lock);
    return left;
}
