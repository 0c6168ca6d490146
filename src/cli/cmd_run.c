/* `ohlcx run`: train and evaluate the CNN + XGBoost model. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ohlcx/error.h"
#include "ohlcx/format.h"
#include "ohlcx/nn.h"
#include "ohlcx/pipeline.h"

/* Canonical timeframes above 1m, the most that --higher can list. */
#define HIGHER_MAX 15

static const char run_help[] =
    "usage: ohlcx run [--data DIR|FILE]... [OPTIONS] [FILE...]\n"
    "       ohlcx run --store DIR [OPTIONS]\n"
    "       ohlcx run --resume --out DIR [the OPTIONS of the stopped run]\n"
    "\n"
    "Read candle files, train a 1-D CNN and an XGBoost model on its embeddings,\n"
    "evaluate on a held-out test part, and write the model bundle and metrics.\n"
    "Without --data, runs on the demo universe (6 symbols x 4 timeframes written\n"
    "by 'ohlcx synth' into OUT/demo-data).\n"
    "\n"
    "options:\n"
    "  --data PATH        candle file or folder of files; repeat for more\n"
    "                     (also accepted as plain arguments)\n"
    "  --store DIR        train on the series of this store (see 'ohlcx ingest')\n"
    "                     instead of files; --symbol and --timeframe then select\n"
    "                     series\n"
    "  --universe FILE    train on the series this universe file lists\n"
    "                     (docs/universe.md), from --data or --store, with the\n"
    "                     asset classes of its groups; a listed series that is\n"
    "                     missing stops the run, others are left out\n"
    "  --out DIR          output folder: DIR/metrics.json, DIR/model/ and\n"
    "                     DIR/checkpoints/ (default: ohlcx-run)\n"
    "  --config FILE      pipeline configuration (YAML): the CNN's layers,\n"
    "                     dilation, pooling, batch normalisation, dropout,\n"
    "                     embedding sizes, learning rate, weight decay and\n"
    "                     schedule, and window, horizon, seed, epochs,\n"
    "                     patience and batch (docs/commands.md shows every key);\n"
    "                     flags given on the command line override the file\n"
    "  --cnn MODE         per-symbol: one CNN per symbol (default);\n"
    "                     per-market: one CNN per asset class (crypto, stocks,\n"
    "                     forex, indices, commodities, bonds);\n"
    "                     global: one CNN over every series, with a learned\n"
    "                     embedding of each symbol (size 8, set by\n"
    "                     symbol_embedding in --config)\n"
    "  --resume           continue the run in --out that was stopped: load and\n"
    "                     features run again, finished CNNs and XGBoost models\n"
    "                     are loaded, the others continue (a CNN after its last\n"
    "                     completed epoch), and the results equal those of an\n"
    "                     uninterrupted run; every option that decides the\n"
    "                     results must be the same as in that run\n"
    "  --window N         bars in each CNN input window, 9 to 1024 (default: 64)\n"
    "  --horizon N        label: 1 if the close N bars ahead is higher, 1 to 1000\n"
    "                     (default: 1)\n"
    "  --seed N           seed of every random choice, 0 to 999999999999999\n"
    "                     (default: 42)\n"
    "  --jobs N           threads, 1 to 1024 (default: number of cores); results\n"
    "                     are reproducible for a given seed and --jobs\n"
    "  --epochs N         maximum CNN epochs, 1 to 256 (default: 20)\n"
    "  --patience N       CNN epochs without validation improvement before\n"
    "                     stopping, 1 to 256 (default: 3)\n"
    "  --batch N          CNN mini-batch size, 1 to 65536 (default: 256)\n"
    "  --precision P      CNN convolutions in fp32, in bf16 (bfloat16 inputs and\n"
    "                     weights, float32 sums; needs oneDNN and AVX512_BF16),\n"
    "                     or auto: bf16 where available (default: fp32)\n"
    "  --symbol NAME      symbol of a single input file (default: from its name)\n"
    "  --timeframe TF     timeframe of a single input file: 1m 3m 5m 15m 30m 1h 2h\n"
    "                     4h 6h 8h 12h 1d 3d 1w 1M 3M (default: from its name,\n"
    "                     else the median spacing of its bars)\n"
    "  --bad-rows POLICY  fail: stop at the first unparseable row (default);\n"
    "                     skip: drop such rows and report each one\n"
    "  --columns SPEC     column mapping for a layout that detection gets wrong,\n"
    "                     such as time=0,open=1,high=2,low=3,close=4,volume=5\n"
    "                     (see docs/commands.md)\n"
    "  --tz ZONE          IANA zone of times written without an offset, such as\n"
    "                     Europe/Berlin (default: UTC)\n"
    "  --higher LIST      comma-separated higher timeframes, such as 1h,4h,1d:\n"
    "                     XGBoost also gets their 11 features, resampled from\n"
    "                     each series, from the latest higher bar closed by the\n"
    "                     row's close (columns h1_ret_1, h4_rsi_14, ...). A\n"
    "                     timeframe that a series cannot feed (not coarser than\n"
    "                     its own) leaves its columns missing there, with a\n"
    "                     warning (default: none)\n"
    "  --debug-leak KIND  test only: next-return adds the column\n"
    "                     leak_next_return, the next bar's log return, a\n"
    "                     deliberate look-ahead leak that 'ohlcx lookahead' must\n"
    "                     report. Never use it for a real model\n"
    "  --walk-forward     evaluate on walk-forward folds instead of one split:\n"
    "                     each fold trains on the bars before its test period\n"
    "                     and tests on that period (see below)\n"
    "  --train-period N   walk-forward: bars of each training range, its two\n"
    "                     inner purge gaps included (required)\n"
    "  --test-period N    walk-forward: bars tested per fold (required)\n"
    "  --retrain-every N  walk-forward: bars between fold starts, at least\n"
    "                     --test-period (default: --test-period)\n"
    "  --expanding        walk-forward: every training range starts at the first\n"
    "                     bar and grows by --retrain-every each fold\n"
    "  --embargo N        walk-forward: bars after each test period left out of\n"
    "                     later training ranges (default: 0)\n"
    "  --price-per-core-hour USD\n"
    "                     price of one CPU core for an hour, for the cost that\n"
    "                     the run reports (default: 0.04, a typical on-demand\n"
    "                     cloud price per vCPU-hour)\n"
    "  --monthly-budget USD\n"
    "                     compute budget a month; the run reports its cost's\n"
    "                     share of it (default: 1000)\n"
    "  --max-memory SIZE  memory the run may use, such as 4G or 500M (K, M, G\n"
    "                     and T are powers of 1024); the run stops with exit\n"
    "                     status 1 when the estimate for training, or any\n"
    "                     stage's peak, is above it (default: 80% of the\n"
    "                     machine's memory)\n"
    "  --max-samples-per-series N\n"
    "                     keep at most N training samples (cnn_train and\n"
    "                     xgb_train) of each series, the latest of each part in\n"
    "                     proportion but at least one each; validation and\n"
    "                     test stay whole; not with --walk-forward (default:\n"
    "                     no cap)\n"
    "  --balance-classes  weigh XGBoost's up labels by downs / ups of its\n"
    "                     training rows, so both classes count equally\n"
    "  -h, --help         print this help\n"
    "\n"
    "Splits are chronological per series, with a purge gap of window + horizon\n"
    "bars between parts. Of the bars outside the gaps, train takes 70% (the CNN\n"
    "learns on its first part, XGBoost on the rest), validation 15% and test 15%.\n"
    "With --walk-forward, fold k tests the bars [S + kR, S + kR + Q) of each\n"
    "series, where S is the first sample bar plus P + window + horizon, and\n"
    "trains on the P bars that end window + horizon bars before them (P, Q, R:\n"
    "--train-period, --test-period, --retrain-every), or with --expanding on\n"
    "every bar from the first sample up to there. metrics.json then holds\n"
    "walk_forward (one row per fold) and walk_forward_total, and test and\n"
    "baselines score the test rows of all folds together.\n"
    "Each stage logs its wall and CPU time, peak RSS and bytes read and written,\n"
    "and metrics.json records them under resources, with the run's CPU\n"
    "core-hours and their cost under cost. A progress line on stderr shows the\n"
    "stage and the time left (on a terminal; elsewhere a log line every 30 s).\n"
    "Exit status: 0 on success, 1 on an internal failure (a library error, out\n"
    "of memory), 2 on bad usage or input.\n";


