import csv
import gzip
import io
import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import phonenumbers
import pytest

from include import streams
from include.landing.partitions import hour_floor, hour_from_key
from include.landing.records import LandedRecord, Quarantined, check_file, check_record
from include.landing.sources import CUSTOMER_COLUMNS
from local import sample_data

DAY = datetime(2026, 11, 20, tzinfo=UTC)
HOURS = 6
END = DAY + timedelta(hours=HOURS)
PEOPLE = 1500  # enough for ~10 opt-outs and a few WhatsApp failures, still well under a second
SEED = 3
E164 = re.compile(r"^\+[1-9]\d{7,14}$")


def read(root, stream) -> list[tuple[datetime, str]]:
    """Every line of a stream's files, with the hour of the file it is in."""
    lines = []
    for path in sorted((root / stream).rglob("*.gz")):
        hour = hour_from_key(path.relative_to(root).as_posix())
        lines += [(hour, line) for line in gzip.decompress(path.read_bytes()).decode().split("\n") if line]
    return lines


def items(record: dict) -> list[dict]:
    """A WhatsApp record's messages and statuses: the events it fans out to."""
    entry = json.loads(record["whatsAppWebhookEntry"])
    return [
        item for change in entry["changes"] for key in ("messages", "statuses") for item in change["value"].get(key, [])
    ]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    root = tmp_path_factory.mktemp("sample")
    return root, sample_data.generate(root, people=PEOPLE, day=DAY, hours=HOURS, seed=SEED)


@pytest.fixture(scope="module")
def landed(sample):
    """Per stream: the good lines as (file hour, line, record) and the quarantined ones as (line, reason)."""
    root, _ = sample
    result = {}
    for stream in streams.ENGAGEMENT_STREAMS:
        good, bad = [], []
        for hour, line in read(root, stream):
            try:
                good.append((hour, line, check_record(stream, line)))
            except Quarantined as caught:
                bad.append((line, caught.reason))
        result[stream] = good, bad
    return result


def bodies(landed, stream) -> list[dict]:
    """Each distinct good record of a stream once (re-deliveries left out), SNS envelopes unwrapped."""
    distinct = dict.fromkeys(landed_record.body for _, _, landed_record in landed[stream][0])
    return [json.loads(body) for body in distinct]


def test_same_arguments_give_identical_bytes(sample, tmp_path):
    root, _ = sample
    sample_data.generate(tmp_path, people=PEOPLE, day=DAY, hours=HOURS, seed=SEED)
    files = sorted(p.relative_to(root) for p in root.rglob("*.gz"))
    assert files == sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.gz"))
    assert all((root / f).read_bytes() == (tmp_path / f).read_bytes() for f in files)
    # Runs a second apart would differ if gzip stamped the time (header bytes 4-7).
    assert {(root / f).read_bytes()[4:8] for f in files} == {bytes(4)}


def test_a_stream_alone_gives_the_same_bytes_and_the_cli_takes_a_stream_list(sample, tmp_path, capsys):
    root, counts = sample
    sample_data.main([str(tmp_path), "--people", str(PEOPLE), "--hours", str(HOURS), "--seed", str(SEED),
                      "--day", "2026-11-20", "--streams", "sms_voice,whatsapp"])  # fmt: skip
    assert json.loads(capsys.readouterr().out) == {s: counts[s] for s in ("sms_voice", "whatsapp")}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sms_voice", "whatsapp"]
    for path in (tmp_path / "sms_voice").rglob("*.gz"):
        assert path.read_bytes() == (root / path.relative_to(tmp_path)).read_bytes()


@pytest.mark.parametrize(
    "kwargs",
    [{"streams": ("ses", "fax")}, {"day": DAY + timedelta(minutes=30)}, {"hours": 0}],
)
def test_bad_arguments_are_refused(tmp_path, kwargs):
    with pytest.raises(ValueError):
        sample_data.generate(tmp_path, people=10, **kwargs)


@pytest.mark.parametrize("stream", streams.ENGAGEMENT_STREAMS)
def test_good_lines_land_under_the_hour_of_their_own_time(landed, stream):
    good, _ = landed[stream]
    assert good
    for hour, _, record in good:
        assert hour_floor(record.event_time) == hour
        assert DAY <= record.event_time < END


