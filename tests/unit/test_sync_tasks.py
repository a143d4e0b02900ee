"""The sync task bodies: one run's deletion allowance from the DAG's params; data problems fail
without retrying, outages are retried."""

from unittest import mock

import pytest
from airflow.sdk.exceptions import AirflowFailException

from include.sync import engine, tasks
from tests.unit.conftest import endpoint_client


@pytest.mark.parametrize("param,expected", [(None, 0.2), (1, 1.0), (0.5, 0.5)])
def test_max_delete_share_param_overrides_the_guard_for_one_run(monkeypatch, param, expected):
    monkeypatch.delenv("C360_SYNC_MAX_DELETE_SHARE", raising=False)
    seen = {}
    monkeypatch.setattr(tasks, "warehouse", lambda: None)
    monkeypatch.setattr(
        tasks.ses_suppression,
        "sync_suppression_list",
        lambda wh, client, run_id, settings, erased: seen.update(share=settings.max_delete_share, run_id=run_id),
    )
    monkeypatch.setattr(tasks, "erased_subjects", lambda: None)

    tasks.sync_ses_suppression_list(mock.MagicMock(), {"max_delete_share": param}, "r", 1)

    assert seen == {"share": expected, "run_id": "r#1"}


@pytest.mark.parametrize("problem", [engine.ContractError, engine.SyncRejected, engine.SyncRefused])
def test_data_problems_fail_without_retrying(problem):
    with pytest.raises(AirflowFailException, match="the data"), tasks.failing_on_data_problems():
        raise problem("the data")


def test_an_outage_is_left_to_airflows_retries(monkeypatch, endpoint):
    monkeypatch.setattr(tasks, "warehouse", lambda: None)
    monkeypatch.setattr(tasks.templates, "check_sources", lambda wh, queries: None)
    endpoint.outage_flag.touch()
    refused = pytest.raises(engine.TargetUnavailable, match="Customer Profiles domain: AccessDeniedException")
    with refused, tasks.failing_on_data_problems():  # not turned into AirflowFailException
        tasks.prepare_domain(endpoint_client(endpoint), {})
