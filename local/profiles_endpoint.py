"""A local endpoint that speaks the Amazon Connect Customer Profiles and SESv2 suppression APIs.

moto has neither service, so the embedded stack runs this server instead. It is driven by
botocore's own service models: routes come from each operation's ``requestUri``, inputs are
parsed by their ``location`` and validated against the input shape, errors are returned the
way the rest-json protocol expects them. Real boto3 clients talk to it over HTTP, so the
pipeline's code is exactly the code that talks to AWS. As AWS does, it refuses a request that is
not signed with Signature Version 4 (the signature is not verified: no secret keys are held here).

State lives in SQLite (under ``var/`` locally) so it survives restarts and tests can read it.
A configurable share of data-plane requests is answered with ``ThrottlingException`` to
exercise the client's retries.

An outage switch: while the file ``outage_flag`` exists beside the state (``var/customer_profiles.outage``
locally), every signed request is answered 403 with the error code the file starts with (empty:
``AccessDeniedException``; e.g. ``ExpiredTokenException``), as AWS answers a request whose
credentials or permissions it refuses; operations named after the code (e.g.
``AccessDeniedException BatchPutProfileObject PutSuppressedDestination``, a policy that lost
them) are the only ones refused. ``touch`` it to start an outage, remove it to end one;
``start_outage`` writes a code in one step (a request never reads the file half-written).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import botocore.session
from botocore.exceptions import ParamValidationError
from botocore.validate import validate_parameters

from local.http_endpoint import HttpEndpoint

SERVICES = ("customer-profiles", "sesv2")
# Requests that carry data; only these are ever throttled (control-plane calls are not).
THROTTLED_OPERATIONS = frozenset(
    {
        "PutProfileObject",
        "BatchPutProfileObject",
        "DeleteProfileObject",
        "SearchProfiles",
        "MergeProfiles",
        "DeleteProfile",
        "PutSuppressedDestination",
        "DeleteSuppressedDestination",
    }
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS domains (name TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS object_types (
    domain TEXT, name TEXT, body TEXT NOT NULL, PRIMARY KEY (domain, name));
CREATE TABLE IF NOT EXISTS profiles (
    domain TEXT, profile_id TEXT, body TEXT NOT NULL, PRIMARY KEY (domain, profile_id));
CREATE TABLE IF NOT EXISTS profile_keys (
    domain TEXT, key_name TEXT, key_value TEXT, profile_id TEXT,
    PRIMARY KEY (domain, key_name, key_value));
CREATE INDEX IF NOT EXISTS profile_keys_by_profile ON profile_keys (domain, profile_id);
CREATE TABLE IF NOT EXISTS profile_objects (
    domain TEXT, object_type TEXT, unique_key TEXT, profile_id TEXT, body TEXT NOT NULL,
    PRIMARY KEY (domain, object_type, unique_key));
CREATE INDEX IF NOT EXISTS profile_objects_by_profile ON profile_objects (domain, profile_id);
CREATE TABLE IF NOT EXISTS suppressed_destinations (
    email TEXT PRIMARY KEY, reason TEXT NOT NULL, last_update REAL NOT NULL);
CREATE TABLE IF NOT EXISTS request_counts (
    operation TEXT, outcome TEXT, n INTEGER NOT NULL, PRIMARY KEY (operation, outcome));
"""