@pytest.mark.parametrize("stream", streams.ENGAGEMENT_STREAMS)
def test_only_the_malformed_lines_are_quarantined_each_for_its_reason(landed, stream):
    _, bad = landed[stream]
    expected = [(line, reason) for reason, line in sample_data.malformed_lines(stream, DAY)]
    assert sorted(bad) == sorted(expected)
    assert {"invalid_json", "not_an_object", "unknown_shape", "missing_message_id"} <= {r for _, r in bad}


def test_a_whatsapp_status_without_id_beside_a_good_one_lands_without_it():
    (line,) = sample_data.partly_rejected_lines("whatsapp", DAY)
    assert [bool(s.get("id")) for s in items(json.loads(line))] == [True, False]
    landed = check_record("whatsapp", line)
    assert [s["status"] for s in items(json.loads(landed.body))] == ["delivered"]
    assert [(reason, json.loads(item)) for reason, _, item in landed.rejected_items] == [
        ("missing_message_id", {"status": "read"})
    ]


@pytest.mark.parametrize("stream", streams.ENGAGEMENT_STREAMS)
def test_counts_match_the_files(sample, landed, stream):
    _, all_counts = sample
    counts = all_counts[stream]
    good, bad = landed[stream]
    records = bodies(landed, stream)
    assert len(records) == counts["records"]
    assert len(good) == counts["records"] + counts["redeliveries"]
    assert len(bad) == counts["malformed"]
    assert counts["redeliveries"] > 0
    fan_out = [len(items(r)) for r in records] if stream == "whatsapp" else [1] * len(records)
    assert sum(fan_out) == counts["events"]
    envelopes = {line for _, line, _ in good if json.loads(line).get("Type") == "Notification"}
    assert len(envelopes) == counts["sns_wrapped"]
    assert (counts["sns_wrapped"] > 0) == (stream == "ses")


