#!/usr/bin/env bash
# The benchmark in one command:
#   bench/run.sh [--debug] [--scale 1.0] [--runs 3] [--engines embedded,cluster,duckdb,datafusion,spark]
#   bench/run.sh --engines embedded,cluster1,cluster,duckdb   (strong scaling: 1 vs 2 executors x 1 vcore)
#     (each executor is pinned to a CPU of its own, as on a 1-vcore host; --unpinned lets it use every core)
#   bench/run.sh [--debug] --scaling [--scales 1.0,4.0] [--runs 3] [--engines embedded,cluster,duckdb]
#   bench/run.sh --scale 10 --runs 1 --engines embedded,cluster --reference   (the scale-10 mode)
# Builds the binaries (release; --debug uses the unoptimised ones, for a quick
# check that the harness works, not for figures), installs PySpark, DuckDB,
# DataFusion and pyarrow from PyPI into a venv on first use (PySpark runs on
# the machine's Java 17), then runs bench/bench.py (engines against each other)
# or, with --scaling, bench/scaling.py (two scales interleaved: how time and
# memory grow). Tables land in bench/results/. --reference also checks the
# published answers against the plain-Rust reference (tests/answers_reference.rs);
# with --scale 10 that is the check of 260M ratings the tests cannot afford.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
venv=${BENCH_VENV:-$target/bench-venv}
cd "$repo"
profile=release
if [ "${1:-}" = "--debug" ]; then
    profile=debug
    shift
fi
cargo build --profile "$([ $profile = debug ] && echo dev || echo release)" \
    -p movielens -p movielens-scheduler -p movielens-executor
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import pyspark, duckdb, datafusion, pyarrow' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'pyspark==3.5.9' 'duckdb==2.0.1' 'datafusion==55.0.0' 'pyarrow==26.0.1'
fi
script=bench/bench.py
if [ "${1:-}" = "--scaling" ]; then
    script=bench/scaling.py
    shift
fi
exec "$venv/bin/python" "$script" --bin "$target/$profile" "$@"
