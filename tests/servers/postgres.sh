#!/usr/bin/env bash
# Starts the machine's PostgreSQL 15 and makes sure the test role exists.
# The warehouse tests connect as MOVIELENS_TEST_POSTGRES (default below) and
# create a database of their own per test.
#   usage: tests/servers/postgres.sh        (idempotent; needs root or the postgres user)
set -euo pipefail
role=movielens_test
password=movielens_test

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "postgres.sh: PostgreSQL is not installed (Debian: apt-get install postgresql-15)" >&2
    exit 1
fi
if ! pg_lsclusters -h | awk '$1 == 15 && $2 == "main" && $4 == "online"' | grep -q .; then
    pg_ctlcluster 15 main start
fi
as_postgres() {
    if [ "$(id -un)" = postgres ]; then "$@"; else su postgres -c "$(printf '%q ' "$@")"; fi
}
for _ in $(seq 1 30); do
    as_postgres psql -Atqc 'SELECT 1' >/dev/null 2>&1 && break
    sleep 0.5
done
as_postgres psql -v ON_ERROR_STOP=1 -Atq <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$role') THEN
    CREATE ROLE $role LOGIN CREATEDB PASSWORD '$password';
  END IF;
END
\$\$;
SQL
echo "postgres.sh: PostgreSQL 15 on 127.0.0.1:5432, role $role ready"
