"""Deterministic sample data: engagement events as AWS delivers them, in Firehose layout.

Same seed and size → byte-identical files, so ``make run`` twice gives the same tables.
Output is a directory shaped like ``make run INPUT=<dir>`` expects: ``<dir>/<stream>/YYYY/MM/DD/HH/…``.
It includes what real traffic has: bounces (hard and soft), complaints, unsubscribes,
at-least-once re-deliveries, SNS envelopes, and a few malformed lines.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tqdm import tqdm

ACCOUNT_ID = "111122223333"
DEFAULT_DAY = datetime(2026, 11, 20, tzinfo=UTC)
FIRST_NAMES = [
    "ana",
    "ben",
    "chloe",
    "dev",
    "eva",
    "femi",
    "gus",
    "hana",
    "ivan",
    "jia",
    "kofi",
    "lena",
    "mo",
    "nia",
    "omar",
    "pia",
    "quinn",
    "raj",
    "sara",
    "tom",
    "uma",
    "vic",
    "wen",
    "yara",
    "zoe",
]
LAST_NAMES = [
    "smith",
    "garcia",
    "chen",
    "okafor",
    "muller",
    "rossi",
    "tanaka",
    "silva",
    "nowak",
    "kim",
    "haddad",
    "ivanova",
    "dubois",
    "larsen",
    "patel",
    "brown",
]
DOMAINS = ["example.com", "mail.example.org", "inbox.example.net"]
CAMPAIGNS = ["welcome", "winter_sale", "loyalty_points", "abandoned_cart"]
MALFORMED_LINES = [
    '{"eventType": "Delivery", "mail": {"messageId": ',  # truncated JSON
    '["not", "an", "object"]',
    '{"hello": "a record of no known shape"}',
    '{"eventType": "Send", "mail": {"timestamp": "2026-11-20T10:00:00.000Z", "source": "x@example.com"}}',
]


@dataclass(frozen=True)
class Person:
    email: str
    phone: str


def make_people(rng: random.Random, count: int) -> list[Person]:
    people = []
    for i in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        people.append(Person(f"{first}.{last}{i}@{rng.choice(DOMAINS)}", f"+1206555{i % 10000:04d}"))
    return people


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _ses_record(event_type: str, mail: dict, at: datetime, detail: dict | None) -> dict:
    record = {"eventType": event_type, "mail": mail}
    key = {"Rendering Failure": "failure", "DeliveryDelay": "deliveryDelay"}.get(event_type, event_type.lower())
    body = dict(detail or {})
    if event_type not in ("Send", "Reject", "Rendering Failure"):
        body["timestamp"] = _iso(at)
    record[key] = body
    return record


def email_events(rng: random.Random, person: Person, sent_at: datetime, serial: int) -> list[tuple[datetime, dict]]:
    """One email's life as SES event publishing reports it."""
    campaign = rng.choice(CAMPAIGNS)
    mail = {
        "timestamp": _iso(sent_at),
        "source": "news@brand.example.com",
        "sourceArn": f"arn:aws:ses:us-east-1:{ACCOUNT_ID}:identity/brand.example.com",
        "sendingAccountId": ACCOUNT_ID,
        "messageId": f"0100{serial:012d}-ses",
        "destination": [person.email],
        "commonHeaders": {"subject": f"{campaign.replace('_', ' ').title()} for you"},
        "tags": {"campaign": [campaign], "organizationId": ["org-retail"]},
    }
    if rng.random() < 0.003:
        return [(sent_at, _ses_record("Reject", mail, sent_at, {"reason": "Bad content"}))]
    if rng.random() < 0.002:
        return [
            (
                sent_at,
                _ses_record(
                    "Rendering Failure",
                    mail,
                    sent_at,
                    {"templateName": f"{campaign}_v2", "errorMessage": "Attribute 'name' missing"},
                ),
            )
        ]
    events = [(sent_at, _ses_record("Send", mail, sent_at, {}))]
    at = sent_at + timedelta(seconds=rng.randint(1, 90))
    if rng.random() < 0.04:
        bounce_type, sub_type = rng.choice(
            [
                ("Permanent", "General"),
                ("Permanent", "NoEmail"),
                ("Transient", "MailboxFull"),
                ("Undetermined", "Undetermined"),
            ]
        )
        events.append(
            (
                at,
                _ses_record(
                    "Bounce",
                    mail,
                    at,
                    {
                        "bounceType": bounce_type,
                        "bounceSubType": sub_type,
                        "feedbackId": f"fb-{serial}",
                        "reportingMTA": "dsn; mta.example.net",
                        "bouncedRecipients": [{"emailAddress": person.email, "action": "failed", "status": "5.1.1"}],
                    },
                ),
            )
        )
        return events
    if rng.random() < 0.02:
        events.append(
            (
                at,
                _ses_record(
                    "DeliveryDelay", mail, at, {"delayType": "MailboxFull", "delayedRecipients": [person.email]}
                ),
            )
        )
        at += timedelta(minutes=rng.randint(5, 40))
    events.append(
        (
            at,
            _ses_record(
                "Delivery",
                mail,
                at,
                {
                    "processingTimeMillis": rng.randint(200, 3000),
                    "recipients": [person.email],
                    "smtpResponse": "250 2.6.0 Message received",
                    "reportingMTA": "a8-12.smtp-out.amazonses.com",
                },
            ),
        )
    )
    if rng.random() < 0.005:
        at += timedelta(minutes=rng.randint(1, 120))
        events.append(
            (
                at,
                _ses_record(
                    "Complaint",
                    mail,
                    at,
                    {
                        "complainedRecipients": [{"emailAddress": person.email}],
                        "complaintFeedbackType": "abuse",
                        "feedbackId": f"cf-{serial}",
                    },
                ),
            )
        )
        return events
    if rng.random() < 0.45:
        at += timedelta(minutes=rng.randint(1, 90))
        events.append(
            (
                at,
                _ses_record(
                    "Open", mail, at, {"ipAddress": f"198.51.100.{rng.randint(1, 254)}", "userAgent": "Mozilla/5.0"}
                ),
            )
        )
        if rng.random() < 0.35:
            at += timedelta(seconds=rng.randint(5, 600))
            events.append(
                (
                    at,
                    _ses_record(
                        "Click",
                        mail,
                        at,
                        {
                            "ipAddress": f"198.51.100.{rng.randint(1, 254)}",
                            "userAgent": "Mozilla/5.0",
                            "link": f"https://brand.example.com/{campaign}",
                            "linkTags": {"campaign": [campaign]},
                        },
                    ),
                )
            )
        if rng.random() < 0.03:
            at += timedelta(seconds=rng.randint(5, 600))
            events.append(
                (
                    at,
                    _ses_record(
                        "Subscription",
                        mail,
                        at,
                        {
                            "contactList": "newsletter",
                            "source": "UnsubscribeHeader",
                            "newTopicPreferences": {"unsubscribeAll": True},
                        },
                    ),
                )
            )
    return events


