"""The Airflow DAG imports cleanly and has the expected shape.

Run by tests/deploy/run.sh (which installs Airflow into a venv).
"""

from pathlib import Path

import pytest

DAG_DIR = Path(__file__).resolve().parents[2] / "deploy" / "airflow"


@pytest.fixture(scope="module")
def dag():
    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3
    except ImportError:  # Airflow 2
        from airflow.models import DagBag
    bag = DagBag(dag_folder=str(DAG_DIR))
    assert bag.import_errors == {}, bag.import_errors
    assert "movielens" in bag.dags, list(bag.dags)
    return bag.dags["movielens"]


def test_stages_run_in_order(dag):
    order = ["extract", "stage", "transform", "load", "check", "answers"]
    assert sorted(dag.task_ids) == sorted(order)
    for upstream, downstream in zip(order, order[1:]):
        assert dag.get_task(downstream).upstream_task_ids == {upstream}
    assert dag.get_task("extract").upstream_task_ids == set()


def test_every_task_runs_the_cli_over_ssh_with_retries_and_timeouts(dag):
    for task in dag.tasks:
        assert task.task_type == "SSHOperator"
        assert task.ssh_conn_id == "movielens_bastion"
        assert task.retries == 2
        assert task.execution_timeout is not None
        # The operator's own default would kill a command after 10 s.
        assert task.cmd_timeout >= 600
        assert task.execution_timeout.total_seconds() > task.cmd_timeout


def test_writing_stages_share_the_run_id_of_the_dag_run(dag):
    for task_id in ["extract", "stage", "transform", "load"]:
        assert "--run-id airflow-{{ ts_nodash }}" in dag.get_task(task_id).command
    assert dag.max_active_runs == 1
