/* Resource differences and the time-left estimate of `ohlcx run`
 * (src/pipeline/monitor.h), on hand-set counters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pipeline/monitor.h"


static void resources_between_snapshots(void **unused)
{
    run_usage start = {.wall_s = 10.0, .user_s = 1.0, .sys_s = 0.5,
                       .peak_rss_bytes = 1000, .has_io = 1, .read_bytes = 100,
                       .write_bytes = 200, .rchar = 300, .wchar = 400};
    run_usage end = {.wall_s = 14.0, .user_s = 6.0, .sys_s = 1.5,
                     .peak_rss_bytes = 5000, .has_io = 1, .read_bytes = 150,
                     .write_bytes = 260, .rchar = 1300, .wchar = 900};
    run_resources r;

    run_resources_between(&start, &end, 2, &r);
    assert_int_equal(r.measured, 1);
    assert_true(r.wall_s == 4.0);
    assert_true(r.cpu_user_s == 5.0);
    assert_true(r.cpu_sys_s == 1.0);
    assert_true(r.cpu_s == 6.0);
    /* 6 CPU seconds over 4 s on 2 threads. */
    assert_true(r.cpu_utilisation == 0.75);
    assert_int_equal(r.peak_rss_bytes, 5000);
    assert_int_equal(r.rss_growth_bytes, 4000);
    assert_int_equal(r.has_io, 1);
    assert_int_equal(r.read_bytes, 50);
    assert_int_equal(r.write_bytes, 60);
    assert_int_equal(r.rchar, 1000);
    assert_int_equal(r.wchar, 500);
}


static void resources_without_io(void **unused)
{
    run_usage start = {.wall_s = 1.0, .has_io = 0, .rchar = 7};
    run_usage end = {.wall_s = 2.0, .has_io = 1, .rchar = 9};
    run_resources r;

    run_resources_between(&start, &end, 1, &r);
    assert_int_equal(r.has_io, 0);
    assert_int_equal(r.rchar, 0);
    assert_true(r.cpu_utilisation == 0.0);
}


static void usage_sample_of_process(void **unused)
{
    run_usage usage;

    run_usage_sample(&usage);
    assert_true(usage.wall_s > 0);
    assert_true(usage.peak_rss_bytes > 0);
    assert_true(usage.user_s + usage.sys_s >= 0);
}


static void seconds_left_from_prior_rates(void **unused)
{
    run_monitor monitor;

    assert_int_equal(run_monitor_start(&monitor), 0);
    /* Before the totals are known, nothing is estimated. */
    assert_true(run_monitor_seconds_left(&monitor) == -1.0);
    run_monitor_set_totals_known(&monitor);
    /* No work at all: nothing left. */
    assert_true(run_monitor_seconds_left(&monitor) == 0.0);

    /* 1,000 CNN samples at a prior 100 a second, 600 embeddings at 200. */
    run_monitor_set_total(&monitor, RUN_WORK_CNN_SAMPLES, 1000);
    run_monitor_set_prior_rate(&monitor, RUN_WORK_CNN_SAMPLES, 100);
    run_monitor_set_total(&monitor, RUN_WORK_EMBED_SAMPLES, 600);
    run_monitor_set_prior_rate(&monitor, RUN_WORK_EMBED_SAMPLES, 200);
    assert_true(run_monitor_seconds_left(&monitor) == 13.0);

    /* XGBoost work without any rate makes the estimate unknown. */
    run_monitor_set_total(&monitor, RUN_WORK_XGB_ROW_ROUNDS, 5000);
    assert_true(run_monitor_seconds_left(&monitor) == -1.0);

    /* Removing that work (a resumed stage) makes it known again. */
    run_monitor_set_total(&monitor, RUN_WORK_XGB_ROW_ROUNDS, 0);
    assert_true(run_monitor_seconds_left(&monitor) == 13.0);
    run_monitor_stop(&monitor);
}


