/* The progress estimate of `ohlcx run` (src/pipeline/monitor.h): finishing
 * a kind of work early, and the countdown of work that advances in one
 * step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pipeline/monitor.h"


/* A kind finished before its total: the total drops to the units done, and
 * nothing of it is left. 1,000 units at a prior 100 a second is 10 s; after
 * 400 done and finish, 0 s. */
static void finish_sets_total_to_done(void **unused)
{
    run_monitor monitor;

    assert_int_equal(run_monitor_start(&monitor), 0);
    run_monitor_set_totals_known(&monitor);
    run_monitor_set_total(&monitor, RUN_WORK_EMBED_SAMPLES, 1000);
    run_monitor_set_prior_rate(&monitor, RUN_WORK_EMBED_SAMPLES, 100);
    assert_true(run_monitor_seconds_left(&monitor) == 10.0);
    run_monitor_advance(&monitor, RUN_WORK_EMBED_SAMPLES, 400);
    run_monitor_finish(&monitor, RUN_WORK_EMBED_SAMPLES);
    assert_true(monitor.total[RUN_WORK_EMBED_SAMPLES] == 400.0);
    assert_true(run_monitor_seconds_left(&monitor) == 0.0);
    run_monitor_stop(&monitor);
}


/* Work that advances in one step counts down by the time spent in its spans
 * since it last advanced, not by the wall time since then: 1,000
 * row-rounds at a prior 100 a second is 10 s. With 3 s spent in earlier
 * spans since the advance and the span now active for 0 s, 7 s are left. */
static void countdown_counts_span_time(void **unused)
{
    run_monitor monitor;
    double left;

    assert_int_equal(run_monitor_start(&monitor), 0);
    run_monitor_set_totals_known(&monitor);
    run_monitor_set_total(&monitor, RUN_WORK_XGB_ROW_ROUNDS, 1000);
    run_monitor_set_prior_rate(&monitor, RUN_WORK_XGB_ROW_ROUNDS, 100);
    run_monitor_advance(&monitor, RUN_WORK_XGB_ROW_ROUNDS, 0);
    monitor.seconds[RUN_WORK_XGB_ROW_ROUNDS] = 3.0;
    run_monitor_begin(&monitor, RUN_WORK_XGB_ROW_ROUNDS);
    left = run_monitor_seconds_left(&monitor);
    assert_true(left <= 7.0);
    assert_true(left > 6.9);

    /* Inactive, it does not count down. */
    run_monitor_end(&monitor, RUN_WORK_XGB_ROW_ROUNDS);
    assert_true(run_monitor_seconds_left(&monitor) == 10.0);
    run_monitor_stop(&monitor);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finish_sets_total_to_done),
        cmocka_unit_test(countdown_counts_span_time),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
