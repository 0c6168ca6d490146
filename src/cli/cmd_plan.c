/*
 * `ohlcx plan`: estimate the bars, samples, store size and training time of
 * a universe file, from rates measured on this machine at start-up. Prints a
 * table, or JSON with --json.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "ohlcx/error.h"
#include "ohlcx/format.h"
#include "ohlcx/nn.h"
#include "ohlcx/universe.h"
#include "util/util.h"

static const char plan_help[] =
    "usage: ohlcx plan UNIVERSE.yaml [OPTIONS]\n"
    "\n"
    "Estimate, per group of the universe file and in total, the series, the\n"
    "expected bars (from the timeframe and the market calendar), the training\n"
    "samples, the compressed store size and the time of each training stage.\n"
    "Sizes and times are estimates from rates measured on this machine in a\n"
    "calibration of one to three seconds at start-up; reading the candles is\n"
    "not included. See docs/universe.md for the file format and the calendars.\n"
    "\n"
    "Early stopping decides how many epochs each CNN and how many rounds each\n"
    "XGBoost model trains, so times come in three cases: expected (from the\n"
    "assumed best epoch and best rounds below), shortest (every model is best\n"
    "after its first epoch or round) and longest (every model trains to its\n"
    "maximum).\n"
    "\n"
    "options:\n"
    "  --months N   history per series in months (default: the file's months,\n"
    "               else 12), from the file's start (default: 2024-01-01)\n"
    "  --window N   bars per CNN window, 9 to 1024 as for 'ohlcx run'\n"
    "               (default: 64)\n"
    "  --horizon N  bars ahead for the label (default: 1)\n"
    "  --epochs N   maximum CNN epochs, as for 'ohlcx run' (default: 20)\n"
    "  --patience N CNN epochs without improvement before stopping, as for\n"
    "               'ohlcx run' (default: 3)\n"
    "  --best-epoch N\n"
    "               assumed epoch of the lowest validation loss, so that a CNN\n"
    "               trains N + patience epochs (default: 3)\n"
    "  --xgb-best-rounds N\n"
    "               assumed rounds up to the lowest validation loss, so that an\n"
    "               XGBoost model trains N + 30 rounds (default: 20)\n"
    "  --jobs N     threads for the calibration, as for 'ohlcx run' (default:\n"
    "               number of cores)\n"
    "  --precision P\n"
    "               CNN precision of the calibration, as for 'ohlcx run':\n"
    "               auto, fp32 or bf16 (default: fp32)\n"
    "  --json       print JSON instead of a table\n"
    "  -h, --help   print this help\n";

static const char *const stage_names[] = {"features", "cnn_train", "embed", "xgb_train",
                                          "total"};
/* JSON keys of the times of each enum ohlcx_plan_case. */
static const char *const time_keys[] = {"time_s", "time_s_shortest", "time_s_longest"};
static const char *const case_names[] = {"expected", "shortest", "longest"};


static double stage_seconds(const ohlcx_plan_times *times, int stage)
{
    const double values[] = {times->features, times->cnn_train, times->embed, times->xgb_train,
                             times->total};

    return values[stage];
}


/* Writes a count with an SI suffix and three significant digits: 8.77 k. */
static const char *format_count(double value, char *out, size_t size)
{
    static const char *suffixes[] = {"", " k", " M", " G", " T"};
    int i = 0;

    while (value >= 999.5 && i < 4) {
        value /= 1000;
        i++;
    }
    if (i == 0)
        snprintf(out, size, "%.0f", value);
    else if (value < 9.995)
        snprintf(out, size, "%.2f%s", value, suffixes[i]);
    else if (value < 99.95)
        snprintf(out, size, "%.1f%s", value, suffixes[i]);
    else
        snprintf(out, size, "%.0f%s", value, suffixes[i]);
    return out;
}


/* Writes a size in bytes with an SI prefix: 512 B, 12.3 kB, 4.10 GB. */
static const char *format_bytes(double bytes, char *out, size_t size)
{
    char number[32];

    format_count(bytes, number, sizeof number);
    snprintf(out, size, strchr(number, ' ') != NULL ? "%sB" : "%s B", number);
    return out;
}


