"""movielens on Airflow: each stage runs the movielens CLI on the bastion over SSH.

extract -> stage -> transform -> load -> check -> answers

Every stage writes under one run id derived from the DAG run's logical date
(``airflow-<ts_nodash>``), so a retried task or a cleared DAG run rewrites the
same run instead of adding a second one. The CLI exits non-zero on any failure
(including a failed data-quality check), which fails the task.

Set up in Airflow:
  * connection ``movielens_bastion`` (type ssh): the bastion's address, user and key;
  * variable ``movielens_command`` (optional): how to call the CLI on the bastion,
    default ``movielens --config /etc/movielens/movielens.toml``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.ssh.operators.ssh import SSHOperator

try:  # Airflow 3
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG

RUN_ID = "airflow-{{ ts_nodash }}"
CLI = "{{ var.value.get('movielens_command', 'movielens --config /etc/movielens/movielens.toml') }}"

# (task id, CLI arguments, how long it may take)
STAGES = [
    ("extract", f"extract --run-id {RUN_ID}", timedelta(hours=1)),
    ("stage", f"stage --run-id {RUN_ID}", timedelta(minutes=30)),
    ("transform", f"transform --run-id {RUN_ID}", timedelta(hours=3)),
    ("load", f"load --run-id {RUN_ID}", timedelta(hours=2)),
    ("check", "check", timedelta(minutes=30)),
    ("answers", "answers --format json", timedelta(minutes=10)),
]

with DAG(
    dag_id="movielens",
    description="The Movies Dataset + FRED CPI -> lake -> Redshift -> checked answers",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
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
            command=f"{CLI} {args}",
            # SSHOperator's own default gives a command 10 seconds.
            cmd_timeout=int(limit.total_seconds()),
            execution_timeout=limit + timedelta(minutes=5),
            # No pseudo-terminal: the CLI then keeps its progress bars out of
            # the task log (it stops itself through its own step timeouts).
            get_pty=False,
            do_xcom_push=task_id == "answers",
        )
        if previous is not None:
            previous >> task
        previous = task
