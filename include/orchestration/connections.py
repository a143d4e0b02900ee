"""The Airflow connections the pipeline uses, declared once: their ids (include/settings.py),
what each reaches and the shape of one pointed at a stack's own endpoints.

In production they come from the secrets backend, each of type ``aws`` with no endpoint
(docs/aws.md). Against a stack of local endpoints each is an ``aws`` connection to one of them:
``environment()`` renders the ``AIRFLOW_CONN_<ID>`` variables from the stack's endpoints, as
local/stack.py does for the local stack's ports; the team stack's docker-compose.yaml writes the
same shape for its hosts (tests/test_pools_and_connections.py holds it to this template).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import NamedTuple

from include import settings

CONN_TYPE = "aws"


class ConnectionSpec(NamedTuple):
    reaches: str  # what the connection is for
    endpoint: str  # which of a stack's endpoints it points at (``environment()``'s keys)
    # Services of the connection whose endpoint is another of the stack's: {service: endpoint key}.
    service_endpoints: Mapping[str, str] = {}


CONNECTIONS = {
    settings.S3_CONN_ID: ConnectionSpec("S3: the landing bucket and the raw zone", "s3"),
    settings.CUSTOMER_PROFILES_CONN_ID: ConnectionSpec("Customer Profiles and SESv2", "customer_profiles"),
    settings.ALERTS_CONN_ID: ConnectionSpec("SNS: failure alerts", "sns"),
    # Queries go to Athena; their result CSVs are read from S3.
    settings.ATHENA_CONN_ID: ConnectionSpec("Athena: the warehouse on the athena target", "athena", {"s3": "s3"}),
}


def variable(conn_id: str) -> str:
    """The environment variable Airflow reads the connection from."""
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def connection(conn_id: str, endpoints: Mapping[str, str], login: str, password: str, region: str) -> dict:
    """The connection ``conn_id`` to a stack whose endpoints (URLs) are ``endpoints``."""
    spec = CONNECTIONS[conn_id]
    extra = {"region_name": region, "endpoint_url": endpoints[spec.endpoint]}
    if spec.service_endpoints:
        extra["service_config"] = {
            service: {"endpoint_url": endpoints[key]} for service, key in spec.service_endpoints.items()
        }
    return {"conn_type": CONN_TYPE, "login": login, "password": password, "extra": extra}


def environment(endpoints: Mapping[str, str], login: str, password: str, region: str) -> dict[str, str]:
    """``AIRFLOW_CONN_<ID>`` (JSON) for every connection, pointed at the stack's ``endpoints``."""
    return {
        variable(conn_id): json.dumps(connection(conn_id, endpoints, login, password, region))
        for conn_id in CONNECTIONS
    }
