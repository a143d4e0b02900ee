"""Deterministic sample data: engagement events as AWS delivers them, in Firehose layout.

Same seed and size → byte-identical files, so ``make run`` twice gives the same tables.
Output is a directory shaped like ``make run INPUT=<dir>`` expects: ``<dir>/<stream>/YYYY/MM/DD/HH/…``,
one gzip file per stream and hour, each record filed under the hour of its own time.

Streams (formats: ``docs/canonical-events.md``):

- ``ses``: SES event publishing; bounces (hard and soft), complaints, delays, opens, clicks,
  unsubscribes, and ~10% of lines wrapped in SNS envelopes.
- ``sms_voice``: End User Messaging SMS, MMS (US only) and voice, plus inbound SMS replies.
  An inbound reply is a record with ``messageType`` ``"INBOUND"`` and ``eventType`` ``"TEXT_DELIVERED"``:
  ``originationPhoneNumber`` is the customer, ``destinationPhoneNumber`` our number, and the
  text is in ``messageBody``. About 1% of delivered texts get an opt-out reply (STOP, quit, …).
- ``whatsapp``: AWS End User Messaging Social events; statuses (sent, delivered, read, failed)
  and inbound messages. One record can carry several statuses or messages (fan-out).
- ``conversations``: chatbot sessions of alternating inbound/outbound turns (direct put).

Every stream also has what real traffic has: ~1% at-least-once re-deliveries (the same line
twice) and a few malformed lines (see ``malformed_lines``). Nothing happens after the window
``day + hours``: the rest of a life that would end later is left out.

Written a stream at a time and an hour at a time, so memory stays flat at any size.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import accumulate, pairwise
from json.encoder import encode_basestring_ascii as _json_string
from pathlib import Path
from typing import Any, NamedTuple

from tqdm import tqdm

from include.landing.sources import CUSTOMER_COLUMNS
from include.streams import ENGAGEMENT_STREAMS, RAW_STREAMS, SOURCE_STREAMS

ACCOUNT_ID = "111122223333"
ORGANIZATION_ID = "org-retail"
DEFAULT_DAY = datetime(2026, 11, 20, tzinfo=UTC)
HOUR_MS = 3_600_000
REDELIVERY_SHARE = 0.01
SNS_SHARE = 0.1  # of SES lines
OPT_OUT_KEYWORDS = ("ARRET", "CANCEL", "END", "OPT-OUT", "OPTOUT", "QUIT", "REMOVE", "STOP", "TD", "UNSUBSCRIBE")

FIRST_NAMES = (
    "ana", "ben", "chloe", "dev", "eva", "femi", "gus", "hana", "ivan", "jia", "kofi", "lena", "mo",
    "nia", "omar", "pia", "quinn", "raj", "sara", "tom", "uma", "vic", "wen", "yara", "zoe",
)  # fmt: skip
LAST_NAMES = (
    "smith", "garcia", "chen", "okafor", "muller", "rossi", "tanaka", "silva",
    "nowak", "kim", "haddad", "ivanova", "dubois", "larsen", "patel", "brown",
)  # fmt: skip
DOMAINS = ("example.com", "mail.example.org", "inbox.example.net")
CAMPAIGNS = ("welcome", "winter_sale", "loyalty_points", "abandoned_cart")
# Relative traffic by UTC hour of day: quiet nights, busy afternoons.
DIURNAL = (3, 2, 2, 2, 3, 5, 8, 11, 13, 14, 14, 13, 13, 13, 13, 13, 14, 15, 15, 14, 12, 9, 6, 4)


class Country(NamedTuple):
    code: str
    share: int  # percent of customers
    numbers: tuple[str, int, int]  # E.164 prefix, then the range of what follows it: all valid mobile numbers
    carriers: tuple[tuple[str, str], ...]  # (mcc, mnc)
    our_number: str  # origination number; countries without one are sent to from the US
    sms_price: float  # per message part, USD
    carrier_fee: float
    voice_price: float  # per minute


COUNTRIES = (
    Country("US", 50, ("+1206", 2_000_000, 10**7), (("310", "410"), ("311", "480"), ("310", "260")), "+12065550152",
            0.00581, 0.00302, 0.013),
    Country("GB", 14, ("+4479", 10**7, 10**8), (("234", "10"), ("234", "15"), ("234", "30")), "+447480555016",
            0.0375, 0.0, 0.0341),
    Country("DE", 10, ("+49151", 10**7, 10**8), (("262", "01"), ("262", "02"), ("262", "03")), "+4915155500100",
            0.0856, 0.0, 0.0412),
    Country("FR", 9, ("+336", 10**7, 10**8), (("208", "01"), ("208", "10"), ("208", "20")), "+33655500100",
            0.0736, 0.0, 0.0335),
    Country("IN", 10, ("+919", 10**8, 10**9), (("404", "45"), ("405", "857"), ("404", "20")), "",
            0.00278, 0.0, 0.0105),
    Country("BR", 7, ("+55119", 10**7, 10**8), (("724", "05"), ("724", "06"), ("724", "02")), "",
            0.0241, 0.0, 0.0386),
)  # fmt: skip
_COUNTRY_BY_PERCENT = tuple(c for c in COUNTRIES for _ in range(c.share))
_US = COUNTRIES[0]


class Person(NamedTuple):
    email: str
    phone: str  # E.164
    country: Country
    carrier: tuple[str, str]
    name: str


def _mix(x: int) -> int:
    """A 32-bit integer hash: cheap, stable across runs and Python versions."""
    x = ((x ^ (x >> 16)) * 0x45D9F3B) & 0xFFFFFFFF
    x = ((x ^ (x >> 16)) * 0x45D9F3B) & 0xFFFFFFFF
    return x ^ (x >> 16)


_MASK128 = (1 << 128) - 1


def _hex32(salt: int, n: int) -> str:
    """32 hex digits that look random but are one-to-one in n (odd multiplier mod 2**128): ids never collide."""
    return "%032x" % ((n * 0x9E3779B97F4A7C15F39CC0605CEDC835 ^ salt) & _MASK128)


def _uuid(salt: int, n: int) -> str:
    """A UUID-shaped id, unique per n for a given salt (cheaper than the uuid module, and seeded)."""
    h = _hex32(salt, n)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Population:
    """The customers, computed from their index on demand: a million people cost no memory."""

    def __init__(self, seed: int, size: int):
        self.salt, self.size = _mix(seed), size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> Person:
        h = _mix(i ^ self.salt)
        first, last = h % 25, (h >> 5) % 16
        country = _COUNTRY_BY_PERCENT[(h >> 9) % 100]
        prefix, low, high = country.numbers
        # 7919 is coprime to the size of every range here, so the number is one-to-one in i.
        local = low + (i * 7919 + self.salt) % (high - low)
        return Person(
            f"{FIRST_NAMES[first]}.{LAST_NAMES[last]}{i}@{DOMAINS[(h >> 16) % 3]}",
            prefix + str(local),
            country,
            country.carriers[(h >> 18) % 3],
            f"{_TITLED_FIRST[first]} {_TITLED_LAST[last]}",
        )


_TITLED_FIRST = tuple(name.title() for name in FIRST_NAMES)
_TITLED_LAST = tuple(name.title() for name in LAST_NAMES)


_HOUR_PREFIX: dict[int, str] = {}


def _iso(ms: int) -> str:
    """Epoch ms → ``2026-11-20T10:01:02.003Z``, formatting only minutes and seconds per call."""
    rest = ms % HOUR_MS
    hour_ms = ms - rest
    prefix = _HOUR_PREFIX.get(hour_ms)
    if prefix is None:
        prefix = _HOUR_PREFIX[hour_ms] = datetime.fromtimestamp(hour_ms / 1000, UTC).strftime("%Y-%m-%dT%H:")
    return f"{prefix}{rest // 60000:02d}:{rest // 1000 % 60:02d}.{rest % 1000:03d}Z"


def _json_texts(*texts: str) -> tuple[str, ...]:
    # Message texts are escaped once here, so lines can be assembled with f-strings.
    return tuple(json.dumps(t) for t in texts)


Event = tuple[int, str, int]  # (own time in epoch ms, line, canonical events in it)


class _Stream:
    """One stream's traffic: ``life`` returns one send's (or session's) records, in time order."""

    name = ""
    lives_per_person = 0.0
    unit = ""

    def __init__(self, rng: random.Random, end_ms: int):
        self.random, self.end_ms = rng.random, end_ms
        self.salt = rng.getrandbits(128)

    def between(self, low_s: float, high_s: float) -> int:
        """A random duration in ms."""
        return int((low_s + self.random() * (high_s - low_s)) * 1000)

    def life(self, person: Person, at: int, serial: int) -> list[Event]:
        raise NotImplementedError


# -- SES -----------------------------------------------------------------------------------
_SES_HOST = "brand.example.com"


class _Ses(_Stream):
    name, lives_per_person, unit = "ses", 1.5, "email"

    def life(self, person: Person, sent: int, serial: int) -> list[Event]:
        """One email's life as SES event publishing reports it."""
        random = self.random
        campaign = CAMPAIGNS[int(random() * 4)]
        to = person.email
        message_id = f"0100{serial:012d}-{_uuid(self.salt, serial)}-000000"
        mail = (
            f'{{"timestamp":"{_iso(sent)}","source":"news@{_SES_HOST}",'
            f'"sourceArn":"arn:aws:ses:us-east-1:{ACCOUNT_ID}:identity/{_SES_HOST}","sendingAccountId":"{ACCOUNT_ID}",'
            f'"messageId":"{message_id}","destination":["{to}"],"headersTruncated":false,'
            f'"commonHeaders":{{"from":["Brand <news@{_SES_HOST}>"],"to":["{to}"],"messageId":"{message_id}",'
            f'"subject":"{campaign.replace("_", " ").title()} for you"}},'
            f'"tags":{{"campaign":["{campaign}"],"organizationId":["{ORGANIZATION_ID}"]}}}}'
        )

        def record(event_type: str, key: str, at: int, detail: str) -> Event:
            if event_type not in ("Send", "Reject", "Rendering Failure"):  # these happen at mail.timestamp
                detail = f'{detail},"timestamp":"{_iso(at)}"' if detail else f'"timestamp":"{_iso(at)}"'
            return at, f'{{"eventType":"{event_type}","mail":{mail},"{key}":{{{detail}}}}}', 1

        if random() < 0.003:
            return [record("Reject", "reject", sent, '"reason":"Bad content"')]
        if random() < 0.002:
            detail = f'"templateName":"{campaign}_v2","errorMessage":"Attribute \'name\' missing"'
            return [record("Rendering Failure", "failure", sent, detail)]
        events = [record("Send", "send", sent, "")]
        at = sent + self.between(1, 90)
        if random() < 0.04:
            bounce_type, sub_type, status = _BOUNCES[int(random() * len(_BOUNCES))]
            detail = (
                f'"bounceType":"{bounce_type}","bounceSubType":"{sub_type}","feedbackId":"fb-{message_id}",'
                f'"reportingMTA":"dsn; mta.example.net","bouncedRecipients":[{{"emailAddress":"{to}",'
                f'"action":"failed","status":"{status}","diagnosticCode":"smtp; {status} mailbox unavailable"}}]'
            )
            events.append(record("Bounce", "bounce", at, detail))
            return events
        if random() < 0.02:
            detail = (
                f'"delayType":"MailboxFull","expirationTime":"{_iso(sent + 86_400_000)}","delayedRecipients":["{to}"]'
            )
            events.append(record("DeliveryDelay", "deliveryDelay", at, detail))
            at += self.between(300, 2400)
        detail = (
            f'"processingTimeMillis":{at - sent},"recipients":["{to}"],'
            '"smtpResponse":"250 2.6.0 Message received","reportingMTA":"a8-12.smtp-out.amazonses.com"'
        )
        events.append(record("Delivery", "delivery", at, detail))
        if random() < 0.005:
            at += self.between(60, 7200)
            detail = (
                f'"complainedRecipients":[{{"emailAddress":"{to}"}}],"complaintFeedbackType":"abuse",'
                f'"feedbackId":"cf-{message_id}","userAgent":"Mozilla/5.0"'
            )
            events.append(record("Complaint", "complaint", at, detail))
            return events
        if random() < 0.45:
            at += self.between(60, 5400)
            ip = f"198.51.100.{1 + int(random() * 254)}"
            events.append(record("Open", "open", at, f'"ipAddress":"{ip}","userAgent":"Mozilla/5.0"'))
            if random() < 0.35:
                at += self.between(5, 600)
                detail = (
                    f'"ipAddress":"{ip}","userAgent":"Mozilla/5.0","link":"https://{_SES_HOST}/{campaign}",'
                    f'"linkTags":{{"campaign":["{campaign}"]}}'
                )
                events.append(record("Click", "click", at, detail))
            if random() < 0.03:
                at += self.between(5, 600)
                detail = (
                    '"contactList":"newsletter","source":"UnsubscribeHeader",'
                    '"newTopicPreferences":{"unsubscribeAll":true}'
                )
                events.append(record("Subscription", "subscription", at, detail))
        return events

    def sns_envelope(self, line: str, at: int, n: int) -> str:
        """The line as an SNS notification delivers it (the SES record as a JSON string)."""
        return (
            f'{{"Type":"Notification","MessageId":"{_uuid(self.salt ^ 0x5A5A5A5A, n)}",'
            f'"TopicArn":"arn:aws:sns:us-east-1:{ACCOUNT_ID}:ses-engagement-events","Message":{_json_string(line)},'
            f'"Timestamp":"{_iso(at)}","SignatureVersion":"1"}}'
        )


_BOUNCES = (
    ("Permanent", "General", "5.1.1"),
    ("Permanent", "NoEmail", "5.1.1"),
    ("Transient", "MailboxFull", "4.2.2"),
    ("Undetermined", "Undetermined", "5.0.0"),
)


# -- SMS, MMS and voice --------------------------------------------------------------------
_SMS_STATUS = {  # messageStatusDescription of each eventType's messageStatus
    "QUEUED": "Message is queued for sending",
    "SUCCESSFUL": "Message has been accepted by phone carrier",
    "DELIVERED": "Message has been accepted by phone",
    "BLOCKED": "Destination phone number blocked from receiving this message",
    "TTL_EXPIRED": "Message could not be delivered within the time to live",
    "CARRIER_UNREACHABLE": "Phone carrier is currently unreachable",
    "SPAM": "Message was blocked by the carrier as spam",
    "INVALID": "Invalid destination phone number",
    "FILE_TYPE_UNSUPPORTED": "Media file type is not supported",
    "FILE_SIZE_EXCEEDED": "Media file exceeds the maximum size",
    "INITIATED": "Call is being initiated",
    "RINGING": "Call is ringing",
    "ANSWERED": "Call was answered",
    "COMPLETED": "Call has completed",
    "BUSY": "Line was busy",
    "NO_ANSWER": "Call was not answered",
    "FAILED": "Call failed",
}
# Final failures of an outbound text after QUEUED, with their cumulative probability; the rest is delivered.
_TEXT_FAILURES = (
    (0.010, "BLOCKED"),
    (0.025, "TTL_EXPIRED"),  # after SUCCESSFUL, hours later
    (0.035, "CARRIER_UNREACHABLE"),
    (0.040, "SPAM"),
    (0.045, "INVALID"),
)
_MEDIA_FAILURES = ((0.02, "FILE_TYPE_UNSUPPORTED"), (0.03, "FILE_SIZE_EXCEEDED"), (0.04, "BLOCKED"))
_OPT_OUT_REPLIES = _json_texts(
    *(
        wrap.format(case(keyword))
        for keyword in OPT_OUT_KEYWORDS
        for case in (str.upper, str.lower, str.title)
        for wrap in ("{}", "{} please", "Please {} these", "{}!!", " {} ")
    )
)
# None contains an opt-out keyword, even as part of a word ("END" is in "weekend").
_NORMAL_REPLIES = _json_texts(
    "thanks", "yes", "Yes please", "ok", "Thank you!", "Got it", "what time?", "no", "\U0001f44d"
)


class _SmsVoice(_Stream):
    name, lives_per_person, unit = "sms_voice", 1.0, "message"

    def __init__(self, rng: random.Random, end_ms: int):
        super().__init__(rng, end_ms)
        self.opt_outs = 0

    def life(self, person: Person, requested: int, serial: int) -> list[Event]:
        kind = self.random()
        if kind < 0.05:
            return self.call(person, requested, serial)
        return self.text(person, requested, serial, media=kind < 0.10 and person.country is _US)

    def outbound(self, person: Person, serial: int, requested: int, encoding: str, message_type: str) -> str:
        """The fields an outbound message's events share, from originationPhoneNumber to messageType."""
        country = person.country
        mcc, mnc = person.carrier
        return (
            f',"originationPhoneNumber":"{country.our_number or _US.our_number}",'
            f'"destinationPhoneNumber":"{person.phone}",'
            f'"isInternationalSend":{"false" if country.our_number else "true"},"isoCountryCode":"{country.code}",'
            f'"mcc":"{mcc}","mnc":"{mnc}","messageId":"{_uuid(self.salt, serial << 1)}",'
            f'"messageRequestTimestamp":{requested}{encoding},"messageType":"{message_type}"'
        )

    def text(self, person: Person, requested: int, serial: int, media: bool) -> list[Event]:
        random = self.random
        country = person.country
        prefix = "MEDIA" if media else "TEXT"
        promotional = random() < 0.6
        campaign = CAMPAIGNS[int(random() * 4)] if promotional else "order_updates"
        unicode = random() < 0.08
        encoding = f',"messageEncoding":"{"UCS2" if unicode else "GSM"}"'
        shared = self.outbound(person, serial, requested, encoding, "PROMOTIONAL" if promotional else "TRANSACTIONAL")
        parts = 1 if media else 1 + (random() < (0.3 if unicode else 0.15))
        price = 0.02 if media else country.sms_price * parts  # MMS is priced per message
        tail = (
            f',"context":{{"campaign":"{campaign}","organizationId":"{ORGANIZATION_ID}"}},'
            f'"totalMessageParts":{parts},"totalMessagePrice":{round(price, 5)},'
            f'"totalCarrierFee":{country.carrier_fee}}}'
        )

        def event(at: int, status: str, final: bool) -> Event:
            line = (
                f'{{"eventType":"{prefix}_{status}","eventVersion":"1.0","eventTimestamp":{at},'
                f'"isFinal":{"true" if final else "false"}{shared},"messageStatus":"{status}",'
                f'"messageStatusDescription":"{_SMS_STATUS[status]}"{tail}'
            )
            return at, line, 1

        at = requested + self.between(0.02, 0.3)
        events = [event(at, "QUEUED", False)]
        roll = random()
        failure = next((status for limit, status in (_MEDIA_FAILURES if media else _TEXT_FAILURES) if roll < limit), "")
        if failure and failure != "TTL_EXPIRED":
            events.append(event(at + self.between(0.2, 5), failure, True))
            return events
        at += self.between(0.2, 3)
        events.append(event(at, "SUCCESSFUL", False))
        if failure:
            events.append(event(at + self.between(3600, 4 * 3600), failure, True))
            return events
        at += self.between(1, 30)
        events.append(event(at, "DELIVERED", True))
        roll = random()
        if not media and roll < 0.03:
            opt_out = roll < 0.01
            replies = _OPT_OUT_REPLIES if opt_out else _NORMAL_REPLIES
            at += self.between(10, 1800)
            if at < self.end_ms:  # counted only if it is written
                events.append(self.reply(person, at, serial, replies[int(random() * len(replies))]))
                self.opt_outs += opt_out
        return events

    def reply(self, person: Person, at: int, serial: int, body: str) -> Event:
        """An inbound SMS from the customer to the number that texted them."""
        country = person.country
        mcc, mnc = person.carrier
        line = (
            f'{{"eventType":"TEXT_DELIVERED","eventVersion":"1.0","eventTimestamp":{at},"isFinal":true,'
            f'"originationPhoneNumber":"{person.phone}",'
            f'"destinationPhoneNumber":"{country.our_number or _US.our_number}",'
            f'"isInternationalSend":false,"isoCountryCode":"{country.code}","mcc":"{mcc}","mnc":"{mnc}",'
            f'"messageId":"{_uuid(self.salt, serial << 1 | 1)}","messageRequestTimestamp":{at},'
            f'"messageEncoding":"{"GSM" if body.isascii() else "UCS2"}","messageType":"INBOUND",'
            '"messageStatus":"DELIVERED","messageStatusDescription":"Inbound message received",'
            f'"context":{{"organizationId":"{ORGANIZATION_ID}"}},"totalMessageParts":1,'
            f'"totalMessagePrice":0.0,"totalCarrierFee":0.0,"messageBody":{body}}}'
        )
        return at, line, 1

    def call(self, person: Person, requested: int, serial: int) -> list[Event]:
        """An outbound voice message (one-time passcodes, delivery slots)."""
        random = self.random
        shared = self.outbound(person, serial, requested, "", "TRANSACTIONAL")
        context = f'"context":{{"campaign":"voice_otp","organizationId":"{ORGANIZATION_ID}"}}'
        per_minute = person.country.voice_price

        def event(at: int, status: str, seconds: int | None = None) -> Event:
            final = seconds is not None
            minutes = -(-seconds // 60) if final else 0
            duration = f',"callDurationInSeconds":{seconds},"totalDurationInMinutes":{minutes}' if final else ""
            line = (
                f'{{"eventType":"VOICE_{status}","eventVersion":"1.0","eventTimestamp":{at},'
                f'"isFinal":{"true" if final else "false"}{shared},"messageStatus":"{status}",'
                f'"messageStatusDescription":"{_SMS_STATUS[status]}",{context},'
                f'"totalMessagePrice":{round(per_minute * minutes, 5)},"totalCarrierFee":0.0{duration}}}'
            )
            return at, line, 1

        at = requested + self.between(0.1, 0.5)
        events = [event(at, "INITIATED")]
        if random() < 0.02:
            events.append(event(at + self.between(1, 5), "FAILED", 0))
            return events
        at += self.between(1, 4)
        events.append(event(at, "RINGING"))
        roll = random()
        if roll < 0.23:
            events.append(event(at + self.between(20, 40), "BUSY" if roll < 0.08 else "NO_ANSWER", 0))
            return events
        at += self.between(3, 25)
        events.append(event(at, "ANSWERED"))
        seconds = 10 + int(random() * 110)
        events.append(event(at + seconds * 1000, "COMPLETED", seconds))
        return events


# -- WhatsApp ------------------------------------------------------------------------------
_WABA_ID = "102290129340398"


def _wa_number(display: str, number_id: str) -> tuple[str, str, str]:
    """One of our WhatsApp numbers: (display number, the record's context, the entry's metadata) as JSON."""
    arn = f"arn:aws:social-messaging:us-east-1:{ACCOUNT_ID}"
    context = (
        f'{{"MetaWabaIds":[{{"wabaId":"{_WABA_ID}","arn":"{arn}:waba/fb2594b8a7974770b128a409e2example"}}],'
        f'"MetaPhoneNumberIds":[{{"metaPhoneNumberId":"{number_id}","arn":"{arn}:phone-number-id/{number_id}"}}]}}'
    )
    metadata = (
        '"messaging_product":"whatsapp",'
        f'"metadata":{{"display_phone_number":"{display}","phone_number_id":"{number_id}"}}'
    )
    return display, context, metadata


# A US number, and a GB one for customers outside the Americas.
_WA_NUMBERS = (_wa_number("12065550188", "109551502345678"), _wa_number("447480555019", "109551502349999"))
_WA_ERRORS = (
    '{"code":131026,"title":"Message undeliverable","message":"Message undeliverable",'
    '"error_data":{"details":"Message Undeliverable."}}',
    '{"code":131049,"title":"This message was not delivered to maintain healthy ecosystem engagement.",'
    '"message":"This message was not delivered to maintain healthy ecosystem engagement.",'
    '"error_data":{"details":"In order to maintain a healthy ecosystem engagement, '
    'the message failed to be delivered."}}',
    '{"code":131047,"title":"Re-engagement message","message":"Re-engagement message",'
    '"error_data":{"details":"Message failed to send because more than 24 hours have passed since the customer last '
    'replied to this number."}}',
)
_WA_INBOUND = _json_texts(
    "Hi, where is my order?", "Do you have this in size M?", "Can I change my delivery address?",
    "Is the winter sale still on?", "How many loyalty points do I have?", "Thanks!", "Hola, necesito ayuda",
)  # fmt: skip


class _WhatsApp(_Stream):
    name, lives_per_person, unit = "whatsapp", 0.5, "message"

    def life(self, person: Person, at: int, serial: int) -> list[Event]:
        """Our message's statuses; in 30% of lives the customer wrote first and it is our answer."""
        _, context, metadata = _WA_NUMBERS[person.country.code not in ("US", "BR")]
        digits = person.phone[1:]
        records: list[Event] = []

        def record(items: list[str], at: int, key: str, extra: str = "") -> None:
            """One webhook call: an entry with one or more messages or statuses, ``at`` the time of the last."""
            value = f'{{{metadata}{extra},"{key}":[{",".join(items)}]}}'
            entry = f'{{"id":"{_WABA_ID}","changes":[{{"value":{value},"field":"messages"}}]}}'
            line = (
                f'{{"context":{context},"whatsAppWebhookEntry":{_json_string(entry)},"aws_account_id":"{ACCOUNT_ID}",'
                f'"message_timestamp":"{_iso(at)}","messageId":"{_uuid(self.salt, serial << 4 | len(records))}"}}'
            )
            records.append((at, line, len(items)))

        random = self.random
        if random() < 0.3:
            contacts = f',"contacts":[{{"profile":{{"name":"{person.name}"}},"wa_id":"{digits}"}}]'
            first = self.message(digits, at, serial, 0)
            later = at + self.between(2, 20)
            if random() < 0.2 and later < self.end_ms:
                second = self.message(digits, later, serial, 1)
                if later - at > 5000:
                    record([first], at, "messages", contacts)
                    record([second], later, "messages", contacts)
                else:  # Meta batches messages that arrive close together into one webhook
                    record([first, second], later, "messages", contacts)
                at = later
            else:
                record([first], at, "messages", contacts)
            origin, callback, at = "service", "", at + self.between(10, 180)
        else:
            origin = "marketing" if random() < 0.6 else "utility"
            campaign = CAMPAIGNS[int(random() * 4)]
            callback = f',"biz_opaque_callback_data":"campaign={campaign}"' if random() < 0.5 else ""
        self.statuses(record, digits, at, serial, origin, callback)
        return records

    def message(self, digits: str, at: int, serial: int, k: int) -> str:
        body = _WA_INBOUND[int(self.random() * len(_WA_INBOUND))]
        return (
            f'{{"from":"{digits}","id":"{self.wamid(digits, serial << 2 | k)}","timestamp":"{at // 1000}",'
            f'"text":{{"body":{body}}},"type":"text"}}'
        )

    def wamid(self, digits: str, n: int) -> str:
        return f"wamid.HBgM{digits}FQIAERgS{_hex32(self.salt, n).upper()}"

    def statuses(self, record, digits: str, sent: int, serial: int, origin: str, callback: str) -> None:
        """Our message's statuses, batched into one webhook now and then when they come close together."""
        random = self.random
        wamid = self.wamid(digits, serial << 2 | 3)
        conversation = f'"conversation":{{"id":"{_hex32(self.salt, serial << 2 | 2)}"'
        pricing = f',"pricing":{{"billable":true,"pricing_model":"CBP","category":"{origin}"}}'
        sent += self.between(0.3, 2)

        def status(name: str, at: int, extra: str = "") -> tuple[int, str]:
            return at, (
                f'{{"id":"{wamid}","status":"{name}","timestamp":"{at // 1000}","recipient_id":"{digits}"'
                f"{extra}{callback}}}"
            )

        if random() < 0.025:
            error = _WA_ERRORS[int(random() * len(_WA_ERRORS))]
            timeline = [status("failed", sent + self.between(1, 5), f',"errors":[{error}]')]
            if random() < 0.5:
                timeline.insert(0, status("sent", sent))
        else:
            expires = f',"expiration_timestamp":"{sent // 1000 + 86_400}"'
            delivered = sent + self.between(0.5, 30)
            timeline = [
                status("sent", sent, f',{conversation}{expires},"origin":{{"type":"{origin}"}}}}{pricing}'),
                status("delivered", delivered, f',{conversation},"origin":{{"type":"{origin}"}}}}{pricing}'),
            ]
            if random() < 0.7:
                read = delivered + (self.between(1, 8) if random() < 0.3 else self.between(60, 6 * 3600))
                timeline.append(status("read", read))
        batch: list[str] = []
        last = 0
        for at, item in timeline:
            if at >= self.end_ms:
                break
            if batch and (at - last > 10_000 or random() < 0.3):
                record(batch, last, "statuses")
                batch = []
            batch.append(item)
            last = at
        if batch:
            record(batch, last, "statuses")


# -- chatbot conversations -----------------------------------------------------------------
_INTENTS = (  # (intent, knowledge base, what the customer says, what the bot answers)
    ("OrderStatus", "kb-orders",
     _json_texts("Where is my order?", "My parcel hasn't arrived yet", "Can you track order 48213?"),
     _json_texts("Your order shipped yesterday and should arrive tomorrow.",
                 "I found your order: it is out for delivery today.", "Could you confirm the email on the order?")),
    ("Returns", "kb-returns-policy",
     _json_texts("How do I return a jacket?", "The shoes are too small", "Can I get a refund?"),
     _json_texts("You can return items within 30 days; I've emailed you a prepaid label.",
                 "Refunds reach your card 3-5 days after we receive the item.", "Would you like an exchange instead?")),
    ("StoreHours", "kb-stores",
     _json_texts("When does the Seattle store open?", "Are you open on Sunday?"),
     _json_texts("Our Seattle store is open 9am-8pm, Monday to Saturday.", "On Sundays we open 10am-6pm.")),
    ("LoyaltyPoints", "kb-loyalty",
     _json_texts("How many points do I have?", "Can I use points online?"),
     _json_texts("You have 1,240 points, worth $12.40.", "Yes, points can be redeemed at checkout.")),
)  # fmt: skip
_CLOSINGS = _json_texts("thanks", "ok great, thank you", "Perfect", "That helps")
_BOT_CLOSING = _json_texts("You're welcome! Anything else I can help with?")[0]
_HANDOFF = _json_texts(
    "Can I talk to a person?", "I'm connecting you with an agent now.", "Hi, I'm Sam. Let me check that."
)
_CHAT_ADDRESS = "chat.brand.example.com"


class _Conversations(_Stream):
    name, lives_per_person, unit = "conversations", 0.3, "session"

    def life(self, person: Person, at: int, serial: int) -> list[Event]:
        """A chatbot session: the customer and the bot (or an agent it hands over to) take turns."""
        random = self.random
        intent, knowledge_base, asks, answers = _INTENTS[int(random() * len(_INTENTS))]
        roll = random()
        if roll < 0.6:
            channel = "webchat"
            customer = person.email if random() < 0.7 else f"visitor-{_hex32(self.salt, serial)[:12]}"
            ours = _CHAT_ADDRESS
        else:
            channel = "sms" if roll < 0.85 else "whatsapp"
            customer = person.phone
            ours = person.country.our_number or _US.our_number
            if channel == "whatsapp":
                ours = "+" + _WA_NUMBERS[person.country.code not in ("US", "BR")][0]
        common = (
            f'"accountId":"{ACCOUNT_ID}","organizationId":"{ORGANIZATION_ID}","channel":"{channel}",'
            f'"knowledgeBaseId":"{knowledge_base}","sessionId":"{_uuid(self.salt ^ 0xC0C0, serial)}"'
        )
        turns = [(True, asks[int(random() * len(asks))])]
        for _ in range(int(random() * 3)):
            turns += [(False, answers[int(random() * len(answers))]), (True, asks[int(random() * len(asks))])]
        turns.append((False, answers[int(random() * len(answers))]))
        handoff = random() < 0.05
        if handoff:
            turns += [(True, _HANDOFF[0]), (False, _HANDOFF[1]), (False, _HANDOFF[2])]
        else:
            turns += [(True, _CLOSINGS[int(random() * len(_CLOSINGS))]), (False, _BOT_CLOSING)]
        events = []
        for k, (inbound, text) in enumerate(turns):
            at += self.between(5, 90) if inbound else self.between(0.4, 2.5)
            sender, receiver = (customer, ours) if inbound else (ours, customer)
            # The intent is known once the bot has read the first message.
            tags = f'{{"intent":"{intent}"}}' if k else "{}"
            source = "connect-agent" if handoff and k == len(turns) - 1 else "lex-bot"
            line = (
                f'{{{common},"messageId":"{_uuid(self.salt, serial << 4 | k)}","sendingAddress":"{sender}",'
                f'"destinationAddress":"{receiver}","direction":"{"inbound" if inbound else "outbound"}",'
                f'"source":"{source}","timestamp":{at},"tags":{tags},"message":{text}}}'
            )
            events.append((at, line, 1))
        return events


_STREAM_TYPES: dict[str, type[_Stream]] = {s.name: s for s in (_Ses, _SmsVoice, _WhatsApp, _Conversations)}


# -- malformed lines -----------------------------------------------------------------------
def malformed_lines(stream: str, day: datetime) -> list[tuple[str, str]]:
    """The deliberately broken lines written for ``stream``, each with the reason landing must give it."""
    ms = int(day.timestamp() * 1000)

    def dumps(record) -> str:
        return json.dumps(record, separators=(",", ":"))

    def wa_entry(value: dict) -> str:
        return dumps({"id": _WABA_ID, "changes": [{"value": value, "field": "messages"}]})

    wa_record = {"aws_account_id": ACCOUNT_ID, "message_timestamp": _iso(ms), "messageId": "bad-0"}
    return {
        "ses": [
            ("invalid_json", '{"eventType": "Delivery", "mail": {"messageId": '),  # truncated mid-record
            ("not_an_object", '["not", "an", "object"]'),
            ("unknown_shape", '{"hello": "a record of no known shape"}'),
            ("missing_message_id", dumps({"eventType": "Send", "mail": {"timestamp": _iso(ms), "source": "x@e.com"}})),
        ],
        "sms_voice": [
            ("invalid_json", f'{{"eventType":"TEXT_DELIVERED","eventVersion":"1.0","eventTimestamp":{ms},"isFi'),
            ("not_an_object", '"TEXT_DELIVERED"'),
            ("unknown_shape", dumps({"eventType": "RCS_DELIVERED", "messageId": "rcs-1", "eventTimestamp": ms})),
            ("missing_message_id", dumps({"eventType": "TEXT_DELIVERED", "eventTimestamp": ms, "isFinal": True})),
        ],
        "whatsapp": [
            ("invalid_json", '{"context":{"MetaWabaIds":[{"wabaId":'),
            ("not_an_object", "null"),
            ("unknown_shape", dumps(wa_record)),
            (
                "missing_message_id",
                dumps(wa_record | {"whatsAppWebhookEntry": wa_entry({"messages": [{"from": "4479", "type": "text"}]})}),
            ),
        ],
        "conversations": [
            ("invalid_json", '{"accountId":"111122223333","direction":"inbound","message":"hel'),
            ("not_an_object", '[{"direction":"inbound","message":"hi"}]'),
            ("unknown_shape", dumps({"sessionId": "s-1", "text": "hi", "timestamp": ms})),
            ("missing_message_id", dumps({"direction": "inbound", "message": "hi", "timestamp": ms})),
        ],
        # customers: the web accounts' JSON lines (the CRM's CSV rows are in malformed_csv_lines)
        "customers": [
            ("invalid_json", '{"source_system":"web","customer_id":"W-BAD-1","first_name":"Ze'),
            ("not_an_object", '["web", "W-BAD-2"]'),
            ("unknown_shape", dumps({"booking_id": "AIR-BAD", "source_system": "air", "booked_at": _iso(ms)})),
        ],
        "bookings": [
            ("invalid_json", '{"booking_id":"AIR-BAD-1","source_system":"air","booked_at":'),
            ("unknown_shape", dumps({"source_system": "crm", "customer_id": "C-BAD", "updated_at": _iso(ms)})),
            ("missing_record_id", dumps({"source_system": "air", "booked_at": _iso(ms), "traveller": {}})),
            ("missing_timestamp", dumps({"booking_id": "HTL-BAD-2", "source_system": "hotel", "traveller": {}})),
            ("invalid_timestamp", dumps({"booking_id": "HTL-BAD-3", "source_system": "hotel", "booked_at": "today"})),
        ],
        "loyalty": [
            ("not_an_object", '"LY000000000"'),
            ("missing_record_id", dumps({"program": "brand_rewards", "updated_at": _iso(ms), "member": {}})),
            (
                "invalid_timestamp",
                dumps({"loyalty_id": "LY-BAD", "program": "brand_rewards", "updated_at": "20/11/2026"}),
            ),
        ],
        "clickstream": [
            ("invalid_json", '{"event_id":"e-bad","event_type":"page_view","event_timest'),
            ("not_an_object", "42"),
            ("missing_record_id", dumps({"event_type": "page_view", "event_timestamp": _iso(ms), "session_id": "s"})),
            ("missing_timestamp", dumps({"event_id": "e-bad-2", "event_type": "offer_view", "session_id": "s"})),
        ],
        "service_interactions": [
            ("invalid_json", '{"interaction_id":"SI-BAD-1","channel":"voice",'),
            ("unknown_shape", dumps({"event_id": "e-bad-3", "event_type": "page_view", "event_timestamp": _iso(ms)})),
            ("missing_record_id", dumps({"channel": "chat", "started_at": _iso(ms), "conversation": []})),
            ("invalid_timestamp", dumps({"interaction_id": "SI-BAD-2", "started_at": ms, "conversation": []})),
        ],
    }[stream]


def partly_rejected_lines(stream: str, day: datetime) -> list[str]:
    """Lines that land with an item refused inside them: a WhatsApp status without an id beside a
    good one (the public sample drops it; landing quarantines the item and keeps its sibling)."""
    if stream != "whatsapp":
        return []
    ms = int(day.timestamp() * 1000)
    good = {"id": "wamid.HBgMok", "status": "delivered", "timestamp": str(ms // 1000), "recipient_id": "4479"}
    entry = {"id": _WABA_ID, "changes": [{"value": {"statuses": [good, {"status": "read"}]}, "field": "messages"}]}
    record = {"aws_account_id": ACCOUNT_ID, "message_timestamp": _iso(ms), "messageId": "bad-1",
              "whatsAppWebhookEntry": json.dumps(entry, separators=(",", ":"))}  # fmt: skip
    return [json.dumps(record, separators=(",", ":"))]


# -- files ---------------------------------------------------------------------------------
class _HourFiles:
    """A stream's lines by hour (``lines[hour]``), gzip-written in chunks as they pile up (``spill``);
    an hour's file is finished once no more lines can reach it (``close_before``)."""

    SPILL_LINES = 4096

    def __init__(self, root: Path, stream: str, day: datetime):
        self.root, self.stream, self.day = root, stream, day
        self.lines: defaultdict[int, list[str]] = defaultdict(list)
        self.files: dict[int, tuple] = {}

    def spill(self) -> None:
        for hour, lines in self.lines.items():
            if len(lines) >= self.SPILL_LINES:
                self.write(hour)

    def write(self, hour: int) -> None:
        if hour not in self.files:
            start = self.day + timedelta(hours=hour)
            path = self.root / f"{start:%Y/%m/%d/%H}" / f"{self.stream}-firehose-1-{start:%Y-%m-%d-%H}-00-00.gz"
            path.parent.mkdir(parents=True, exist_ok=True)
            raw = open(path, "wb")  # noqa: SIM115 (closed in close_before)
            # mtime=0 keeps the bytes identical across runs. Level 1: compressing is most of the time
            # spent at level 6, for files only a third smaller.
            self.files[hour] = (raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0))
        lines = self.lines[hour]
        lines.append("")  # so the chunk ends with a newline
        self.files[hour][1].write("\n".join(lines).encode())
        lines.clear()

    def close_before(self, hour: int) -> None:
        """Finish the file of every hour before ``hour``: lives starting later cannot reach them."""
        for done in sorted(h for h in self.lines if h < hour):
            if self.lines[done]:
                self.write(done)
            del self.lines[done]
            if done not in self.files:  # an hour without a line (a small population) has no file
                continue
            raw, gz = self.files.pop(done)
            gz.close()
            raw.close()


def _lives_per_hour(total: int, day: datetime, hours: int) -> list[int]:
    """``total`` split over the window's hours by the diurnal curve, summing exactly to ``total``."""
    weights = [DIURNAL[(day + timedelta(hours=h)).hour] for h in range(hours)]
    marks = [0] + [total * c // sum(weights) for c in accumulate(weights)]
    return [b - a for a, b in pairwise(marks)]


def _write_stream(out_dir: Path, stream: str, population: Population, day: datetime, hours: int, seed: int) -> dict:
    # Each stream has its own generator, so choosing streams does not change any stream's bytes.
    rng = random.Random(f"{seed}:{stream}")
    day_ms = int(day.timestamp() * 1000)
    end_ms = day_ms + hours * HOUR_MS
    source = _STREAM_TYPES[stream](rng, end_ms)
    draw = rng.random
    people = len(population)
    files = _HourFiles(out_dir / stream, stream, day)
    bad_by_hour: dict[int, list[str]] = {}
    for i, (_, line) in enumerate(malformed_lines(stream, day)):
        bad_by_hour.setdefault((i * 5) % hours, []).append(line)
    partly_rejected = partly_rejected_lines(stream, day)
    bad_by_hour.setdefault(0, []).extend(partly_rejected)
    # Each partly rejected line still lands as one record with one event.
    events = records = len(partly_rejected)
    redeliveries = sns_wrapped = 0
    wrap = source.sns_envelope if isinstance(source, _Ses) else None
    life, lines = source.life, files.lines
    first = 0  # lives are numbered across hours: ids derive from the number
    plan = _lives_per_hour(int(people * source.lives_per_person), day, hours)
    with tqdm(total=sum(plan), desc=stream, unit=source.unit, disable=None) as bar:
        for hour, lives in enumerate(plan):
            files.close_before(hour)
            lines[hour].extend(bad_by_hour.get(hour, ()))
            hour_ms = day_ms + hour * HOUR_MS
            for serial in range(first, first + lives):
                for at, line, n in life(population[int(draw() * people)], hour_ms + int(draw() * HOUR_MS), serial):
                    if at >= end_ms:
                        break  # the rest of this life happens after the sample's window
                    if wrap is not None and draw() < SNS_SHARE:
                        line = wrap(line, at, sns_wrapped)
                        sns_wrapped += 1
                    event_hour = (at - day_ms) // HOUR_MS
                    lines[event_hour].append(line)
                    records += 1
                    events += n
                    if draw() < REDELIVERY_SHARE:
                        lines[event_hour].append(line)
                        redeliveries += 1
                if not serial & 1023:
                    files.spill()
            first += lives
            bar.update(lives)
    files.close_before(hours)
    counts = {
        "events": events,
        "records": records,
        "redeliveries": redeliveries,
        "malformed": sum(len(bad) for bad in bad_by_hour.values()) - len(partly_rejected),
        "rejected_items": len(partly_rejected),
        "sns_wrapped": sns_wrapped,
    }
    return counts | ({"opt_outs": source.opt_outs} if isinstance(source, _SmsVoice) else {})


# -- source systems --------------------------------------------------------------------------
CRM_EXTRA_COLUMNS = ("customer_since", "marketing_opt_in")  # not in the documented header: landed as attributes
JUNK_EMAIL, JUNK_PHONE = "test@test.com", "0000000000"  # placeholders clerks type when a customer gives none
# The offers of the AWS offer write-back sample.
OFFERS = ("30_percent_off", "free_shipping", "double_points", "winter_bundle")
TRUTH_FILE = Path("_truth") / "source_records.csv"
# The hour of the window each daily batch export is dropped in (or the last hour of a shorter window).
_BATCH_HOUR = {"crm-customers": 1, "web-accounts": 2, "loyalty-members": 3}
CRM_DUPLICATE_SHARE = 0.08  # of CRM customers, entered a second time under another id

# Per country: (city, state, postal code format taking 1-99, airport); currency.
_PLACES = {
    "US": (("Seattle", "WA", "981{:02d}", "SEA"), ("Boston", "MA", "021{:02d}", "BOS"),
           ("Austin", "TX", "787{:02d}", "AUS")),
    "GB": (("London", None, "SW{} 2AB", "LHR"), ("Manchester", None, "M{} 3CD", "MAN"),
           ("Leeds", None, "LS{} 6EF", "LBA")),
    "DE": (("Berlin", None, "10{:03d}", "BER"), ("München", None, "80{:03d}", "MUC"),
           ("Hamburg", None, "20{:03d}", "HAM")),
    "FR": (("Paris", None, "750{:02d}", "CDG"), ("Lyon", None, "690{:02d}", "LYS")),
    "IN": (("Mumbai", "MH", "4000{:02d}", "BOM"), ("Bengaluru", "KA", "5600{:02d}", "BLR")),
    "BR": (("São Paulo", "SP", "01{:03d}-000", "GRU"), ("Rio de Janeiro", "RJ", "20{:03d}-000", "GIG")),
}  # fmt: skip
_POSTAL_FORMAT = {city: postal for places in _PLACES.values() for city, _, postal, _ in places}
_CURRENCY = {"US": "USD", "GB": "GBP", "DE": "EUR", "FR": "EUR", "IN": "INR", "BR": "BRL"}
_SERVICE_TOPICS = (
    ("My flight was cancelled, can I rebook?", "I've rebooked you on the next flight and emailed the details."),
    ("I was charged twice for my stay.", "I can see the duplicate charge; the refund is on its way."),
    ("How do I use my points?", "You can redeem points at checkout or when booking a stay."),
    ("Can I add a bag to my booking?", "Done: one checked bag is added to your booking."),
)


class Identity(NamedTuple):
    """Everything the source systems may know about a person of the population."""

    person_id: int
    first_name: str
    last_name: str
    email: str
    phone: str  # E.164
    country: str
    birth_date: str
    address_line1: str
    address_line2: str | None
    city: str
    postal_code: str
    state: str | None
    airport: str
    crm_id: str | None  # set for ~85%: in the CRM
    web_id: str | None  # ~30%: has a web account
    loyalty_id: str | None  # ~35%: loyalty member


def identity(population: Population, i: int) -> Identity:
    """Person ``i``'s identity, computed from the index like the Person itself."""
    person = population[i]
    h = _mix(i ^ population.salt ^ 0x1D3A7)
    g = _mix(h ^ 0x2B)
    # Names and streets come from the synthetic pools: with the Person's 25 first names and 16
    # surnames, or a handful of streets, strangers would share names and addresses far more
    # often than real customers do.
    pools = _synthetic_pools()
    first = _skewed(pools["first"], _mix(g ^ 0x3C))
    last = pools["last"][_mix(g ^ 0x5A) % len(pools["last"])]
    streets = pools["street"]
    code = person.country.code
    city, state, postal, airport = _PLACES[code][h % len(_PLACES[code])]
    line1 = f"{1 + (h >> 4) % 240} {streets[(h >> 12) % len(streets)]}"
    if g % 5 == 0:  # a comma inside a field: CSV must quote it
        line1 = f"Flat {1 + (g >> 3) % 12}, {line1}"
    return Identity(
        i,
        first,
        last,
        person.email,
        person.phone,
        code,
        (_FIRST_BIRTH_DATE + timedelta(days=(g >> 8) % 20454)).isoformat(),
        line1,
        f"Floor {1 + (g >> 5) % 9}" if g % 7 == 0 else None,
        city,
        postal.format(1 + (h >> 16) % 99),
        state,
        airport,
        f"C{i:08d}" if (h >> 20) % 100 < 85 else None,
        f"W{_hex32(population.salt, i)[:10]}" if (g >> 16) % 100 < 30 else None,
        f"LY{(i * 7919 + population.salt) % 10**9:09d}" if (g >> 23) % 100 < 35 else None,
    )


_FIRST_BIRTH_DATE = datetime(1950, 1, 1).date()


def national_format(phone: str, country: str) -> str:
    """An E.164 number as people write it at home: (206) 234-5678, 07911 123456, (11) 91234-5678."""
    if country == "US":
        return f"({phone[2:5]}) {phone[5:8]}-{phone[8:]}"
    if country == "BR":
        return f"({phone[3:5]}) {phone[5:10]}-{phone[10:]}"
    return f"0{phone[3:7]} {phone[7:]}"  # GB, DE, FR, IN: trunk prefix 0


def _typo(name: str, draw) -> str:
    """One slip of the keyboard: a letter dropped, doubled or swapped with the next one."""
    if len(name) < 3:
        return name + name[-1]
    k = 1 + int(draw() * (len(name) - 2))
    roll = draw()
    if roll < 0.35:
        return name[:k] + name[k + 1 :]
    if roll < 0.7:
        return name[:k] + name[k] + name[k:]
    return name[:k] + name[k + 1] + name[k] + name[k + 2 :]


_ADDRESS = ("address_line1", "address_line2", "city", "postal_code", "state")


def _entered(ident: Identity, draw, mess: float) -> dict:
    """The person as one source system holds them: with probability ``mess`` entered sloppily
    (a typo, first and last name swapped, email in other case or padded, phone in national
    format or left out, birth date or address missing or mistyped, a typo in the postal code or city)."""
    fields = {
        "first_name": ident.first_name,
        "last_name": ident.last_name,
        "email": ident.email,
        "phone": ident.phone,
        "birth_date": ident.birth_date,
        "address_line1": ident.address_line1,
        "address_line2": ident.address_line2,
        "city": ident.city,
        "postal_code": ident.postal_code,
        "state": ident.state,
        "country": ident.country,
    }
    if draw() >= mess:
        return fields
    for _ in range(1 + (draw() < 0.3)):
        roll = draw()
        if roll < 0.2:
            name = "first_name" if draw() < 0.5 else "last_name"
            fields[name] = _typo(fields[name], draw)
        elif roll < 0.28:
            fields["first_name"], fields["last_name"] = fields["last_name"], fields["first_name"]
        elif roll < 0.36 and fields["email"]:
            fields["email"] = f" {fields['email'].upper()}" if draw() < 0.5 else fields["email"].title()
        elif roll < 0.44:
            fields["phone"] = national_format(ident.phone, ident.country)
        elif roll < 0.5:
            fields["phone"] = None
        elif roll < 0.56:
            fields["birth_date"] = None
        elif roll < 0.64 and fields["birth_date"]:
            fields["birth_date"] = _misdated(fields["birth_date"], draw)
        elif roll < 0.7:
            fields |= dict.fromkeys(_ADDRESS)
        elif roll < 0.76 and fields["address_line1"]:
            fields["address_line1"] = _typo(fields["address_line1"], draw)
        elif roll < 0.82 and fields["address_line1"]:
            # Moved house in the same city: another number, street and postal code.
            streets = _synthetic_pools()["street"]
            fields["address_line1"] = f"{1 + int(draw() * 240)} {streets[int(draw() * len(streets))]}"
            fields["address_line2"] = None
            fields["postal_code"] = _POSTAL_FORMAT[ident.city].format(1 + int(draw() * 99))
        elif roll < 0.87 and fields["postal_code"]:
            fields["postal_code"] = _typo(fields["postal_code"], draw)
        elif roll < 0.92 and fields["city"]:
            fields["city"] = _typo(fields["city"], draw)
        else:
            fields["email"] = None
    return fields


def _misdated(iso: str, draw) -> str:
    """An ISO birth date entered wrongly, still a real date: day and month swapped (when the day
    can be a month), the day's or the year's last digit mistyped."""
    year, month, day = iso[:4], iso[5:7], iso[8:]
    roll = draw()
    if roll < 0.4 and int(day) <= 12 and day != month:
        return f"{year}-{day}-{month}"
    if roll < 0.7 or (month, day) == ("02", "29"):
        d = int(day)
        tens = d - d % 10
        others = [tens + k for k in range(10) if tens + k != d and 1 <= tens + k <= 28]  # 28: every month has it
        return f"{year}-{month}-{others[int(draw() * len(others))] if others else d - 10:02d}"
    return f"{year[:3]}{(int(year[3]) + 1) % 10}-{month}-{day}"


def _past(day: datetime, draw, days: int) -> datetime:
    """A moment in the ``days`` before ``day``, to the second."""
    return day - timedelta(seconds=1 + int(draw() * days * 86_400))


def _dumps(record: dict) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def _write_gz(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress("".join(line + "\n" for line in lines).encode(), compresslevel=1, mtime=0))


def _batch_path(root: Path, stream: str, day: datetime, hours: int, batch: str, suffix: str) -> Path:
    start = day + timedelta(hours=min(_BATCH_HOUR[batch], hours - 1))
    return root / stream / f"{start:%Y/%m/%d/%H}" / f"{batch}-{day:%Y-%m-%d}{suffix}"


Truth = list[tuple[str, str, int]]  # (source_system, source_record_id, person_id)


def _write_customers(root: Path, population: Population, day: datetime, hours: int, rng, truth: Truth) -> dict:
    """The CRM's daily export (CSV, with two columns beyond the documented header and
    duplicate entries) and the web shop's accounts (JSON lines), both batch files."""
    draw = rng.random
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(CUSTOMER_COLUMNS + CRM_EXTRA_COLUMNS)
    duplicates: list[list] = []
    web: list[str] = []
    records = junk = 0
    for i in range(len(population)):
        ident = identity(population, i)
        if ident.crm_id:
            for copy in range(1 + (draw() < CRM_DUPLICATE_SHARE)):
                fields = _entered(ident, draw, 0.15 if copy == 0 else 1.0)
                if draw() < 0.02:
                    fields["email" if draw() < 0.5 else "phone"] = JUNK_EMAIL if draw() < 0.5 else JUNK_PHONE
                    junk += 1
                updated = _past(day, draw, 2000)
                stamp = f"{updated:%Y-%m-%d}" if copy else f"{updated:%Y-%m-%d %H:%M:%S}"
                customer_id = ident.crm_id if copy == 0 else f"C{50_000_000 + i:08d}"
                loyalty = ident.loyalty_id if ident.loyalty_id and draw() < 0.7 else None
                row = [
                    "crm", customer_id, *(fields[c] for c in CUSTOMER_COLUMNS[2:13]), loyalty, stamp,
                    f"{_past(updated, draw, 3000):%Y-%m-%d}", "true" if draw() < 0.6 else "false",
                ]  # fmt: skip
                if copy:  # entered later: duplicates follow the originals in the export
                    duplicates.append(row)
                else:
                    writer.writerow(row)
                truth.append(("crm", customer_id, i))
                records += 1
        if ident.web_id:
            fields = _entered(ident, draw, 0.3)
            web.append(
                _dumps(
                    {"source_system": "web", "customer_id": ident.web_id}
                    | {k: fields[k] for k in ("first_name", "last_name", "email", "country")}
                    | ({"phone": fields["phone"]} if draw() < 0.5 else {})
                    | {"updated_at": _iso(int(_past(day, draw, 900).timestamp() * 1000)), "newsletter": draw() < 0.4}
                )
            )
            truth.append(("web", ident.web_id, i))
            records += 1
    writer.writerows(duplicates)
    csv_bad = malformed_csv_lines(day)  # the last one is cut off mid-field: it must stay last
    text.write("".join(line + "\n" for _, line in csv_bad))
    crm = _batch_path(root, "customers", day, hours, "crm-customers", ".csv.gz")
    crm.parent.mkdir(parents=True, exist_ok=True)
    crm.write_bytes(gzip.compress(text.getvalue().encode(), compresslevel=1, mtime=0))
    web_bad = malformed_lines("customers", day)
    _write_gz(_batch_path(root, "customers", day, hours, "web-accounts", ".jsonl.gz"), web + [x for _, x in web_bad])
    people = {p for system, _, p in truth if system in ("crm", "web")}
    return {
        "records": records,
        "malformed": len(csv_bad) + len(web_bad),
        "duplicates": records - len(people),
        "junk": junk,
    }


def _write_loyalty(root: Path, population: Population, day: datetime, hours: int, rng, truth: Truth) -> dict:
    """The loyalty programme's daily member snapshot (JSON lines, a batch file)."""
    draw = rng.random
    lines = []
    for i in range(len(population)):
        ident = identity(population, i)
        if not ident.loyalty_id:
            continue
        member = {k: v for k, v in _entered(ident, draw, 0.2).items() if k not in _ADDRESS}
        if ident.crm_id and draw() < 0.5:
            member["customer_id"] = ident.crm_id
        tier = draw()
        enrolled = _past(day, draw, 3000)
        lines.append(
            _dumps(
                {
                    "loyalty_id": ident.loyalty_id,
                    "program": "brand_rewards",
                    "tier": "platinum" if tier < 0.05 else "gold" if tier < 0.2 else "silver" if tier < 0.5 else "blue",
                    "points_balance": int(draw() * 60_000),
                    "enrolled_at": f"{enrolled:%Y-%m-%d}",
                    "updated_at": _past(day, draw, 200).isoformat(timespec="seconds"),
                    "member": member,
                }
            )
        )
        truth.append(("loyalty", ident.loyalty_id, i))
    bad = malformed_lines("loyalty", day)
    _write_gz(_batch_path(root, "loyalty", day, hours, "loyalty-members", ".jsonl.gz"), lines + [x for _, x in bad])
    return {"records": len(lines), "malformed": len(bad)}


SourceEvent = tuple[int, str, str, str]  # (own time in epoch ms, line, source_system, source_record_id)


def _booking(ident: Identity, at: int, serial: int, draw, salt: int, day: datetime) -> list[SourceEvent]:
    """An air or hotel booking made on the web or in an app (UPT's air_booking / hotel_booking)."""
    air = draw() < 0.6
    system = "air" if air else "hotel"
    booking_id = f"{'AIR' if air else 'HTL'}-{_hex32(salt, serial)[:8].upper()}"
    traveller = _entered(ident, draw, 0.25)
    if draw() < 0.01:
        traveller["email" if draw() < 0.5 else "phone"] = JUNK_EMAIL if draw() < 0.5 else JUNK_PHONE
    traveller["loyalty_id"] = ident.loyalty_id if ident.loyalty_id and draw() < 0.5 else None
    start = day.date() + timedelta(days=3 + int(draw() * 120))
    length = 1 + int(draw() * 10)
    if air:
        destination = COUNTRIES[int(draw() * len(COUNTRIES))].code
        places = [p for p in _PLACES[destination] if p[3] != ident.airport]
        itinerary = {
            "origin": ident.airport,
            "destination": places[int(draw() * len(places))][3],
            "departure_date": start.isoformat(),
            "return_date": (start + timedelta(days=length)).isoformat() if draw() < 0.7 else None,
            "cabin": ("economy", "economy", "premium_economy", "business")[int(draw() * 4)],
        }
    else:
        itinerary = {
            "hotel_code": f"H{int(draw() * 400):03d}",
            "check_in_date": start.isoformat(),
            "check_out_date": (start + timedelta(days=length)).isoformat(),
            "room_type": ("standard", "standard", "deluxe", "suite")[int(draw() * 4)],
        }
    itinerary["party_size"] = 1 + int(draw() * draw() * 4)
    status = draw()
    record = {
        "booking_id": booking_id,
        "source_system": system,
        "customer_id": ident.crm_id if ident.crm_id and draw() < 0.6 else None,
        "booked_at": _iso(at),
        "status": "cancelled" if status < 0.07 else "pending" if status < 0.1 else "confirmed",
        "total_amount": round(40 + draw() * 1800, 2),
        "currency": _CURRENCY[ident.country],
        "traveller": traveller,
        "itinerary": itinerary,
    }
    return [(at, _dumps(record), system, booking_id)]


def _click_session(ident: Identity, at: int, serial: int, draw, salt: int, day: datetime) -> list[SourceEvent]:
    """A web session: page views, offer views (the AWS offer write-back sample), maybe a cart and a purchase. Signed-in
    sessions carry the account id and email; the rest are anonymous."""
    signed_in = ident.web_id is not None and draw() < 0.7
    session = {
        "session_id": _uuid(salt, serial),
        "user_id": ident.web_id if signed_in else None,
        "email": (ident.email.upper() if draw() < 0.1 else ident.email) if signed_in else None,
    }
    steps = [("page_view", "/", None)]
    for _ in range(1 + int(draw() * 4)):
        roll = draw()
        if roll < 0.35:
            offer = OFFERS[int(draw() * len(OFFERS))]
            steps.append(("offer_view", f"/offers/{offer}", offer))
        elif roll < 0.8:
            steps.append(("page_view", f"/product/{int(draw() * 500)}", None))
        else:
            steps.append(("add_to_cart", "/cart", None))
            if draw() < 0.3:
                steps.append(("purchase", "/checkout/done", None))
                break
    events = []
    for k, (event_type, page, offer) in enumerate(steps):
        at += int((2 + draw() * 90) * 1000)
        event_id = _uuid(salt ^ 0xC11C, serial << 4 | k)
        record = {"event_id": event_id, "event_type": event_type, "event_timestamp": _iso(at)} | session
        record |= {"page_url": f"https://shop.brand.example.com{page}"} | ({"offer_name": offer} if offer else {})
        events.append((at, _dumps(record), "clickstream", event_id))
    return events


def _service_interaction(ident: Identity, at: int, serial: int, draw, salt: int, day: datetime) -> list[SourceEvent]:
    """A contact-centre interaction (UPT's customer_service_interaction)."""
    entered = _entered(ident, draw, 0.3)
    customer = {k: entered[k] for k in ("first_name", "last_name", "email", "phone", "country")}
    if ident.crm_id and draw() < 0.5:
        customer["customer_id"] = ident.crm_id
    question, answer = _SERVICE_TOPICS[int(draw() * len(_SERVICE_TOPICS))]
    interaction_id = f"SI-{_hex32(salt, serial)[:12]}"
    record = {
        "interaction_id": interaction_id,
        "channel": ("voice", "voice", "chat", "email")[int(draw() * 4)],
        "started_at": _iso(at),
        "ended_at": _iso(at + int((60 + draw() * 1500) * 1000)),
        "sentiment": ("POSITIVE", "NEUTRAL", "NEUTRAL", "NEGATIVE", "MIXED")[int(draw() * 5)],
        "customer": customer,
        "conversation": [{"from": "customer", "text": question}, {"from": "agent", "text": answer}],
    }
    return [(at, _dumps(record), "service", interaction_id)]


# Per person over the window: how many of each (a clickstream life is a session).
_SOURCE_LIVES = {"bookings": (0.25, _booking), "clickstream": (0.5, _click_session),
                 "service_interactions": (0.08, _service_interaction)}  # fmt: skip


def _write_hourly_source(
    root: Path, stream: str, population: Population, day: datetime, hours: int, rng, truth: Truth
) -> dict:
    """A source stream delivered as it happens (Firehose layout, filed by each record's own time)."""
    draw = rng.random
    salt = rng.getrandbits(64)
    per_person, life = _SOURCE_LIVES[stream]
    day_ms = int(day.timestamp() * 1000)
    end_ms = day_ms + hours * HOUR_MS
    files = _HourFiles(root / stream, stream, day)
    bad = malformed_lines(stream, day)
    bad_by_hour: dict[int, list[str]] = {}
    for k, (_, line) in enumerate(bad):
        bad_by_hour.setdefault((k * 5) % hours, []).append(line)
    records = offer_views = serial = 0
    people = len(population)
    for hour, lives in enumerate(_lives_per_hour(int(people * per_person), day, hours)):
        files.close_before(hour)
        files.lines[hour].extend(bad_by_hour.get(hour, ()))
        for _ in range(lives):
            i = int(draw() * people)
            for at, line, system, record_id in life(
                identity(population, i), day_ms + hour * HOUR_MS + int(draw() * HOUR_MS), serial, draw, salt, day
            ):
                if at >= end_ms:
                    break  # after the sample's window
                files.lines[(at - day_ms) // HOUR_MS].append(line)
                truth.append((system, record_id, i))
                records += 1
                offer_views += '"event_type":"offer_view"' in line
            serial += 1
    files.close_before(hours)
    counts = {"records": records, "malformed": len(bad)}
    return counts | ({"offer_views": offer_views} if stream == "clickstream" else {})


def _write_source(root: Path, stream: str, population: Population, day: datetime, hours: int, seed: int,
                  truth: Truth) -> dict:  # fmt: skip
    rng = random.Random(f"{seed}:{stream}")
    if stream == "customers":
        return _write_customers(root, population, day, hours, rng, truth)
    if stream == "loyalty":
        return _write_loyalty(root, population, day, hours, rng, truth)
    return _write_hourly_source(root, stream, population, day, hours, rng, truth)


def malformed_csv_lines(day: datetime) -> list[tuple[str, str]]:
    """The broken rows of the CRM export (CSV), each with the reason landing must give it."""
    width = len(CUSTOMER_COLUMNS) + len(CRM_EXTRA_COLUMNS)

    def row(**values: str) -> str:
        fields = ["crm", "C-BAD", "Nia", "Kim", "nia.kim@example.com"] + [""] * (width - 5)
        for name, value in values.items():
            fields[CUSTOMER_COLUMNS.index(name)] = value
        text = io.StringIO()
        csv.writer(text, lineterminator="").writerow(fields)
        return text.getvalue()

    return [
        ("invalid_csv", "crm,C-BAD-1,Only,Three"),
        ("missing_record_id", row(customer_id="", updated_at=f"{day:%Y-%m-%d}")),
        ("missing_timestamp", row(customer_id="C-BAD-3")),
        ("invalid_timestamp", row(customer_id="C-BAD-4", updated_at=f"{day:%d/%m/%Y %H:%M}")),
        ("invalid_csv", 'crm,C-BAD-5,"Export cut off here'),  # an unclosed quote runs to the end of the file
    ]


# -- synthetic customers (identity-resolution benchmark) -----------------------------------------
@cache
def _synthetic_pools() -> dict[str, tuple]:
    """Name, street and place pools big enough that a million people do not share a handful of
    names: made of syllables, drawn by a fixed generator so every run has the same pools."""
    rng = random.Random("synthetic-pools")
    onsets = ("b", "br", "c", "ch", "d", "f", "g", "gr", "h", "j", "k", "l", "m", "n", "p", "r", "s", "sh", "st",
              "t", "th", "v", "w", "z")  # fmt: skip
    vowels = ("a", "e", "i", "o", "u", "ai", "ea", "ou", "y")
    codas = ("", "n", "r", "l", "s", "t", "m", "nd", "rt", "ck", "ng", "x")
    first_ends = ("a", "o", "ie", "el", "", "en", "ia", "us")
    last_ends = ("", "son", "er", "ley", "ton", "ez", "ski", "ova", "man", "berg", "ini", "ard")

    def syllable() -> str:
        return rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas)

    def distinct(make, n: int) -> tuple[str, ...]:
        names: dict[str, None] = {}
        while len(names) < n:
            names[make().title()] = None
        return tuple(names)

    last = distinct(lambda: syllable() + syllable() + rng.choice(last_ends), 60_000)
    return {
        "first": _TITLED_FIRST + distinct(lambda: syllable() + rng.choice(first_ends), 4_000),
        "last": last,
        "street": tuple(
            f"{rng.choice(last)} {rng.choice(('Street', 'Avenue', 'Road', 'Lane', 'Drive'))}" for _ in range(2_000)
        ),  # fmt: skip
        "place": tuple(
            (
                rng.choice(last) + rng.choice(("ville", " City", "ford", "burg", " Springs")),
                rng.choice(("WA", "OR", "CA", "TX", "NY", "MA", "IL", "FL", "GA", "CO")),
                f"{rng.randrange(10, 999):03d}",
            )
            for _ in range(3_000)
        ),  # fmt: skip
        "birth_date": tuple((_FIRST_BIRTH_DATE + timedelta(days=d)).isoformat() for d in range(20454)),
        "recent": tuple((datetime(2019, 1, 1) + timedelta(days=d)).date().isoformat() for d in range(2500)),
        "area": ("206", "212", "303", "312", "404", "415", "503", "602", "617", "713"),
    }


def _skewed(pool: tuple, bits: int) -> Any:
    """An element of ``pool`` from 16 random bits, the first ones far more often (as names are)."""
    r = (bits & 0xFFFF) / 65536
    return pool[int(r * r * len(pool))]


def synthetic_customers(n: int, duplicate_share: float = 0.3, seed: int = 7) -> Iterator[tuple[int, tuple[str, ...]]]:
    """``n`` CRM customer records as ``(person_id, row)``, ``row`` in ``CUSTOMER_COLUMNS`` order
    (strings, ``""`` for missing: write it with ``csv.writer`` under that header).

    ``round(n * duplicate_share)`` of them are duplicates: another record of a person (drawn
    at random), under its own customer_id, with one to three corruptions (a typo in a name, first
    and last name swapped, email in other case, phone in national format, a field left out, a
    birth date's day mistyped). The rest are one record per person. Same arguments → same rows.
    A million rows take a few seconds.
    """
    if not 0 <= duplicate_share < 1:
        raise ValueError(f"duplicate_share must be in [0, 1): {duplicate_share}")
    pools = _synthetic_pools()
    first_pool, last_pool, streets, places, births, recent, areas = (
        pools[k] for k in ("first", "last", "street", "place", "birth_date", "recent", "area")
    )
    rng = random.Random(f"synthetic-customers:{seed}")
    draw = rng.random
    salt = _mix(seed ^ 0x5EED)
    duplicates = round(n * duplicate_share)

    def person(p: int) -> list[str]:
        h1 = _mix(p ^ salt)
        h2 = _mix(h1 ^ 0x9E37)
        h3 = _mix(h2 ^ 0x79B9)
        first, last = _skewed(first_pool, h1), _skewed(last_pool, h1 >> 16)
        city, state, zip3 = places[h2 % len(places)]
        return [
            "crm",
            "",
            first,
            last,
            f"{first[0]}{last}{p}@{DOMAINS[h3 % 3]}".lower(),
            f"+1{areas[(h2 >> 12) % 10]}{2_000_000 + (p * 7919 + salt) % 8_000_000}",
            births[h3 % len(births)],
            f"{1 + (h3 >> 4) % 9999} {streets[(h3 >> 18) % len(streets)]}",
            "",
            city,
            f"{zip3}{(h2 >> 20) % 100:02d}",
            state,
            "US",
            f"{(p * 104729 + salt) % 10**10:010d}" if h1 % 10 < 4 else "",
            f"{recent[(h2 >> 4) % 2500]}T{(h3 >> 9) % 24:02d}:{(h3 >> 14) % 60:02d}:{(h3 >> 20) % 60:02d}Z",
        ]

    def corrupt(row: list[str]) -> None:
        for _ in range(1 + int(draw() * draw() * 3)):
            roll = draw()
            if roll < 0.3:
                k = 2 if draw() < 0.5 else 3
                row[k] = _typo(row[k], draw)
            elif roll < 0.4:
                row[2], row[3] = row[3], row[2]
            elif roll < 0.5:
                row[4] = row[4].upper() if draw() < 0.5 else f" {row[4]} "
            elif roll < 0.6 and row[5].startswith("+"):
                row[5] = national_format(row[5], "US")
            elif roll < 0.75:
                row[(4, 5, 6, 7, 13)[int(draw() * 5)]] = ""
            elif roll < 0.85 and row[6]:
                row[6] = row[6][:8] + row[6][9] + row[6][8]  # the day's digits swapped
            else:
                row[10] = row[10][:4] + str(int(draw() * 10))

    originals, emitted = n - duplicates, 0
    for k in range(n):
        # Duplicates are spread evenly through the file, each of any person.
        if (k + 1) * duplicates // n > k * duplicates // n:
            p = int(draw() * originals)
            row = person(p)
            original = row.copy()
            while row == original:  # a corruption can happen to change nothing (a day like 11)
                corrupt(row)
        else:
            p, emitted = emitted, emitted + 1
            row = person(p)
        row[1] = f"S{k:09d}"
        yield p, tuple(row)


def generate(
    out_dir: Path,
    people: int = 2000,
    day: datetime = DEFAULT_DAY,
    hours: int = 24,
    seed: int = 7,
    streams: tuple[str, ...] | list[str] = ENGAGEMENT_STREAMS,
) -> dict[str, dict[str, int]]:
    """Write ``hours`` of traffic from ``day`` under ``out_dir/<stream>/``; returns counts per stream.

    ``day`` must start an hour. Volume is linear in ``people``: per person about 1.5 emails,
    1 SMS/MMS/voice message, 0.5 WhatsApp messages and 0.3 chatbot sessions (~10 events in all).
    The default is the engagement streams; ``include.streams.RAW_STREAMS`` adds the source systems (what
    ``make run`` generates). Each engagement stream's counts:

    - ``events``: distinct canonical events (a WhatsApp record counts each message and status in it)
    - ``records``: good lines written, re-deliveries not included
    - ``redeliveries``: lines written a second time, identical (at-least-once delivery)
    - ``malformed``: broken lines written (``malformed_lines``), to be quarantined
    - ``sns_wrapped``: records in SNS envelopes (SES only; 0 elsewhere)
    - ``opt_outs`` (``sms_voice`` only): inbound replies with an opt-out keyword

    So a stream's files hold ``records + redeliveries + malformed`` lines.

    Source streams, for the same people: ``customers`` (~85% in the CRM's CSV export, 8% of
    those twice, ~30% with a web account in JSON lines), ``loyalty`` (~35% are members),
    ``bookings`` (0.25 per person), ``clickstream`` (0.5 sessions per person) and
    ``service_interactions`` (0.08 per person), entered as people do: typos, swapped names,
    emails in other case, national phone formats, missing fields, a few junk placeholders
    (``JUNK_EMAIL``, ``JUNK_PHONE``). Their counts: ``records`` (good records) and
    ``malformed`` (broken lines or CSV rows, ``malformed_lines`` / ``malformed_csv_lines``);
    customers add ``duplicates`` (records beyond one per person) and ``junk``, clickstream
    ``offer_views``. Which person each source record belongs to is written to
    ``out_dir/_truth/source_records.csv`` (source_system, source_record_id, person_id).
    """
    unknown = sorted(set(streams) - set(RAW_STREAMS))
    if unknown:
        raise ValueError(f"unknown streams {unknown}; known: {', '.join(RAW_STREAMS)}")
    day = day.astimezone(UTC) if day.tzinfo else day.replace(tzinfo=UTC)
    if day != day.replace(minute=0, second=0, microsecond=0) or hours < 1:
        raise ValueError(f"the window must be whole hours from the start of an hour: {day.isoformat()} + {hours}h")
    out_dir = Path(out_dir)
    population = Population(seed, people)
    truth: Truth = []
    counts = {
        stream: _write_source(out_dir, stream, population, day, hours, seed, truth)
        if stream in SOURCE_STREAMS
        else _write_stream(out_dir, stream, population, day, hours, seed)
        for stream in streams
    }
    if truth:
        (out_dir / TRUTH_FILE).parent.mkdir(parents=True, exist_ok=True)
        with open(out_dir / TRUTH_FILE, "w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(("source_system", "source_record_id", "person_id"))
            writer.writerows(truth)
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--day", type=lambda s: datetime.fromisoformat(s).replace(tzinfo=UTC), default=DEFAULT_DAY)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--streams",
        type=lambda s: tuple(s.split(",")),
        default=ENGAGEMENT_STREAMS,
        help=f"comma-separated, of: {','.join(RAW_STREAMS)} (default: the engagement streams)",
    )
    args = parser.parse_args(argv)
    counts = generate(
        args.out_dir, people=args.people, day=args.day, hours=args.hours, seed=args.seed, streams=args.streams
    )
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
