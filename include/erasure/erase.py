"""GDPR erasure: one person out of the buckets, the warehouse and Customer Profiles.

A request names the person by one identifier (an email, a phone, or a profile_id).
``resolve`` finds every profile it belongs to (``profile_links`` through the normalised
identity records, ``unified_profiles``, and ids merged into them in ``profile_merges``),
then every identifier of those profiles: emails, phones, loyalty ids, CRM ids, source
record ids, record keys and profile ids. That set is what is erased, through one
``Matcher``: a regular expression that Python and DuckDB (RE2) both run over lower-cased
text, so a line, an object and a warehouse row are judged the same way. Identifiers are
matched whole (an id is not matched inside a longer id), and a phone in any formatting
(E.164, WhatsApp's digits, national with spaces or brackets).

An identifier that records of *other* profiles hold too (a shared family phone) is not
matched: erasing it would erase someone else. Those are counted in the audit. A request by
an email or phone that several profiles hold is refused: it must name one profile_id.

Places, in the order the DAG runs them (the warehouse last, because it is what
``resolve`` reads, so a retried task still finds the person):

1. Customer Profiles (DeleteProfile of every profile found by our ``profile_id`` key) and
   the SES account-level suppression list (their emails).
2. The landing bucket (each line, or CSV row, that mentions the person is removed) and the
   raw zone (each source line that mentions the person loses every raw row it produced,
   landed or quarantined; the partition's manifest is decremented and counts ``erased``,
   so landed = raw records and the quality gate still reconciles when the hour is rebuilt).
3. The warehouse: every row of every base table in every schema with one of the person's
   profile ids or record keys, or whose text mentions an identifier. One transaction, with
   the ``erasure_audit`` row.

The audit row holds a keyed hash (HMAC-SHA256) of the identifier, never the value:
phones and emails are guessable, so a plain hash would itself be a trace.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
from collections import Counter
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime

import duckdb
import phonenumbers

from include import settings
from include.landing import land as landing
from include.sync.config import PROFILE_KEY
from include.warehouse import connection as warehouse

log = logging.getLogger(__name__)

IDENTIFIER_KINDS = ("email", "phone", "profile_id")
AUDIT_TABLE = "erasure_audit"
HASH_KEY_ENV = "C360_ERASURE_HASH_KEY"
_PHONE_SEPARATORS = "[ ().-]{0,2}"  # between digits: "(206) 247-8200", "+44 7400 123456"
_PARTITION = re.compile(r"^(?:_quarantine/stream=)?([^/]+/year=\d{4}/month=\d{2}/day=\d{2}/hour=\d{2}/)")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")  # the lines landing's reader sees, with their ends


class ErasureRequestError(ValueError):
    """The request cannot be carried out as given (retrying would not help)."""


# -- the request -------------------------------------------------------------------------
@dataclass(frozen=True)
class Request:
    request_id: str
    kind: str  # email | phone | profile_id
    value: str  # normalised: email lower-cased, phone E.164


def parse_request(params: dict) -> Request:
    """Exactly one of email, phone (E.164, or national in ``phone_country``), profile_id; and a request_id."""
    given = {kind: str(params[kind]).strip() for kind in IDENTIFIER_KINDS if params.get(kind) not in (None, "")}
    if len(given) != 1:
        raise ErasureRequestError(f"give exactly one of {', '.join(IDENTIFIER_KINDS)}; got {sorted(given) or 'none'}")
    request_id = str(params.get("request_id") or "").strip()
    if not request_id:
        raise ErasureRequestError("request_id is required: the erasure request's reference, for the audit")
    ((kind, value),) = given.items()
    if kind == "email":
        value = value.lower()
        if "@" not in value:
            raise ErasureRequestError("email is not an email address")
    elif kind == "phone":
        region = str(params.get("phone_country") or landing.DEFAULT_PHONE_REGION).upper()
        normalised = json.loads(landing.normalise_phone(value, region))
        if normalised["phone_status"] != "valid":
            raise ErasureRequestError(f"phone is not a valid number (national numbers are read in {region})")
        value = normalised["phone_e164"]
    return Request(request_id, kind, value)


def hash_key() -> bytes:
    """The audit hash's key: ``C360_ERASURE_HASH_KEY`` (production: from the secrets backend), else
    a random key kept in ``var/`` beside the local warehouse, created on first use."""
    if os.environ.get(HASH_KEY_ENV):
        return os.environ[HASH_KEY_ENV].encode()
    path = settings.VAR_DIR / "erasure_hash.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip().encode()


def identifier_hash(request: Request, key: bytes) -> str:
    return hmac.new(key, f"{request.kind}:{request.value}".encode(), hashlib.sha256).hexdigest()


# -- matching ------------------------------------------------------------------------------
def _phone_pattern(e164: str) -> str:
    """The number with or without its country code (and '+'), or with a national trunk 0, any spacing."""
    number = phonenumbers.parse(e164)
    national = phonenumbers.national_significant_number(number)
    return rf"(?:\+?{number.country_code}{_PHONE_SEPARATORS})?(?:0{_PHONE_SEPARATORS})?" + _PHONE_SEPARATORS.join(
        national
    )


def build_pattern(emails: set[str], phones: set[str], ids: set[str]) -> str | None:
    """One regular expression over lower-cased text, valid for Python's re and DuckDB's RE2 (no lookaround):
    each identifier between characters that could not continue it."""
    parts = []
    if phones:
        alternatives = "|".join(_phone_pattern(p) for p in sorted(phones))
        parts.append(rf"(?:^|[^0-9])(?:{alternatives})(?:[^0-9]|$)")
    if emails:
        # Also URL-encoded, as in a click-tracking link.
        variants = sorted({e.lower() for e in emails} | {e.lower().replace("@", "%40") for e in emails})
        alternatives = "|".join(re.escape(e) for e in variants)
        parts.append(rf"(?:^|[^a-z0-9._+\-])(?:{alternatives})(?:$|[^a-z0-9_.\-]|\.$|\.[^a-z0-9])")
    if ids:
        alternatives = "|".join(re.escape(i.lower()) for i in sorted(ids))
        parts.append(rf"(?:^|[^a-z0-9])(?:{alternatives})(?:[^a-z0-9]|$)")
    return "|".join(parts) or None


class Matcher:
    def __init__(self, pattern: str | None):
        self.pattern = pattern
        self._regex = re.compile(pattern) if pattern else None

    def mentions(self, text: str) -> bool:
        return self._regex is not None and self._regex.search(text.lower()) is not None


# -- resolution ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Person:
    profile_ids: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()
    ids: frozenset[str] = frozenset()  # loyalty, CRM and source record ids, record keys, profile ids
    record_keys: frozenset[str] = frozenset()
    shared: frozenset[str] = frozenset()  # held by other profiles' records too: not matched

    @property
    def identifiers(self) -> int:
        return len(self.emails) + len(self.phones) + len(self.ids)

    def matcher(self) -> Matcher:
        return Matcher(build_pattern(set(self.emails), set(self.phones), set(self.ids)))


_NORMALISED = "main_intermediate.int_identity_records_normalised"
_SEED_SQL = {
    "email": f"""
        select links.profile_id from profile_links as links
        inner join {_NORMALISED} as records using (record_key) where records.email = $value
        union select profile_id from unified_profiles where list_contains(emails, $value)""",
    "phone": f"""
        select links.profile_id from profile_links as links
        inner join {_NORMALISED} as records using (record_key) where records.phone = $value
        union select profile_id from unified_profiles where list_contains(phones, $value)""",
    "profile_id": """
        select profile_id from profile_links where profile_id = $value
        union select profile_id from unified_profiles where profile_id = $value
        union select old_profile_id from profile_merges where old_profile_id = $value""",
}
# Every identifying value of a record, one row each.
_RECORD_VALUES = f"""
    select links.profile_id, records.record_key, records.source_kind, kind, value
    from profile_links as links
    inner join {_NORMALISED} as records using (record_key)
    cross join lateral (values
        ('email', records.email), ('phone', records.phone), ('id', records.loyalty_id),
        ('id', records.crm_customer_id),
        ('id', case when records.source_kind != 'engagement' then records.source_record_id end)
    ) as identifying (kind, value)
    where value is not null
