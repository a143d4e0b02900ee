"""GDPR erasure: the request, the matcher, the buckets, Customer Profiles and SES, the register (the
warehouse on both engines: test_erasure_warehouse.py)."""

import gzip
import json
from datetime import UTC, datetime

import pytest

from include import settings
from include.erasure import register
from include.erasure.buckets import changed_hours, erase_landing, erase_raw_zone
from include.erasure.customer_profiles import erase_customer_profiles, suppressions_kept
from include.erasure.matching import Matcher
from include.erasure.request import ErasureRequestError, Request, hash_key, identifier_hash, parse_request
from include.erasure.resolution import Person
from include.landing.land import land_hour
from include.landing.partitions import PART_NAME, partition_prefix
from include.landing.sources import CUSTOMER_COLUMNS
from include.sync import ses_suppression, templates
from include.sync import state as sync_state
from include.sync.config import SyncSettings
from include.warehouse.seam import DuckDBWarehouse
from tests.unit.conftest import endpoint_client
from tests.unit.test_customer_profiles_sync import WarehouseFile

HOUR = datetime(2026, 11, 20, 10, tzinfo=UTC)
EMAIL, PHONE = "ana.smith@example.com", "+12062478200"
OTHER_EMAIL, OTHER_PHONE = "bo.chen@example.com", "+12065550188"


def request(**params) -> Request:
    return parse_request({"request_id": "DSAR-1"} | params)


# -- the request -----------------------------------------------------------------------------
def test_a_request_names_exactly_one_identifier_and_is_normalised():
    assert request(email=" Ana.Smith@Example.COM ") == Request("DSAR-1", "email", EMAIL)
    assert request(phone="(206) 247-8200").value == PHONE  # national, in the default region (US)
    assert request(phone="07400 123456", phone_country="gb").value == "+447400123456"
    assert request(profile_id="p-123456", email="").kind == "profile_id"
    for bad in ({}, {"email": EMAIL, "phone": PHONE}, {"phone": "12"}, {"email": "nobody"}):
        with pytest.raises(ErasureRequestError):
            request(**bad)


@pytest.mark.parametrize(
    "params, reason",
    [
        ({"email": "ana@localhost"}, "name@domain.tld"),
        ({"email": "@example.com"}, "name@domain.tld"),
        ({"phone": "+6834002"}, "fewer than 7 national digits"),  # Niue: valid, 4 digits
        ({"profile_id": "42"}, "shorter than 6"),
    ],
)
def test_an_identifier_too_short_to_be_sure_of_is_refused(params, reason):
    with pytest.raises(ErasureRequestError, match=reason):
        request(**params)
    with pytest.raises(ErasureRequestError, match="request_id"):
        parse_request({"email": EMAIL})


def test_the_audit_hash_is_keyed_and_the_local_key_is_kept(tmp_path, monkeypatch):
    monkeypatch.delenv(settings.ERASURE_HASH_KEY_ENV, raising=False)
    monkeypatch.setattr(settings, "VAR_DIR", tmp_path)
    key = hash_key()
    assert hash_key() == key and (tmp_path / "erasure_hash.key").stat().st_mode & 0o077 == 0
    asked = request(email=EMAIL)
    assert identifier_hash(asked, key) != identifier_hash(asked, b"another key")
    assert EMAIL not in identifier_hash(asked, key)
    monkeypatch.setenv(settings.ERASURE_HASH_KEY_ENV, "from-the-secrets-backend")
    assert hash_key() == b"from-the-secrets-backend"


# -- matching --------------------------------------------------------------------------------
MATCHER = Matcher({EMAIL}, {PHONE, "+447400123456"}, {"C00000042", "AIR-7F3A9C21"})
MENTIONS = [
    '{"email":"Ana.Smith@EXAMPLE.com"}',
    "mailto:ana.smith@example.com.",
    "https://x.example/u?e=ana.smith%40example.com&c=1",
    "(206) 247-8200",
    "+1 206 247 8200",
    '"from":"12062478200"',
    "call 206.247.8200 please",
    "07400 123456",
    "+447400123456",
    "crm:crm:C00000042",
    "c00000042,Ana",
    "booking air-7f3a9c21 confirmed",
]
NOT_MENTIONS = [
    "xana.smith@example.com",
    "ana.smith@example.com.au",
    "ana.smith@example.community",
    "120624782001",
    "2062478201",
    "C000000421",
    "AC00000042",
    "air-7f3a9c21b",
]


