"""The Airflow DAG imports cleanly and has the expected shape.

Run by tests/deploy/run.sh (which installs Airflow into a venv).
"""

from pathlib import Path

import re
import sys

import pytest

DAG_DIR = Path(__file__).resolve().parents[2] / "deploy" / "airflow"
sys.path.insert(0, str(DAG_DIR))


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
    order = ["extract", "stage", "transform", "load", "check", "answers", "report"]
    assert sorted(dag.task_ids) == sorted(order)
    for upstream, downstream in zip(order, order[1:]):
        assert dag.get_task(downstream).upstream_task_ids == {upstream}
    assert dag.get_task("extract").upstream_task_ids == set()


def test_every_task_runs_the_wrapper_over_ssh_with_a_limit(dag):
    for task in dag.tasks:
        assert task.task_type == "SSHOperator"
        assert task.ssh_conn_id == "movielens_bastion"
        assert task.retries == 2
        # No inactivity timeout; the limit is on the bastion (the wrapper's
        # second argument) and execution_timeout is a little longer.
        assert task.cmd_timeout is None
        assert task.get_pty is True
        head = "movielens-run {{ run_id | lake_run_id }} "
        assert task.command.startswith(head), task.command
        limit = int(task.command[len(head):].split()[0])
        assert limit >= 600
        assert task.execution_timeout.total_seconds() > limit


def test_stages_that_write_share_the_run_id_of_the_dag_run(dag):
    for task_id in ["extract", "stage", "transform", "load", "check", "report"]:
        assert "--run-id {{ run_id | lake_run_id }}" in dag.get_task(task_id).command
    assert dag.max_active_runs == 1


def test_no_secret_or_shell_setup_in_a_command(dag):
    for task in dag.tasks:
        for word in ["postgres://", "PASSWORD", "MOVIELENS_", "export ", ".bashrc"]:
            assert word not in task.command, (task.task_id, word)


RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@pytest.mark.parametrize(
    "airflow_run_id",
    [
        "scheduled__2026-12-01T00:00:00+00:00",
        "manual__2026-12-01T10:11:12.123456+00:00",
        "asset_triggered__2026-12-01T10:11:12.123456+00:00",
        "my run/with odd:characters",
        "x" * 300,
    ],
)
def test_every_dag_run_gets_a_run_id_the_lake_accepts(dag, airflow_run_id):
    rendered = dag.get_template_env().from_string("{{ run_id | lake_run_id }}").render(
        run_id=airflow_run_id
    )
    assert RULE.match(rendered), rendered
    assert rendered.startswith("airflow-")


def test_distinct_dag_runs_get_distinct_run_ids():
    from movielens_dag import lake_run_id

    assert lake_run_id("scheduled__2026-12-01T00:00:00+00:00") == (
        "airflow-scheduled__2026-12-01T00-00-00-00-00-" + lake_run_id.__globals__["hashlib"]
        .sha256(b"scheduled__2026-12-01T00:00:00+00:00").hexdigest()[:10]
    )
    assert lake_run_id("plain-id_1") == "airflow-plain-id_1"
    ids = {
        lake_run_id(i)
        for i in ["a:b", "a-b", "a b", "x" * 200 + "1", "x" * 200 + "2"]
    }
    assert len(ids) == 5
