"""Canonicalisation throughput: our batch pipeline against the AWS samples' per-record design, in one run.

    python -m bench.canonicalisation --events 1000000 --events 10000000

For each size: sample data for the engagement_events streams (ses, sms_voice, whatsapp; not
timed) is uploaded to a private local stack (timed apart), then timed: landing every
(stream, hour) and dbt building ``+engagement_events``. The rows of engagement_events must be
exactly the generator's events. On the same stack, the baseline maps a fixed subset of the raw
records one at a time in plain Python, as a per-record Lambda does, with one PutObject per
canonical event, and again without the writes. Peak memory is the RSS of this process (which
also serves S3) plus its children, sampled throughout.

Figures go to bench/results/canonicalisation.json and .md (rewritten after each size; --out
for another directory). Correctness checks (landing counts, rows, the baseline's event_ids) stop
the run with exit 1; the targets are judged from 1M events up (exit 3 when one is missed) and
only reported below that.
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
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import UTC, datetime, timedelta
from itertools import chain, islice
from multiprocessing import get_context
from pathlib import Path

import duckdb
import psutil

from bench import EXIT_TARGET_MISSED
from include import intervals, settings, streams
from include.landing.land import land_hour
from include.landing.partitions import hour_from_key
from include.landing.records import read_lines
from include.warehouse.connection import connect
from local import sample_data
from local.run import upload_input
from local.stack import LocalStack, free_ports, local_environment, s3_client

STREAMS = streams.feeding("engagement_events")  # ses, sms_voice, whatsapp
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
TARGETS_JUDGED_FROM_EVENTS = 1_000_000  # below it fixed costs (dbt's start, parsing) dominate


# -- the local stack -----------------------------------------------------------------------
@contextlib.contextmanager
def _stack(var_dir: Path) -> Iterator[tuple[int, int, int, int]]:
    """A private local stack on free ports (none of another stack's, which may be running):
    yields (s3_port, profiles_port, aws_port, athena_port), local_environment's order."""
    ports = tuple(free_ports(4))
    s3_port, profiles_port, aws_port, athena_port = ports
    stack = LocalStack(var_dir, s3_port, profiles_port, aws_port=aws_port, athena_port=athena_port).start()
    try:
        yield ports
    finally:
        # The S3 data is under var_dir/s3: each size's var_dir is its own, removed after it.
        stack.stop()


# -- memory and CPU ------------------------------------------------------------------------
class Monitor(threading.Thread):
    """Samples the RSS of this process, of the S3 server (``weed``) and of its other children,
    keeping each phase's peaks; a phase also records the CPU it used and what other processes
    used meanwhile (the machine is shared)."""

    def __init__(self, interval: float = 0.1):
        super().__init__(daemon=True)
        self.interval, self.done = interval, threading.Event()
        self.process = psutil.Process()
        self.peak: dict[str, int] = {}

    @contextlib.contextmanager
    def phase(self) -> Iterator[dict]:
        peak = self.peak = {"total": 0, "this_process": 0, "children": 0, "s3_server": 0}
        usage = {"peak_rss_bytes": peak}
        busy, ours, load = _busy_cpu(), self.cpu(), os.getloadavg()[0]
        try:
            yield usage
        finally:
            self.sample()
            self.peak = {}
            used = self.cpu() - ours
            others = max(0.0, _busy_cpu() - busy - used)
            usage["cpu_s"] = {"ours": used, "other_processes": others}
            usage["load_average_1m"] = [load, os.getloadavg()[0]]

    def cpu(self) -> float:
        """CPU seconds of this process, its ended children and its live ones."""
        times = self.process.cpu_times()
        live = 0.0
        for child in self.process.children(recursive=True):
            with contextlib.suppress(psutil.Error):  # a child may end between listing and reading
                live += sum(child.cpu_times()[:2])
        return times.user + times.system + times.children_user + times.children_system + live

    def sample(self) -> None:
        own, children, s3_server = self.process.memory_info().rss, 0, 0
        for child in self.process.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                rss = child.memory_info().rss
                if child.name() == "weed":
                    s3_server += rss
                else:
                    children += rss
        peak = self.peak
        total = own + children + s3_server
        samples = (("total", total), ("this_process", own), ("children", children), ("s3_server", s3_server))
        for key, value in samples:
            if key in peak:
                peak[key] = max(peak[key], value)

    def run(self) -> None:
        while not self.done.wait(self.interval):
            self.sample()


def _busy_cpu() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - times.iowait


# -- ours: landing + dbt -------------------------------------------------------------------
_worker_s3 = None


def _init_worker(s3_port: int) -> None:
    global _worker_s3
    _worker_s3 = s3_client(s3_port)


def _worker_pid(_: int) -> int:
    time.sleep(0.2)  # long enough that every worker takes one
    return os.getpid()


def _land(stream: str, hour: datetime) -> tuple[str, int, int, int]:
    manifest = land_hour(_worker_s3, stream, hour, settings.LANDING_BUCKET, settings.RAW_BUCKET)
    return stream, manifest.lines_read, manifest.landed, manifest.quarantined


def _people_for(events: int, work: Path) -> int:
    """People for about ``events`` events: volume is linear in people, so a small run calibrates it."""
    calibration = 10_000
    counts = sample_data.generate(
        work / "calibration", people=calibration, day=DAY, hours=HOURS, seed=SEED, streams=STREAMS
    )
    shutil.rmtree(work / "calibration")
    return max(1, round(events * calibration / sum(c["events"] for c in counts.values())))


def _land_all(s3_port: int, input_dir: Path, workers: int, monitor: Monitor) -> dict:
    """land_hour for every (stream, hour) over a pool; only the landing itself is timed."""
    sizes = {(p.parts[-6], hour_from_key(p.as_posix())): p.stat().st_size for p in input_dir.rglob("*.gz")}
    # Biggest hours first, so neither worker is left with a long one at the end.
    tasks = sorted(
        ((stream, DAY + h * HOUR) for stream in STREAMS for h in range(HOURS)),
        key=lambda task: -sizes.get(task, 0),
    )
    totals = {stream: {"lines_read": 0, "landed": 0, "quarantined": 0} for stream in STREAMS}
    # spawn, not fork: this process runs the local stack's server threads.
    pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_init_worker, initargs=(s3_port,))
    try:
        # Start every worker (imports, client) before the clock does.
        while len(set(pool.map(_worker_pid, range(workers)))) < workers:
            pass
        with monitor.phase() as usage:
            started = time.perf_counter()
            for done in as_completed([pool.submit(_land, *task) for task in tasks]):
                stream, lines_read, landed, quarantined = done.result()
                for key, value in (("lines_read", lines_read), ("landed", landed), ("quarantined", quarantined)):
                    totals[stream][key] += value
            seconds = time.perf_counter() - started
            pool.shutdown()  # ends the workers inside the phase, so their CPU is counted in it
    finally:
        pool.shutdown(cancel_futures=True)
    return {"seconds": seconds, "tasks": len(tasks), "by_stream": totals, "usage": usage}


