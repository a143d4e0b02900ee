"""The embedded local stack: an S3-compatible server and the Customer Profiles endpoint on 127.0.0.1.

``python -m include.local_stack serve`` runs both in the foreground until stopped (the
Makefile starts it in the background and waits for ``ready``). ``local_environment()`` is
the single definition of the environment that points Airflow, dbt and the tasks at it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from include import settings

S3_PORT = int(os.environ.get("C360_S3_PORT", "5566"))
PROFILES_PORT = int(os.environ.get("C360_PROFILES_PORT", "5567"))
LOCAL_ACCESS_KEY = "local"  # the local servers accept any key; these are not secrets
LOCAL_SECRET_KEY = "local-secret"
REGION = "us-east-1"
# The S3 server (moto) speaks SNS and SQS too: failure alerts go to a topic there, and a queue
# subscribed to it keeps them for `python -m include.local_stack alerts`.
ALERTS_TOPIC_ARN = f"arn:aws:sns:{REGION}:123456789012:c360-alerts"
ALERTS_QUEUE = "c360-alerts"
# Airflow's SQLite metadata has one writer at a time: scheduler, dag-processor, api-server and
# the CLI wait up to a minute for the lock instead of sqlite3's 5 s ("database is locked").
# A transaction whose read snapshot went stale fails at once all the same (SQLite does not
# wait where waiting cannot help): hence `backfill create` with the scheduler stopped (README).
SQLITE_CONNECT_ARGS = {"timeout": 60}


def free_port() -> int:
    """A free port on 127.0.0.1 other than the shared stack's (for a private stack)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in (S3_PORT, PROFILES_PORT):
            return port


def local_environment(
    s3_port: int = S3_PORT, profiles_port: int = PROFILES_PORT, var_dir: Path = settings.VAR_DIR
) -> dict[str, str]:
    """Environment for Airflow, dbt and tasks running against the local stack."""
    root = settings.PROJECT_ROOT
    s3_url = f"http://127.0.0.1:{s3_port}"
    profiles_url = f"http://127.0.0.1:{profiles_port}"

    def aws_conn(endpoint: str) -> str:
        return json.dumps(
            {
                "conn_type": "aws",
                "login": LOCAL_ACCESS_KEY,
                "password": LOCAL_SECRET_KEY,
                "extra": {"region_name": REGION, "endpoint_url": endpoint},
            }
        )

    return {
        "C360_VAR_DIR": str(var_dir),
        "C360_S3_PORT": str(s3_port),
        "C360_PROFILES_PORT": str(profiles_port),
        "C360_RETRY_DELAY_SECONDS": "2",  # a local run fails fast; production keeps the default
        "C360_WAREHOUSE_PATH": str(var_dir / "warehouse.duckdb"),
        "C360_DUCKDB_EXTENSION_DIR": str(root / ".venv" / "duckdb_extensions"),
        "C360_S3_ENDPOINT": f"127.0.0.1:{s3_port}",
        "C360_S3_URL_STYLE": "path",
        "C360_S3_USE_SSL": "False",
        "AWS_ACCESS_KEY_ID": LOCAL_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        f"AIRFLOW_CONN_{settings.S3_CONN_ID.upper()}": aws_conn(s3_url),
        f"AIRFLOW_CONN_{settings.CUSTOMER_PROFILES_CONN_ID.upper()}": aws_conn(profiles_url),
        f"AIRFLOW_CONN_{settings.ALERTS_CONN_ID.upper()}": aws_conn(s3_url),
        "C360_ALERTS_TOPIC_ARN": ALERTS_TOPIC_ARN,
        "AIRFLOW_HOME": str(var_dir / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(root / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{var_dir / 'airflow' / 'airflow.db'}",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS": "include.local_stack.SQLITE_CONNECT_ARGS",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC": "include.local_stack.SQLITE_CONNECT_ARGS",
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


def s3_client(port: int = S3_PORT, service: str = "s3"):
    """A boto3 client for the local S3 server (or the SNS/SQS it also serves)."""
    import boto3

    return boto3.client(service, endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id=LOCAL_ACCESS_KEY,
                        aws_secret_access_key=LOCAL_SECRET_KEY, region_name=REGION)  # fmt: skip


def received_alerts(port: int = S3_PORT) -> list[dict]:
    """The failure alerts published since the stack started (each read once)."""
    sqs = s3_client(port, "sqs")
    queue_url = sqs.get_queue_url(QueueName=ALERTS_QUEUE)["QueueUrl"]
    alerts = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            alerts.append(json.loads(json.loads(message["Body"])["Message"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return alerts


class LocalStack:
    """Both servers, started in this process (threads)."""

    def __init__(
        self,
        var_dir: Path,
        s3_port: int = S3_PORT,
        profiles_port: int = PROFILES_PORT,
        throttle_rate: float = 0.0,
        bind: str = "127.0.0.1",
        with_s3: bool = True,
    ):
        from moto.server import ThreadedMotoServer

        from include.profiles_endpoint import ProfilesEndpoint

        var_dir.mkdir(parents=True, exist_ok=True)
        self.s3 = ThreadedMotoServer(ip_address=bind, port=s3_port, verbose=False) if with_s3 else None
        self.s3_port = s3_port
        self.profiles = ProfilesEndpoint(
            var_dir / "customer_profiles.sqlite", host=bind, port=profiles_port, throttle_rate=throttle_rate
        )

    def start(self) -> LocalStack:
        if self.s3:
            self.s3.start()
            sns, sqs = s3_client(self.s3_port, "sns"), s3_client(self.s3_port, "sqs")
            topic_arn = sns.create_topic(Name=ALERTS_TOPIC_ARN.rsplit(":", 1)[1])["TopicArn"]
            queue_url = sqs.create_queue(QueueName=ALERTS_QUEUE)["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
            sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn["QueueArn"])
        self.profiles.start()
        return self

    def stop(self) -> None:
        self.profiles.stop()
        if self.s3:
            self.s3.stop()


def wait_until_ready(timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    urls = [f"http://127.0.0.1:{S3_PORT}/", f"http://127.0.0.1:{PROFILES_PORT}/domains/ready-check"]
    while True:
        try:
            for url in urls:
                with contextlib.suppress(urllib.error.HTTPError):  # any HTTP answer means it is up
                    urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"local stack did not come up on ports {S3_PORT}/{PROFILES_PORT}") from None
            time.sleep(0.3)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["serve", "ready", "env", "alerts"])
    parser.add_argument(
        "--throttle-rate", type=float, default=float(os.environ.get("C360_PROFILES_THROTTLE_RATE", "0"))
    )
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
        print(f"local stack: S3 on :{S3_PORT}, Customer Profiles/SESv2 on :{PROFILES_PORT}", flush=True)
        stopped = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        signal.signal(signal.SIGINT, lambda *_: stopped.set())
        stopped.wait()
        stack.stop()
        sys.exit(0)


if __name__ == "__main__":
    main()