class ApiError(Exception):
    """An error the API returns to the client, named as in the service model."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass(frozen=True)
class Route:
    service: str
    operation: str
    method: str
    pattern: re.Pattern[str]
    literal_segments: int


def _compile_routes() -> list[Route]:
    session = botocore.session.get_session()
    routes = []
    for service in SERVICES:
        model = session.get_service_model(service)
        for name in model.operation_names:
            op = model.operation_model(name)
            path = op.http["requestUri"].split("?")[0]
            regex = re.sub(r"\{(\w+)\+?\}", r"(?P<\1>[^/]+)", path)
            literals = sum(1 for seg in path.split("/") if seg and not seg.startswith("{"))
            routes.append(Route(service, name, op.http["method"], re.compile(f"^{regex}$"), literals))
    # The most specific path wins: /profiles/objects/merge before /profiles/objects.
    return sorted(routes, key=lambda r: -r.literal_segments)


def _coerce(value: str, shape) -> Any:
    if shape.type_name in ("integer", "long"):
        return int(value)
    if shape.type_name == "boolean":
        return value.lower() == "true"
    return value


class ProfilesStore:
    """The domain's state in SQLite; every public method is one API operation's effect."""

    def __init__(self, path: Path | str):
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL stays consistent; only the OS's last writes are at risk
        self._db.executescript(SCHEMA)
        self.lock = threading.Lock()

    @contextmanager
    def operation(self) -> Iterator[None]:
        """One operation at a time, in one transaction: it applies whole or not at all."""
        with self.lock:
            self._db.execute("BEGIN")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- helpers ---------------------------------------------------------------------
    def _one(self, sql: str, *args) -> Any:
        row = self._db.execute(sql, args).fetchone()
        return row[0] if row else None

    def _require_domain(self, domain: str) -> dict:
        body = self._one("SELECT body FROM domains WHERE name = ?", domain)
        if body is None:
            raise ApiError("ResourceNotFoundException", f"Domain {domain} does not exist", 404)
        return json.loads(body)

    def _require_profile(self, domain: str, profile_id: str) -> dict:
        body = self._one("SELECT body FROM profiles WHERE domain = ? AND profile_id = ?", domain, profile_id)
        if body is None:
            raise ApiError("ResourceNotFoundException", f"Profile {profile_id} does not exist", 404)
        return json.loads(body)

    def count(self, operation: str, outcome: str) -> None:
        self._db.execute(
            "INSERT INTO request_counts VALUES (?, ?, 1) ON CONFLICT (operation, outcome) DO UPDATE SET n = n + 1",
            (operation, outcome),
        )

    # -- domains and object types -----------------------------------------------------
    def CreateDomain(self, p: dict) -> dict:
        if self._one("SELECT 1 FROM domains WHERE name = ?", p["DomainName"]):
            raise ApiError("BadRequestException", f"Domain {p['DomainName']} already exists")
        now = time.time()
        body = {k: v for k, v in p.items() if k != "Tags"} | {"CreatedAt": now, "LastUpdatedAt": now}
        self._db.execute("INSERT INTO domains VALUES (?, ?)", (p["DomainName"], json.dumps(body)))
        return body | {"Tags": p.get("Tags", {})}

    def GetDomain(self, p: dict) -> dict:
        return self._require_domain(p["DomainName"]) | {
            "Stats": {"ProfileCount": self._one("SELECT count(*) FROM profiles WHERE domain = ?", p["DomainName"])}
        }

    def PutProfileObjectType(self, p: dict) -> dict:
        self._require_domain(p["DomainName"])
        for key_name, key_defs in p.get("Keys", {}).items():
            for key_def in key_defs:
                missing = set(key_def.get("FieldNames", [])) - set(p.get("Fields", {}))
                if missing:
                    raise ApiError("BadRequestException", f"Key {key_name} names unknown fields {sorted(missing)}")
        now = time.time()
        body = {k: v for k, v in p.items() if k != "DomainName"} | {"LastUpdatedAt": now}
        body.setdefault("CreatedAt", now)
        self._db.execute(
            "INSERT INTO object_types VALUES (?, ?, ?) ON CONFLICT (domain, name) DO UPDATE SET body = excluded.body",
            (p["DomainName"], p["ObjectTypeName"], json.dumps(body)),
        )
        return body

    def GetProfileObjectType(self, p: dict) -> dict:
        self._require_domain(p["DomainName"])
        body = self._one(
            "SELECT body FROM object_types WHERE domain = ? AND name = ?", p["DomainName"], p["ObjectTypeName"]
        )
        if body is None:
            raise ApiError("ResourceNotFoundException", f"Object type {p['ObjectTypeName']} does not exist", 404)
        return json.loads(body)

    def ListProfileObjectTypes(self, p: dict) -> dict:
        self._require_domain(p["DomainName"])
        rows = self._db.execute("SELECT body FROM object_types WHERE domain = ? ORDER BY name", (p["DomainName"],))
        return {"Items": [json.loads(b) for (b,) in rows]}

    # -- profile objects ---------------------------------------------------------------
    def _put_object(self, domain: str, type_name: str, object_text: str) -> str:
        object_type = self.GetProfileObjectType({"DomainName": domain, "ObjectTypeName": type_name})
        try:
            source = json.loads(object_text)
        except json.JSONDecodeError as exc:
            raise ApiError("BadRequestException", f"Object is not valid JSON: {exc}") from exc
        if not isinstance(source, dict):
            raise ApiError("BadRequestException", "Object must be a JSON object")
        fields = object_type.get("Fields", {})

        def field_value(field_name: str) -> str | None:
            path = fields[field_name]["Source"].removeprefix("_source.").split(".")
            value: Any = source
            for part in path:
                value = value.get(part) if isinstance(value, dict) else None
            return None if value is None else str(value)

        unique_key, profile_keys = None, []
        for key_name, key_defs in object_type.get("Keys", {}).items():
            for key_def in key_defs:
                values = [field_value(f) for f in key_def.get("FieldNames", [])]
                if any(v is None for v in values):
                    continue
                value = "_".join(values)
                identifiers = set(key_def.get("StandardIdentifiers", []))
                if "UNIQUE" in identifiers:
                    unique_key = value
                if identifiers & {"PROFILE", "LOOKUP_ONLY", "NEW_ONLY"}:
                    profile_keys.append((key_name, value))
        if unique_key is None:
            raise ApiError("BadRequestException", f"Object has no value for the UNIQUE key of {type_name}")

        profile_id = None
        for key_name, value in profile_keys:
            profile_id = self._one(
                "SELECT profile_id FROM profile_keys WHERE domain = ? AND key_name = ? AND key_value = ?",
                domain,
                key_name,
                value,
            )
            if profile_id:
                break
        if profile_id is None and object_type.get("AllowProfileCreation"):
            profile_id = uuid.uuid4().hex
            self._db.execute(
                "INSERT INTO profiles VALUES (?, ?, ?)",
                (domain, profile_id, json.dumps({"ProfileId": profile_id, "Attributes": {}})),
            )
        if profile_id is not None:
            profile = self._require_profile(domain, profile_id)
            for field_name, field in fields.items():
                target, value = field.get("Target", ""), field_value(field_name)
                if target.startswith("_profile.") and value is not None:
                    _set_path(profile, target.removeprefix("_profile.").split("."), value)
            self._db.execute(
                "UPDATE profiles SET body = ? WHERE domain = ? AND profile_id = ?",
                (json.dumps(profile), domain, profile_id),
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO profile_keys VALUES (?, ?, ?, ?)",
                [(domain, k, v, profile_id) for k, v in profile_keys],
            )
        self._db.execute(
            "INSERT INTO profile_objects VALUES (?, ?, ?, ?, ?) ON CONFLICT (domain, object_type, unique_key) "
            "DO UPDATE SET profile_id = excluded.profile_id, body = excluded.body",
            (domain, type_name, unique_key, profile_id, object_text),
        )
        return _object_unique_key(type_name, unique_key)

    def PutProfileObject(self, p: dict) -> dict:
        return {"ProfileObjectUniqueKey": self._put_object(p["DomainName"], p["ObjectTypeName"], p["Object"])}

    def BatchPutProfileObject(self, p: dict) -> dict:
        successful, failed = [], []
        for item in p["Items"]:
            try:
                key = self._put_object(p["DomainName"], p["ObjectTypeName"], item["Object"])
                successful.append({"Id": item["Id"], "ProfileObjectUniqueKey": key})
            except ApiError as err:
                failed.append({"Id": item["Id"], "Code": err.status, "Message": f"{err.code}: {err.message}"})
        return {"Successful": successful, "Failed": failed}

    def ListProfileObjects(self, p: dict) -> dict:
        self._require_profile(p["DomainName"], p["ProfileId"])
        start = int(p.get("NextToken") or 0)
        size = p.get("MaxResults", 100)
        rows = self._db.execute(
            "SELECT unique_key, body FROM profile_objects WHERE domain = ? AND object_type = ? AND profile_id = ? "
            "ORDER BY unique_key LIMIT ? OFFSET ?",
            (p["DomainName"], p["ObjectTypeName"], p["ProfileId"], size + 1, start),
        ).fetchall()
        items = [
            {
                "ObjectTypeName": p["ObjectTypeName"],
                "ProfileObjectUniqueKey": _object_unique_key(p["ObjectTypeName"], key),
                "Object": body,
            }
            for key, body in rows[:size]
        ]
        return {"Items": items} | ({"NextToken": str(start + size)} if len(rows) > size else {})

    def DeleteProfileObject(self, p: dict) -> dict:
        domain, type_name = p["DomainName"], p["ObjectTypeName"]
        self._require_profile(domain, p["ProfileId"])
        keys = self._db.execute(
            "SELECT unique_key FROM profile_objects WHERE domain = ? AND object_type = ? AND profile_id = ?",
            (domain, type_name, p["ProfileId"]),
        ).fetchall()
        match = next((k for (k,) in keys if _object_unique_key(type_name, k) == p["ProfileObjectUniqueKey"]), None)
        if match is None:
            raise ApiError("ResourceNotFoundException", f"Object {p['ProfileObjectUniqueKey']} does not exist", 404)
        self._db.execute(
            "DELETE FROM profile_objects WHERE domain = ? AND object_type = ? AND unique_key = ?",
            (domain, type_name, match),
        )
        return {"Message": f"Deleted object {p['ProfileObjectUniqueKey']}"}

    # -- profiles ------------------------------------------------------------------------
    def SearchProfiles(self, p: dict) -> dict:
        self._require_domain(p["DomainName"])
        marks = ",".join("?" * len(p["Values"]))
        ids = [
            pid
            for (pid,) in self._db.execute(
                f"SELECT DISTINCT profile_id FROM profile_keys WHERE domain = ? AND key_name = ? "
                f"AND key_value IN ({marks}) ORDER BY profile_id",
                (p["DomainName"], p["KeyName"], *p["Values"]),
            )
        ]
        return {"Items": [self._require_profile(p["DomainName"], pid) for pid in ids]}

    def MergeProfiles(self, p: dict) -> dict:
        domain, main = p["DomainName"], p["MainProfileId"]
        self._require_profile(domain, main)
        for merged in p["ProfileIdsToBeMerged"]:
            self._require_profile(domain, merged)
            for table in ("profile_keys", "profile_objects"):
                self._db.execute(
                    f"UPDATE OR REPLACE {table} SET profile_id = ? WHERE domain = ? AND profile_id = ?",
                    (main, domain, merged),
                )
            self._db.execute("DELETE FROM profiles WHERE domain = ? AND profile_id = ?", (domain, merged))
        return {"Message": f"Merged {len(p['ProfileIdsToBeMerged'])} profiles into {main}"}

    def DeleteProfile(self, p: dict) -> dict:
        domain, profile_id = p["DomainName"], p["ProfileId"]
        self._require_profile(domain, profile_id)
        for table in ("profiles", "profile_keys", "profile_objects"):
            self._db.execute(f"DELETE FROM {table} WHERE domain = ? AND profile_id = ?", (domain, profile_id))
        return {"Message": f"Deleted profile {profile_id}"}

    # -- SES account-level suppression list ---------------------------------------------
    def PutSuppressedDestination(self, p: dict) -> dict:
        self._db.execute(
            "INSERT OR REPLACE INTO suppressed_destinations VALUES (?, ?, ?)",
            (p["EmailAddress"].lower(), p["Reason"], time.time()),
        )
        return {}

    def GetSuppressedDestination(self, p: dict) -> dict:
        row = self._db.execute(
            "SELECT email, reason, last_update FROM suppressed_destinations WHERE email = ?",
            (p["EmailAddress"].lower(),),
        ).fetchone()
        if row is None:
            raise ApiError("NotFoundException", f"{p['EmailAddress']} is not on the suppression list", 404)
        return {"SuppressedDestination": {"EmailAddress": row[0], "Reason": row[1], "LastUpdateTime": row[2]}}

    def ListSuppressedDestinations(self, p: dict) -> dict:
        start = int(p.get("NextToken") or 0)
        size = p.get("PageSize", 1000)
        rows = self._db.execute(
            "SELECT email, reason, last_update FROM suppressed_destinations ORDER BY email LIMIT ? OFFSET ?",
            (size + 1, start),
        ).fetchall()
        items = [{"EmailAddress": e, "Reason": r, "LastUpdateTime": t} for e, r, t in rows[:size]]
        more = {"NextToken": str(start + size)} if len(rows) > size else {}
        return {"SuppressedDestinationSummaries": items} | more

    def DeleteSuppressedDestination(self, p: dict) -> dict:
        deleted = self._db.execute("DELETE FROM suppressed_destinations WHERE email = ?", (p["EmailAddress"].lower(),))
        if deleted.rowcount == 0:
            raise ApiError("NotFoundException", f"{p['EmailAddress']} is not on the suppression list", 404)
        return {}


def _object_unique_key(type_name: str, unique_key: str) -> str:
    """The ProfileObjectUniqueKey the service hands out for an object: opaque, stable per object."""
    return hashlib.sha256(f"{type_name}\x1f{unique_key}".encode()).hexdigest()[:32]


def _set_path(target: dict, path: list[str], value: str) -> None:
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = value


class ProfilesEndpoint(HttpEndpoint):
    """The HTTP server: route, parse, validate, throttle, dispatch, serialize."""

    def __init__(
        self, state_path: Path | str, host: str = "127.0.0.1", port: int = 0, throttle_rate: float = 0.0, seed: int = 0
    ):
        self.state_path = Path(state_path)
        self.outage_flag = self.state_path.with_suffix(".outage")
        self.store = ProfilesStore(state_path)
        self.throttle_rate = throttle_rate
        self._random = random.Random(seed)
        self._random_lock = threading.Lock()
        self._routes = _compile_routes()
        self._models = {s: botocore.session.get_session().get_service_model(s) for s in SERVICES}
        self._listen(host, port)

    def _should_throttle(self, operation: str) -> bool:
        if operation not in THROTTLED_OPERATIONS or self.throttle_rate <= 0:
            return False
        with self._random_lock:
            return self._random.random() < self.throttle_rate

    def start_outage(self, refusal: str = "") -> None:
        """Refuse requests as ``refusal`` says (the outage flag's text), from the next one on."""
        written = self.outage_flag.with_suffix(".outage-next")
        written.write_text(refusal)
        written.replace(self.outage_flag)  # atomic: never an empty flag on its way to holding a code

    def _outage(self, operation: str) -> str | None:
        """The error code ``operation`` is refused with while the outage flag exists, else None."""
        try:
            code, *operations = self.outage_flag.read_text().split() or ["AccessDeniedException"]
        except FileNotFoundError:
            return None
        return code if not operations or operation in operations else None

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict, bytes]:
        parts = urlsplit(raw_path)
        if unsigned := _unsigned(headers, parse_qs(parts.query)):
            return _error(unsigned)
        route, match = next(
            ((r, m) for r in self._routes if r.method == method and (m := r.pattern.match(parts.path))),
            (None, None),
        )
        if route is None:
            return _error(ApiError("UnknownOperationException", f"No operation for {method} {parts.path}", 404))
        op_model = self._models[route.service].operation_model(route.operation)
        try:
            if outage := self._outage(route.operation):  # IAM decides before the request is looked at
                raise ApiError(outage, f"User is not authorized to perform: {route.operation}", 403)
            params = self._parse(op_model, match.groupdict(), parse_qs(parts.query), headers, body)
            if self._should_throttle(route.operation):
                with self.store.operation():
                    self.store.count(route.operation, "throttled")
                raise ApiError(
                    "ThrottlingException" if route.service == "customer-profiles" else "TooManyRequestsException",
                    "Rate exceeded",
                    429,
                )
            handler: Callable[[dict], dict] | None = getattr(self.store, route.operation, None)
            if handler is None:
                raise ApiError("BadRequestException", f"{route.operation} is not supported by the local endpoint")
            with self.store.operation():
                result = handler(params)
                self.store.count(route.operation, "ok")
        except ApiError as err:
            if err.status != 429:
                with self.store.operation():
                    self.store.count(route.operation, err.code)
            return _error(err)
        return 200, {"Content-Type": "application/json"}, json.dumps(result).encode()

    @staticmethod
    def _parse(op_model, uri: dict, query: dict, headers: dict, body: bytes) -> dict:
        shape = op_model.input_shape
        params: dict[str, Any] = {}
        try:
            payload = json.loads(body) if body else {}
        except json.JSONDecodeError as exc:
            raise ApiError("BadRequestException", f"Request body is not JSON: {exc}") from exc
        lowered = {k.lower(): v for k, v in headers.items()}
        for name, member in shape.members.items() if shape else []:
            location, wire = member.serialization.get("location"), member.serialization.get("name", name)
            if location == "uri" and wire in uri:
                params[name] = unquote(uri[wire])
            elif location == "querystring" and wire in query:
                values = query[wire]
                params[name] = values if member.type_name == "list" else _coerce(values[0], member)
            elif location == "header" and wire.lower() in lowered:
                params[name] = _coerce(lowered[wire.lower()], member)
            elif location is None and name in payload:
                params[name] = payload[name]
        if shape is not None:
            try:
                validate_parameters(params, shape)
            except ParamValidationError as exc:
                raise ApiError("BadRequestException", str(exc)) from exc
            # botocore leaves enums to the service; AWS refuses a value outside the model's set.
            for name, member in shape.members.items():
                if getattr(member, "enum", None) and name in params and params[name] not in member.enum:
                    raise ApiError(
                        "BadRequestException",
                        f"Value at '{name}' failed to satisfy constraint: Member must satisfy enum value set: "
                        f"{member.enum}",
                    )
        return params


