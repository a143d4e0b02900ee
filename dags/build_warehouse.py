"""
### Build the warehouse

Runs the dbt project over an interval of ingest hours as **one** `dbt build` (the
`dbt.dbt_producer_watcher` task, Cosmos' watcher mode: it first declares the raw zone, then
builds every model with its tests on dbt's threads); each model and its tests have a task in
the `dbt` group that turns green or red when the build reports them. Then **validate**: the
Great Expectations checkpoints
`landing` (reconciliation against the landing manifests), `canonical_events` (events and their
email/phone destinations) and `profiles` (unified profiles, their links, every record linked
once), then writes the HTML dashboard to `var/reports/`. Identity resolution re-resolves
every record ingested before the interval's end, carrying profile ids forward.

**The interval.** Triggered by `raw_zone_landed` (one event per landing run that landed lines);
**resolve_interval** covers every hour the triggering landing runs reported, and those of every
such run of the `C360_BUILD_CATCH_UP_HOURS` (72) before this one was triggered that no passed
build has covered: a failed build's hours (dbt or the gate), a landing whose event Airflow 3.3
dropped (apache/airflow#56050). It records the landing runs it covers (XCom
`covered_landing_events`); a build covered them when it updated `validated_marts`. To rebuild a
range by hand (after a mapping fix, say) trigger with **interval_start** and **interval_end**: it
covers the landing runs all of whose hours lie in the range.

A failed expectation fails **validate** and so never updates `validated_marts`: the
Customer Profiles sync does not run on bad data. The task log names each failed expectation,
sample values (identifiers masked: `j***@e***.com`, `+44********56`) and its data docs page;
the docs (every suite, run and failure, masked alike) open offline from
`var/reports/data_docs/index.html`, or the S3 site under `C360_DATA_DOCS_S3_PREFIX`.

**validate_suppressions** is the SES suppression list's own gate: `suppression_list` (one row
per address, a reason SES takes) and the interval's SES landing reconciled. It runs whatever
**validate** and the other dbt models did, but only when `suppression_list` and
`landing_reconciliation` were built and tested (their tasks in the `dbt` group); it waits for
**warehouse_released** (every other task of the run done, so the SES sync it triggers never
meets the gate's or dbt's hold on the DuckDB file). When it passes it updates
`validated_suppressions`, and **sync_ses_suppression** pushes new bounces and complaints even
though an unrelated check failed. **fail_if_the_build_failed** then fails the run when dbt,
validate or the dashboard failed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import TriggerRule, dag, task
from airflow.sdk.exceptions import AirflowFailException

from include import settings
from include.orchestration import dbt_config
from include.orchestration.assets import RAW_ZONE_LANDED, VALIDATED_MARTS, VALIDATED_SUPPRESSIONS
from include.orchestration.defaults import DEFAULT_ARGS, interval_params


@dag(
    dag_id="build_warehouse",
    schedule=[RAW_ZONE_LANDED],
    start_date=datetime(2026, 11, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    # DuckDB has one writer at a time: locally the dbt tasks run one by one.
    max_active_tasks=1 if settings.DBT_TARGET == "local" else 16,
    default_args=DEFAULT_ARGS,
    tags=["customer360", "dbt", "quality"],
    doc_md=__doc__,
    params=interval_params("First ingest hour (UTC, ISO)", "Hour after the last one (UTC, ISO)"),
)
def build_warehouse():
    @task(inlets=[RAW_ZONE_LANDED, VALIDATED_MARTS])
    def resolve_interval(
        params=None,
        triggering_asset_events=None,
        inlet_events=None,
        dag_run=None,
        data_interval_start=None,
        data_interval_end=None,
        ti=None,
    ) -> dict[str, str]:
        # Task modules are imported in the tasks: every task process parses this file (a task
        # per dbt node), and pandas, Great Expectations and boto3 would triple its cost.
        from include.orchestration import build

        def covered_by(passed):
            """The landing events the build behind a validated_marts event covered, as it recorded them."""
            return ti.xcom_pull(
                dag_id=passed.source_dag_id,
                task_ids="resolve_interval",
                key=build.COVERED_KEY,
                run_id=passed.source_run_id,
            )

        events = build.build_events(
            triggering_asset_events, inlet_events, RAW_ZONE_LANDED, VALIDATED_MARTS, dag_run.run_after, covered_by
        )
        interval = build.interval_for_run(params, events, (data_interval_start, data_interval_end))
        ti.xcom_push(key=build.COVERED_KEY, value=build.covered(events, interval))
        return interval

    # A failed expectation fails the same way on a retry: fail at once.
    @task(outlets=[VALIDATED_MARTS], retries=0)
    def validate(interval: dict[str, str]) -> list[dict]:
        from customer360_aws.hooks import LakeS3Hook
        from include.quality import tasks

        return tasks.validate(LakeS3Hook(aws_conn_id=settings.S3_CONN_ID).get_conn(), interval)

    @task
    def write_dashboard(interval: dict[str, str]) -> str:
        from include.reporting import tasks

        return tasks.write_dashboard(interval)

    # A failed check fails the same way on a retry; anything else (the warehouse busy: the profiles
    # sync may be writing it by now) is retried.
    @task(outlets=[VALIDATED_SUPPRESSIONS])
    def validate_suppressions(interval: dict[str, str]) -> list[dict]:
        from customer360_aws.hooks import LakeS3Hook
        from include.quality import tasks
        from include.quality.gate import QualityGateFailed

        try:
            return tasks.validate_suppressions(LakeS3Hook(aws_conn_id=settings.S3_CONN_ID).get_conn(), interval)
        except QualityGateFailed as failed:
            raise AirflowFailException(str(failed)) from failed

    # Airflow judges a run by its last tasks, and validate_suppressions runs whatever validate did:
    # this one fails the run when dbt, validate or the dashboard failed (each alerted already).
    @task(trigger_rule=TriggerRule.ONE_FAILED, retries=0, on_failure_callback=[])
    def fail_if_the_build_failed() -> None:
        raise AirflowFailException("the dbt build, validate or write_dashboard failed: see that task")

    interval = resolve_interval()
    dbt = dbt_config.dbt_task_group("dbt", dbt_config.interval_vars("resolve_interval"))
    validated = validate(interval)
    dashboard = write_dashboard(interval)
    interval >> dbt >> validated >> dashboard >> fail_if_the_build_failed()
    # Nothing of the run holds the warehouse any more, whatever each task's outcome.
    warehouse_released = EmptyOperator(task_id="warehouse_released", trigger_rule=TriggerRule.ALL_DONE)
    [dbt, validated, dashboard] >> warehouse_released
    # The suppressions' own inputs built and tested: each model's task (its build and its tests).
    suppression_inputs = [
        dbt.children[f"dbt.{model}_model_build"] for model in ("suppression_list", "landing_reconciliation")
    ]
    [*suppression_inputs, warehouse_released] >> validate_suppressions(interval)


build_warehouse()