/* Splits the --higher list at commas into canonical timeframe names. */
static int parse_higher(const char *text, char names[][OHLCX_TIMEFRAME_MAX], int max_count,
                        int *count)
{
    const char *start = text;

    *count = 0;
    for (;;) {
        const char *end = strchr(start, ',');
        size_t length = end ? (size_t)(end - start) : strlen(start);
        char item[32];

        if (length == 0 || length >= sizeof item)
            return cli_usage_error("run", "invalid --higher '%s': list timeframes separated by "
                                   "commas, such as 1h,4h,1d", text);
        memcpy(item, start, length);
        item[length] = '\0';
        if (*count == max_count)
            return cli_usage_error("run", "invalid --higher '%s': at most %d timeframes",
                                   text, max_count);
        if (ohlcx_timeframe_parse(item, names[*count]) != 0)
            return cli_usage_error("run", "invalid --higher timeframe '%s': use 3m 5m 15m 30m "
                                   "1h 2h 4h 6h 8h 12h 1d 3d 1w 1M 3M", item);
        (*count)++;
        if (end == NULL)
            return 0;
        start = end + 1;
    }
}


/* Parses a walk-forward period in bars. */
static int parse_period(const char *name, const char *text, int minimum, int64_t *out)
{
    int value = 0;
    int bad = cli_parse_int("run", name, text, minimum, 100000000, &value);

    *out = value;
    return bad;
}