@pytest.mark.parametrize("text", MENTIONS)
def test_a_mention_is_found_in_any_case_and_formatting(text):
    assert MATCHER.holds(text) and MATCHER.could_hold(text)


@pytest.mark.parametrize("text", NOT_MENTIONS)
def test_a_longer_identifier_is_not_a_mention(text):
    assert not MATCHER.holds(text)


# CRM id 42 (too short to search text for) beside what merely contains 42.
SHORT_ID = Matcher(set(), set(), {"42"})
HOLD_42 = [
    {"customer_id": "42"},
    {"member": {"customer_id": 42}},
    {"crm_customer_id": " 42 "},
    '{"source_system":"crm","customer_id":"42"}',
    {"body": '{"customerId":"42"}'},
    {"profile_ids": ["p-1234567", "42"]},
]
NOT_42 = [
    "10:42:00",
    {"updated_at": "2026-11-20T10:42:00Z"},
    {"amount": 0.42},
    {"amount": "0.42"},
    {"points_balance": 42},
    '{"points_balance":42}',
    {"note": "42"},
    {"customer_id": "C42"},
    {"customer_id": 420},
    "crm,42,Ana",  # a line that is not JSON is text: only long identifiers are searched in it
    {"paid": 42},
]


@pytest.mark.parametrize("value", HOLD_42)
def test_a_short_id_is_matched_as_a_whole_value_of_an_id_field(value):
    assert SHORT_ID.holds(value)
    assert SHORT_ID.could_hold(value if isinstance(value, str) else json.dumps(value))


@pytest.mark.parametrize("value", NOT_42)
def test_a_short_id_is_not_matched_inside_times_numbers_or_other_fields(value):
    assert not SHORT_ID.holds(value)


def test_a_short_phone_is_matched_as_a_value_only():
    niue = Matcher(set(), {"+6834002"}, set())
    assert niue.holds({"phone": "+683 4002"}) and niue.holds("+6834002")
    assert not niue.holds("call +683 4002 today") and not niue.holds({"phone": "+6834003"})


def test_no_identifiers_match_nothing():
    nobody = Matcher(set(), set(), set())
    assert nobody.candidate_pattern is None
    assert not nobody.holds(EMAIL) and not nobody.could_hold(EMAIL)


# -- the warehouse resolution reads -----------------------------------------------------------
def build_warehouse(con, dbt_models) -> None:
    """The tables resolution reads, and the dbt models over them it looks values up in (views)."""
    con.execute("create schema main_intermediate")
    con.execute(
        """create table main_intermediate.int_identity_records_normalised as select * from (values
        ('crm:crm:C1', 'crm', 'crm', 'C1', 'ana.smith@example.com', '+12062478200', 'ly1', null),
        ('loyalty:loyalty:LY1', 'loyalty', 'loyalty', 'LY1', null, null, 'ly1', 'C1'),
        ('engagement:email:ana.smith@example.com', 'engagement', 'email', 'ana.smith@example.com',
         'ana.smith@example.com', null, null, null),
        ('crm:crm:C9', 'crm', 'crm', 'C9', 'old.ana@example.com', null, null, null),
        ('crm:crm:C2', 'crm', 'crm', 'C2', 'bo.chen@example.com', '+12065550188', null, null),
        ('crm:crm:C3', 'crm', 'crm', 'C3', 'cy.chen@example.com', '+12065550188', null, null)
        ) as t (record_key, source_kind, source_system, source_record_id, email, phone, loyalty_id, crm_customer_id)"""
    )
    con.execute(
        """create table profile_links as select * from (values
        ('crm:crm:C1', 'p-ana-1'), ('loyalty:loyalty:LY1', 'p-ana-1'),
        ('engagement:email:ana.smith@example.com', 'p-ana-1'), ('crm:crm:C9', 'p-ana-1'),
        ('crm:crm:C2', 'p-bo-1'), ('crm:crm:C3', 'p-cy-1')) as t (record_key, profile_id)"""
    )
    con.execute(
        """create table unified_profiles as select * from (values
        ('p-ana-1', ['ana.smith@example.com', 'old.ana@example.com'], ['+12062478200']),
        ('p-bo-1', ['bo.chen@example.com'], ['+12065550188']),
        ('p-cy-1', ['cy.chen@example.com'], ['+12065550188'])) as t (profile_id, emails, phones)"""
    )
    # p-old-1 was Ana's until a build merged it into p-ana-1; p-bo-1 once split from p-x.
    con.execute(
        """create table profile_merges as select * from (values
        ('p-old-1', 'p-ana-1', 'merge'), ('p-x-1', 'p-bo-1', 'split'))
        as t (old_profile_id, new_profile_id, change_kind)"""
    )
    dbt_models(con, "profile_record_identifiers", "profile_addresses")