static const char *format_seconds(double seconds, char *out, size_t size)
{
    if (seconds < 1)
        snprintf(out, size, "<1 s");
    else if (seconds < 60)
        snprintf(out, size, "%.0f s", seconds);
    else if (seconds < 3600)
        snprintf(out, size, "%.0f min", seconds / 60);
    else if (seconds < 48 * 3600)
        snprintf(out, size, "%.1f h", seconds / 3600);
    else
        snprintf(out, size, "%.1f d", seconds / 86400);
    return out;
}


static void join_timeframes(const ohlcx_universe_group *group, char *out, size_t size)
{
    size_t used = 0;

    out[0] = '\0';
    for (int t = 0; t < group->timeframe_count && used < size; t++) {
        int written = snprintf(out + used, size - used, "%s%s", t ? " " : "",
                               group->timeframes[t]);
        if (written < 0)
            break;
        used += (size_t)written;
    }
}


static void print_row(const char *label, const char *asset_class, const char *tier,
                      const char *timeframes, const ohlcx_plan_row *row)
{
    char bars[32], samples[32], store[32], time[32];

    printf("%-6s %-12s %-4s %8zu  %-31s %7zu %9s %9s %9s %9s\n", label, asset_class, tier,
           row->symbols, timeframes, row->series, format_count((double)row->bars, bars, 32),
           format_count((double)row->samples, samples, 32),
           format_bytes(row->store_bytes, store, 32),
           format_seconds(row->seconds[OHLCX_PLAN_EXPECTED].total, time, 32));
}


static void print_stage_times(const ohlcx_plan *plan, int jobs)
{
    const ohlcx_plan_options *options = &plan->options;
    char text[OHLCX_PLAN_CASES][32];

    printf("\nEstimated time by stage on %d thread%s (reading the candles not included):\n",
           jobs, jobs == 1 ? "" : "s");
    printf("  %-10s %10s %10s %10s\n", "stage", "expected", "shortest", "longest");
    for (int stage = 0; stage < 5; stage++) {
        for (int c = 0; c < OHLCX_PLAN_CASES; c++)
            format_seconds(stage_seconds(&plan->total.seconds[c], stage), text[c], 32);
        printf("  %-10s %10s %10s %10s\n", stage_names[stage], text[OHLCX_PLAN_EXPECTED],
               text[OHLCX_PLAN_SHORTEST], text[OHLCX_PLAN_LONGEST]);
    }
    printf("Each CNN trains %d epoch%s expected (best epoch %d, an assumption set by "
           "--best-epoch, + patience %d),\n  %d shortest, %d longest (--epochs).\n",
           plan->epochs[OHLCX_PLAN_EXPECTED], plan->epochs[OHLCX_PLAN_EXPECTED] == 1 ? "" : "s",
           options->best_epoch, options->patience, plan->epochs[OHLCX_PLAN_SHORTEST],
           plan->epochs[OHLCX_PLAN_LONGEST]);
    printf("Each of the 2 XGBoost models trains %d rounds expected (%d best rounds, an "
           "assumption set by\n  --xgb-best-rounds, + %d early-stopping rounds), %d shortest, "
           "%d longest.\n",
           plan->xgb_rounds[OHLCX_PLAN_EXPECTED], options->xgb_best_rounds,
           options->xgb_early_stopping, plan->xgb_rounds[OHLCX_PLAN_SHORTEST],
           plan->xgb_rounds[OHLCX_PLAN_LONGEST]);
}