/* The period options need --walk-forward, and --walk-forward needs both
 * periods. */
static int check_walk_forward(const ohlcx_run_options *options)
{
    int any_period = options->train_period || options->test_period || options->retrain_every ||
                options->expanding || options->embargo;

    if (!options->walk_forward && any_period)
        return cli_usage_error("run", "--train-period, --test-period, --retrain-every, "
                               "--expanding and --embargo apply only with --walk-forward");
    if (options->walk_forward && (options->train_period == 0 || options->test_period == 0))
        return cli_usage_error("run", "--walk-forward needs --train-period N and "
                               "--test-period N, in bars");
    if (options->walk_forward && options->retrain_every != 0 &&
        options->retrain_every < options->test_period)
        return cli_usage_error("run", "invalid --retrain-every %lld: use at least "
                               "--test-period %lld, so that test periods do not overlap",
                               (long long)options->retrain_every,
                               (long long)options->test_period);
    return 0;
}


/* Parses a --max-memory size: a number of bytes with an optional K, M, G or
 * T suffix (powers of 1024), from 1M up to 1024T. */
static int parse_memory(const char *text, uint64_t *out)
{
    static const char units[] = "KMGT";
    char *end = NULL;
    double value, scale = 1;
    const char *unit;

    errno = 0;
    value = strtod(text, &end);
    if (end != text && *end != '\0' && end[1] == '\0' &&
        (unit = strchr(units, toupper((unsigned char)*end))) != NULL) {
        for (const char *u = units; u <= unit; u++)
            scale *= 1024;
        end++;
    }
    value *= scale;
    if (end == text || *end != '\0' || errno != 0 || !(value >= 1048576.0) ||
        value > 1024.0 * 1024 * 1024 * 1024 * 1024)
        return cli_usage_error("run", "invalid --max-memory '%s': use a size from 1M to 1024T, "
                               "such as 4G or 500M",
                               text);
    *out = (uint64_t)value;
    return 0;
}


