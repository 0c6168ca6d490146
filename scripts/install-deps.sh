#!/bin/sh
# Installs the Debian packages that ohlcx needs to build and test (chromium
# renders the HTML report in tests/integration/test_report.sh), skipping
# those already present. Runs apt-get only when something is missing, so a
# prepared machine needs neither root nor the network.
set -eu

packages="build-essential cmake pkg-config libxgboost-dev libopenblas-dev \
libcmocka-dev libcjson-dev libzstd-dev libsqlite3-dev libyaml-dev zlib1g-dev \
libdnnl-dev tzdata python3 jq chromium time"

# The benchmarks compare against pandas, PyTorch and the xgboost package;
# `make bench` sets OHLCX_BENCH=1.
if [ "${OHLCX_BENCH:-0}" = 1 ]; then
    packages="$packages python3-pandas python3-torch python3-xgboost"
fi

missing=""
for package in $packages; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $package"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

echo "install-deps: installing:$missing" >&2
sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then
    sudo_cmd="sudo"
fi
$sudo_cmd apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends $missing