def test_volume_is_linear_in_people(sample, tmp_path):
    _, counts = sample
    half = sample_data.generate(tmp_path, people=PEOPLE // 2, day=DAY, hours=HOURS, seed=SEED)
    for stream in streams.ENGAGEMENT_STREAMS:
        assert 0.4 < half[stream]["events"] / counts[stream]["events"] < 0.6


def test_whatsapp_records_fan_out_and_carry_meta_fields(landed):
    records = bodies(landed, "whatsapp")
    batched = [r for r in records if len(items(r)) > 1]
    assert batched and any({"delivered", "read"} <= {i.get("status") for i in items(r)} for r in batched)
    statuses = [i for r in records for i in items(r) if "status" in i]
    assert {"sent", "delivered", "read", "failed"} == {s["status"] for s in statuses}
    assert all(s["errors"][0]["code"] and s["errors"][0]["message"] for s in statuses if s["status"] == "failed")
    assert all(s["recipient_id"].isdigit() and s["timestamp"].isdigit() for s in statuses)
    messages = [i for r in records for i in items(r) if "from" in i]
    assert messages and all(m["type"] == "text" and m["text"]["body"] for m in messages)
    origins = {s["conversation"]["origin"]["type"] for s in statuses if "conversation" in s}
    assert origins == {"marketing", "utility", "service"}
    # Nothing inside a record happens after the record's own time, nor after the window.
    for record in records:
        at = datetime.fromisoformat(record["message_timestamp"])
        assert all(int(i["timestamp"]) <= at.timestamp() for i in items(record))
        assert at < END


def test_sms_numbers_are_valid_e164_of_their_country(landed):
    records = bodies(landed, "sms_voice")
    numbers = Counter()
    for record in records:
        assert E164.match(record["destinationPhoneNumber"]) and E164.match(record["originationPhoneNumber"])
        customer = record["originationPhoneNumber" if record["messageType"] == "INBOUND" else "destinationPhoneNumber"]
        numbers[(customer, record["isoCountryCode"])] += 1
    ours = {r["originationPhoneNumber"] for r in records if r["messageType"] != "INBOUND"}
    assert len(numbers) > 500 and len({c for _, c in numbers}) == 6
    for number, country in list(numbers) + [(n, None) for n in ours]:
        parsed = phonenumbers.parse(number)
        assert phonenumbers.is_valid_number(parsed), number
        assert country in (None, phonenumbers.region_code_for_number(parsed)), number


def test_sms_voice_has_every_channel_and_inbound_replies_with_opt_outs(sample, landed):
    records = bodies(landed, "sms_voice")
    assert {r["eventType"].split("_")[0] for r in records} == {"TEXT", "MEDIA", "VOICE"}
    assert all("callDurationInSeconds" in r for r in records if r["eventType"] == "VOICE_COMPLETED")
    inbound = [r for r in records if r["messageType"] == "INBOUND"]
    ours = {r["originationPhoneNumber"] for r in records if r["messageType"] != "INBOUND"}
    assert inbound and all(r["destinationPhoneNumber"] in ours and r["eventType"] == "TEXT_DELIVERED" for r in inbound)
    opt_outs = [r for r in inbound if any(k in r["messageBody"].upper() for k in sample_data.OPT_OUT_KEYWORDS)]
    assert len(opt_outs) == sample[1]["sms_voice"]["opt_outs"] > 0
    assert len(opt_outs) < len(inbound)  # normal replies too, none of which reads as an opt-out
    assert {r["messageBody"] for r in opt_outs} != {r["messageBody"].upper() for r in opt_outs}  # varied case


def test_conversations_are_sessions_of_alternating_turns(landed):
    sessions: dict[str, list[dict]] = {}
    for record in bodies(landed, "conversations"):
        sessions.setdefault(record["sessionId"], []).append(record)
    assert len(sessions) > 100
    for turns in sessions.values():
        turns.sort(key=lambda r: r["timestamp"])
        directions = "".join(t["direction"][0] for t in turns)  # i(nbound) / o(utbound)
        assert directions.startswith("i") and "ii" not in directions and len({t["channel"] for t in turns}) == 1
        assert len(turns) >= 2 or turns[0]["timestamp"] + 180_000 > END.timestamp() * 1000  # cut by the window


# -- source systems ---------------------------------------------------------------------------
def read_source(root, stream) -> list[tuple[str, int, str, object]]:
    """Every record of a source stream's files, checked as landing checks them: (key, line_no, raw, result)."""
    return [
        (key, line_no, raw, result)
        for path in sorted((root / stream).rglob("*.gz"))
        for key in [path.relative_to(root).as_posix()]
        for line_no, raw, result in check_file(stream, key, path.read_bytes())
    ]


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    root = tmp_path_factory.mktemp("sources")
    counts = sample_data.generate(root, people=PEOPLE, day=DAY, hours=HOURS, seed=SEED, streams=streams.SOURCE_STREAMS)
    checked = {stream: read_source(root, stream) for stream in streams.SOURCE_STREAMS}
    with open(root / sample_data.TRUTH_FILE) as f:
        truth = {(r["source_system"], r["source_record_id"]): int(r["person_id"]) for r in csv.DictReader(f)}
    return root, counts, checked, truth


def good(checked, stream) -> list[dict]:
    return [json.loads(r.body) for *_, r in checked[stream] if isinstance(r, LandedRecord)]


def record_key(stream: str, record: dict) -> tuple[str, str]:
    """(source_system, source_record_id) as the staging models name a record."""
    return {
        "customers": lambda r: (r["source_system"], r["customer_id"]),
        "bookings": lambda r: (r["source_system"], r["booking_id"]),
        "loyalty": lambda r: ("loyalty", r["loyalty_id"]),
        "clickstream": lambda r: ("clickstream", r["event_id"]),
        "service_interactions": lambda r: ("service", r["interaction_id"]),
    }[stream](record)


@pytest.mark.parametrize("stream", streams.SOURCE_STREAMS)
def test_source_counts_reconcile_with_what_landing_finds(sources, stream):
    _, counts, checked, _ = sources
    bad = sorted((r.reason, raw) for *_, raw, r in checked[stream] if isinstance(r, Quarantined))
    expected = sample_data.malformed_lines(stream, DAY)
    if stream == "customers":
        expected += sample_data.malformed_csv_lines(DAY)
    assert bad == sorted(expected)
    assert len(good(checked, stream)) == counts[stream]["records"] > 100
    assert counts[stream]["malformed"] == len(expected)


@pytest.mark.parametrize("stream", streams.SOURCE_STREAMS)
def test_every_source_record_belongs_to_one_person_of_the_population(sources, stream):
    _, _, checked, truth = sources
    keys = [record_key(stream, r) for r in good(checked, stream)]
    assert len(keys) == len(set(keys))
    assert all(0 <= truth[key] < PEOPLE for key in keys)


def test_truth_lists_exactly_the_good_source_records(sources):
    _, _, checked, truth = sources
    keys = {record_key(s, r) for s in streams.SOURCE_STREAMS for r in good(checked, s)}
    assert keys == set(truth)


def test_customers_are_a_crm_csv_with_duplicates_and_web_accounts_in_json_lines(sources):
    root, counts, checked, truth = sources
    files = sorted(p.name for p in (root / "customers").rglob("*.gz"))
    assert files == ["crm-customers-2026-11-20.csv.gz", "web-accounts-2026-11-20.jsonl.gz"]
    records = good(checked, "customers")
    systems = Counter(r["source_system"] for r in records)
    assert systems["crm"] > 0.7 * PEOPLE and 0.2 * PEOPLE < systems["web"] < 0.4 * PEOPLE
    people = Counter(truth[record_key("customers", r)] for r in records)
    assert counts["customers"]["duplicates"] == sum(n - 1 for n in people.values()) > 0
    crm_people = Counter(truth[record_key("customers", r)] for r in records if r["source_system"] == "crm")
    assert 0.04 < sum(n > 1 for n in crm_people.values()) / len(crm_people) < 0.12  # the CRM's own duplicates
    # The CSV's extra columns, and the web's extra key, land as attributes.
    assert all(
        set(r["attributes"]) == {"customer_since", "marketing_opt_in"} for r in records if r["source_system"] == "crm"
    )
    assert all(set(r["attributes"]) == {"newsletter"} for r in records if r["source_system"] == "web")


def test_people_are_entered_as_people_enter_them(sources):
    _, counts, checked, truth = sources
    population = sample_data.Population(SEED, PEOPLE)
    records = good(checked, "customers") + [
        r["traveller"] | {"source_system": r["source_system"], "customer_id": r["booking_id"]}
        for r in good(checked, "bookings")
    ]
    seen = Counter()
    for record in records:
        person = sample_data.identity(population, truth[(record["source_system"], record["customer_id"])])
        email, phone = record.get("email"), record.get("phone")
        names = (record.get("first_name"), record.get("last_name"))
        seen["swapped"] += names == (person.last_name, person.first_name)
        seen["typo"] += names != (person.first_name, person.last_name) and person.last_name in names
        seen["email_case"] += bool(email) and email != person.email and email.strip().lower() == person.email
        seen["junk"] += email == sample_data.JUNK_EMAIL or phone == sample_data.JUNK_PHONE
        seen["no_phone"] += phone is None
        if phone == sample_data.national_format(person.phone, person.country):
            seen["national"] += 1
            parsed = phonenumbers.parse(phone, person.country)
            if phonenumbers.is_valid_number(phonenumbers.parse(person.phone)):
                assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == person.phone
    assert all(seen[k] > 5 for k in ("swapped", "typo", "email_case", "junk", "no_phone", "national")), seen
    assert counts["customers"]["junk"] > 0


def test_bookings_name_crm_ids_of_the_same_person_and_itineraries_fit_their_system(sources):
    _, _, checked, truth = sources
    bookings = good(checked, "bookings")
    assert {b["source_system"] for b in bookings} == {"air", "hotel"}
    named = [b for b in bookings if b["customer_id"]]
    assert 0.3 * len(bookings) < len(named) < 0.7 * len(bookings)
    assert all(truth[("crm", b["customer_id"])] == truth[record_key("bookings", b)] for b in named)
    assert all(("origin" in b["itinerary"]) == (b["source_system"] == "air") for b in bookings)
    members = {r["loyalty_id"] for r in good(checked, "loyalty")}
    assert {b["traveller"]["loyalty_id"] for b in bookings} - {None} <= members


@pytest.mark.parametrize("stream", ["bookings", "clickstream", "service_interactions"])
def test_event_like_sources_are_filed_under_the_hour_of_their_own_time(sources, stream):
    _, _, checked, _ = sources
    for key, _, _, result in checked[stream]:
        if isinstance(result, LandedRecord):
            assert hour_from_key(key) == hour_floor(result.event_time)
            assert DAY <= result.event_time < END


def test_clickstream_has_offer_views_and_signed_in_sessions_of_web_accounts(sources):
    _, counts, checked, truth = sources
    events = good(checked, "clickstream")
    offers = [e for e in events if e["event_type"] == "offer_view"]
    assert len(offers) == counts["clickstream"]["offer_views"] > 50
    assert {e["offer_name"] for e in offers} == set(sample_data.OFFERS)
    assert all("offer_name" not in e for e in events if e["event_type"] != "offer_view")
    signed_in = [e for e in events if e["user_id"]]
    assert 0 < len(signed_in) < len(events) and all(e["email"] for e in signed_in)
    assert all(truth[("web", e["user_id"])] == truth[record_key("clickstream", e)] for e in signed_in)


def test_sources_are_deterministic_and_independent_of_the_other_streams(sources, tmp_path):
    root, counts, _, _ = sources
    again = sample_data.generate(tmp_path, people=PEOPLE, day=DAY, hours=HOURS, seed=SEED, streams=("ses", "loyalty"))
    assert again["loyalty"] == counts["loyalty"]
    for path in (tmp_path / "loyalty").rglob("*.gz"):
        assert path.read_bytes() == (root / path.relative_to(tmp_path)).read_bytes()
    whole = sample_data.generate(tmp_path / "all", people=PEOPLE, day=DAY, hours=HOURS, seed=SEED,
                                 streams=streams.RAW_STREAMS)  # fmt: skip
    assert {s: whole[s] for s in streams.SOURCE_STREAMS} == counts
    files = sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())
    assert all((root / f).read_bytes() == (tmp_path / "all" / f).read_bytes() for f in files)


