/*
 * Resource use and progress of one `ohlcx run`.
 *
 * Resources: a snapshot holds the process's clocks, CPU time, peak resident
 * set size and I/O counters. The difference of the snapshots taken when a
 * stage starts and ends is that stage's use, which the run logs and writes
 * into metrics.json. Counters come from getrusage(RUSAGE_SELF) and, for
 * I/O, /proc/self/io (Linux); where /proc/self/io cannot be read, the I/O
 * fields are reported as missing.
 *
 * Progress: the run divides its work into kinds (input bytes, feature bars,
 * CNN sample-epochs, embedded samples, XGBoost row-rounds) with a total and
 * a count done for each. A kind's rate is measured in this run once it has
 * run for half a second. Until then, a run that has calibrated the rates of
 * `ohlcx plan` uses those. The time left is the sum of
 * each kind's work left divided by its rate. Kinds with work left but no
 * rate are named as not yet estimated. A background thread draws it on
 * stderr: one redrawn line on a terminal, else a log line at most every 30
 * seconds.
 * Every function that changes the progress takes the monitor's lock, so
 * stages may call them from any thread.
 */
#ifndef OHLCX_PIPELINE_MONITOR_H
#define OHLCX_PIPELINE_MONITOR_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* Stages that the run measures, in run order. A walk-forward run measures
 * its folds, each with CNN and XGBoost training, as one stage. */
enum run_stage {
    RUN_STAGE_LOAD = 0,
    RUN_STAGE_FEATURES,
    RUN_STAGE_CNN,
    RUN_STAGE_XGBOOST,
    RUN_STAGE_WALK_FORWARD,
    RUN_STAGE_EVALUATE,
    RUN_STAGE_COUNT
};

/* Returns "load", "features", "cnn", "xgboost", "walk_forward" or
 * "evaluate". */
const char *run_stage_name(int stage);

/* Process counters at one moment. */
typedef struct run_usage {
    double wall_s;           /* monotonic clock */
    double user_s, sys_s;    /* CPU seconds of every thread so far */
    uint64_t peak_rss_bytes; /* high-water mark of the resident set so far */
    int has_io;              /* 1 when /proc/self/io was read */
    uint64_t read_bytes;     /* bytes fetched from storage (page cache hits excluded) */
    uint64_t write_bytes;    /* bytes sent to storage */
    uint64_t rchar, wchar;   /* bytes passed through read() and write() calls */
} run_usage;

/* Resource use between two snapshots. */
typedef struct run_resources {
    int measured;             /* 0 for a stage that did not run */
    double wall_s;
    double cpu_s;             /* user + system */
    double cpu_user_s, cpu_sys_s;
    double cpu_utilisation;   /* cpu_s / wall_s / threads, 0 to about 1 */
    uint64_t peak_rss_bytes;  /* process high-water mark at the end */
    uint64_t rss_growth_bytes; /* rise of that mark during the interval */
    int has_io;
    uint64_t read_bytes, write_bytes, rchar, wchar;
} run_resources;

/* Fills a snapshot of the calling process. */
void run_usage_sample(run_usage *out);

/* Computes the use between start and end for a run on `threads` threads. */
void run_resources_between(const run_usage *start, const run_usage *end, int threads,
                           run_resources *out);

/* Logs one info line with a stage's resources. */
void run_resources_log(const char *stage, const run_resources *resources, int threads);

/* Kinds of work that the progress estimate counts. */
enum run_work {
    RUN_WORK_LOAD_BYTES = 0,  /* input file bytes */
    RUN_WORK_FEATURE_BARS,    /* bars whose features are computed */
    RUN_WORK_CNN_SAMPLES,     /* training samples x epochs, validation included in the rate */
    RUN_WORK_EMBED_SAMPLES,   /* samples the CNN embeds */
    RUN_WORK_XGB_ROW_ROUNDS,  /* XGBoost training rows x boosting rounds */
    RUN_WORK_COUNT
};

typedef struct run_monitor {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t ticker;
    int ticker_running;
    int stop;
    int terminal;             /* 1: stderr is a terminal */
    double log_interval_s;    /* between progress log lines on a non-terminal */
    double started;
    double last_logged;
    int drawn;                /* 1: a progress line is on the terminal */
    int quiet;                /* 1: do not redraw until the next update */
    int stage;                /* enum run_stage of the stage running, or -1 */
    int estimate_off;         /* 1: the time left is not estimated */
    int totals_known;         /* 1: every stage's work has been counted */
    char detail[128];         /* what the stage does now, such as a CNN's epoch */
    double total[RUN_WORK_COUNT];
    double done[RUN_WORK_COUNT];
    double seconds[RUN_WORK_COUNT];  /* time spent on each kind in its ended spans */
    double active_since[RUN_WORK_COUNT]; /* start of the active span, 0 when inactive */
    double seconds_at_advance[RUN_WORK_COUNT]; /* time spent on the kind when it last advanced */
    double prior_rate[RUN_WORK_COUNT];   /* units a second from `ohlcx plan`, 0 for none */
} run_monitor;

/* Starts the monitor and its drawing thread. OHLCX_PROGRESS_LOG_S, when
 * set to a positive number, replaces the 30 seconds between log lines (a
 * hook for tests). Returns 0, or OHLCX_ELIB when the thread cannot start. */
int run_monitor_start(run_monitor *monitor);

/* Stops the drawing thread, clears the progress line and frees the lock. */
void run_monitor_stop(run_monitor *monitor);

/* Sets the stage that runs now (enum run_stage, or -1 between stages) and
 * clears the detail text. */
void run_monitor_set_stage(run_monitor *monitor, int stage);

/* Replaces the detail text that the progress line shows. */
void run_monitor_set_detail(run_monitor *monitor, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Sets the total units of a kind of work (it may be revised later). */
void run_monitor_set_total(run_monitor *monitor, int work, double total);

/* Adds to the total units of a kind; a negative amount removes work that
 * will not run, such as CNN epochs after an early stop. */
void run_monitor_add_total(run_monitor *monitor, int work, double amount);

/* Starts and ends a span of time spent on a kind of work; its rate is the
 * units done over the time in its spans. */
void run_monitor_begin(run_monitor *monitor, int work);
void run_monitor_end(run_monitor *monitor, int work);

/* Counts units of a kind as done. */
void run_monitor_advance(run_monitor *monitor, int work, double units);

/* Sets a kind's total to the units done, when its work is over before the
 * total counted in advance was reached. */
void run_monitor_finish(run_monitor *monitor, int work);

/* Sets a kind's rate from `ohlcx plan`, used until the run measures one. */
void run_monitor_set_prior_rate(run_monitor *monitor, int work, double units_per_s);

/* Marks the totals of every kind as set, after the features stage, so
 * that the time left can be estimated. */
void run_monitor_set_totals_known(run_monitor *monitor);

/* Stops estimating the time left, for runs whose work is not counted in
 * advance (walk-forward folds). */
void run_monitor_disable_estimate(run_monitor *monitor);

/* Removes the progress line from the terminal until the next update, so
 * that a log line can be printed on an empty line. */
void run_monitor_clear_line(run_monitor *monitor);

/* Computes the seconds left, or returns -1 before the totals are known or
 * while a kind with work left has no rate. */
double run_monitor_seconds_left(run_monitor *monitor);

/* Writes the time left as the progress line shows it, such as "about 3m05s
 * left" (128 bytes are enough). */
void run_monitor_describe_left(run_monitor *monitor, char *out, size_t size);

#endif
