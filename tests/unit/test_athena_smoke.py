"""make athena-smoke's refusal and its cleanup plan, with the AWS clients stubbed."""

from __future__ import annotations

from datetime import UTC, datetime
from unittest import mock

import pytest

from include import settings
from local import athena_smoke
from local.athena_smoke import AWS_ENVIRONMENT, Created, missing_configuration

HOUR = datetime(2000, 1, 1, tzinfo=UTC)
AWS_EXTRA = {"region_name": "eu-west-1"}
READY = {
    "environ": {name: "set" for name in AWS_ENVIRONMENT},
    "connections": {"c360_s3": AWS_EXTRA, "c360_athena": AWS_EXTRA},
    "buckets": {"landing": True, "raw": True},
    "manifest_adapter": "athena",
    "confirmed": True,
}


@pytest.fixture(autouse=True)
def athena_target(monkeypatch):
    monkeypatch.setattr(settings, "DBT_TARGET", "athena")


def test_a_complete_configuration_runs():
    assert missing_configuration(**READY) == []


def test_the_refusal_lists_everything_missing(monkeypatch):
    monkeypatch.setattr(settings, "DBT_TARGET", "local")
    missing = missing_configuration(
        environ={"C360_RAW_BUCKET": "raw", "C360_LANDING_BUCKET": ""},
        connections={"c360_s3": None, "c360_athena": AWS_EXTRA},
        buckets={"raw": False},
        manifest_adapter="duckdb",
        confirmed=False,
    )
    text = "\n".join(missing)
    assert "C360_DBT_TARGET=athena (it is 'local')" in text
    unset = next(line for line in missing if line.startswith("the environment"))
    assert "C360_LANDING_BUCKET" in unset and "C360_RAW_BUCKET" not in unset
    assert "manifest.json is duckdb" in text
    assert "the Airflow connection c360_s3" in text and "c360_athena" not in text
    assert "the bucket raw" in text
    assert "--confirm" in text
    assert len(missing) == 6


def test_a_connection_to_the_local_stack_is_refused():
    local = {"region_name": "us-east-1", "service_config": {"s3": {"endpoint_url": "http://127.0.0.1:9000"}}}
    missing = missing_configuration(**READY | {"connections": {"c360_athena": local}})
    assert missing == ["the connection c360_athena points at this machine (http://127.0.0.1:9000): the local stack"]


def test_only_the_confirmation_missing_still_refuses():
    assert missing_configuration(**READY | {"confirmed": False}) == [
        "--confirm (make athena-smoke CONFIRM=1): the smoke writes to the account, then removes it"
    ]


def test_the_raw_prefixes_are_the_hours_partitions_quarantine_and_manifests():
    prefixes = athena_smoke.raw_prefixes(HOUR)
    assert "ses/year=2000/month=01/day=01/hour=00/" in prefixes
    assert "_quarantine/stream=ses/year=2000/month=01/day=01/hour=00/" in prefixes
    assert "_manifests/customers/year=2000/month=01/day=01/hour=00/" in prefixes
    assert all("year=2000/month=01/day=01/hour=00/" in p for p in prefixes)


def test_the_sync_rows_deleted_are_the_smokes_only():
    created = Created(HOUR, profile_ids={"p1"}, suppressed_emails={"a@example.com"}, sync_run_ids=["manual__x"])
    deletes = athena_smoke.sync_state_deletes(created)
    assert ("delete from {customer_profiles_sync_state} where profile_id = ?", ["p1"]) in deletes
    assert (
        "delete from {customer_profiles_sync_log} where object_type = ? and object_key = ?",
        ["SesSuppressedDestination", "a@example.com"],
    ) in deletes
    assert ("delete from {customer_profiles_sync_runs} where run_id like ?", ["manual__x#%"]) in deletes
    assert len(deletes) == 1 + 2 + 2


class NotFound(Exception):
    pass


def stub_clients(raw_keys: list[str]):
    s3 = mock.Mock()
    s3.delete_objects.return_value = {}
    s3.get_paginator.return_value.paginate.side_effect = lambda **kw: [
        {"Contents": [{"Key": k} for k in raw_keys if k.startswith(kw["Prefix"])]}
    ]
    profiles = mock.Mock()
    profiles.exceptions.ResourceNotFoundException = NotFound
    profiles.search_profiles.side_effect = lambda **kw: {"Items": [{"ProfileId": f"cp-{kw['Values'][0]}"}]}
    ses = mock.Mock()
    ses.exceptions.NotFoundException = NotFound
    ses.delete_suppressed_destination.side_effect = [None, NotFound()]  # the second gone already
    return athena_smoke.Clients(s3, profiles, ses)


def test_the_cleanup_removes_what_the_smoke_created_and_reports_what_it_could_not():
    raw = [
        "ses/year=2000/month=01/day=01/hour=00/part-00000.json.gz",
        "_manifests/ses/year=2000/month=01/day=01/hour=00/manifest.json",
    ]
    clients = stub_clients(raw + ["ses/year=2000/month=01/day=01/hour=01/part-00000.json.gz"])
    created = Created(
        HOUR, landing_keys=["ses/2000/01/01/00/f1"], profile_ids={"p1", "p2"},
        suppressed_emails={"a@example.com", "b@example.com"}, sync_run_ids=["manual__x"],
    )  # fmt: skip
    wh = mock.Mock()
    wh.relation.side_effect = lambda name: f"c360.{name}"
    wh.execute.side_effect = [1, RuntimeError("Iceberg commit conflict")] + [1] * 10
    rebuild = mock.Mock(side_effect=RuntimeError("build_warehouse ended failed (validate)"))
    said: list[str] = []

    steps = athena_smoke.cleanup_steps(created, clients, rebuild, wh)
    failed = athena_smoke.run_cleanup(steps, said.append)

    deleted = [call.kwargs for call in clients.s3.delete_objects.call_args_list]
    assert deleted[0] == {"Bucket": settings.LANDING_BUCKET, "Delete": {"Objects": [{"Key": "ses/2000/01/01/00/f1"}]}}
    assert deleted[1]["Bucket"] == settings.RAW_BUCKET
    assert sorted(o["Key"] for o in deleted[1]["Delete"]["Objects"]) == sorted(raw)  # not hour 01
    assert sorted(c.kwargs["ProfileId"] for c in clients.profiles.delete_profile.call_args_list) == ["cp-p1", "cp-p2"]
    assert clients.ses.delete_suppressed_destination.call_count == 2
    # A failed step stops neither the others nor the report of it.
    assert [f.split(":")[0] for f in failed] == [
        "warehouse rows (build_warehouse over the emptied hour)",
        "sync state, log and runs rows",
    ]
    assert "Iceberg commit conflict" in failed[1]
    assert any(line.startswith("  NOT removed warehouse rows") for line in said)
    assert "c360.customer_profiles_sync_state" in wh.execute.call_args_list[0].args[0]
