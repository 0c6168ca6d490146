# Entry points for a new user: `make demo` and `make test`. Each installs the
# missing Debian packages first (scripts/install-deps.sh), then builds with
# CMake. `make` alone builds build/ohlcx.

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
ASAN_BUILD ?= build-asan
ASAN_NATIVE_BUILD ?= build-asan-native
DEMO ?= demo

.PHONY: all deps build test test-asan test-asan-native demo bench clean

all: build

deps:
	@sh scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The sanitizer build runs the unit tests and the short integration tests;
# the long training runs stay in the optimised build.
test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DOHLCX_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    ctest --output-on-failure -j $(JOBS) -L 'unit|quick'
	@$(MAKE) --no-print-directory test-asan-native

# The unit tests of the code with CPU-specific paths (row parsing, BLAKE3,
# the store codec), sanitized with the paths that -march=native selects.
ASAN_NATIVE_TESTS = test_format test_format_parse test_format_parallel test_format_plain \
	test_format_stream test_blake3 test_store test_store_codec test_store_stream test_ingest_race \
	test_check_stream
test-asan-native: deps
	@cmake -S . -B $(ASAN_NATIVE_BUILD) -DCMAKE_BUILD_TYPE=Debug -DOHLCX_SANITIZE=ON \
	    -DOHLCX_SANITIZE_NATIVE=ON >/dev/null
	@cmake --build $(ASAN_NATIVE_BUILD) -j $(JOBS) --target $(ASAN_NATIVE_TESTS)
	@cd $(ASAN_NATIVE_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    ctest --output-on-failure -j $(JOBS) \
	    -R '^unit/($(shell echo $(ASAN_NATIVE_TESTS) | tr ' ' '|'))$$'

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@$(MAKE) --no-print-directory test-asan

demo: build
	@rm -rf $(DEMO)/store
	@$(BUILD)/ohlcx synth --out $(DEMO)/data
	@$(BUILD)/ohlcx ingest --store $(DEMO)/store $(DEMO)/data
	@$(BUILD)/ohlcx run --store $(DEMO)/store --out $(DEMO)/run
	@$(BUILD)/ohlcx report --run $(DEMO)/run --out $(DEMO)/report.html
	@echo "report: $(DEMO)/report.html"

bench: build
	@OHLCX_BENCH=1 sh scripts/install-deps.sh
	@sh bench/ingest_vs_pandas.sh $(BUILD)/ohlcx
	@cmake --build $(BUILD) --target bench_checks >/dev/null
	@sh bench/checks_vs_pandas.sh $(BUILD)/bench_checks
	@sh bench/resample_vs_pandas.sh $(BUILD)/ohlcx
	@sh bench/cnn_vs_pytorch.sh $(BUILD)/ohlcx
	@sh bench/pipeline_vs_python.sh $(BUILD)/ohlcx

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(ASAN_NATIVE_BUILD) $(DEMO)
