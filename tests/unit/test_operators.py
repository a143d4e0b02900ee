"""The sync operators take one run's deletion allowance from the DAG's params."""

from types import SimpleNamespace

import pytest

from customer360_aws.operators import SesSuppressionSyncOperator


@pytest.mark.parametrize("param,expected", [(None, 0.2), (1, 1.0), (0.5, 0.5)])
def test_max_delete_share_param_overrides_the_guard_for_one_run(monkeypatch, param, expected):
    monkeypatch.delenv("C360_SYNC_MAX_DELETE_SHARE", raising=False)
    operator = SesSuppressionSyncOperator(task_id="sync_ses_suppression_list")
    seen = {}
    monkeypatch.setattr(operator, "run", lambda settings, run_id: seen.update(share=settings.max_delete_share))

    operator.execute({"params": {"max_delete_share": param}, "run_id": "r", "ti": SimpleNamespace(try_number=1)})

    assert seen == {"share": expected}
