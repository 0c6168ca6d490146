/* Nested work in the progress estimate of `ohlcx run` (src/pipeline/monitor.h):
 * pausing the active kinds while another runs, finishing a kind early, and
 * the countdown of work that advances in one step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <unistd.h>

#include <cmocka.h>

#include "pipeline/monitor.h"


/* Pausing ends the spans of the active kinds and returns them as bits, and
 * resuming starts them again. A kind begun and ended during the pause is
 * not started again. */
static void pause_resume_active_kinds(void **unused)
{
    run_monitor monitor;
    unsigned paused;

    assert_int_equal(run_monitor_start(&monitor), 0);
    run_monitor_begin(&monitor, RUN_WORK_LOAD_BYTES);
    run_monitor_begin(&monitor, RUN_WORK_XGB_ROW_ROUNDS);
    paused = run_monitor_pause(&monitor);
    assert_int_equal(paused, (1u << RUN_WORK_LOAD_BYTES) | (1u << RUN_WORK_XGB_ROW_ROUNDS));
    assert_true(monitor.active_since[RUN_WORK_LOAD_BYTES] == 0);
    assert_true(monitor.active_since[RUN_WORK_XGB_ROW_ROUNDS] == 0);

    run_monitor_begin(&monitor, RUN_WORK_EMBED_SAMPLES);
    run_monitor_end(&monitor, RUN_WORK_EMBED_SAMPLES);
    run_monitor_resume(&monitor, paused);
    assert_true(monitor.active_since[RUN_WORK_LOAD_BYTES] > 0);
    assert_true(monitor.active_since[RUN_WORK_XGB_ROW_ROUNDS] > 0);
    assert_true(monitor.active_since[RUN_WORK_EMBED_SAMPLES] == 0);

    /* Nothing active: nothing to pause. */
    run_monitor_end(&monitor, RUN_WORK_LOAD_BYTES);
    run_monitor_end(&monitor, RUN_WORK_XGB_ROW_ROUNDS);
    assert_int_equal(run_monitor_pause(&monitor), 0);
    run_monitor_stop(&monitor);
}


/* Time spent while paused is not counted for the paused kind: 0.2 s
 * active, 0.3 s paused, then 0.1 s active again add 0.3 s. Sleeps can
 * overrun on a loaded machine, so up to 0.2 s more passes, but counting
 * the pause would add at least 0.6 s. */
static void paused_time_not_counted(void **unused)
{
    run_monitor monitor;
    unsigned paused;
    double counted;

    assert_int_equal(run_monitor_start(&monitor), 0);
    run_monitor_begin(&monitor, RUN_WORK_XGB_ROW_ROUNDS);
    usleep(200000);
    paused = run_monitor_pause(&monitor);
    usleep(300000);
    run_monitor_resume(&monitor, paused);
    usleep(100000);
    run_monitor_end(&monitor, RUN_WORK_XGB_ROW_ROUNDS);
    counted = monitor.seconds[RUN_WORK_XGB_ROW_ROUNDS];
    assert_true(counted >= 0.3);
    assert_true(counted < 0.5);
    run_monitor_stop(&monitor);
}


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


/* Work that advances in one step counts down by the time spent on it since
 * it last advanced, not by the time since then: 1,000 row-rounds at a prior
 * 100 a second is 10 s. With 3 s spent in earlier spans since the advance
 * (the embeddings that paused it in between excluded) and the span now
 * active for 0 s, 7 s are left. */
static void countdown_excludes_paused_time(void **unused)
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
        cmocka_unit_test(pause_resume_active_kinds),
        cmocka_unit_test(paused_time_not_counted),
        cmocka_unit_test(finish_sets_total_to_done),
        cmocka_unit_test(countdown_excludes_paused_time),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