static void print_rates(const ohlcx_plan_rates *rates)
{
    const ohlcx_plan_xgb_cost *combined = &rates->xgb[OHLCX_PLAN_XGB_COMBINED];
    const ohlcx_plan_xgb_cost *baseline = &rates->xgb[OHLCX_PLAN_XGB_BASELINE];
    char text[4][32];

    printf("\nBars come from market calendars; store size and times are estimates from rates "
           "measured in %.1f s:\n", rates->calibration_s);
    printf("  store %.2f bytes/bar (zstd level 1), features %s bars/s, window fills %s/s,\n",
           rates->store_bytes_per_bar, format_count(rates->feature_bars_per_s, text[0], 32),
           format_count(rates->window_fills_per_s, text[1], 32));
    printf("  CNN training %s samples/s, CNN forward %s samples/s,\n",
           format_count(rates->cnn_train_samples_per_s, text[2], 32),
           format_count(rates->cnn_embed_samples_per_s, text[3], 32));
    printf("  XGBoost per 1,000 training rows: setup %.1f ms, each round %.2f ms (with CNN "
           "columns),\n  setup %.1f ms, each round %.2f ms (baseline); each round also "
           "%.1f ms and %.1f ms\n",
           1e6 * combined->setup_s_per_row, 1e6 * combined->round_s_per_row,
           1e6 * baseline->setup_s_per_row, 1e6 * baseline->round_s_per_row,
           1e3 * combined->round_s, 1e3 * baseline->round_s);
}


static void print_table(const ohlcx_universe *universe, const ohlcx_plan *plan, int jobs)
{
    char start[20];

    ohlcx_format_datetime(plan->start_us, start);
    printf("universe %s (%s): %d months per series from %s UTC, window %d, horizon %d, CNN "
           "in %s\n\n", universe->name, universe->path, plan->months, start, plan->window,
           plan->horizon, ohlcx_cnn_precision_name(ohlcx_cnn_get_precision()));
    printf("%-6s %-12s %-4s %8s  %-31s %7s %9s %9s %9s %9s\n", "group", "asset_class", "tier",
           "symbols", "timeframes", "series", "bars", "samples", "store", "time");
    for (size_t g = 0; g < plan->group_count; g++) {
        const ohlcx_universe_group *group = &universe->groups[g];
        char label[24], tier[8], timeframes[128];

        snprintf(label, sizeof label, "%zu", g + 1);
        snprintf(tier, sizeof tier, group->tier > 0 ? "%d" : "-", group->tier);
        join_timeframes(group, timeframes, sizeof timeframes);
        print_row(label, ohlcx_asset_class_name(group->asset_class), tier, timeframes,
                  &plan->groups[g]);
    }
    print_row("total", "", "", "", &plan->total);
    if (plan->total.series_too_short > 0)
        printf("\n%zu series are too short for the split into training, validation and test "
               "parts and add no samples.\n", plan->total.series_too_short);
    print_stage_times(plan, jobs);
    print_rates(&plan->rates);
}


/* Adds the counts and estimates of a row to object. */
static void add_row_fields(cJSON *object, const ohlcx_plan_row *row)
{
    cJSON *parts, *times;

    cJSON_AddNumberToObject(object, "symbols", (double)row->symbols);
    cJSON_AddNumberToObject(object, "series", (double)row->series);
    cJSON_AddNumberToObject(object, "series_too_short", (double)row->series_too_short);
    cJSON_AddNumberToObject(object, "bars", (double)row->bars);
    cJSON_AddNumberToObject(object, "samples", (double)row->samples);
    parts = cJSON_AddObjectToObject(object, "samples_by_part");
    for (int p = 0; p < OHLCX_PART_COUNT; p++)
        cJSON_AddNumberToObject(parts, ohlcx_part_name(p), (double)row->part_samples[p]);
    cJSON_AddNumberToObject(object, "store_bytes", row->store_bytes);
    for (int c = 0; c < OHLCX_PLAN_CASES; c++) {
        times = cJSON_AddObjectToObject(object, time_keys[c]);
        for (int stage = 0; stage < 5; stage++)
            cJSON_AddNumberToObject(times, stage_names[stage],
                                    stage_seconds(&row->seconds[c], stage));
    }
}