def _unsigned(headers: dict[str, str], query: dict[str, list[str]]) -> ApiError | None:
    """What AWS answers a request that is not signed with Signature Version 4, before anything else:
    no Authorization header (nor a presigned query) is MissingAuthenticationTokenException, one that
    is not SigV4's shape IncompleteSignatureException (both 403). The signature itself is not
    verified: the local endpoint holds no secret keys."""
    lowered = {k.lower(): v for k, v in headers.items()}
    authorization = lowered.get("authorization")
    if authorization is None:
        if "X-Amz-Signature" in query:
            return None
        return ApiError("MissingAuthenticationTokenException", "Missing Authentication Token", 403)
    scheme, _, fields = authorization.partition(" ")
    named = {part.split("=", 1)[0].strip() for part in fields.split(",") if "=" in part}
    problems = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if name not in named
    ]
    if "x-amz-date" not in lowered and "date" not in lowered:
        problems.append("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    if scheme != "AWS4-HMAC-SHA256" or problems:
        detail = " ".join(problems) or f"Unsupported Authorization scheme {scheme!r}: AWS4-HMAC-SHA256 only."
        return ApiError("IncompleteSignatureException", f"{detail} Authorization={authorization}", 403)
    return None


def _error(err: ApiError) -> tuple[int, dict, bytes]:
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": err.code}
    return err.status, headers, json.dumps({"Message": err.message, "message": err.message}).encode()