# -- the buckets -----------------------------------------------------------------------------
def ses(message_id: str, to: str) -> str:
    return json.dumps(
        {
            "eventType": "Delivery",
            "mail": {"timestamp": "2026-11-20T10:01:00.000Z", "messageId": message_id, "destination": [to]},
            "delivery": {"timestamp": "2026-11-20T10:02:03.000Z"},
        }
    )


def whatsapp(statuses: list[dict]) -> str:
    entry = {"changes": [{"value": {"statuses": statuses}}]}
    return json.dumps({"message_timestamp": "2026-11-20T10:05:00Z", "whatsAppWebhookEntry": json.dumps(entry)})


CSV = (
    ",".join(CUSTOMER_COLUMNS) + "\r\n"
    'crm,C1,Ana,Smith,ANA.SMITH@example.com,(206) 247-8200,,"Flat 1\r\n2 High St",,,,,US,,2026-11-20T10:00:00\r\n'
    "crm,C2,Bo,Chen,bo.chen@example.com,,,,,,,,US,,2026-11-20T10:00:00\r\n"
    "crm,C3,Cy,Chen,cy.chen@example.com,,,,,,,,US,,not-a-time\r\n"
    "crm,C4,Ana,Smith,ana.smith@example.com,,,,,,,,US,,never\r\n"
)
LANDING = {
    "ses/2026/11/20/10/f1.gz": "\n".join(
        [ses("m1", EMAIL), "not json", ses("m2", OTHER_EMAIL), '{"oops": "ana.smith@example.com"', ses("m1", EMAIL)]
    ),
    # The second line lands one status and quarantines an id-less one sent to Ana.
    "whatsapp/2026/11/20/10/w1": "\n".join(
        [
            whatsapp([{"id": "s1", "status": "sent", "recipient_id": "12065550188"}]),
            whatsapp([{"id": "s2", "status": "read"}, {"status": "sent", "recipient_id": "12062478200"}]),
        ]
    )
    + "\n",
    "customers/2026/11/20/10/crm.csv": CSV,
}


def land_all(s3) -> dict[str, dict]:
    return {
        stream: land_hour(s3, stream, HOUR, "landing", "raw").__dict__ for stream in ("ses", "whatsapp", "customers")
    }


def raw_rows(s3, stream: str) -> list[dict]:
    rows = []
    for prefix in (
        partition_prefix(stream, HOUR),
        f"_quarantine/stream={partition_prefix(stream, HOUR)}",
    ):
        body = s3.get_object(Bucket="raw", Key=prefix + PART_NAME)["Body"].read()
        rows += [json.loads(line) for line in gzip.decompress(body).splitlines()]
    return rows


def manifest(s3, stream: str) -> dict:
    key = f"_manifests/{partition_prefix(stream, HOUR)}manifest.json"
    return json.loads(s3.get_object(Bucket="raw", Key=key)["Body"].read())