static cJSON *group_json(const ohlcx_universe_group *group, const ohlcx_plan_row *row,
                         size_t index)
{
    cJSON *object = cJSON_CreateObject();
    cJSON *timeframes;

    cJSON_AddNumberToObject(object, "group", (double)(index + 1));
    cJSON_AddNumberToObject(object, "line", group->line);
    cJSON_AddStringToObject(object, "asset_class", ohlcx_asset_class_name(group->asset_class));
    if (group->tier > 0)
        cJSON_AddNumberToObject(object, "tier", group->tier);
    else
        cJSON_AddNullToObject(object, "tier");
    timeframes = cJSON_AddArrayToObject(object, "timeframes");
    for (int t = 0; t < group->timeframe_count; t++)
        cJSON_AddItemToArray(timeframes, cJSON_CreateString(group->timeframes[t]));
    add_row_fields(object, row);
    return object;
}


static void add_rates(cJSON *root, const ohlcx_plan_rates *rates)
{
    static const char *const model_names[] = {"xgb_combined", "xgb_baseline"};
    cJSON *object = cJSON_AddObjectToObject(root, "rates");

    cJSON_AddNumberToObject(object, "store_bytes_per_bar", rates->store_bytes_per_bar);
    cJSON_AddNumberToObject(object, "feature_bars_per_s", rates->feature_bars_per_s);
    cJSON_AddNumberToObject(object, "window_fills_per_s", rates->window_fills_per_s);
    cJSON_AddNumberToObject(object, "cnn_train_samples_per_s", rates->cnn_train_samples_per_s);
    cJSON_AddNumberToObject(object, "cnn_embed_samples_per_s", rates->cnn_embed_samples_per_s);
    cJSON_AddNumberToObject(object, "xgb_row_rounds_per_s", rates->xgb_row_rounds_per_s);
    for (int m = 0; m < OHLCX_PLAN_XGB_MODELS; m++) {
        cJSON *model = cJSON_AddObjectToObject(object, model_names[m]);

        cJSON_AddNumberToObject(model, "setup_s_per_row", rates->xgb[m].setup_s_per_row);
        cJSON_AddNumberToObject(model, "round_s", rates->xgb[m].round_s);
        cJSON_AddNumberToObject(model, "round_s_per_row", rates->xgb[m].round_s_per_row);
    }
    cJSON_AddNumberToObject(object, "calibration_s", rates->calibration_s);
}


/* Adds the settings and the epochs and rounds of each case. */
static void add_settings(cJSON *root, const ohlcx_plan *plan)
{
    const ohlcx_plan_options *options = &plan->options;
    cJSON *epochs, *rounds;

    cJSON_AddNumberToObject(root, "max_epochs", options->epochs);
    cJSON_AddNumberToObject(root, "patience", options->patience);
    cJSON_AddNumberToObject(root, "best_epoch", options->best_epoch);
    cJSON_AddNumberToObject(root, "xgb_max_rounds", options->xgb_rounds);
    cJSON_AddNumberToObject(root, "xgb_early_stopping", options->xgb_early_stopping);
    cJSON_AddNumberToObject(root, "xgb_best_rounds", options->xgb_best_rounds);
    epochs = cJSON_AddObjectToObject(root, "epochs");
    rounds = cJSON_AddObjectToObject(root, "xgb_rounds");
    for (int c = 0; c < OHLCX_PLAN_CASES; c++) {
        cJSON_AddNumberToObject(epochs, case_names[c], plan->epochs[c]);
        cJSON_AddNumberToObject(rounds, case_names[c], plan->xgb_rounds[c]);
    }
}


static int print_json(const ohlcx_universe *universe, const ohlcx_plan *plan, int jobs)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *groups, *total;
    char start[20];
    char *text;

    cJSON_AddStringToObject(root, "universe", universe->name);
    cJSON_AddStringToObject(root, "file", universe->path);
    cJSON_AddStringToObject(root, "estimates", "bars and samples follow market calendars; "
                            "store_bytes and time_s come from the measured rates");
    cJSON_AddNumberToObject(root, "months", plan->months);
    ohlcx_format_datetime(plan->start_us, start);
    cJSON_AddStringToObject(root, "start", start);
    cJSON_AddNumberToObject(root, "window", plan->window);
    cJSON_AddNumberToObject(root, "horizon", plan->horizon);
    add_settings(root, plan);
    cJSON_AddStringToObject(root, "precision",
                            ohlcx_cnn_precision_name(ohlcx_cnn_get_precision()));
    cJSON_AddNumberToObject(root, "jobs", jobs);
    add_rates(root, &plan->rates);
    groups = cJSON_AddArrayToObject(root, "groups");
    for (size_t g = 0; g < plan->group_count; g++)
        cJSON_AddItemToArray(groups, group_json(&universe->groups[g], &plan->groups[g], g));
    total = cJSON_AddObjectToObject(root, "total");
    add_row_fields(total, &plan->total);

    text = cJSON_Print(root);
    cJSON_Delete(root);
    if (text == NULL)
        return ohlcx_set_error(OHLCX_ENOMEM, "out of memory printing the plan as JSON");
    puts(text);
    cJSON_free(text);
    return 0;
}