def test_synthetic_customers_are_deterministic_with_the_asked_share_of_duplicates():
    rows = list(sample_data.synthetic_customers(3000, duplicate_share=0.3, seed=1))
    assert rows == list(sample_data.synthetic_customers(3000, duplicate_share=0.3, seed=1))
    assert rows != list(sample_data.synthetic_customers(3000, duplicate_share=0.3, seed=2))
    people = Counter(p for p, _ in rows)
    assert len(rows) - len(people) == 900 and sorted(people) == list(range(2100))
    assert all(len(row) == len(CUSTOMER_COLUMNS) for _, row in rows)
    assert len({row[1] for _, row in rows}) == 3000  # customer ids unique
    # A duplicate always differs from its person's original; originals share no email.
    records: dict[int, set] = {}
    for p, row in rows:
        records.setdefault(p, set()).add(row[2:])
    assert all(len(variants) > 1 for p, variants in records.items() if people[p] > 1)
    originals = [row for p, row in rows if people[p] == 1]
    assert len({row[4] for row in originals}) == len(originals)


def test_synthetic_customers_land_as_a_csv_without_a_refusal():
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(CUSTOMER_COLUMNS)
    writer.writerows(row for _, row in sample_data.synthetic_customers(2000, seed=3))
    results = [r for *_, r in check_file("customers", "customers/synthetic.csv", text.getvalue().encode())]
    assert len(results) == 2000 and all(isinstance(r, LandedRecord) for r in results)
    statuses = Counter(json.loads(r.normalised)["phone_status"] for r in results)
    assert statuses["valid"] > 0.8 * 2000 and statuses["invalid"] == 0


def test_a_population_too_small_to_fill_every_hour_writes_only_the_hours_it_has(tmp_path):
    counts = sample_data.generate(tmp_path, people=3, day=DAY, hours=24, seed=SEED, streams=("ses",))
    files = sorted((tmp_path / "ses").rglob("*.gz"))
    assert 0 < len(files) < 24  # some hours have no event: no file, and no error
    assert sum(len(gzip.decompress(f.read_bytes()).splitlines()) for f in files) == (
        counts["ses"]["records"] + counts["ses"]["malformed"] + counts["ses"]["redeliveries"]
    )