def _land_other_streams(s3) -> dict:
    """Every other raw stream, for every hour, as the pipeline's landing does (not timed).

    The sample data has none of their records, so each hour gets an empty partition and a
    manifest: create_raw_relations declares a relation per raw stream and, on DuckDB, one over
    no files at all is an error (landing writes empty partitions so that it never is).
    """
    started = time.perf_counter()
    landed = 0
    for stream in streams.RAW_STREAMS:
        if stream not in STREAMS:
            for h in range(HOURS):
                landed += land_hour(s3, stream, DAY + h * HOUR, settings.LANDING_BUCKET, settings.RAW_BUCKET).landed
    if landed:
        raise SystemExit(f"landing the streams without sample data landed {landed} records")
    return {"streams": [s for s in streams.RAW_STREAMS if s not in STREAMS], "seconds": time.perf_counter() - started}


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


def _build(s3_port: int, profiles_port: int, var_dir: Path, work: Path, monitor: Monitor) -> dict:
    env = os.environ | local_environment(s3_port, profiles_port, var_dir)
    interval = intervals.dbt_vars(DAY, DAY + HOURS * HOUR)
    with monitor.phase() as usage:
        declare = _dbt(["run-operation", "create_raw_relations"], env, work)
        build = _dbt(
            ["build", "--select", "+engagement_events", "--exclude", "test_type:unit", "--vars", json.dumps(interval)],
            env,
            work,
        )
    # Where the build's time goes (node times overlap: dbt runs 2 threads).
    nodes = json.loads((work / "dbt-target" / "run_results.json").read_text())["results"]
    node_seconds: dict[str, float] = {}
    for node in nodes:
        kind = node["unique_id"].split(".")[0]
        node_seconds[kind] = node_seconds.get(kind, 0.0) + node["execution_time"]
    slowest = sorted(nodes, key=lambda node: -node["execution_time"])[:5]
    return {
        "seconds": declare + build,
        "run_operation_s": declare,
        "build_s": build,
        "node_seconds": node_seconds,
        "slowest_nodes": {node["unique_id"].split(".", 2)[2]: node["execution_time"] for node in slowest},
        "usage": usage,
    }