static void seconds_left_from_measured_rate(void **unused)
{
    run_monitor monitor;

    assert_int_equal(run_monitor_start(&monitor), 0);
    run_monitor_set_totals_known(&monitor);
    run_monitor_set_total(&monitor, RUN_WORK_CNN_SAMPLES, 1000);
    run_monitor_set_prior_rate(&monitor, RUN_WORK_CNN_SAMPLES, 100);
    /* 250 samples done in 5 s of inactive spans: the measured 50 a second
     * replaces the prior, so 750 left take 15 s. */
    monitor.seconds[RUN_WORK_CNN_SAMPLES] = 5.0;
    run_monitor_advance(&monitor, RUN_WORK_CNN_SAMPLES, 250);
    assert_true(run_monitor_seconds_left(&monitor) == 15.0);

    /* An early stop removes 500 samples: 250 left at 50 a second. */
    run_monitor_add_total(&monitor, RUN_WORK_CNN_SAMPLES, -500);
    assert_true(run_monitor_seconds_left(&monitor) == 5.0);

    /* The total never drops below the work done. */
    run_monitor_add_total(&monitor, RUN_WORK_CNN_SAMPLES, -1000);
    assert_true(monitor.total[RUN_WORK_CNN_SAMPLES] == 250.0);
    assert_true(run_monitor_seconds_left(&monitor) == 0.0);
    run_monitor_stop(&monitor);
}


static void describe_left_texts(void **unused)
{
    run_monitor monitor;
    char text[128];

    assert_int_equal(run_monitor_start(&monitor), 0);
    run_monitor_describe_left(&monitor, text, sizeof text);
    assert_string_equal(text, "estimating the time left");

    run_monitor_set_totals_known(&monitor);
    run_monitor_set_total(&monitor, RUN_WORK_CNN_SAMPLES, 1000);
    run_monitor_set_total(&monitor, RUN_WORK_EMBED_SAMPLES, 10);
    run_monitor_set_total(&monitor, RUN_WORK_XGB_ROW_ROUNDS, 10);
    run_monitor_describe_left(&monitor, text, sizeof text);
    assert_string_equal(text, "time left of cnn, embeddings and xgboost not yet estimated");

    /* 1,000 samples at 4 a second: 250 s. */
    run_monitor_set_prior_rate(&monitor, RUN_WORK_CNN_SAMPLES, 4);
    run_monitor_describe_left(&monitor, text, sizeof text);
    assert_string_equal(text, "about 4m10s left, plus embeddings and xgboost not yet estimated");

    run_monitor_set_prior_rate(&monitor, RUN_WORK_EMBED_SAMPLES, 10);
    run_monitor_set_prior_rate(&monitor, RUN_WORK_XGB_ROW_ROUNDS, 10);
    run_monitor_describe_left(&monitor, text, sizeof text);
    assert_string_equal(text, "about 4m12s left");

    run_monitor_disable_estimate(&monitor);
    run_monitor_describe_left(&monitor, text, sizeof text);
    assert_string_equal(text, "time left not estimated");
    run_monitor_stop(&monitor);
}


static void stage_names(void **unused)
{
    assert_string_equal(run_stage_name(RUN_STAGE_LOAD), "load");
    assert_string_equal(run_stage_name(RUN_STAGE_FEATURES), "features");
    assert_string_equal(run_stage_name(RUN_STAGE_CNN), "cnn");
    assert_string_equal(run_stage_name(RUN_STAGE_XGBOOST), "xgboost");
    assert_string_equal(run_stage_name(RUN_STAGE_WALK_FORWARD), "walk_forward");
    assert_string_equal(run_stage_name(RUN_STAGE_EVALUATE), "evaluate");
    assert_string_equal(run_stage_name(-1), "none");
    assert_string_equal(run_stage_name(RUN_STAGE_COUNT), "none");
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resources_between_snapshots),
        cmocka_unit_test(resources_without_io),
        cmocka_unit_test(usage_sample_of_process),
        cmocka_unit_test(seconds_left_from_prior_rates),
        cmocka_unit_test(seconds_left_from_measured_rate),
        cmocka_unit_test(describe_left_texts),
        cmocka_unit_test(stage_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