static int default_jobs(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    return cores > 0 ? (int)cores : 1;
}


int cmd_plan(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"months", required_argument, NULL, 'm'}, {"window", required_argument, NULL, 'w'},
        {"horizon", required_argument, NULL, 'H'}, {"epochs", required_argument, NULL, 'e'},
        {"jobs", required_argument, NULL, 'j'},   {"json", no_argument, NULL, 'J'},
        {"precision", required_argument, NULL, 'F'},
        {"patience", required_argument, NULL, 'p'}, {"best-epoch", required_argument, NULL, 'b'},
        {"xgb-best-rounds", required_argument, NULL, 'x'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    ohlcx_plan_options options;
    ohlcx_plan_rates rates;
    ohlcx_universe universe;
    ohlcx_plan plan;
    int option, bad = 0, json = 0, status;

    ohlcx_plan_options_default(&options);
    optind = 1;
    while (!bad && (option = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        switch (option) {
        case 'm': bad = cli_parse_int("plan", "--months", optarg, 1, 1200, &options.months); break;
        case 'w': bad = cli_parse_int("plan", "--window", optarg, 9, 1024, &options.window); break;
        case 'H':
            bad = cli_parse_int("plan", "--horizon", optarg, 1, 1000, &options.horizon);
            break;
        case 'e': bad = cli_parse_int("plan", "--epochs", optarg, 1, 256, &options.epochs); break;
        case 'j': bad = cli_parse_int("plan", "--jobs", optarg, 1, 1024, &options.jobs); break;
        case 'p':
            bad = cli_parse_int("plan", "--patience", optarg, 1, 256, &options.patience);
            break;
        case 'b':
            bad = cli_parse_int("plan", "--best-epoch", optarg, 1, 256, &options.best_epoch);
            break;
        case 'x':
            bad = cli_parse_int("plan", "--xgb-best-rounds", optarg, 1, 100000,
                                &options.xgb_best_rounds);
            break;
        case 'J': json = 1; break;
        case 'F': bad = cli_parse_precision("plan", optarg); break;
        case 'h': fputs(plan_help, stdout); return 0;
        default: bad = 2; break;
        }
    }
    if (bad)
        return 2;
    if (optind >= argc)
        return cli_usage_error("plan", "missing UNIVERSE.yaml");
    if (optind + 1 < argc)
        return cli_usage_error("plan", "unexpected argument '%s'", argv[optind + 1]);
    if (options.jobs == 0)
        options.jobs = default_jobs();
    if (options.best_epoch > options.epochs)
        ohlcx_log_warn("--best-epoch %d is above --epochs %d, so the expected case trains every "
                       "CNN for all %d epochs", options.best_epoch, options.epochs,
                       options.epochs);

    status = ohlcx_universe_load(argv[optind], &universe);
    if (status != 0)
        return cli_fail(status);
    ohlcx_log_info("calibrating on %d threads: store, features, CNN and XGBoost rates",
                   options.jobs);
    status = ohlcx_plan_calibrate(&options, &rates);
    if (status == 0)
        status = ohlcx_plan_compute(&universe, &options, &rates, &plan);
    if (status == 0) {
        if (json)
            status = print_json(&universe, &plan, options.jobs);
        else
            print_table(&universe, &plan, options.jobs);
        ohlcx_plan_free(&plan);
    }
    ohlcx_universe_free(&universe);
    return status == 0 ? 0 : cli_fail(status);
}
