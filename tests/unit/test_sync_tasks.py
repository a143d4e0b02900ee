"""The sync task bodies take one run's deletion allowance from the DAG's params."""

import contextlib
from unittest import mock

import pytest

from include.sync import tasks


@pytest.mark.parametrize("param,expected", [(None, 0.2), (1, 1.0), (0.5, 0.5)])
def test_max_delete_share_param_overrides_the_guard_for_one_run(monkeypatch, param, expected):
    monkeypatch.delenv("C360_SYNC_MAX_DELETE_SHARE", raising=False)
    seen = {}
    monkeypatch.setattr(tasks.warehouse, "connect", lambda: contextlib.nullcontext())
    monkeypatch.setattr(
        tasks.ses_suppression,
        "sync_suppression_list",
        lambda con, client, run_id, settings: seen.update(share=settings.max_delete_share, run_id=run_id),
    )

    tasks.sync_ses_suppression_list(mock.MagicMock(), {"max_delete_share": param}, "r", 1)

    assert seen == {"share": expected, "run_id": "r#1"}
