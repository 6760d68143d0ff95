#!/usr/bin/env bash
# Installs or starts what the tests need on a machine of ours (Debian 12, root):
# moto (S3) from PyPI, Debian's chromium (the report test opens the page in it),
# PostgreSQL 15 (the warehouse tests' database). The tests start the rest
# themselves: moto_server and the Kaggle/FRED stand-in on free loopback ports,
# our scheduler and executor binaries. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v moto_server >/dev/null 2>&1; then
    echo "== installing moto[server] for the S3 tests"
    python3 -m pip install --quiet 'moto[server]'
fi
if ! command -v chromium >/dev/null 2>&1; then
    echo "== installing chromium for the report test"
    apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null
fi
echo "== starting PostgreSQL for the warehouse tests"
tests/servers/postgres.sh
if [ ! -d ../shared/data ]; then
    echo "!! ../shared/data is absent: tests on the real samples will SKIP loudly"
fi
