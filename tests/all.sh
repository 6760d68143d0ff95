#!/usr/bin/env bash
# Every test, on a fresh machine of ours (Debian 12, root): the README's test
# command, and what CI runs (.ci/run calls this).
#
# First it installs or starts what the tests need: moto (S3) from PyPI,
# Debian's chromium (the report test opens the page in it), PostgreSQL 15
# (the warehouse tests' database). The tests start the rest themselves:
# moto_server and the Kaggle/FRED stand-in on free loopback ports, our
# scheduler and executor binaries. Then four tiers:
#   1. cargo build --workspace && cargo test --workspace
#   2. tests/deploy/run.sh   Terraform, checkov, the DAG, Airflow over SSH, sqlfluff
#   3. tests/fleet/run.sh    the AWS deployment booted host by host (nspawn)
#   4. bench/run.sh          the benchmark harness once at a tiny scale
# and prints "ci: N passed, N failed" last; exits non-zero if any tier failed.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== toolchain: $(cargo --version)"
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

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# Tier 1.
set +e
(cargo build --workspace && cargo test --workspace) 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# Tier 2, the deploy tier: Terraform, checkov, the Airflow DAG and one real
# Airflow run over SSH (installs Airflow and checkov from PyPI on first use).
deploy_log="$(mktemp)"
trap 'rm -f "$log" "$deploy_log"' EXIT
set +e
tests/deploy/run.sh 2>&1 | tee "$deploy_log"
deploy_status=${PIPESTATUS[0]}
set -e

# The fleet rehearsal: the deployment booted host by host (systemd-nspawn,
# cloud-init, Terraform-rendered user data) and driven by Airflow over SSH,
# with faults. Uses the Airflow venv the deploy tier made.
fleet_log="$(mktemp)"
trap 'rm -f "$log" "$deploy_log" "$fleet_log"' EXIT
set +e
tests/fleet/run.sh 2>&1 | tee "$fleet_log"
fleet_status=${PIPESTATUS[0]}
set -e

# The benchmark harness once at a tiny scale with the unoptimised binaries, so it
# cannot rot (it fails when the engines' marts disagree); figures come from
# `bench/run.sh` on release binaries, not from here.
set +e
bench_results="$(mktemp -d)"
bench/run.sh --debug --scale 0.002 --runs 1 --results "$bench_results"
bench_status=$?
bench/run.sh --debug --scaling --scales 0.002,0.004 --runs 1 --results "$bench_results"
scaling_status=$?
set -e
echo "== bench harness (tiny scale): exit $bench_status; scaling harness: exit $scaling_status"
if [ "$bench_status" -eq 0 ]; then bench_status=$scaling_status; fi

# One closing line with the totals over every test binary and the deploy tier.
passed=$( (grep -Eo 'test result: [A-Za-z]+\. [0-9]+ passed' "$log" || true) | awk '{s += $4} END {print s + 0}')
failed=$( (grep -Eo '[0-9]+ failed;' "$log" || true) | awk '{s += $1} END {print s + 0}')
deploy_passed=$( (grep -Eo '^deploy: [0-9]+ passed' "$deploy_log" || true) | awk '{print $2 + 0}')
deploy_failed=$( (grep -Eo '^deploy: [0-9]+ passed, [0-9]+ failed' "$deploy_log" || true) | awk '{print $4 + 0}')
fleet_passed=$( (grep -Eo '^fleet: [0-9]+ passed' "$fleet_log" || true) | awk '{print $2 + 0}')
fleet_failed=$( (grep -Eo '^fleet: [0-9]+ passed, [0-9]+ failed' "$fleet_log" || true) | awk '{print $4 + 0}')
# A tier that died before its summary line counts as one failure.
[ "$fleet_status" -ne 0 ] && [ "${fleet_failed:-0}" -eq 0 ] && fleet_failed=1
echo "ci: $((passed + ${deploy_passed:-0} + ${fleet_passed:-0})) passed, $((failed + ${deploy_failed:-0} + ${fleet_failed:-0})) failed"
if [ "$status" -ne 0 ]; then exit "$status"; fi
if [ "$deploy_status" -ne 0 ]; then exit "$deploy_status"; fi
if [ "$fleet_status" -ne 0 ]; then exit "$fleet_status"; fi
exit "$bench_status"