"""


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        name
        for (name,) in con.execute("select table_schema || '.' || table_name from information_schema.tables").fetchall()
    }


def resolve(con: duckdb.DuckDBPyConnection, request: Request) -> Person:
    """Every profile the identifier belongs to and every identifier of those profiles.

    With no profile found, the given identifier alone is erased (it may still sit in
    quarantined lines or sync state)."""
    tables = _tables(con)
    needed = {"main.profile_links", "main.unified_profiles", "main.profile_merges", _NORMALISED}
    given = {"email": set(), "phone": set(), "id": set()}
    given["id" if request.kind == "profile_id" else request.kind].add(request.value)
    if not needed <= tables:
        log.warning("the warehouse has no profiles yet (%s missing): erasing the given identifier only",
                    sorted(needed - tables))  # fmt: skip
        return _person(set(), given, set(), set())

    profiles = {p for (p,) in con.execute(_SEED_SQL[request.kind], {"value": request.value}).fetchall()}
    if len(profiles) > 1 and request.kind != "profile_id":
        # Identity resolution links records sharing a valid email or mobile, so several profiles
        # holding it are several people (a family phone): erasing all of them is not what was asked.
        raise ErasureRequestError(
            f"the {request.kind} belongs to {len(profiles)} profiles: erase by profile_id, one person at a time"
        )
    # Ids merged into one another are the same person's: follow merge history both ways.
    merges = con.execute(
        "select old_profile_id, new_profile_id from profile_merges where change_kind = 'merge'"
    ).fetchall()
    grown = True
    while grown:
        before = len(profiles)
        profiles |= {new for old, new in merges if old in profiles} | {old for old, new in merges if new in profiles}
        grown = len(profiles) > before

    con.execute("create or replace temp table erasure_profiles as select unnest($p::varchar[]) as profile_id",
                {"p": sorted(profiles)})  # fmt: skip
    values = con.execute(
        f"select record_key, kind, value from ({_RECORD_VALUES}) where profile_id in (select * from erasure_profiles)"
    ).fetchall()
    record_keys = {key for key, _, _ in values} | {
        key
        for (key,) in con.execute(
            "select record_key from profile_links where profile_id in (select * from erasure_profiles)"
        ).fetchall()
    }
    for _, kind, value in values:
        given[kind].add(value)
    # The same value on a record of someone else's profile: matching it would erase them too.
    mine = sorted({v for vs in given.values() for v in vs})
    shared = {
        value
        for (value,) in con.execute(
            f"select distinct value from ({_RECORD_VALUES}) "
            "where profile_id not in (select * from erasure_profiles) and value in (select unnest($v::varchar[]))",
            {"v": mine},
        ).fetchall()
    }
    return _person(profiles, given, record_keys, shared)


def _person(profiles: set[str], given: dict[str, set[str]], record_keys: set[str], shared: set[str]) -> Person:
    return Person(
        profile_ids=frozenset(profiles),
        emails=frozenset(given["email"] - shared),
        phones=frozenset(given["phone"] - shared),
        ids=frozenset((given["id"] | profiles | record_keys) - shared),
        record_keys=frozenset(record_keys),
        shared=frozenset(shared),
    )


# -- Customer Profiles and SES -------------------------------------------------------------
def erase_customer_profiles(client, domain: str, person: Person) -> int:
    """DeleteProfile of every Customer Profiles profile that one of the person's profile ids names."""
    found: set[str] = set()
    for profile_id in sorted(person.profile_ids):
        try:
            items = client.search_profiles(DomainName=domain, KeyName=PROFILE_KEY, Values=[profile_id])["Items"]
        except client.exceptions.ResourceNotFoundException:  # no domain: nothing was ever pushed
            return 0
        found |= {item["ProfileId"] for item in items}
    deleted = 0
    for cp_profile_id in sorted(found):
        try:
            client.delete_profile(DomainName=domain, ProfileId=cp_profile_id)
            deleted += 1
        except client.exceptions.ResourceNotFoundException:
            pass  # deleted meanwhile: what we wanted
    return deleted