def test_the_buckets_lose_every_line_naming_the_person_and_manifests_still_reconcile(s3):
    for key, text in LANDING.items():
        s3.put_object(Bucket="landing", Key=key, Body=gzip.compress(text.encode()) if key.endswith(".gz") else text)
    land_all(s3)
    person = Person(emails=frozenset({EMAIL}), phones=frozenset({PHONE}), ids=frozenset({"C1"}))
    matcher = person.matcher()

    landed = erase_landing(s3, "landing", matcher)
    raw = erase_raw_zone(s3, "raw", "landing", matcher)

    # ses: m1 twice and the broken line naming her; whatsapp: the line with her item; customers: C1 (two
    # physical lines) and C4.
    assert landed == {"objects": 3, "lines": 6}
    assert raw == {"objects": 6, "rows": 7, "manifests": 3, "lines": 6, "hours": ["year=2026/month=11/day=20/hour=10/"]}
    csv_left = s3.get_object(Bucket="landing", Key="customers/2026/11/20/10/crm.csv")["Body"].read().decode()
    assert csv_left == CSV.split("\r\n", 1)[0] + "\r\n" + "".join(CSV.splitlines(keepends=True)[3:5])
    for stream in ("ses", "whatsapp", "customers"):
        assert not any(matcher.holds(row) for row in raw_rows(s3, stream))
    assert (manifest(s3, "ses")["erased"], manifest(s3, "whatsapp")["erased"], manifest(s3, "customers")["erased"]) == (
        3,
        1,
        2,
    )
    # Landing the erased hour afresh gives the same counts the erased manifests hold.
    erased = {stream: manifest(s3, stream) for stream in ("ses", "whatsapp", "customers")}
    for stream, relanded in land_all(s3).items():
        counts = ("lines_read", "landed", "quarantined", "quarantined_items", "quarantine_reasons")
        assert {c: erased[stream][c] for c in counts} == {c: relanded[c] for c in counts}, stream
        assert [{k: f[k] for k in ("key", "bytes", "etag", "lines")} for f in erased[stream]["source_files"]] == [
            {k: f[k] for k in ("key", "bytes", "etag", "lines")} for f in relanded["source_files"]
        ], stream
    assert len(raw_rows(s3, "ses")) == 2 and len(raw_rows(s3, "customers")) == 2


def test_objects_not_naming_the_person_are_not_rewritten(s3):
    s3.put_object(Bucket="landing", Key="ses/2026/11/20/10/f2", Body=ses("m2", OTHER_EMAIL).encode())
    land_all(s3)
    before = s3.list_objects_v2(Bucket="raw")["Contents"]
    matcher = Person(emails=frozenset({EMAIL})).matcher()
    assert erase_landing(s3, "landing", matcher) == {"objects": 0, "lines": 0}
    assert erase_raw_zone(s3, "raw", "landing", matcher) == {
        "objects": 0,
        "rows": 0,
        "manifests": 0,
        "lines": 0,
        "hours": [],
    }
    assert s3.list_objects_v2(Bucket="raw")["Contents"] == before


def test_the_changed_hours_are_read_from_the_raw_zone_prefixes():
    assert changed_hours([]) == []
    assert changed_hours(["year=2026/month=11/day=20/hour=10/", "year=2026/month=11/day=20/hour=02/"]) == [
        datetime(2026, 11, 20, 2, tzinfo=UTC),
        datetime(2026, 11, 20, 10, tzinfo=UTC),
    ]


