#!/usr/bin/env bash
# The deploy test tier: Terraform (fmt, validate, offline tests against a mocked
# AWS provider, checkov scan), Airflow (the DAG's shape, then one real run
# over SSH) and the Redshift SQL (every generated statement parsed by
# sqlfluff's Redshift grammar). Installs Airflow and checkov from PyPI into two venvs (their
# dependencies clash) under $DEPLOY_TEST_VENVS on first use.
#   usage: tests/deploy/run.sh            (from anywhere; needs the workspace built)
# Prints "deploy: N passed, N failed" last and exits non-zero on any failure.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
target=${CARGO_TARGET_DIR:-$repo/target}
venvs=${DEPLOY_TEST_VENVS:-$target/deploy-venv}
airflow_venv=$venvs/airflow
checkov_venv=$venvs/checkov
sqlfluff_venv=$venvs/sqlfluff
export TF_CLI_CONFIG_FILE=${TF_CLI_CONFIG_FILE_OVERRIDE:-/dev/null}
passed=0
failed=0
step() {
    local name=$1
    shift
    local started=$(date +%s)
    echo "== $name"
    if "$@"; then
        passed=$((passed + 1))
        echo "-- $name: ok ($(( $(date +%s) - started )) s)"
    else
        failed=$((failed + 1))
        echo "-- $name: FAILED ($(( $(date +%s) - started )) s)"
    fi
}

python_env() {
    if [ ! -x "$airflow_venv/bin/airflow" ]; then
        python3 -m venv "$airflow_venv" &&
        "$airflow_venv/bin/pip" install --quiet 'apache-airflow==3.3.2' \
            'apache-airflow-providers-ssh==7.0.1' pytest || return 1
    fi
    if [ ! -x "$checkov_venv/bin/checkov" ]; then
        python3 -m venv "$checkov_venv" &&
        "$checkov_venv/bin/pip" install --quiet 'checkov==3.3.30' || return 1
    fi
    if [ ! -x "$sqlfluff_venv/bin/sqlfluff" ]; then
        python3 -m venv "$sqlfluff_venv" &&
        "$sqlfluff_venv/bin/pip" install --quiet 'sqlfluff==4.5.0' || return 1
    fi
}
# The snapshots are the generated statements byte for byte (the warehouse
# unit tests compare them): the schema DDL, two tables' load statements and
# one whole load transaction over an older schema version. sqlfluff exits
# non-zero on any unparsable section.
redshift_sql_parses() {
    local f
    for f in jobs/src/warehouse/snapshots/redshift_*.sql; do
        "$sqlfluff_venv/bin/sqlfluff" parse --dialect redshift "$f" >/dev/null ||
            { echo "sqlfluff (redshift) cannot parse $f"; "$sqlfluff_venv/bin/sqlfluff" parse --dialect redshift "$f" | grep -A3 unparsable | head -20; return 1; }
    done
}
ssh_server() {
    [ -x /usr/sbin/sshd ] || { apt-get update -q >/dev/null && apt-get install -y -q openssh-server >/dev/null; }
}
terraform_checks() {
    (cd terraform &&
        terraform fmt -check -recursive &&
        terraform init -plugin-dir=/opt/tf-plugins -input=false -backend=false >/dev/null &&
        terraform validate &&
        terraform test &&
        terraform graph | python3 ../tests/deploy/release_before_instances.py)
}
checkov_scan() {
    "$checkov_venv/bin/checkov" -d terraform --skip-download --compact --quiet
}
dag_shape() {
    AIRFLOW_HOME=$(mktemp -d) "$airflow_venv/bin/pytest" -q tests/deploy/test_dag.py
}
airflow_real_run() {
    [ -x "$target/debug/movielens" ] || cargo build -p movielens
    tests/deploy/airflow_run.sh "$airflow_venv" "$target/debug/movielens"
}

step "python venvs (airflow, checkov)" python_env
step "openssh-server" ssh_server
step "terraform fmt/validate/test" terraform_checks
step "checkov" checkov_scan
step "airflow DAG shape" dag_shape
step "airflow real run over SSH" airflow_real_run
step "redshift SQL parses (sqlfluff)" redshift_sql_parses
echo "deploy: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