def erase_suppressions(ses_client, person: Person) -> int:
    """Their emails off the SES account-level suppression list."""
    deleted = 0
    for email in sorted(person.emails):
        try:
            ses_client.delete_suppressed_destination(EmailAddress=email)
            deleted += 1
        except ses_client.exceptions.NotFoundException:
            pass
    return deleted


# -- the buckets ---------------------------------------------------------------------------
def _read(s3, bucket: str, key: str) -> tuple[str, bool]:
    """The object's text (bytes kept exactly through surrogateescape) and whether it was gzip."""
    data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    zipped = data[:2] == b"\x1f\x8b"
    return (gzip.decompress(data) if zipped else data).decode("utf-8", errors="surrogateescape"), zipped


def _encode(text: str, zipped: bool) -> bytes:
    data = text.encode("utf-8", errors="surrogateescape")
    return gzip.compress(data, compresslevel=6, mtime=0) if zipped else data


def _csv_records(text: str) -> list[str]:
    """A CSV file's records as their raw text, header first: a quoted field may span lines."""
    lines = text.splitlines(keepends=True)
    reader = csv.reader(lines, strict=True)
    records, read = [], 0
    while read < len(lines):
        try:
            next(reader)
        except StopIteration:
            break
        except csv.Error:
            pass  # landing quarantines it; its text is still a record here
        if reader.line_num <= read:
            break
        records.append("".join(lines[read : reader.line_num]))
        read = reader.line_num
    return records + (["".join(lines[read:])] if read < len(lines) else [])