# -- Customer Profiles and SES ---------------------------------------------------------------
def test_their_profiles_are_deleted_their_suppressions_kept_and_nobody_elses_touched(endpoint):
    client, ses_client = endpoint_client(endpoint), endpoint_client(endpoint, "sesv2")
    templates.ensure_domain(client, "d")
    templates.ensure_object_types(client, "d")
    for profile_id in ("p-ana-1", "p-bo-1"):
        client.put_profile_object(
            DomainName="d", ObjectTypeName="UnifiedProfile", Object=json.dumps({"profile_id": profile_id})
        )
    for address in (EMAIL, OTHER_EMAIL):
        ses_client.put_suppressed_destination(EmailAddress=address, Reason="BOUNCE")
    person = Person(profile_ids=frozenset({"p-ana-1", "p-never-pushed"}), emails=frozenset({EMAIL, "x@example.com"}))

    assert erase_customer_profiles(client, "d", person) == 1
    assert suppressions_kept(ses_client, person) == 1

    def found(profile_id: str) -> int:
        return len(client.search_profiles(DomainName="d", KeyName="profile_id", Values=[profile_id])["Items"])

    assert (found("p-ana-1"), found("p-bo-1")) == (0, 1)
    # Their address stays suppressed: erased, they must not be mailed again.
    listed = ses_client.list_suppressed_destinations()["SuppressedDestinationSummaries"]
    assert sorted(x["EmailAddress"] for x in listed) == [EMAIL, OTHER_EMAIL]
    assert erase_customer_profiles(client, "no-such-domain", person) == 0


# -- the erased-subject register -------------------------------------------------------------
@pytest.fixture
def hash_key_env(monkeypatch, tmp_path):
    monkeypatch.setattr(settings, "VAR_DIR", tmp_path)
    monkeypatch.setenv(settings.ERASURE_HASH_KEY_ENV, "the-key")


def test_the_register_holds_keyed_hashes_only_and_recognises_what_erasure_matches(s3, hash_key_env):
    person = Person(emails=frozenset({EMAIL}), phones=frozenset({PHONE}), ids=frozenset({"42"}))
    assert register.add(s3, "raw", person.matcher().identifiers, "DSAR-1") == 3
    assert register.add(s3, "raw", person.matcher().identifiers, "DSAR-1") == 0  # a retry adds nothing
    stored = s3.get_object(Bucket="raw", Key=register.REGISTER_KEY)["Body"].read().decode()
    assert not person.matcher().could_hold(stored) and set(json.loads(stored)["subjects"].values()) == {"DSAR-1"}

    erased = register.load(s3, "raw")
    for value in HOLD_42 + ['{"to":"ANA.SMITH@example.com"}', {"recipient_id": "12062478200"}]:
        assert erased.holds(value), value
    for value in NOT_42 + [{"to": OTHER_EMAIL}, {"phone": OTHER_PHONE}]:
        assert not erased.holds(value), value
    assert erased.holds_address(" Ana.Smith@example.com") and not erased.holds_address(OTHER_EMAIL)


def test_the_ses_sync_never_removes_an_erased_address(s3, hash_key_env, endpoint, tmp_path, dbt_models):
    ses_client = endpoint_client(endpoint, "sesv2")
    settings_ = SyncSettings(concurrency=1, checkpoint_seconds=0.0)
    con = WarehouseFile(tmp_path / "warehouse.duckdb")
    wh = DuckDBWarehouse(con.path)
    dbt_models(con, *sync_state.COLUMNS)
    con.execute("create table suppression_list (email_address varchar, reason varchar)")
    con.execute(f"insert into suppression_list values ('{EMAIL}', 'BOUNCE'), ('{OTHER_EMAIL}', 'BOUNCE')")
    ses_suppression.sync_suppression_list(wh, ses_client, "r1", settings_, register.load(s3, "raw"))
    # Erased: the warehouse no longer lists her (nor holds the sync's state row: here it still does).
    register.add(s3, "raw", [("email", EMAIL)], "DSAR-1")
    con.execute(f"delete from suppression_list where email_address = '{EMAIL}'")
    con.execute(f"delete from suppression_list where email_address = '{OTHER_EMAIL}'")

    summary = ses_suppression.sync_suppression_list(wh, ses_client, "r2", settings_, register.load(s3, "raw"))

    assert summary["erased_kept"] == 1
    state = con.execute("select object_key from customer_profiles_sync_state").fetchall()
    logged = con.execute("select object_key from customer_profiles_sync_log where run_id = 'r2'").fetchall()
    listed = ses_client.list_suppressed_destinations()["SuppressedDestinationSummaries"]
    assert [x["EmailAddress"] for x in listed] == [EMAIL]  # hers kept; the other, ours to remove, removed
    assert state == [] and logged == [(OTHER_EMAIL,)]