def _check_landing(totals: dict, counts: dict) -> None:
    for stream in STREAMS:
        got, made = totals[stream], counts[stream]
        expected = {
            "landed": made["records"] + made["redeliveries"],
            "quarantined": made["malformed"] + made["rejected_items"],  # whole lines, and items refused inside one
        }
        if any(got[key] != value for key, value in expected.items()):
            raise SystemExit(f"landing {stream}: {got} but the generator wrote {made}")


def measure(events: int, workers: int, baseline_records: int, monitor: Monitor) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"c360-bench-{events}-"))
    try:
        people = _people_for(events, work)
        print(f"[{events:,}] generating sample data for {people:,} people …", flush=True)
        input_dir = work / "input"
        counts = sample_data.generate(input_dir, people=people, day=DAY, hours=HOURS, seed=SEED, streams=STREAMS)
        expected = sum(c["events"] for c in counts.values())
        var_dir = work / "var"
        with _stack(var_dir) as (s3_port, profiles_port, _, _):
            s3 = s3_client(s3_port)
            started = time.perf_counter()
            files = len(upload_input(s3, input_dir))
            upload_s = time.perf_counter() - started
            print(
                f"[{events:,}] uploaded {files} files in {upload_s:.1f}s; landing with {workers} workers …", flush=True
            )
            landed = _land_all(s3_port, input_dir, workers, monitor)
            _check_landing(landed["by_stream"], counts)
            landed["other_streams"] = _land_other_streams(s3)
            print(f"[{events:,}] landed in {landed['seconds']:.1f}s; dbt …", flush=True)
            built = _build(s3_port, profiles_port, var_dir, work, monitor)
            with connect(read_only=True, path=var_dir / "warehouse.duckdb") as con:
                (rows,) = con.execute("select count(*) from engagement_events").fetchone()
            if rows != expected:
                raise SystemExit(f"engagement_events has {rows:,} rows; the generator made {expected:,} events")
            print(f"[{events:,}] dbt built {rows:,} rows in {built['seconds']:.1f}s; per-record baseline …", flush=True)
            baseline = measure_baseline(s3, input_dir, counts, baseline_records, var_dir, monitor)
        end_to_end = landed["seconds"] + built["seconds"]
        landing_peak, dbt_peak = landed["usage"]["peak_rss_bytes"], built["usage"]["peak_rss_bytes"]
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
            "checks": {
                "landing counts equal the generator's": True,
                "engagement_events rows equal the generated events": rows == expected,
                "the baseline's event_ids are all in engagement_events": True,
            },
            "ratio_vs_per_record_with_writes": ours / baseline["with_writes"]["events_per_s"],
            "ratio_vs_per_record_in_memory": ours / baseline["in_memory"]["events_per_s"],
            "peak_memory_bytes": {
                "total": max(landing_peak["total"], dbt_peak["total"], baseline["usage"]["peak_rss_bytes"]["total"]),
                "landing_total": landing_peak["total"],
                "landing_this_process": landing_peak["this_process"],
                "landing_s3_server_process": landing_peak["s3_server"],
                "landing_workers": landing_peak["children"],
                "dbt_total": dbt_peak["total"],
                "dbt_subprocess": dbt_peak["children"],
                "dbt_s3_server_process": dbt_peak["s3_server"],
            },
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- the baseline: one record at a time, as the AWS samples' Lambda ---------------------------------
class Rejected(Exception):
    """A record the per-record handler cannot map (what landing quarantines)."""


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MS = timedelta(milliseconds=1)
DEFAULT_ACCOUNT_ID = os.environ.get("C360_AWS_ACCOUNT_ID") or None
# SES eventType → (its object, status_code field, status_message field): docs/canonical-events.md.
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
    if not fields["message_id"]:
        raise Rejected("missing_message_id")
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
    return {"event_id": hashlib.md5(key.encode()).hexdigest(), "stream": stream, **fields, "raw_event": raw_event}


def _ses(record: dict, line: str) -> list[dict]:
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


def _whatsapp(record: dict, line: str) -> list[dict]:
    entry = record["whatsAppWebhookEntry"]
    entry = json.loads(entry) if isinstance(entry, str) else entry
    context = record.get("context") or {}
    waba_id = context["MetaWabaIds"][0]["wabaId"] if context.get("MetaWabaIds") else None
    number_id = context["MetaPhoneNumberIds"][0]["metaPhoneNumberId"] if context.get("MetaPhoneNumberIds") else None
    fallback_ms = _iso_ms(record["message_timestamp"]) if record.get("message_timestamp") else None
    events = []
    # Fan-out: every message and every status in every change is its own event; an item without an id is
    # refused on its own (landing quarantines it), its siblings are kept.
    for change in entry["changes"]:
        value = change.get("value") or {}
        display = (value.get("metadata") or {}).get("display_phone_number")
        items = [("message", m, m.get("type"), m.get("from")) for m in value.get("messages", []) if m.get("id")]
        items += [
            ("messageStatus", s, s.get("status"), s.get("recipient_id"))
            for s in value.get("statuses", [])
            if s.get("id")
        ]
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
    if not events:
        raise Rejected("missing_message_id")
    return events


