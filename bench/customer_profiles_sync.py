"""Customer Profiles sync: 100k objects to the local endpoint with 10 % of requests throttled.

    python -m bench.customer_profiles_sync                          # 100,000 objects, ceiling 200 requests/s
    python -m bench.customer_profiles_sync --objects 20000 --ceiling 150

Each phase talks to a fresh endpoint in its own process (as AWS is not in ours), on a free
port under a temp dir (nothing under var/):

1. capacity: the endpoint's unthrottled maximum for BatchPutProfileObject (10 objects per
   request), no rate limit, ``--concurrency`` threads;
2. sync: ``sync_object_type("UnifiedProfile")`` over N synthetic objects (its model's rows),
   10 % of data requests answered ThrottlingException, at ``--ceiling`` requests/s; then
   the endpoint's objects and profiles are compared with the source, object by object;
3. re-run: the same sync at once; the endpoint's request counts must not move;
4. botocore adaptive: the same objects with botocore's retry mode "adaptive" in place of
   our limiter, for ``--adaptive-seconds``: why the sync has its own limiter.

Correctness checks, at any size: 0 objects lost, 0 duplicated, the re-run sends 0 requests
(exit 1 when one fails). Target: requests/s while sending >= 90 % of the ceiling, judged from
20,000 objects up (a shorter backlog is mostly ramp-up) and reported below (exit 3 when judged
and missed). Figures: bench/results/customer_profiles_sync.{json,md} (--out for another directory).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import boto3
import duckdb
import psutil
from botocore.config import Config

from bench import EXIT_TARGET_MISSED
from include import settings
from include.sync import config, customer_profiles, engine, rate_limit, templates
from include.sync import state as state_tables
from include.warehouse.relations import relation
from include.warehouse.seam import DuckDBWarehouse, Warehouse
from local import stack

RESULTS_DIR = Path(__file__).parent / "results"
DOMAIN = "bench"
TYPE = "UnifiedProfile"
THROTTLE_RATE = 0.1
TARGET_RATE_SHARE = 0.9
TARGET_JUDGED_FROM_OBJECTS = 20_000

# Synthetic UnifiedProfile objects: rows of its dbt model (customer_profiles__unified_profile),
# its contract's columns, as the model formats them; {relation} is the model's.
SOURCE_SQL = """
create table {relation} as
select
    'p' || lpad(i::varchar, 7, '0') as profile_id,
    ['Ann', 'Bob', 'Cem', 'Dana', 'Eve'][i % 5 + 1] as first_name,
    'Surname' || (i % 997) as last_name,
    strftime(date '1950-01-01' + (i % 20000)::integer, '%Y-%m-%d') as birth_date,
    'person' || i || '@example.com' as email,
    '+4477009' || lpad((i % 100000)::varchar, 5, '0') as phone,
    (i % 200 + 1) || ' High Street' as address_line1,
    case when i % 7 = 0 then 'Flat ' || (i % 30) end as address_line2,
    ['Leeds', 'York', 'Hull'][i % 3 + 1] as city,
    'LS' || (i % 30) || ' ' || (i % 9) || 'AB' as postal_code,
    null::varchar as state,
    'GB' as country,
    'p' || i || '@mail.example,person' || i || '@example.com' as emails,
    '+4477009' || lpad((i % 100000)::varchar, 5, '0') as phones,
    'L' || i as loyalty_id,
    'crm,web' as source_kinds,
    1 + i % 3 as source_record_count,
    i % 4 as bookings_count,
    strftime(timestamp '2026-10-01' + to_minutes(i % 40000), '%Y-%m-%dT%H:%M:%S.%gZ') as last_booked_at,
    i % 2 as service_interactions_count,
    strftime(timestamp '2026-11-01' + to_minutes(i % 20000), '%Y-%m-%dT%H:%M:%S.%gZ') as last_open_at,
    null::varchar as last_click_at,
    ['email', 'sms', 'whatsapp'][i % 3 + 1] as preferred_channel,
    i % 24 as best_send_hour,
    i % 3 as offers_received,
    i % 2 as offers_viewed,
    i % 50 = 0 as is_email_suppressed,
    i % 40 = 0 as is_sms_opted_out,
    'active,openers' as segments