def erase_landing(s3, bucket: str, matcher: Matcher) -> dict[str, int]:
    """Rewrite every landing object that mentions the person without those lines (CSV: rows)."""
    counts = Counter(objects=0, lines=0)
    for key in (obj["Key"] for obj in landing.list_objects(s3, bucket)):
        text, zipped = _read(s3, bucket, key)
        if not matcher.mentions(text):
            continue
        if key.startswith("customers/") and landing.is_customer_csv(key, text):
            header, *body = _csv_records(text)
            header = [header]
        else:
            header, body = [], _LINE.findall(text)
        kept = [r for r in body if not matcher.mentions(r)]
        s3.put_object(Bucket=bucket, Key=key, Body=_encode("".join(header + kept), zipped))
        counts["objects"] += 1
        counts["lines"] += len(body) - len(kept)
    return dict(counts)


def erase_raw_zone(s3, raw_bucket: str, landing_bucket: str, matcher: Matcher) -> dict:
    """Every raw row of a source line that mentions the person goes (a WhatsApp line's refused items
    with it); manifests are decremented and count ``erased`` lines. Other objects: line by line."""
    counts = Counter(objects=0, rows=0, manifests=0, lines=0)
    partitions: set[str] = set()  # stream-hour prefixes with a mention
    for key in (obj["Key"] for obj in landing.list_objects(s3, raw_bucket)):
        if key.startswith(landing.MANIFEST_PREFIX + "/"):
            continue
        text, zipped = _read(s3, raw_bucket, key)
        if not matcher.mentions(text):
            continue
        match = _PARTITION.match(key)
        if match is None:  # not landing's: erase line by line
            lines = _LINE.findall(text)
            kept = [line for line in lines if not matcher.mentions(line)]
            s3.put_object(Bucket=raw_bucket, Key=key, Body=_encode("".join(kept), zipped))
            counts["objects"] += 1
            counts["rows"] += len(lines) - len(kept)
            continue
        partitions.add(match.group(1))
    for prefix in sorted(partitions):
        counts.update(_erase_partition(s3, raw_bucket, landing_bucket, prefix, matcher))
    return dict(counts) | {"hours": sorted({prefix.split("/", 1)[1] for prefix in partitions})}


