/* `ohlcx ls`: list the series of a store from its catalogue. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ohlcx/format.h"
#include "ohlcx/store.h"

static const char ls_help[] =
    "usage: ohlcx ls --store DIR [--symbol NAME] [--timeframe TF] [--json]\n"
    "\n"
    "List the series in a store: symbol, timeframe, asset class, source, rows,\n"
    "first and last open time (UTC), the timeframe a series that `ohlcx\n"
    "resample` built was derived from (\"-\" for an ingested series), and the\n"
    "quality verdict (pass, warn or fail) of the checks that ingest ran on the\n"
    "series' last file.\n"
    "\n"
    "options:\n"
    "  --store DIR     store folder\n"
    "  --symbol NAME   only this symbol\n"
    "  --timeframe TF  only this timeframe\n"
    "  --json          print JSON, with each series' quality summary\n"
    "  -h, --help      print this help\n";


/* Writes the verdict of a stored quality summary, or "-" when there is none. */
static void quality_verdict(const char *quality, char *out, size_t size)
{
    cJSON *root = quality ? cJSON_Parse(quality) : NULL;
    const cJSON *verdict = cJSON_GetObjectItemCaseSensitive(root, "verdict");

    snprintf(out, size, "%s", cJSON_IsString(verdict) ? verdict->valuestring : "-");
    cJSON_Delete(root);
}


static void print_table(const ohlcx_store_entry *entries, size_t count)
{
    printf("%-12s %-9s %-11s %-22s %9s  %-19s  %-19s  %-12s  %s\n", "symbol", "timeframe",
           "asset_class", "source", "rows", "first_open_time", "last_open_time", "derived_from",
           "quality");
    for (size_t i = 0; i < count; i++) {
        char first[20], last[20], verdict[16];

        ohlcx_format_datetime(entries[i].first_open_time, first);
        ohlcx_format_datetime(entries[i].last_open_time, last);
        quality_verdict(entries[i].quality, verdict, sizeof verdict);
        printf("%-12s %-9s %-11s %-22s %9zu  %-19s  %-19s  %-12s  %s\n", entries[i].symbol,
               entries[i].timeframe, ohlcx_asset_class_name(entries[i].asset_class),
               entries[i].source, entries[i].rows, first, last,
               entries[i].derived_from[0] ? entries[i].derived_from : "-", verdict);
    }
}


static void print_json(const ohlcx_store_entry *entries, size_t count)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *array = cJSON_AddArrayToObject(root, "series");
    char *text;

    for (size_t i = 0; i < count; i++) {
        cJSON *item = cJSON_CreateObject();
        char first[20], last[20];

        ohlcx_format_datetime(entries[i].first_open_time, first);
        ohlcx_format_datetime(entries[i].last_open_time, last);
        cJSON_AddStringToObject(item, "symbol", entries[i].symbol);
        cJSON_AddStringToObject(item, "timeframe", entries[i].timeframe);
        cJSON_AddStringToObject(item, "asset_class", ohlcx_asset_class_name(entries[i].asset_class));
        cJSON_AddStringToObject(item, "source", entries[i].source);
        cJSON_AddNumberToObject(item, "rows", (double)entries[i].rows);
        cJSON_AddStringToObject(item, "first_open_time", first);
        cJSON_AddStringToObject(item, "last_open_time", last);
        cJSON_AddItemToObject(item, "quality", entries[i].quality ? cJSON_Parse(entries[i].quality)
                                                                  : cJSON_CreateNull());
        if (entries[i].derived_from[0] != '\0')
            cJSON_AddStringToObject(item, "derived_from", entries[i].derived_from);
        else
            cJSON_AddNullToObject(item, "derived_from");
        cJSON_AddItemToArray(array, item);
    }
    text = cJSON_Print(root);
    if (text != NULL)
        puts(text);
    free(text);
    cJSON_Delete(root);
}


int cmd_ls(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"store", required_argument, NULL, 'S'},     {"symbol", required_argument, NULL, 's'},
        {"timeframe", required_argument, NULL, 'T'}, {"json", no_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
    };
    const char *store_dir = NULL, *symbol = NULL, *timeframe = NULL;
    char canonical[OHLCX_TIMEFRAME_MAX];
    ohlcx_store_entry *entries = NULL;
    ohlcx_store *store = NULL;
    size_t count = 0;
    int option, json = 0, status;

    optind = 1;
    while ((option = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        switch (option) {
        case 'S': store_dir = optarg; break;
        case 's': symbol = optarg; break;
        case 'T':
            if (ohlcx_timeframe_parse(optarg, canonical) != 0)
                return cli_usage_error("ls", "invalid --timeframe '%s'", optarg);
            timeframe = canonical;
            break;
        case 'J': json = 1; break;
        case 'h': fputs(ls_help, stdout); return 0;
        default: return 2;
        }
    }
    if (store_dir == NULL)
        return cli_usage_error("ls", "missing --store DIR");
    if (optind < argc)
        return cli_usage_error("ls", "unexpected argument '%s'", argv[optind]);

    status = ohlcx_store_open_existing(store_dir, &store);
    if (status == 0)
        status = ohlcx_store_list(store, symbol, timeframe, &entries, &count);
    if (status == 0) {
        if (json)
            print_json(entries, count);
        else
            print_table(entries, count);
    }
    ohlcx_store_entries_free(entries, count);
    ohlcx_store_close(store);
    return status == 0 ? 0 : cli_fail(status);
}