from range(?) as t (i)
"""


# -- the endpoint, in its own process ------------------------------------------------------
@contextlib.contextmanager
def _endpoint(work: Path, throttle_rate: float) -> Iterator[tuple[str, Path, psutil.Process]]:
    """``python -m local.stack serve --no-s3``: the same server ``make run`` starts."""
    port = stack.free_port()
    var_dir = work / f"endpoint-{port}"
    env = os.environ | {
        "C360_VAR_DIR": str(var_dir),
        "C360_PROFILES_PORT": str(port),
        "C360_S3_PORT": str(stack.free_port()),
    }
    command = [sys.executable, "-m", "local.stack", "serve", "--no-s3", "--throttle-rate", str(throttle_rate)]
    process = subprocess.Popen(command, cwd=settings.PROJECT_ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        process.stdout.readline()  # printed once it listens
        yield f"http://127.0.0.1:{port}", var_dir / "customer_profiles.sqlite", psutil.Process(process.pid)
    finally:
        process.terminate()
        process.wait()


def _busy_cpu() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - times.iowait


def _client(url: str, mode: str = "standard", concurrency: int = 32):
    return boto3.client(
        "customer-profiles",
        endpoint_url=url,
        region_name=stack.REGION,
        aws_access_key_id=stack.LOCAL_ACCESS_KEY,
        aws_secret_access_key=stack.LOCAL_SECRET_KEY,
        config=Config(retries={"mode": mode, "max_attempts": 10}, max_pool_connections=2 * concurrency),
    )


def _request_counts(state: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(state)) as db:
        return {f"{op} {outcome}": n for op, outcome, n in db.execute("select * from request_counts order by 1, 2")}


class _SendClock:
    """BatchPut requests seen by the client: the first send, the last first attempt (the end of the
    backlog: after it only retries of the last requests remain), the last response."""

    def __init__(self, client):
        self.first = self.last_first_attempt = self.last = None
        self.sent = self.sent_by_last_first_attempt = 0
        self._lock = threading.Lock()
        client.meta.events.register("before-send.customer-profiles.BatchPutProfileObject", self._sent)
        client.meta.events.register("needs-retry.customer-profiles.BatchPutProfileObject", self._answered)

    def _sent(self, request, **kwargs) -> None:
        with self._lock:
            now = time.monotonic()
            self.first = self.first or now
            self.sent += 1
            if request.headers.get("amz-sdk-request", b"").startswith(b"attempt=1"):
                self.last_first_attempt, self.sent_by_last_first_attempt = now, self.sent

    def _answered(self, **kwargs) -> None:
        self.last = time.monotonic()

    @property
    def seconds(self) -> float:
        return self.last - self.first

    @property
    def sustained_rate(self) -> float:
        """Requests/s while a backlog was waiting: first send to the last first attempt."""
        backlog = self.last_first_attempt - self.first
        return (self.sent_by_last_first_attempt - 1) / backlog if backlog else 0.0


# -- phases ----------------------------------------------------------------------------------
def _push_batches(client, items: list[engine.Item], concurrency: int, deadline: float | None = None) -> int:
    """BatchPutProfileObject of ``items`` in tens over ``concurrency`` threads; returns objects accepted."""
    target = customer_profiles.ProfileObjects(client, DOMAIN, templates.load_object_type(TYPE))
    batches = [items[i : i + 10] for i in range(0, len(items), 10)]

    def put(batch: list[engine.Item]) -> int:
        if deadline is not None and time.monotonic() > deadline:
            return 0
        return sum(o.ok for o in target.put(batch))

    with ThreadPoolExecutor(concurrency) as pool:
        return sum(pool.map(put, batches))


def capacity(work: Path, items: list[engine.Item], concurrency: int) -> dict:
    with _endpoint(work, 0.0) as (url, state, server):
        client = _client(url, concurrency=concurrency)
        templates.ensure_domain(client, DOMAIN)
        templates.ensure_object_types(client, DOMAIN)
        clock = _SendClock(client)
        server_cpu = sum(server.cpu_times()[:2])
        accepted = _push_batches(client, items, concurrency)
        server_cpu = sum(server.cpu_times()[:2]) - server_cpu
        requests = _request_counts(state)["BatchPutProfileObject ok"]
    assert accepted == len(items), (accepted, len(items))
    return {
        "objects": len(items),
        "requests": requests,
        "seconds": clock.seconds,
        "requests_per_second": requests / clock.seconds,
        "endpoint_cpu_seconds": server_cpu,
    }


def create_sync_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The sync's tables, empty, from their dbt models' SQL (plain SQL: dbt's build would also need the raw zone)."""
    for table in state_tables.COLUMNS:
        model_sql = (settings.DBT_PROJECT_DIR / "models" / "sync" / f"{table}.sql").read_text()
        con.execute(f"create table {relation(table)} as {model_sql}")


