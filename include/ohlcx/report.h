/*
 * Report: one self-contained HTML page that summarises an `ohlcx run`
 * folder, for reading in a browser or attaching to a review.
 *
 * The page needs nothing beyond the file: styles are inline, every chart is
 * inline SVG drawn here, and there is no script and no external URL. Every
 * string taken from the run (symbols, file names, group names) is escaped.
 *
 * The page structure is fixed. Each chart sits in <figure id="figure-NAME">
 * and is either <svg id="chart-NAME"> with a <title>, or, when the run has
 * no data for it, <div id="chart-NAME-unavailable" class="unavailable">
 * that says why. NAME is one of ablation, learning-curves, confusion,
 * calibration, heatmap, walk-forward, feature-importance, data-quality.
 * Tables have the ids metrics-table, ablation-table, per-timeframe-table,
 * per-asset-class-table, per-series-table and data-quality-table.
 *
 * Inputs, under the run folder: metrics.json (required), model/manifest.json,
 * model/xgboost.json (feature-group importance by total split gain) and
 * checkpoints/run.json (the --store of the run, whose catalogue quality
 * summaries are shown when the store can be opened).
 */
#ifndef OHLCX_REPORT_H
#define OHLCX_REPORT_H

#include <stdio.h>

/* Writes the report of run_dir to out_path, through a temporary file that is
 * renamed into place. Fails with OHLCX_EIO when metrics.json or
 * model/manifest.json cannot be read or out_path cannot be written. Fails
 * with OHLCX_EFORMAT when metrics.json is not a JSON object or lacks a
 * "test" object with "n", or when the manifest is not an ohlcx model
 * manifest. */
int ohlcx_report_write(const char *run_dir, const char *out_path);

/* Writes text to out with &, <, >, " and ' replaced by HTML character
 * references and control bytes other than tab and newline replaced by '?'. */
void ohlcx_html_escape(FILE *out, const char *text);

#endif