/* Returns the FILE of --config FILE or --config=FILE in argv, before any
 * "--", or NULL. The file is read before the other options are parsed, so
 * that flags override it wherever they stand. Fails with 2 when --config is
 * given twice or without a file. */
static int find_config(int argc, char **argv, const char **path)
{
    *path = NULL;
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *found = NULL;

        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error("run", "--config needs a file");
            found = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            found = argv[i] + 9;
        } else {
            continue;
        }
        if (*path != NULL)
            return cli_usage_error("run", "--config is given twice (%s and %s): give one "
                                   "file", *path, found);
        *path = found;
    }
    return 0;
}


int cmd_run(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"data", required_argument, NULL, 'd'},     {"out", required_argument, NULL, 'o'},
        {"store", required_argument, NULL, 'D'},   {"universe", required_argument, NULL, 'u'},
        {"cnn", required_argument, NULL, 'c'},      {"window", required_argument, NULL, 'w'},
        {"horizon", required_argument, NULL, 'H'},  {"seed", required_argument, NULL, 's'},
        {"jobs", required_argument, NULL, 'j'},     {"epochs", required_argument, NULL, 'e'},
        {"patience", required_argument, NULL, 'p'}, {"batch", required_argument, NULL, 'b'},
        {"symbol", required_argument, NULL, 'S'},   {"timeframe", required_argument, NULL, 'T'},
        {"bad-rows", required_argument, NULL, 'r'},
        {"columns", required_argument, NULL, 'C'},  {"tz", required_argument, NULL, 'Z'},
        {"resume", no_argument, NULL, 'R'},    {"higher", required_argument, NULL, 'G'},
        {"debug-leak", required_argument, NULL, 'L'},
        {"walk-forward", no_argument, NULL, 'W'},   {"train-period", required_argument, NULL, 'P'},
        {"test-period", required_argument, NULL, 'Q'},
        {"retrain-every", required_argument, NULL, 'K'},
        {"expanding", no_argument, NULL, 'X'},      {"embargo", required_argument, NULL, 'E'},
        {"price-per-core-hour", required_argument, NULL, 'U'},
        {"monthly-budget", required_argument, NULL, 'B'},
        {"max-memory", required_argument, NULL, 'M'},
        {"max-samples-per-series", required_argument, NULL, 'N'},
        {"balance-classes", no_argument, NULL, 'A'},
        {"precision", required_argument, NULL, 'F'},
        {"config", required_argument, NULL, 'g'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    ohlcx_run_options options;
    const char **inputs = calloc((size_t)argc + 1, sizeof *inputs);
    char timeframe[OHLCX_TIMEFRAME_MAX];
    char higher[HIGHER_MAX][OHLCX_TIMEFRAME_MAX];
    const char *higher_names[HIGHER_MAX];
    ohlcx_cnn_config architecture;
    const char *config_path = NULL;
    size_t input_count = 0;
    uint64_t samples_cap = 0;
    int option, bad = 0, status;

    if (inputs == NULL)
        return cli_usage_error("run", "out of memory");
    ohlcx_run_options_default(&options);
    ohlcx_cnn_config_default(&architecture);
    bad = find_config(argc, argv, &config_path);
    if (!bad && config_path != NULL) {
        status = ohlcx_run_config_load(config_path, &options, &architecture);
        if (status != 0)
            bad = cli_fail(status);
    }
    optind = 1;
    while (!bad && (option = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        switch (option) {
        case 'd': inputs[input_count++] = optarg; break;
        case 'o': options.out_dir = optarg; break;
        case 'D': options.store_dir = optarg; break;
        case 'u': options.universe_path = optarg; break;
        case 'c':
            if (strcmp(optarg, "per-symbol") == 0)
                options.cnn_mode = OHLCX_CNN_PER_SYMBOL;
            else if (strcmp(optarg, "global") == 0)
                options.cnn_mode = OHLCX_CNN_GLOBAL;
            else if (strcmp(optarg, "per-market") == 0)
                options.cnn_mode = OHLCX_CNN_PER_MARKET;
            else
                bad = cli_usage_error("run", "invalid --cnn '%s': use per-symbol, per-market "
                                      "or global", optarg);
            break;
        case 'w': bad = cli_parse_int("run", "--window", optarg, 9, 1024, &options.window); break;
        case 'H': bad = cli_parse_int("run", "--horizon", optarg, 1, 1000, &options.horizon); break;
        case 's': bad = cli_parse_u64("run", "--seed", optarg, &options.seed); break;
        case 'j': bad = cli_parse_int("run", "--jobs", optarg, 1, 1024, &options.jobs); break;
        case 'e': bad = cli_parse_int("run", "--epochs", optarg, 1, 256, &options.epochs); break;
        case 'p': bad = cli_parse_int("run", "--patience", optarg, 1, 256, &options.patience); break;
        case 'b': bad = cli_parse_int("run", "--batch", optarg, 1, 65536, &options.batch_size); break;
        case 'S': options.symbol = optarg; break;
        case 'T':
            if (ohlcx_timeframe_parse(optarg, timeframe) != 0)
                bad = cli_usage_error("run", "invalid --timeframe '%s': use 1m 3m 5m 15m 30m "
                                      "1h 2h 4h 6h 8h 12h 1d 3d 1w 1M 3M", optarg);
            options.timeframe = timeframe;
            break;
        case 'r': bad = cli_parse_bad_rows("run", optarg, &options.bad_rows); break;
        case 'C': options.columns = optarg; break;
        case 'Z': options.tz = optarg; break;
        case 'R': options.resume = 1; break;
        case 'F': bad = cli_parse_precision("run", optarg); break;
        case 'G':
            bad = parse_higher(optarg, higher, HIGHER_MAX, &options.higher_count);
            for (int h = 0; h < options.higher_count; h++)
                higher_names[h] = higher[h];
            options.higher_timeframes = higher_names;
            break;
        case 'L':
            if (strcmp(optarg, "next-return") == 0)
                options.debug_leak = OHLCX_DEBUG_LEAK_NEXT_RETURN;
            else
                bad = cli_usage_error("run", "invalid --debug-leak '%s': the only leak is "
                                      "next-return", optarg);
            break;
        case 'W': options.walk_forward = 1; break;
        case 'P': bad = parse_period("--train-period", optarg, 1, &options.train_period); break;
        case 'Q': bad = parse_period("--test-period", optarg, 1, &options.test_period); break;
        case 'K': bad = parse_period("--retrain-every", optarg, 1, &options.retrain_every); break;
        case 'X': options.expanding = 1; break;
        case 'E': bad = parse_period("--embargo", optarg, 0, &options.embargo); break;
        case 'U':
            bad = cli_parse_double("run", "--price-per-core-hour", optarg, 0, 1e6,
                                   &options.price_per_core_hour);
            break;
        case 'B':
            bad = cli_parse_double("run", "--monthly-budget", optarg, 1e-6, 1e12,
                                   &options.monthly_budget);
            break;
        case 'M': bad = parse_memory(optarg, &options.max_memory); break;
        case 'N':
            bad = cli_parse_u64("run", "--max-samples-per-series", optarg, &samples_cap);
            if (!bad && samples_cap == 0)
                bad = cli_usage_error("run", "invalid --max-samples-per-series 0: use 1 or "
                                      "more, or leave the option out for no cap");
            options.max_samples_per_series = (size_t)samples_cap;
            break;
        case 'A': options.balance_classes = 1; break;
        case 'g': break; /* read by find_config() */
        case 'h': fputs(run_help, stdout); free(inputs); return 0;
        default: bad = 2; break;
        }
    }
    if (bad) {
        free(inputs);
        return 2;
    }
    if (!bad)
        bad = check_walk_forward(&options);
    if (bad) {
        free(inputs);
        return 2;
    }
    while (optind < argc)
        inputs[input_count++] = argv[optind++];
    options.inputs = inputs;
    options.input_count = input_count;

    status = ohlcx_run(&options);
    free(inputs);
    return status == 0 ? 0 : cli_fail(status);
}