def synchronise(work: Path, wh: Warehouse, ceiling: float, concurrency: int) -> dict:
    settings_ = config.SyncSettings(requests_per_second=ceiling, concurrency=concurrency)
    with _endpoint(work, THROTTLE_RATE) as (url, state, server):
        client = _client(url, concurrency=concurrency)
        templates.ensure_domain(client, DOMAIN)
        templates.ensure_object_types(client, DOMAIN)
        limiter = rate_limit.AdaptiveRateLimiter(ceiling).attach(client)
        clock = _SendClock(client)
        before, cpu = _request_counts(state), (sum(server.cpu_times()[:2]), time.process_time(), _busy_cpu())
        started = time.perf_counter()
        first = customer_profiles.sync_object_type(wh, client, DOMAIN, TYPE, "bench-1", settings_)
        total_seconds = time.perf_counter() - started
        endpoint_cpu, own_cpu = sum(server.cpu_times()[:2]) - cpu[0], time.process_time() - cpu[1]
        others_cpu = max(0.0, _busy_cpu() - cpu[2] - endpoint_cpu - own_cpu)
        after_first = _request_counts(state)
        rerun_started = time.perf_counter()
        second = customer_profiles.sync_object_type(wh, client, DOMAIN, TYPE, "bench-2", settings_)
        rerun_seconds = time.perf_counter() - rerun_started
        after_second = _request_counts(state)
        check = verify(wh, state)
    sent = {k: after_first.get(k, 0) - before.get(k, 0) for k in after_first}
    requests = sent.get("BatchPutProfileObject ok", 0) + sent.get("BatchPutProfileObject throttled", 0)
    return {
        "ceiling_requests_per_second": ceiling,
        "concurrency": concurrency,
        "throttle_rate": THROTTLE_RATE,
        "summary": first,
        "sync_seconds": total_seconds,
        "send_seconds": clock.seconds,
        "requests": requests,
        "requests_by_outcome": sent,
        "limiter_requests": limiter.requests,
        "throttled": limiter.throttled,
        "backlog_seconds": clock.last_first_attempt - clock.first,
        "sustained_requests_per_second": clock.sustained_rate,
        "rate_share_of_ceiling": clock.sustained_rate / ceiling,
        "requests_per_second": requests / clock.seconds,
        "accepted_requests_per_second": sent.get("BatchPutProfileObject ok", 0) / clock.seconds,
        "objects_per_second": first["sent"] / clock.seconds,
        "cpu_seconds": {"endpoint": endpoint_cpu, "sync_process": own_cpu, "other_processes": others_cpu},
        "verification": check,
        "rerun": {
            "summary": second,
            "seconds": rerun_seconds,
            "requests": sum(after_second.values()) - sum(after_first.values()),
        },
    }


def verify(wh: Warehouse, state: Path) -> dict:
    """The endpoint against the source, object by object, and the log against both."""
    source = {item.key: item.body for item in templates.load_object_type(TYPE).items(wh)}
    with contextlib.closing(sqlite3.connect(state)) as db:
        stored = {}
        for (body,) in db.execute("select body from profile_objects where object_type = ?", [TYPE]):
            key = json.loads(body)["profile_id"]
            stored.setdefault(key, []).append(body)
        profiles = db.execute("select count(*) from profiles").fetchone()[0]
        accounts = db.execute("select count(distinct json_extract(body, '$.AccountNumber')) from profiles").fetchone()[
            0
        ]
        keys = db.execute("select count(*) from profile_keys where key_name = ?", [config.PROFILE_KEY]).fetchone()[0]
    sends = wh.query_df(
        "select count(*) as n, count(distinct object_key) as objects "
        f"from {wh.relation(state_tables.LOG)} where status = 'sent'"
    ).iloc[0]
    return {
        "source_objects": len(source),
        "endpoint_objects": sum(len(v) for v in stored.values()),
        "lost": sum(1 for key in source if key not in stored),
        "different": sum(1 for key, body in source.items() if key in stored and stored[key] != [body]),
        "extra": sum(1 for key in stored if key not in source),
        "duplicated_objects": sum(len(v) - 1 for v in stored.values()),
        "profiles": profiles,
        "duplicated_profiles": profiles - accounts,
        "profile_keys": keys,
        "log_sent_rows": int(sends["n"]),
        "log_sent_objects": int(sends["objects"]),
    }