def _partition_keys(s3, bucket: str, prefix: str) -> list[str]:
    return sorted(
        obj["Key"]
        for part in (prefix, f"{landing.QUARANTINE_PREFIX}/stream={prefix}")
        for obj in landing.list_objects(s3, bucket, part)
    )


def _erase_partition(s3, raw_bucket: str, landing_bucket: str, prefix: str, matcher: Matcher) -> dict[str, int]:
    rows: dict[str, list[dict]] = {}
    for key in _partition_keys(s3, raw_bucket, prefix):
        text, _ = _read(s3, raw_bucket, key)
        rows[key] = [json.loads(line) for line in text.splitlines() if line.strip()]
    # A source line is the unit: every row it produced goes if any of them mentions the person.
    erased_lines = {
        (row["source_key"], row["line_no"])
        for key_rows in rows.values()
        for row in key_rows
        if matcher.mentions(landing._compact_json(row))
    }
    landed_lines = {
        (row["source_key"], row["line_no"]) for key_rows in rows.values() for row in key_rows if "reason" not in row
    }
    removed = Counter()
    reasons = Counter()
    written = {}
    for key, key_rows in rows.items():
        kept = [row for row in key_rows if (row["source_key"], row["line_no"]) not in erased_lines]
        if len(kept) == len(key_rows):
            continue
        for row in key_rows:
            line = (row["source_key"], row["line_no"])
            if line not in erased_lines:
                continue
            if "reason" not in row:
                removed["landed"] += 1
            else:
                removed["quarantined"] += 1
                removed["items"] += line in landed_lines
                reasons[row["reason"]] += 1
        body = landing.gzip_lines(kept)
        s3.put_object(Bucket=raw_bucket, Key=key, Body=body)
        written[key] = {"records": len(kept), "bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    manifests = 0
    manifest_key = f"{landing.MANIFEST_PREFIX}/{prefix}manifest.json"
    try:
        manifest = json.loads(s3.get_object(Bucket=raw_bucket, Key=manifest_key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        manifest = None
    if manifest is not None and erased_lines:
        sizes = {}
        for source in manifest["source_files"]:
            try:
                head = s3.head_object(Bucket=landing_bucket, Key=source["key"])
            except s3.exceptions.ClientError:
                continue  # gone from the landing bucket: keep what was recorded
            sizes[source["key"]] = (head["ContentLength"], head["ETag"].strip('"'))
        s3.put_object(
            Bucket=raw_bucket,
            Key=manifest_key,
            Body=json.dumps(erase_from_manifest(manifest, erased_lines, removed, reasons, sizes, written), indent=2)
            .encode(),
        )  # fmt: skip
        manifests = 1
    return {
        "objects": len(written),
        "rows": removed["landed"] + removed["quarantined"],
        "manifests": manifests,
        "lines": len(erased_lines),
    }


def erase_from_manifest(
    manifest: dict,
    erased_lines: set[tuple[str, int]],
    removed: Counter,
    reasons: Counter,
    sizes: dict[str, tuple[int, str]],
    written: dict[str, dict],
) -> dict:
    """The manifest after erasing ``erased_lines``: still lines_read = landed + quarantined - items."""
    per_file = Counter(source_key for source_key, _ in erased_lines)
    result = dict(manifest)
    result["source_files"] = [
        source
        | {"lines": source["lines"] - per_file[source["key"]]}
        | (dict(zip(("bytes", "etag"), sizes[source["key"]], strict=True)) if source["key"] in sizes else {})
        for source in manifest["source_files"]
    ]
    result["lines_read"] = manifest["lines_read"] - len(erased_lines)
    result["landed"] = manifest["landed"] - removed["landed"]
    result["quarantined"] = manifest["quarantined"] - removed["quarantined"]
    result["quarantined_items"] = manifest["quarantined_items"] - removed["items"]
    left = Counter(manifest["quarantine_reasons"])
    left.subtract(reasons)
    result["quarantine_reasons"] = {reason: n for reason, n in left.items() if n > 0}
    result["written"] = [entry | written.get(entry["key"], {}) for entry in manifest["written"]]
    result["erased"] = manifest.get("erased", 0) + len(erased_lines)
    landing.LandingManifest(**{k: v for k, v in result.items() if k != "erased"}).check()
    return result


# -- the warehouse and the audit -------------------------------------------------------------
@dataclass
class AuditRow:
    request_id: str
    requested_at: datetime
    identifier_kind: str
    identifier_hash: str
    profiles: int = 0
    identifiers: int = 0
    shared_identifiers_kept: int = 0
    customer_profiles: int = 0
    ses_suppressions: int = 0
    landing_objects: int = 0
    landing_lines: int = 0
    raw_objects: int = 0
    raw_rows: int = 0
    raw_manifests: int = 0
    warehouse_rows: int = 0
    warehouse_tables: str = "{}"  # JSON: table -> rows removed


_AUDIT_TYPES = {"int": "bigint", "str": "varchar", "datetime": "timestamp"}
_KEY_COLUMNS = ("profile_id", "old_profile_id", "new_profile_id", "record_key")


def ensure_audit_table(con: duckdb.DuckDBPyConnection) -> None:
    columns = ", ".join(f"{f.name} {_AUDIT_TYPES[f.type]}" for f in fields(AuditRow))
    con.execute(f"create table if not exists {AUDIT_TABLE} ({columns}, primary key (request_id))")


def already_done(con: duckdb.DuckDBPyConnection, request_id: str) -> bool:
    if f"main.{AUDIT_TABLE}" not in _tables(con):
        return False
    return con.execute(f"select count(*) from {AUDIT_TABLE} where request_id = ?", [request_id]).fetchone()[0] > 0


def erase_warehouse(con: duckdb.DuckDBPyConnection, person: Person, audit: AuditRow) -> AuditRow:
    """Delete the person's rows from every base table and write the audit row, in one transaction."""
    pattern = person.matcher().pattern
    ensure_audit_table(con)
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_type = 'BASE TABLE' and table_catalog = current_database() and table_name != ? order by 1, 2",
        [AUDIT_TABLE],
    ).fetchall()
    keys = sorted(person.profile_ids | person.record_keys)
    removed = {}
    con.execute("begin")
    try:
        for schema, table in tables:
            columns = {c for (c,) in con.execute(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
                [schema, table],
            ).fetchall()}  # fmt: skip
            key_columns = [c for c in _KEY_COLUMNS if c in columns]
            # The targeted keys, and the safety net: the whole row as text mentions an identifier.
            conditions = [f't."{c}" in (select unnest($keys::varchar[]))' for c in key_columns]
            conditions.append("regexp_matches(lower(t::varchar), $pattern)")
            params = {"pattern": pattern} | ({"keys": keys} if key_columns else {})
            (n,) = con.execute(
                f'delete from "{schema}"."{table}" as t where {" or ".join(conditions)}', params
            ).fetchone()
            if n:
                removed[f"{schema}.{table}" if schema != "main" else table] = n
        audit.warehouse_rows = sum(removed.values())
        audit.warehouse_tables = json.dumps(removed, sort_keys=True)
        row = asdict(audit)
        con.execute(
            f"insert into {AUDIT_TABLE} ({', '.join(row)}) values ({', '.join('?' * len(row))})", list(row.values())
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return audit


def rebuild_interval(hours: list[str]) -> dict[str, str] | None:
    """build_warehouse's interval over the raw-zone hours an erasure changed: rebuilding it refreshes
    the aggregates (campaign counts and the like, which hold no identifiers)."""
    if not hours:
        return None
    stamps = sorted(datetime.strptime(h, "year=%Y/month=%m/day=%d/hour=%H/").replace(tzinfo=UTC) for h in hours)
    return {"interval_start": stamps[0].isoformat(), "interval_end": (stamps[-1] + landing.HOUR).isoformat()}


# -- the DAG's tasks -------------------------------------------------------------------------
# Each resolves the person again from the warehouse (unchanged until the last task), so no
# identifier travels between tasks through XCom: only counts do.
def _resolved(params: dict) -> tuple[Request, Person]:
    request = parse_request(params)
    with warehouse.connect(read_only=True) as con:
        return request, resolve(con, request)


def check_request(params: dict) -> dict[str, int | str]:
    """Fails (for good) on a malformed request, a request id already carried out or naming the
    person, or an email or phone several profiles hold; says what was found."""
    request = parse_request(params)
    with warehouse.connect(read_only=True) as con:
        if already_done(con, request.request_id):
            raise ErasureRequestError(f"request {request.request_id} was already carried out (see {AUDIT_TABLE})")
        person = resolve(con, request)
    if person.matcher().mentions(request.request_id):
        raise ErasureRequestError("request_id names the person: the audit must not; use the ticket's reference")
    if not person.profile_ids:
        log.warning("no profile holds this %s: erasing the identifier alone wherever it appears", request.kind)
    found = {"kind": request.kind, "profiles": len(person.profile_ids), "identifiers": person.identifiers,
             "shared_identifiers_kept": len(person.shared)}  # fmt: skip
    log.info("erasure %s: %s", request.request_id, found)
    return found


def erase_from_customer_profiles(params: dict, client, ses_client) -> dict[str, int]:
    _, person = _resolved(params)
    return {
        "customer_profiles": erase_customer_profiles(client, settings.CUSTOMER_PROFILES_DOMAIN, person),
        "ses_suppressions": erase_suppressions(ses_client, person),
    }


def erase_from_buckets(params: dict, s3) -> dict:
    matcher = _resolved(params)[1].matcher()
    landed = erase_landing(s3, settings.LANDING_BUCKET, matcher)
    raw = erase_raw_zone(s3, settings.RAW_BUCKET, settings.LANDING_BUCKET, matcher)
    interval = rebuild_interval(raw["hours"])
    if interval:
        log.info("raw-zone hours changed: refresh the aggregates with build_warehouse %s", interval)
    return {
        "landing_objects": landed["objects"],
        "landing_lines": landed["lines"],
        "raw_objects": raw["objects"],
        "raw_rows": raw["rows"],
        "raw_manifests": raw["manifests"],
    }


def erase_from_warehouse(params: dict, found: dict, counts: dict[str, int], requested_at: datetime) -> dict:
    """The warehouse last, with the audit row: one transaction."""
    request = parse_request(params)
    with warehouse.connect() as con:
        person = resolve(con, request)
        audit = AuditRow(
            request_id=request.request_id,
            requested_at=requested_at.astimezone(UTC).replace(tzinfo=None),
            identifier_kind=request.kind,
            identifier_hash=identifier_hash(request, hash_key()),
            profiles=found["profiles"],
            identifiers=found["identifiers"],
            shared_identifiers_kept=found["shared_identifiers_kept"],
            **counts,
        )
        audit = erase_warehouse(con, person, audit)
    summary = asdict(audit) | {"requested_at": audit.requested_at.isoformat()}
    if not (audit.profiles or audit.landing_lines or audit.raw_rows or audit.warehouse_rows):
        log.warning("erasure %s: nothing held this %s; audited", request.request_id, request.kind)
    log.info("erasure %s done: %s", request.request_id, summary)
    return summary
