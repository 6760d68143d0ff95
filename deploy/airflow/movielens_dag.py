"""movielens on Airflow: each stage runs the movielens CLI on the bastion over SSH.

extract -> stage -> transform -> load -> check -> answers -> report

Every stage of a DAG run works on one run id derived from Airflow's own
``run_id`` (every DAG run has one: scheduled, manual, asset-triggered), made safe
for the lake by :func:`lake_run_id`. A retried task or a cleared DAG run
therefore rewrites the same run instead of adding a second one. ``transform``
checks the run and publishes it only if every check passes; the CLI exits
non-zero on any failure, which fails the task.

Each command goes through ``movielens-run`` on the bastion (installed there by
its user data, see deploy/bastion/movielens-run): it reads the configuration and
secrets from /etc/movielens/, lets only one attempt of a run id run at a time,
and stops the CLI at the stage's time limit or when this task's SSH session
hangs up (the task was killed or timed out; ``get_pty`` makes the hang-up reach
the remote command). No secret is in a command line, so none is in a task log.

Set up in Airflow: connection ``movielens_bastion`` (type ssh): the bastion's
address, user and key.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

from airflow.providers.ssh.operators.ssh import SSHOperator

try:  # Airflow 3
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG

# The CLI's rule for a run id (jobs/src/run_id.rs): 1 to 64 characters of
# A-Z a-z 0-9 . _ -, starting with a letter or digit.
MAX_RUN_ID = 64
PREFIX = "airflow-"


def lake_run_id(airflow_run_id: str) -> str:
    """The lake's run id for an Airflow DAG run id.

    ``manual__2026-12-01T10:00:00.123456+00:00`` becomes
    ``airflow-manual__2026-12-01T10-00-00.123456-00-00``: characters the lake
    does not keep are dashes. An id too long for the lake keeps its start and
    ends with a hash of the whole id, so two DAG runs never share a run id.
    """
    safe = PREFIX + re.sub(r"[^A-Za-z0-9._-]", "-", airflow_run_id)
    if len(safe) <= MAX_RUN_ID and safe == PREFIX + airflow_run_id:
        return safe
    digest = hashlib.sha256(airflow_run_id.encode()).hexdigest()[:10]
    if len(safe) + 1 + len(digest) > MAX_RUN_ID:
        safe = safe[: MAX_RUN_ID - 1 - len(digest)]
    return f"{safe}-{digest}"


RUN_ID = "{{ run_id | lake_run_id }}"

# (task id, CLI arguments, how long it may take)
STAGES = [
    ("extract", f"extract --run-id {RUN_ID}", timedelta(hours=1)),
    ("stage", f"stage --run-id {RUN_ID}", timedelta(minutes=30)),
    ("transform", f"transform --run-id {RUN_ID}", timedelta(hours=3)),
    ("load", f"load --run-id {RUN_ID}", timedelta(hours=2)),
    ("check", f"check --run-id {RUN_ID}", timedelta(minutes=30)),
    ("answers", "answers --format json", timedelta(minutes=10)),
    ("report", f"report --run-id {RUN_ID}", timedelta(minutes=10)),
]


def remote_command(args: str, limit: timedelta) -> str:
    """The bastion command of one stage: the wrapper, the run id, the limit."""
    return f"movielens-run {RUN_ID} {int(limit.total_seconds())} {args}"


with DAG(
    dag_id="movielens",
    description="The Movies Dataset + FRED CPI -> lake -> Redshift -> checked answers",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    user_defined_filters={"lake_run_id": lake_run_id},
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=5),
        "retry_exponential_backoff": True,
    },
    tags=["movielens"],
) as dag:
    previous = None
    for task_id, args, limit in STAGES:
        task = SSHOperator(
            task_id=task_id,
            ssh_conn_id="movielens_bastion",
            command=remote_command(args, limit),
            # cmd_timeout is an inactivity timeout (a quiet stage would fail
            # for nothing); the stage's limit is enforced on the bastion, and
            # execution_timeout kills the task a little after it.
            cmd_timeout=None,
            execution_timeout=limit + timedelta(minutes=5),
            # A pseudo-terminal, so closing the session (the task was killed)
            # hangs up the remote command instead of leaving it running.
            get_pty=True,
            do_xcom_push=task_id == "answers",
        )
        if previous is not None:
            previous >> task
        previous = task