def canonical_events(line: str) -> list[dict]:
    """One raw line → its canonical events: parse, unwrap SNS, route and map (docs/canonical-events.md)."""
    record = json.loads(line)
    if not isinstance(record, dict):
        raise Rejected("not_an_object")
    notified_at = None
    if record.get("Type") == "Notification" and isinstance(record.get("Message"), str):
        notified_at = record.get("Timestamp")
        record = json.loads(record["Message"])
    if "whatsAppWebhookEntry" in record:
        return _whatsapp(record, line)
    if str(record.get("eventType", "")).startswith(("TEXT_", "MEDIA_", "VOICE_")) or "inboundMessageId" in record:
        return _sms_voice(record, line, notified_at)
    if isinstance(record.get("mail"), dict):
        return _ses(record, line)
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
        stream_lines = chain.from_iterable(read_lines(path.read_bytes()) for path in files)
        subset += islice(stream_lines, round(size * lines_of[stream] / sum(lines_of.values())))
    return subset


def measure_baseline(s3, input_dir: Path, counts: dict, size: int, var_dir: Path, monitor: Monitor) -> dict:
    lines = _subset(input_dir, counts, size)
    s3.create_bucket(Bucket=BASELINE_BUCKET)

    def put(event: dict, body: bytes) -> None:
        # Keyed by event_id: a re-delivery overwrites its first copy, as the Lambda's idempotent write.
        key = f"engagement_events/{event['stream']}/{event['event_id']}.json"
        s3.put_object(Bucket=BASELINE_BUCKET, Key=key, Body=body)

    with monitor.phase() as usage:
        with_writes = per_record(lines, put)
        # The transform alone is fast: repeat it for a few seconds so the rate is stable.
        passes = [per_record(lines, None)]
        while sum(p["seconds"] for p in passes) < 5:
            passes.append(per_record(lines, None))
    ids = with_writes.pop("ids")
    with connect(read_only=True, path=var_dir / "warehouse.duckdb") as con:
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
        "distinct_event_ids": len(ids),
        "distinct_event_ids_matching_engagement_events": found,
        "with_writes": with_writes,
        "in_memory": in_memory,
        "usage": usage,
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
        size, ratio, peak = run["events_requested"], run["ratio_vs_per_record_with_writes"], run["peak_memory_bytes"]
        checks = [
            (f"ratio >= {TARGET_RATIO}x the per-record baseline with writes", f"{ratio:.1f}x", ratio >= TARGET_RATIO),
            (
                f">= {TARGET_EVENTS_PER_MINUTE:,} events/min end to end (landing + dbt)",
                f"{run['events_per_min']:,.0f}",
                run["events_per_min"] >= TARGET_EVENTS_PER_MINUTE,
            ),
        ]
        if size >= TARGET_PEAK_AT_EVENTS:
            checks.append(
                (
                    f"peak memory < {TARGET_PEAK_BYTES / GIB:g} GiB at {TARGET_PEAK_AT_EVENTS:,} events",
                    f"{peak['total'] / GIB:.2f} GiB",
                    peak["total"] < TARGET_PEAK_BYTES,
                )
            )
        judged = size >= TARGETS_JUDGED_FROM_EVENTS
        verdicts += [
            {"events": size, "target": target, "value": value, "pass": ok, "judged": judged}
            for target, value, ok in checks
        ]
    return verdicts


