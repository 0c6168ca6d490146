"""Time pandas resampling of one Binance kline CSV to every ohlcx timeframe.

usage: resample_pandas.py FILE

Prints two numbers: seconds to read the file and seconds to resample it to
3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M 3M once each, with open first,
high max, low min, close last and volume sum, bins labelled by open time.
"""
import sys
import time

import pandas

RULES = {
    "3m": "3min", "5m": "5min", "15m": "15min", "30m": "30min", "1h": "1h", "2h": "2h",
    "4h": "4h", "6h": "6h", "8h": "8h", "12h": "12h", "1d": "1D", "3d": "3D",
    "1w": "W-MON", "1M": "MS", "3M": "QS",
}
AGGREGATE = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}

start = time.perf_counter()
frame = pandas.read_csv(sys.argv[1], usecols=range(6))
frame.index = pandas.to_datetime(frame.pop("open_time"), unit="ms")
read_seconds = time.perf_counter() - start

start = time.perf_counter()
for name, rule in RULES.items():
    # Weekly rules close and label on the right by default; ohlcx labels by open time.
    labels = {"label": "left", "closed": "left"} if rule == "W-MON" else {}
    frame.resample(rule, **labels).agg(AGGREGATE).dropna()
print(read_seconds, time.perf_counter() - start)