def botocore_adaptive(work: Path, items: list[engine.Item], ceiling: float, concurrency: int, seconds: float) -> dict:
    """The same objects with retries mode "adaptive" (its own client-side limiter) instead of ours."""
    with _endpoint(work, THROTTLE_RATE) as (url, state, _):
        client = _client(url, mode="adaptive", concurrency=concurrency)
        templates.ensure_domain(client, DOMAIN)
        templates.ensure_object_types(client, DOMAIN)
        clock = _SendClock(client)
        accepted = _push_batches(client, items, concurrency, deadline=time.monotonic() + seconds)
        counts = _request_counts(state)
    requests = counts.get("BatchPutProfileObject ok", 0) + counts.get("BatchPutProfileObject throttled", 0)
    return {
        "seconds": clock.seconds,
        "objects_accepted": accepted,
        "requests": requests,
        "requests_per_second": requests / clock.seconds,
        "rate_share_of_ceiling": requests / clock.seconds / ceiling,
    }


# -- report ----------------------------------------------------------------------------------
def checks(result: dict) -> list[tuple[bool, str, str]]:
    """Correctness, at any size: what the sync must never get wrong."""
    s, v = result["sync"], result["sync"]["verification"]
    once = v["log_sent_rows"] == v["log_sent_objects"] == v["source_objects"]
    return [
        (
            v["lost"] == 0 and v["different"] == 0,
            "0 objects lost (each source object on the endpoint, byte for byte)",
            f"{v['lost']} lost, {v['different']} different",
        ),
        (
            v["duplicated_objects"] == v["duplicated_profiles"] == v["extra"] == 0 and once,
            "0 duplicated (one object and one profile per source row, each sent once)",
            f"{v['duplicated_objects']} objects, {v['duplicated_profiles']} profiles, {v['extra']} extra; "
            f"{v['log_sent_rows']} sends of {v['log_sent_objects']} objects",
        ),
        (
            s["rerun"]["requests"] == 0 and s["rerun"]["summary"]["sent"] == 0,
            "an immediate re-run sends 0 requests",
            f"{s['rerun']['requests']} requests",
        ),
    ]


def targets(result: dict) -> list[tuple[bool, str, str]]:
    """Performance: judged from TARGET_JUDGED_FROM_OBJECTS objects up."""
    s = result["sync"]
    share, rate, ceiling = (
        s["rate_share_of_ceiling"],
        s["sustained_requests_per_second"],
        s["ceiling_requests_per_second"],
    )
    return [
        (
            share >= TARGET_RATE_SHARE,
            f"sustained requests/s >= {TARGET_RATE_SHARE:.0%} of the ceiling",
            f"{rate:.1f} of {ceiling:.0f} ({share:.1%})",
        ),
    ]