def _markdown(report: dict) -> str:
    machine, runs = report["machine"], report["runs"]

    def row(label: str, cell: Callable[[dict], str]) -> str:
        return f"| {label} | " + " | ".join(cell(run) for run in runs) + " |"

    def contention(run: dict) -> str:
        cpu = [run[phase]["usage"]["cpu_s"] for phase in ("landing", "dbt")]
        return f"{sum(c['other_processes'] for c in cpu):.0f} / {sum(c['ours'] for c in cpu):.0f}"

    lines = [
        "# Canonicalisation throughput",
        "",
        f"{report['date']} · {machine['nproc']} CPUs ({machine['cpu']}) · "
        f"{machine['total_memory_bytes'] / GIB:.1f} GiB RAM · `{report['command']}`",
        "",
        f"Ours: landing (`land_hour` for every stream × hour, {report['landing_workers']} worker processes), then dbt "
        "(`run-operation create_raw_relations`, `build --select +engagement_events --exclude test_type:unit`), "
        "against the embedded local stack. Events: rows of engagement_events, checked equal to the generator's "
        "events. Per-record: the same mapping one raw record at a time in plain Python (parse, unwrap SNS, map, "
        "event_id), with one PutObject per canonical event to the same local S3, and without writing; its "
        "event_ids are checked against engagement_events.",
        "",
        "| | " + " | ".join(f"{run['canonical_rows']:,} events" for run in runs) + " |",
        "|---|" + "---:|" * len(runs),
        row("landing s", lambda r: f"{r['landing']['seconds']:.1f}"),
        row("dbt s (run-operation + build)", lambda r: f"{r['dbt']['seconds']:.1f}"),
        row(
            "dbt build: models / tests s (summed over 2 threads)",
            lambda r: " / ".join(f"{r['dbt']['node_seconds'].get(kind, 0):.0f}" for kind in ("model", "test")),
        ),
        row("end to end s (landing + dbt)", lambda r: f"{r['end_to_end_s']:.1f}"),
        row("**events/s**", lambda r: f"**{r['events_per_s']:,.0f}**"),
        row("events/min", lambda r: f"{r['events_per_min']:,.0f}"),
        row("landing alone, events/s", lambda r: f"{r['landing_events_per_s']:,.0f}"),
        row("dbt alone, events/s", lambda r: f"{r['dbt_events_per_s']:,.0f}"),
        row("per-record with PutObject, events/s", lambda r: f"{r['baseline']['with_writes']['events_per_s']:,.0f}"),
        row("per-record in memory, events/s", lambda r: f"{r['baseline']['in_memory']['events_per_s']:,.0f}"),
        row(
            "**ratio** ours ÷ per-record with PutObject", lambda r: f"**{r['ratio_vs_per_record_with_writes']:,.1f}×**"
        ),
        row("ratio ours ÷ per-record in memory", lambda r: f"{r['ratio_vs_per_record_in_memory']:,.2f}×"),
        row("**peak memory** (all processes)", lambda r: f"**{r['peak_memory_bytes']['total'] / GIB:.2f} GiB**"),
        row(
            "peak: dbt subprocess / landing (server + workers)",
            lambda r: (
                " / ".join(f"{r['peak_memory_bytes'][k] / GIB:.2f}" for k in ("dbt_subprocess", "landing_total"))
                + " GiB"
            ),
        ),
        row("upload to landing bucket s (not counted)", lambda r: f"{r['upload_s']:.1f}"),
        row("CPU s of other processes / ours while timed", contention),
        "",
        "## Targets",
        "",
    ]
    lines += [
        f"- **{_verdict(v)}** at {v['events']:,} events: {v['target']} — {v['value']}" for v in report["verdicts"]
    ]
    lines += ["", "## Correctness checks", ""]
    lines += [
        f"- **{'PASS' if ok else 'FAIL'}** at {run['canonical_rows']:,} events: {check}"
        for run in runs
        for check, ok in run["checks"].items()
    ]
    return "\n".join(lines) + "\n"


def _verdict(verdict: dict) -> str:
    if verdict["judged"]:
        return "PASS" if verdict["pass"] else "FAIL"
    return f"not judged below {TARGETS_JUDGED_FROM_EVENTS:,} events ({'met' if verdict['pass'] else 'missed'})"


def _rounded(value):
    """Milliseconds are plenty: keeps the results file small and its diffs readable."""
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    return value


def _write(report: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "canonicalisation.json").write_text(json.dumps(_rounded(report), indent=2) + "\n")
    (out / "canonicalisation.md").write_text(_markdown(report))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, action="append", help="size to measure (repeatable; default 1M and 10M)")
    parser.add_argument("--workers", type=int, default=2, help="landing worker processes")
    parser.add_argument(
        "--baseline-records", type=int, default=6_000, help="raw records the per-record baseline handles"
    )
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="results directory (default: bench/results)")
    args = parser.parse_args(argv)
    sizes = args.events or [1_000_000, 10_000_000]
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the in-process moto server logs every request
    monitor = Monitor()
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
            _write(report, args.out)
            print(_markdown(report), flush=True)
    finally:
        monitor.done.set()
    return 0 if all(v["pass"] for v in report["verdicts"] if v["judged"]) else EXIT_TARGET_MISSED


if __name__ == "__main__":
    sys.exit(main())