def generate(
    out_dir: Path,
    people: int = 2000,
    day: datetime = DEFAULT_DAY,
    hours: int = 24,
    emails_per_person: float = 1.5,
    seed: int = 7,
) -> dict[str, int]:
    """Write a day of traffic under ``out_dir``; returns line counts per kind."""
    rng = random.Random(seed)
    population = make_people(rng, people)
    by_hour: dict[datetime, list[str]] = {}
    counts = {"events": 0, "redeliveries": 0, "sns_wrapped": 0, "malformed": 0}
    sends = int(people * emails_per_person)
    for serial in tqdm(range(sends), desc="ses", unit="email", disable=None):
        sent_at = day + timedelta(seconds=rng.randint(0, hours * 3600 - 1))
        for at, record in email_events(rng, rng.choice(population), sent_at, serial):
            if at >= day + timedelta(hours=hours):
                continue  # the rest of this email's life happens after the sample's window
            line = json.dumps(record, separators=(",", ":"))
            if rng.random() < 0.1:
                line = json.dumps({"Type": "Notification", "MessageId": f"sns-{serial}", "Message": line})
                counts["sns_wrapped"] += 1
            bucket = by_hour.setdefault(at.replace(minute=0, second=0, microsecond=0), [])
            bucket.append(line)
            counts["events"] += 1
            if rng.random() < 0.01:
                bucket.append(line)
                counts["redeliveries"] += 1
    for i, bad in enumerate(MALFORMED_LINES):
        by_hour[day + timedelta(hours=(i * 5) % hours)].append(bad)
        counts["malformed"] += 1
    for hour, lines in sorted(by_hour.items()):
        path = out_dir / "ses" / f"{hour:%Y/%m/%d/%H}" / f"ses-firehose-1-{hour:%Y-%m-%d-%H}-00-00.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            gz.write(("\n".join(lines) + "\n").encode())
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--day", type=lambda s: datetime.fromisoformat(s).replace(tzinfo=UTC), default=DEFAULT_DAY)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    counts = generate(args.out_dir, people=args.people, day=args.day, hours=args.hours, seed=args.seed)
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
