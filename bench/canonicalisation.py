"""Canonicalisation throughput: our batch pipeline against the seed's per-record design, in one run.

    python -m bench.canonicalisation --events 1000000 --events 10000000

For each size: sample data for the engagement_events streams (ses, sms_voice, whatsapp; not
timed) is uploaded to a private local stack (timed apart), then timed: landing every
(stream, hour) and dbt building ``+engagement_events``. The rows of engagement_events must be
exactly the generator's events. On the same stack, the baseline maps a fixed subset of the raw
records one at a time in plain Python, as a per-record Lambda does, with one PutObject per
canonical event, and again without the writes. Peak memory is the RSS of this process (which
also serves S3) plus its children, sampled throughout.

Figures go to bench/results/canonicalisation.json and .md (rewritten after each size).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import UTC, datetime, timedelta
from itertools import chain, islice
from multiprocessing import get_context
from pathlib import Path

import boto3
import duckdb
import psutil

from include import landing, local_stack, run_local, sample_data, settings, warehouse

STREAMS = ("ses", "sms_voice", "whatsapp")  # what engagement_events is built from
DAY = sample_data.DEFAULT_DAY
HOURS = 24
SEED = 7
HOUR = timedelta(hours=1)
DBT = Path(sys.executable).parent / "dbt"
BASELINE_BUCKET = "c360-bench-per-record"
RESULTS_DIR = Path(__file__).parent / "results"
GIB = 1024**3

TARGET_RATIO = 100  # ours ÷ per-record baseline with writes
TARGET_EVENTS_PER_MINUTE = 1_000_000  # end to end: landing + dbt
TARGET_PEAK_BYTES = 2 * GIB
TARGET_PEAK_AT_EVENTS = 10_000_000


# -- the local stack -----------------------------------------------------------------------
def _free_port() -> int:
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in (local_stack.S3_PORT, local_stack.PROFILES_PORT):  # the shared stack's
            return port


def _s3_client(port: int):
    return boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id=local_stack.LOCAL_ACCESS_KEY,
        aws_secret_access_key=local_stack.LOCAL_SECRET_KEY,
        region_name=local_stack.REGION,
    )


@contextlib.contextmanager
def _stack(var_dir: Path) -> Iterator[tuple[int, int]]:
    s3_port, profiles_port = _free_port(), _free_port()
    stack = local_stack.LocalStack(var_dir, s3_port, profiles_port).start()
    try:
        yield s3_port, profiles_port
    finally:
        # moto's buckets live in this process beyond the server: drop them before the next size.
        with contextlib.suppress(OSError):
            urllib.request.urlopen(
                urllib.request.Request(f"http://127.0.0.1:{s3_port}/moto-api/reset", method="POST"), timeout=30
            )
        stack.stop()


# -- memory --------------------------------------------------------------------------------
class MemoryMonitor(threading.Thread):
    """Samples the RSS of this process (incl. the S3 server) and of its children, keeping peaks per phase."""

    def __init__(self, interval: float = 0.1):
        super().__init__(daemon=True)
        self.interval, self.done = interval, threading.Event()
        self.process = psutil.Process()
        self.peak: dict[str, int] = {}

    @contextlib.contextmanager
    def phase(self) -> Iterator[dict[str, int]]:
        peak = self.peak = {"total": 0, "this_process": 0, "children": 0}
        try:
            yield peak
        finally:
            self.sample()
            self.peak = {}

    def sample(self) -> None:
        own, children = self.process.memory_info().rss, 0
        for child in self.process.children(recursive=True):
            with contextlib.suppress(psutil.Error):  # a child may end between listing and reading
                children += child.memory_info().rss
        peak = self.peak
        for key, value in (("total", own + children), ("this_process", own), ("children", children)):
            if key in peak:
                peak[key] = max(peak[key], value)

    def run(self) -> None:
        while not self.done.wait(self.interval):
            self.sample()


# -- ours: landing + dbt -------------------------------------------------------------------
_worker_s3 = None


def _init_worker(s3_port: int) -> None:
    global _worker_s3
    _worker_s3 = _s3_client(s3_port)


def _worker_pid(_: int) -> int:
    time.sleep(0.2)  # long enough that every worker takes one
    return os.getpid()


def _land(stream: str, hour: datetime) -> tuple[str, int, int, int]:
    manifest = landing.land_hour(_worker_s3, stream, hour, settings.LANDING_BUCKET, settings.RAW_BUCKET)
    return stream, manifest.lines_read, manifest.landed, manifest.quarantined


def _people_for(events: int, work: Path) -> int:
    """People for about ``events`` events: volume is linear in people, so a small run calibrates it."""
    calibration = 10_000
    counts = sample_data.generate(
        work / "calibration", people=calibration, day=DAY, hours=HOURS, seed=SEED, streams=STREAMS
    )
    shutil.rmtree(work / "calibration")
    return max(1, round(events * calibration / sum(c["events"] for c in counts.values())))


def _land_all(s3_port: int, input_dir: Path, workers: int, monitor: MemoryMonitor) -> dict:
    """land_hour for every (stream, hour) over a pool; only the landing itself is timed."""
    sizes = {(p.parts[-6], landing.hour_from_key(p.as_posix())): p.stat().st_size for p in input_dir.rglob("*.gz")}
    # Biggest hours first, so neither worker is left with a long one at the end.
    tasks = sorted(
        ((stream, DAY + h * HOUR) for stream in STREAMS for h in range(HOURS)),
        key=lambda task: -sizes.get(task, 0),
    )
    totals = {stream: {"lines_read": 0, "landed": 0, "quarantined": 0} for stream in STREAMS}
    with ProcessPoolExecutor(
        workers, mp_context=get_context("spawn"), initializer=_init_worker, initargs=(s3_port,)
    ) as pool:
        # Start every worker (imports, client) before the clock does.
        while len(set(pool.map(_worker_pid, range(workers)))) < workers:
            pass
        with monitor.phase() as peak:
            started = time.perf_counter()
            for done in as_completed([pool.submit(_land, *task) for task in tasks]):
                stream, lines_read, landed, quarantined = done.result()
                for key, value in (("lines_read", lines_read), ("landed", landed), ("quarantined", quarantined)):
                    totals[stream][key] += value
            seconds = time.perf_counter() - started
    return {"seconds": seconds, "tasks": len(tasks), "by_stream": totals, "peak": peak}


def _dbt(args: list[str], env: dict[str, str], work: Path) -> float:
    command = [str(DBT), *args, "--profiles-dir", ".", "--target", "local"]
    command += ["--target-path", str(work / "dbt-target"), "--log-path", str(work / "dbt-logs")]
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=settings.DBT_PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    seconds = time.perf_counter() - started
    if done.returncode:
        tail = "\n".join(done.stdout.splitlines()[-60:])
        raise SystemExit(f"dbt {' '.join(args[:2])} failed (exit {done.returncode}); its output ends:\n{tail}")
    return seconds


def _build(s3_port: int, profiles_port: int, var_dir: Path, work: Path, monitor: MemoryMonitor) -> dict:
    env = os.environ | local_stack.local_environment(s3_port, profiles_port, var_dir)
    interval = {"interval_start": f"{DAY:%Y-%m-%d %H:%M:%S}", "interval_end": f"{DAY + HOURS * HOUR:%Y-%m-%d %H:%M:%S}"}
    with monitor.phase() as peak:
        declare = _dbt(["run-operation", "create_raw_relations"], env, work)
        build = _dbt(
            ["build", "--select", "+engagement_events", "--exclude", "test_type:unit", "--vars", json.dumps(interval)],
            env,
            work,
        )
    return {"seconds": declare + build, "run_operation_s": declare, "build_s": build, "peak": peak}


def _check_landing(totals: dict, counts: dict) -> None:
    for stream in STREAMS:
        got, made = totals[stream], counts[stream]
        expected = {"landed": made["records"] + made["redeliveries"], "quarantined": made["malformed"]}
        if any(got[key] != value for key, value in expected.items()):
            raise SystemExit(f"landing {stream}: {got} but the generator wrote {made}")


def measure(events: int, workers: int, baseline_records: int, monitor: MemoryMonitor) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"c360-bench-{events}-"))
    try:
        people = _people_for(events, work)
        print(f"[{events:,}] generating sample data for {people:,} people …", flush=True)
        input_dir = work / "input"
        counts = sample_data.generate(input_dir, people=people, day=DAY, hours=HOURS, seed=SEED, streams=STREAMS)
        expected = sum(c["events"] for c in counts.values())
        var_dir = work / "var"
        with _stack(var_dir) as (s3_port, profiles_port):
            s3 = _s3_client(s3_port)
            started = time.perf_counter()
            files = run_local.upload_input(s3, input_dir)
            upload_s = time.perf_counter() - started
            print(
                f"[{events:,}] uploaded {files} files in {upload_s:.1f}s; landing with {workers} workers …", flush=True
            )
            landed = _land_all(s3_port, input_dir, workers, monitor)
            _check_landing(landed["by_stream"], counts)
            # The raw views glob every stream's partitions; one empty hour keeps conversations' valid.
            landing.land_hour(s3, "conversations", DAY, settings.LANDING_BUCKET, settings.RAW_BUCKET)
            print(f"[{events:,}] landed in {landed['seconds']:.1f}s; dbt …", flush=True)
            built = _build(s3_port, profiles_port, var_dir, work, monitor)
            with warehouse.connect(read_only=True, path=var_dir / "warehouse.duckdb") as con:
                (rows,) = con.execute("select count(*) from engagement_events").fetchone()
            if rows != expected:
                raise SystemExit(f"engagement_events has {rows:,} rows; the generator made {expected:,} events")
            print(f"[{events:,}] dbt built {rows:,} rows in {built['seconds']:.1f}s; per-record baseline …", flush=True)
            baseline = measure_baseline(s3, input_dir, counts, baseline_records, var_dir, monitor)
        end_to_end = landed["seconds"] + built["seconds"]
        landing_peak, dbt_peak = landed.pop("peak"), built.pop("peak")
        ours = rows / end_to_end
        return {
            "events_requested": events,
            "people": people,
            "generated": counts,
            "canonical_rows": rows,
            "upload_s": upload_s,
            "landing": landed,
            "dbt": built,
            "end_to_end_s": end_to_end,
            "events_per_s": ours,
            "events_per_min": ours * 60,
            "landing_events_per_s": rows / landed["seconds"],
            "dbt_events_per_s": rows / built["seconds"],
            "baseline": baseline,
            "ratio_vs_per_record_with_writes": ours / baseline["with_writes"]["events_per_s"],
            "ratio_vs_per_record_in_memory": ours / baseline["in_memory"]["events_per_s"],
            "peak_memory_bytes": {
                "total": max(landing_peak["total"], dbt_peak["total"], baseline.pop("peak")["total"]),
                "landing_total": landing_peak["total"],
                "landing_s3_server_process": landing_peak["this_process"],
                "landing_workers": landing_peak["children"],
                "dbt_total": dbt_peak["total"],
                "dbt_subprocess": dbt_peak["children"],
                "dbt_s3_server_process": dbt_peak["this_process"],
            },
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- the baseline: one record at a time, as the seed's Lambda ---------------------------------
class Rejected(Exception):
    """A record the per-record handler cannot map (what landing quarantines)."""


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MS = timedelta(milliseconds=1)
DEFAULT_ACCOUNT_ID = os.environ.get("C360_AWS_ACCOUNT_ID") or None
# SES eventType → (its object, status_code field, status_message field): canonical-events.md.
SES_TYPES = {
    "Send": ("send", None, None),
    "Bounce": ("bounce", "bounceType", "bounceSubType"),
    "Complaint": ("complaint", "complaintFeedbackType", None),
    "Delivery": ("delivery", "smtpResponse", "reportingMTA"),
    "Reject": ("reject", "reason", None),
    "Open": ("open", "ipAddress", None),
    "Click": ("click", "ipAddress", "link"),
    "Rendering Failure": ("failure", "templateName", "errorMessage"),
    "DeliveryDelay": ("deliveryDelay", "delayType", None),
    "Subscription": ("subscription", "contactList", "source"),
}
SMS_CHANNEL_DATA = (
    "isoCountryCode",
    "totalMessageParts",
    "totalMessagePrice",
    "totalCarrierFee",
    "mcc",
    "mnc",
    "callDurationInSeconds",
    "totalDurationInMinutes",
    "messageKeyword",
)


def _iso_ms(value: str) -> int:
    moment = datetime.fromisoformat(value)
    return ((moment if moment.tzinfo else moment.replace(tzinfo=UTC)) - EPOCH) // MS


def _compact(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def _event(stream: str, raw_event: str, **fields) -> dict:
    """The canonical event with its event_id: the same hash int_engagement_events_unioned computes."""
    key = "|".join(
        (
            stream,
            fields["message_id"] or "",
            fields["type"],
            fields["status"] or "",
            str(fields["timestamp"]),
            ",".join(d for d in fields["destination_address"] if d is not None),
        )
    )
    if not fields["message_id"]:
        raise Rejected("missing_message_id")
    return {"event_id": hashlib.md5(key.encode()).hexdigest(), "stream": stream, **fields, "raw_event": raw_event}


def _ses(record: dict, line: str, notified_at: str | None) -> list[dict]:
    mail = record["mail"]
    event_type = record.get("eventType") or record.get("notificationType")
    name, code, message = SES_TYPES.get(event_type, (None, None, None))
    detail = record.get(name) if name else None
    detail = detail if isinstance(detail, dict) else {}
    tags = {key: values[0] for key, values in (mail.get("tags") or {}).items() if values}
    subject = (mail.get("commonHeaders") or {}).get("subject")
    return [
        _event(
            "ses",
            line,
            account_id=mail.get("sendingAccountId"),
            organization_id=tags.get("organizationId"),
            sending_id=mail.get("sourceArn"),
            sending_address=mail.get("source"),
            destination_address=mail.get("destination") or [],
            channel="email",
            type=event_type,
            status=event_type,
            status_code=detail.get(code) if code else None,
            status_message=detail.get(message) if message else None,
            raw_status=_compact(record[name]) if name in record else None,
            timestamp=_iso_ms(detail.get("timestamp") or mail["timestamp"]),
            message_id=mail.get("messageId"),
            tags=tags,
            channel_data={"subject": subject} if subject else {},
            iso_country_code=None,
        )
    ]


def _sms_voice(record: dict, line: str, notified_at: str | None) -> list[dict]:
    event_type = record.get("eventType") or "TEXT_INBOUND"
    context = record.get("context") or {}
    stamp = record.get("eventTimestamp")
    return [
        _event(
            "sms_voice",
            line,
            account_id=context.get("accountId") or DEFAULT_ACCOUNT_ID,
            organization_id=context.get("organizationId"),
            sending_id=record.get("originationPhoneNumber") or record.get("originationNumber"),
            sending_address=record.get("originationPhoneNumber") or record.get("originationNumber"),
            destination_address=[record.get("destinationPhoneNumber") or record.get("destinationNumber")],
            channel=event_type.split("_", 1)[0].lower(),
            type=record.get("messageType") or "INBOUND",
            status=event_type,
            status_code=record.get("messageStatus"),
            status_message=record.get("messageStatusDescription"),
            raw_status=None,
            # Inbound SMS has no time of its own: the SNS notification's is the event's.
            timestamp=int(stamp) if stamp is not None else _iso_ms(notified_at),
            message_id=record.get("messageId") or record.get("inboundMessageId"),
            tags=context,
            channel_data={key: str(record[key]) for key in SMS_CHANNEL_DATA if record.get(key) is not None},
            iso_country_code=record.get("isoCountryCode"),
        )
    ]


def _whatsapp(record: dict, line: str, notified_at: str | None) -> list[dict]:
    entry = record["whatsAppWebhookEntry"]
    entry = json.loads(entry) if isinstance(entry, str) else entry
    context = record.get("context") or {}
    waba_id = context["MetaWabaIds"][0]["wabaId"] if context.get("MetaWabaIds") else None
    number_id = context["MetaPhoneNumberIds"][0]["metaPhoneNumberId"] if context.get("MetaPhoneNumberIds") else None
    fallback_ms = _iso_ms(record["message_timestamp"]) if record.get("message_timestamp") else None
    events = []
    # Fan-out: every message and every status in every change is its own event.
    for change in entry["changes"]:
        value = change.get("value") or {}
        display = (value.get("metadata") or {}).get("display_phone_number")
        items = [("message", m, m.get("type"), m.get("from")) for m in value.get("messages", [])]
        items += [("messageStatus", s, s.get("status"), s.get("recipient_id")) for s in value.get("statuses", [])]
        for kind, item, status, customer in items:
            error = (item.get("errors") or [{}])[0]
            conversation = item.get("conversation") or {}
            channel_data = {
                "conversationId": conversation.get("id"),
                "conversationExpiration": conversation.get("expiration_timestamp"),
                "conversationType": (conversation.get("origin") or {}).get("type"),
                "biz_opaque_callback_data": item.get("biz_opaque_callback_data"),
            }
            stamp = item.get("timestamp")
            events.append(
                _event(
                    "whatsapp",
                    line,
                    account_id=record.get("aws_account_id"),
                    organization_id=waba_id,
                    sending_id=number_id,
                    sending_address=display,
                    destination_address=[f"+{customer}" if customer is not None else None],
                    channel="whatsapp",
                    type=kind,
                    status=status,
                    status_code=str(error["code"]) if "code" in error else None,
                    status_message=error.get("message"),
                    raw_status=_compact(item),
                    timestamp=round(float(stamp) * 1000) if stamp is not None else fallback_ms,
                    message_id=item.get("id"),
                    tags=None,
                    channel_data={k: v for k, v in channel_data.items() if v is not None},
                    iso_country_code=None,
                )
            )
    return events


def canonical_events(line: str) -> list[dict]:
    """One raw line → its canonical events: parse, unwrap SNS, route and map (canonical-events.md)."""
    record = json.loads(line)
    if not isinstance(record, dict):
        raise Rejected("not_an_object")
    notified_at = None
    if record.get("Type") == "Notification" and isinstance(record.get("Message"), str):
        notified_at = record.get("Timestamp")
        record = json.loads(record["Message"])
    if "whatsAppWebhookEntry" in record:
        return _whatsapp(record, line, notified_at)
    if str(record.get("eventType", "")).startswith(("TEXT_", "MEDIA_", "VOICE_")) or "inboundMessageId" in record:
        return _sms_voice(record, line, notified_at)
    if isinstance(record.get("mail"), dict):
        return _ses(record, line, notified_at)
    raise Rejected("unknown_shape")


def per_record(lines: list[str], write: Callable[[dict, bytes], None] | None) -> dict:
    """Handle each line on its own; ``write`` stores each canonical event (None: transform only)."""
    events = rejected = 0
    ids = set()
    started = time.perf_counter()
    for line in lines:
        try:
            mapped = canonical_events(line)
        except (Rejected, ValueError, KeyError, TypeError, AttributeError, IndexError):
            rejected += 1
            continue
        for event in mapped:
            body = _compact(event).encode()
            if write is not None:
                write(event, body)
            ids.add(event["event_id"])
        events += len(mapped)
    seconds = time.perf_counter() - started
    return {"records": len(lines), "rejected": rejected, "events": events, "seconds": seconds, "ids": ids}


def _subset(input_dir: Path, counts: dict, size: int) -> list[str]:
    """The first lines of each stream's files, in proportion to the streams' volumes: deterministic."""
    lines_of = {s: c["records"] + c["redeliveries"] + c["malformed"] for s, c in counts.items()}
    subset = []
    for stream in STREAMS:
        files = sorted((input_dir / stream).rglob("*.gz"))
        stream_lines = chain.from_iterable(landing.read_lines(path.read_bytes()) for path in files)
        subset += islice(stream_lines, round(size * lines_of[stream] / sum(lines_of.values())))
    return subset


def measure_baseline(s3, input_dir: Path, counts: dict, size: int, var_dir: Path, monitor: MemoryMonitor) -> dict:
    lines = _subset(input_dir, counts, size)
    s3.create_bucket(Bucket=BASELINE_BUCKET)

    def put(event: dict, body: bytes) -> None:
        # Keyed by event_id: a re-delivery overwrites its first copy, as the Lambda's idempotent write.
        key = f"engagement_events/{event['stream']}/{event['event_id']}.json"
        s3.put_object(Bucket=BASELINE_BUCKET, Key=key, Body=body)

    with monitor.phase() as peak:
        with_writes = per_record(lines, put)
        # The transform alone is fast: repeat it for a few seconds so the rate is stable.
        passes = [per_record(lines, None)]
        while sum(p["seconds"] for p in passes) < 5:
            passes.append(per_record(lines, None))
    ids = with_writes.pop("ids")
    with warehouse.connect(read_only=True, path=var_dir / "warehouse.duckdb") as con:
        (found,) = con.execute(
            "select count(*) from engagement_events where event_id in (select unnest($ids::varchar[]))",
            {"ids": sorted(ids)},
        ).fetchone()
    if found != len(ids):
        raise SystemExit(f"per-record baseline: only {found} of its {len(ids)} event_ids are in engagement_events")
    in_memory = {
        "records": len(lines) * len(passes),
        "events": sum(p["events"] for p in passes),
        "seconds": sum(p["seconds"] for p in passes),
        "passes": len(passes),
    }
    for figures in (with_writes, in_memory):
        figures["events_per_s"] = figures["events"] / figures["seconds"]
    return {
        "subset_records": len(lines),
        "distinct_event_ids_matching_engagement_events": found,
        "with_writes": with_writes,
        "in_memory": in_memory,
        "peak": peak,
    }


# -- results -------------------------------------------------------------------------------
def _machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "total_memory_bytes": psutil.virtual_memory().total,
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "platform": platform.platform(),
    }


def _verdicts(runs: list[dict]) -> list[dict]:
    verdicts = []
    for run in runs:
        size = run["events_requested"]
        verdicts.append(
            {
                "events": size,
                "target": f"ratio >= {TARGET_RATIO}x the per-record baseline (with writes)",
                "value": round(run["ratio_vs_per_record_with_writes"], 1),
                "pass": run["ratio_vs_per_record_with_writes"] >= TARGET_RATIO,
            }
        )
        verdicts.append(
            {
                "events": size,
                "target": f">= {TARGET_EVENTS_PER_MINUTE:,} events/min end to end (landing + dbt)",
                "value": round(run["events_per_min"]),
                "pass": run["events_per_min"] >= TARGET_EVENTS_PER_MINUTE,
            }
        )
        if size >= TARGET_PEAK_AT_EVENTS:
            peak = run["peak_memory_bytes"]["total"]
            verdicts.append(
                {
                    "events": size,
                    "target": f"peak memory < {TARGET_PEAK_BYTES / GIB:g} GiB at {TARGET_PEAK_AT_EVENTS:,} events",
                    "value": f"{peak / GIB:.2f} GiB",
                    "pass": peak < TARGET_PEAK_BYTES,
                }
            )
    return verdicts


def _markdown(report: dict) -> str:
    machine = report["machine"]
    lines = [
        "# Canonicalisation throughput",
        "",
        f"{report['date']} · {machine['nproc']} CPUs ({machine['cpu']}) · "
        f"{machine['total_memory_bytes'] / GIB:.1f} GiB · `{report['command']}`",
        "",
        "Ours = landing (`land_hour`, every stream × hour, "
        f"{report['landing_workers']} worker processes) + dbt (`create_raw_relations`, "
        "`build --select +engagement_events`), on the embedded local stack. Events = rows of engagement_events "
        "(= the generator's events, checked). Baseline = the same mapping one record at a time in plain Python, "
        "with one PutObject per canonical event (and without), on a fixed subset.",
        "",
        "| events | landing s | dbt s | end to end s | events/s | events/min | per-record events/s "
        "(writes / in memory) | ratio (writes / in memory) | peak memory (dbt / landing) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in report["runs"]:
        baseline, peak = run["baseline"], run["peak_memory_bytes"]
        lines.append(
            f"| {run['canonical_rows']:,} | {run['landing']['seconds']:.1f} | {run['dbt']['seconds']:.1f} "
            f"| {run['end_to_end_s']:.1f} | {run['events_per_s']:,.0f} | {run['events_per_min']:,.0f} "
            f"| {baseline['with_writes']['events_per_s']:,.0f} / {baseline['in_memory']['events_per_s']:,.0f} "
            f"| {run['ratio_vs_per_record_with_writes']:,.1f}× / {run['ratio_vs_per_record_in_memory']:,.2f}× "
            f"| {peak['total'] / GIB:.2f} GiB ({peak['dbt_subprocess'] / GIB:.2f} / {peak['landing_total'] / GIB:.2f}) |"
        )
    lines += ["", "Upload to the landing bucket (not counted above): "]
    lines[-1] += ", ".join(f"{run['upload_s']:.1f} s at {run['canonical_rows']:,}" for run in report["runs"]) + "."
    lines += ["", "## Targets", ""]
    lines += [
        f"- **{'PASS' if v['pass'] else 'FAIL'}** {v['events']:,} events: {v['target']}: {v['value']}"
        for v in report["verdicts"]
    ]
    return "\n".join(lines) + "\n"


def _write(report: dict) -> None:
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "canonicalisation.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS_DIR / "canonicalisation.md").write_text(_markdown(report))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, action="append", help="size to measure (repeatable; default 1M and 10M)")
    parser.add_argument("--workers", type=int, default=2, help="landing worker processes")
    parser.add_argument(
        "--baseline-records", type=int, default=6_000, help="raw records the per-record baseline handles"
    )
    args = parser.parse_args(argv)
    sizes = args.events or [1_000_000, 10_000_000]
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the in-process S3 server logs every request
    monitor = MemoryMonitor()
    monitor.start()
    report = {
        "benchmark": "canonicalisation",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m bench.canonicalisation " + " ".join(f"--events {n}" for n in sizes),
        "machine": _machine(),
        "landing_workers": args.workers,
        "targets": {
            "ratio_vs_per_record_with_writes": TARGET_RATIO,
            "events_per_min": TARGET_EVENTS_PER_MINUTE,
            "peak_memory_bytes": TARGET_PEAK_BYTES,
            "peak_memory_at_events": TARGET_PEAK_AT_EVENTS,
        },
        "runs": [],
    }
    try:
        for size in sizes:
            report["runs"].append(measure(size, args.workers, args.baseline_records, monitor))
            report["verdicts"] = _verdicts(report["runs"])
            report["max_rss_bytes"] = {
                "this_process": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                "largest_child": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
            }
            _write(report)
            print(_markdown(report), flush=True)
    finally:
        monitor.done.set()
    return 0 if all(v["pass"] for v in report["verdicts"]) else 1


if __name__ == "__main__":
    sys.exit(main())
