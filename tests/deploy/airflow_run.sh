#!/usr/bin/env bash
# One real Airflow run of the movielens DAG on this machine:
#   a private sshd on 127.0.0.1 stands in for the bastion, the local Kaggle/FRED
#   stand-in serves a small generated dataset, PostgreSQL is the warehouse, and
#   `airflow dags test` runs every task, each executing our real CLI over SSH.
# Usage: tests/deploy/airflow_run.sh VENV MOVIELENS_BINARY
set -euo pipefail
venv=$1
bin=$(realpath "$2")
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/movielens-airflow.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    su postgres -c "psql -qc 'DROP DATABASE IF EXISTS movielens_airflow WITH (FORCE)'" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The bastion: sshd with a throwaway key, on a free port.
ssh_port=$(port)
ssh-keygen -q -t ed25519 -N '' -f "$work/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/client_key"
cp "$work/client_key.pub" "$work/authorized_keys"
cat > "$work/sshd_config" <<CFG
Port $ssh_port
ListenAddress 127.0.0.1
HostKey $work/host_key
AuthorizedKeysFile $work/authorized_keys
PasswordAuthentication no
StrictModes no
PidFile $work/sshd.pid
# The bastion's layout: movielens-run on the PATH, its configuration directory
# and CLI given to it (on a real bastion: /etc/movielens, /usr/local/bin).
SetEnv PATH=$work/bin:/usr/local/bin:/usr/bin:/bin MLRUN_ETC=$work/etc MLRUN_BIN=$bin MLRUN_LOCK_DIR=$work
CFG
mkdir -p "$work/bin" "$work/etc"
ln -s "$repo/deploy/bastion/movielens-run" "$work/bin/movielens-run"
mkdir -p /run/sshd
/usr/sbin/sshd -D -f "$work/sshd_config" -E "$work/sshd.log" &
pids+=($!)

# Kaggle and FRED: a generated dataset behind the stand-in server.
"$bin" generate --scale 0.002 --seed 7 --out "$work/data" >/dev/null
src_port=$(port)
python3 "$repo/tests/servers/mock_sources.py" --port "$src_port" \
    --kaggle-dir "$work/data/kaggle" --cpi "$work/data/fred/CUSR0000SS62031.csv" \
    --user airflow --key airflow-key >"$work/sources.log" 2>&1 &
pids+=($!)

# The warehouse.
"$repo/tests/servers/postgres.sh" >/dev/null
su postgres -c "psql -qc 'DROP DATABASE IF EXISTS movielens_airflow WITH (FORCE)'"
su postgres -c "psql -qc 'CREATE DATABASE movielens_airflow OWNER movielens_test'"

# The bastion's configuration, as its user data and its operator write it:
# settings and secrets in env files that movielens-run reads.
cat >"$work/etc/site.env" <<ENV
MOVIELENS_LAKE=$work/lake
MOVIELENS_LOG__FORMAT=json
MOVIELENS_EXTRACT__KAGGLE_BASE_URL=http://127.0.0.1:$src_port
MOVIELENS_EXTRACT__FRED_BASE_URL=http://127.0.0.1:$src_port
MOVIELENS_WAREHOUSE__KIND=postgres
ENV
cat >"$work/etc/secrets.env" <<ENV
KAGGLE_USERNAME=airflow
KAGGLE_KEY=airflow-key
MOVIELENS_WAREHOUSE__URL=postgres://movielens_test:movielens_test@127.0.0.1:5432/movielens_airflow
ENV

export AIRFLOW_HOME="$work/airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$repo/deploy/airflow"
export AIRFLOW__CORE__LOAD_EXAMPLES=false
export AIRFLOW_CONN_MOVIELENS_BASTION="{\"conn_type\": \"ssh\", \"host\": \"127.0.0.1\", \"port\": $ssh_port, \"login\": \"$(id -un)\", \"extra\": {\"key_file\": \"$work/client_key\", \"no_host_key_check\": true}}"

for _ in $(seq 1 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$ssh_port") 2>/dev/null && break
    sleep 0.1
done
"$venv/bin/airflow" db migrate >"$work/migrate.log" 2>&1
started=$(date +%s)
"$venv/bin/airflow" dags test movielens 2026-11-26 >"$work/dags_test.log" 2>&1 || {
    tail -n 80 "$work/dags_test.log"
    echo "airflow_run: FAILED: airflow dags test exited non-zero" >&2
    exit 1
}
took=$(( $(date +%s) - started ))

# What the run left: the warehouse holds the DAG run's lake id (the DAG's own
# rule applied to Airflow's run id), every task succeeded, the report is in the lake.
dag_run=$("$venv/bin/python" -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select run_id from dag_run").fetchone()[0])' "$AIRFLOW_HOME/airflow.db")
expected=$("$venv/bin/python" -c 'import sys; sys.path.insert(0, sys.argv[1]); from movielens_dag import lake_run_id; print(lake_run_id(sys.argv[2]))' "$repo/deploy/airflow" "$dag_run")
loaded=$(su postgres -c "psql -d movielens_airflow -Atc 'SELECT run_id FROM movielens.loads ORDER BY loaded_at DESC LIMIT 1'")
if [ "$loaded" != "$expected" ]; then
    tail -n 80 "$work/dags_test.log"
    echo "airflow_run: FAILED: warehouse holds run '$loaded', expected $expected (DAG run $dag_run)" >&2
    exit 1
fi
states=$("$venv/bin/python" -c 'import sqlite3, sys; print(" ".join(f"{t}={s}" for t, s in sqlite3.connect(sys.argv[1]).execute("select task_id, state from task_instance order by start_date")))' "$AIRFLOW_HOME/airflow.db")
[ "$(grep -o '=success' <<<"$states" | wc -l)" = 7 ] || { echo "airflow_run: FAILED: tasks $states" >&2; exit 1; }
[ -s "$work/lake/reports/$loaded/report.html" ] || { echo "airflow_run: FAILED: no report for $loaded in the lake" >&2; exit 1; }
echo "airflow_run: PASSED: 7 tasks over SSH in ${took}s ($states); warehouse holds $loaded"
