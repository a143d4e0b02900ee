import gzip
import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import phonenumbers
import pytest

from include import landing, sample_data

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
        hour = landing.hour_from_key(path.relative_to(root).as_posix())
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
    for stream in sample_data.STREAMS:
        good, bad = [], []
        for hour, line in read(root, stream):
            try:
                good.append((hour, line, landing.check_record(stream, line)))
            except landing.Quarantined as caught:
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


@pytest.mark.parametrize("stream", sample_data.STREAMS)
def test_good_lines_land_under_the_hour_of_their_own_time(landed, stream):
    good, _ = landed[stream]
    assert good
    for hour, _, record in good:
        assert landing.hour_floor(record.event_time) == hour
        assert DAY <= record.event_time < END


@pytest.mark.parametrize("stream", sample_data.STREAMS)
def test_only_the_malformed_lines_are_quarantined_each_for_its_reason(landed, stream):
    _, bad = landed[stream]
    expected = [(line, reason) for reason, line in sample_data.malformed_lines(stream, DAY)]
    assert sorted(bad) == sorted(expected)
    assert {"invalid_json", "not_an_object", "unknown_shape", "missing_message_id"} <= {r for _, r in bad}


def test_a_whatsapp_status_without_id_beside_a_good_one_lands_without_it():
    (line,) = sample_data.partly_rejected_lines("whatsapp", DAY)
    assert [bool(s.get("id")) for s in items(json.loads(line))] == [True, False]
    landed = landing.check_record("whatsapp", line)
    assert [s["status"] for s in items(json.loads(landed.body))] == ["delivered"]
    assert [(reason, json.loads(item)) for reason, _, item in landed.rejected_items] == [
        ("missing_message_id", {"status": "read"})
    ]


@pytest.mark.parametrize("stream", sample_data.STREAMS)
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
    for stream in sample_data.STREAMS:
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