def write(result: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "customer_profiles_sync.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    s, v, c, a = result["sync"], result["sync"]["verification"], result["capacity"], result["botocore_adaptive"]
    by_outcome, cpu, rerun = s["requests_by_outcome"], s["cpu_seconds"], s["rerun"]
    rows = [
        ("endpoint capacity, unthrottled, no limit: BatchPut requests/s", f"{c['requests_per_second']:,.0f}"),
        ("configured ceiling, requests/s", f"{s['ceiling_requests_per_second']:,.0f}"),
        ("concurrency (threads)", s["concurrency"]),
        ("objects (UnifiedProfile)", f"{v['source_objects']:,}"),
        ("requests (BatchPut, 10 objects each, throttled retries included)", f"{s['requests']:,}"),
        ("of which throttled (ThrottlingException)", f"{by_outcome.get('BatchPutProfileObject throttled', 0):,}"),
        (
            "**sustained requests/s** (first request → last first attempt)",
            f"**{s['sustained_requests_per_second']:.1f}** ({s['rate_share_of_ceiling']:.1%} of the ceiling) "
            f"over {s['backlog_seconds']:.1f} s",
        ),
        (
            "requests/s · accepted requests/s · objects/s, first request → last response",
            f"{s['requests_per_second']:.1f} · {s['accepted_requests_per_second']:.1f} · "
            f"{s['objects_per_second']:,.0f} over {s['send_seconds']:.1f} s",
        ),
        ("whole sync s (query, hashing, sending, state writes)", f"{s['sync_seconds']:.1f}"),
        (
            "CPU s while syncing: endpoint process / sync process / other processes (shared machine)",
            f"{cpu['endpoint']:.1f} / {cpu['sync_process']:.1f} / {cpu['other_processes']:.1f}",
        ),
        ("endpoint objects · profiles", f"{v['endpoint_objects']:,} · {v['profiles']:,}"),
        (
            "lost · different · extra · duplicated",
            f"{v['lost']} · {v['different']} · {v['extra']} · {v['duplicated_objects']}",
        ),
        (
            "re-run: requests · sent · unchanged · s",
            f"{rerun['requests']} · {rerun['summary']['sent']} · {rerun['summary']['unchanged']:,} · "
            f"{rerun['seconds']:.1f}",
        ),
        (
            "botocore adaptive mode instead, requests/s",
            f"{a['requests_per_second']:.1f} ({a['rate_share_of_ceiling']:.1%} of the ceiling, "
            f"over {a['seconds']:.0f} s)",
        ),
    ]
    lines = [
        "# Customer Profiles sync",
        "",
        f"{result['when']} · {result['machine']} · `{result['command']}`",
        "",
        '`sync_object_type("UnifiedProfile")` over synthetic objects (rows of its dbt model) to the local endpoint '
        "(`python -m local.stack serve --no-s3`, its own process) with "
        f"{THROTTLE_RATE:.0%} of data requests answered ThrottlingException; botocore standard retries, our "
        "AdaptiveRateLimiter at the ceiling. Then the endpoint's SQLite is compared with the source object by "
        "object, and the sync is run again at once.",
        "",
        "| | |",
        "|---|---:|",
        *(f"| {name} | {value} |" for name, value in rows),
        "",
        "## Correctness checks",
        "",
        *(f"- **{'PASS' if c['pass'] else 'FAIL'}** {c['check']} — {c['measured']}" for c in result["checks"]),
        "",
        "## Targets",
        "",
        *(f"- **{_verdict(t)}** {t['target']} — {t['measured']}" for t in result["targets"]),
        "",
    ]
    (out / "customer_profiles_sync.md").write_text("\n".join(lines))


def _verdict(target: dict) -> str:
    if target["judged"]:
        return "PASS" if target["pass"] else "FAIL"
    return f"not judged below {TARGET_JUDGED_FROM_OBJECTS:,} objects ({'met' if target['pass'] else 'missed'})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--ceiling", type=float, default=200.0, help="requests per second")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--capacity-objects", type=int, default=20_000)
    parser.add_argument("--adaptive-seconds", type=float, default=30.0)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="results directory (default: bench/results)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="c360-bench-sync-") as tmp:
        work = Path(tmp)
        with duckdb.connect(str(work / "warehouse.duckdb")) as con:
            con.execute(SOURCE_SQL.format(relation=relation(templates.model_name(TYPE))), [args.objects])
            con.execute(
                "create table profile_merges (old_profile_id varchar, new_profile_id varchar, change_kind varchar, "
                "moved_records bigint, recorded_for timestamp)"
            )
            create_sync_tables(con)
        wh = DuckDBWarehouse(work / "warehouse.duckdb")
        items = templates.load_object_type(TYPE).items(wh)
        print(f"{len(items):,} objects; measuring the endpoint's capacity…", flush=True)
        result = {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}) · "
            f"{psutil.virtual_memory().total / 1024**3:.1f} GiB RAM",
            "command": " ".join(["python -m bench.customer_profiles_sync", *(sys.argv[1:] if argv is None else argv)]),
            "load_average_1m_before": os.getloadavg()[0],
            "capacity": capacity(work, items[: args.capacity_objects], args.concurrency),
        }
        print(f"capacity {result['capacity']['requests_per_second']:.0f} requests/s; syncing…", flush=True)
        result["sync"] = synchronise(work, wh, args.ceiling, args.concurrency)
        print(f"sync {result['sync']['sustained_requests_per_second']:.1f} requests/s; botocore adaptive…", flush=True)
        result["botocore_adaptive"] = botocore_adaptive(
            work, items, args.ceiling, args.concurrency, args.adaptive_seconds
        )
        result["load_average_1m_after"] = os.getloadavg()[0]
    result["checks"] = [{"pass": ok, "check": name, "measured": detail} for ok, name, detail in checks(result)]
    judged = args.objects >= TARGET_JUDGED_FROM_OBJECTS
    result["targets"] = [
        {"pass": ok, "target": name, "measured": detail, "judged": judged} for ok, name, detail in targets(result)
    ]
    write(result, args.out)
    print((args.out / "customer_profiles_sync.md").read_text())
    if not all(c["pass"] for c in result["checks"]):
        print("a correctness check failed", file=sys.stderr)
        return 1
    return 0 if all(t["pass"] for t in result["targets"] if t["judged"]) else EXIT_TARGET_MISSED


if __name__ == "__main__":
    sys.exit(main())
