"""Deterministic sample data: engagement events as AWS delivers them, in Firehose layout.

Same seed and size → byte-identical files, so ``make run`` twice gives the same tables.
Output is a directory shaped like ``make run INPUT=<dir>`` expects: ``<dir>/<stream>/YYYY/MM/DD/HH/…``,
one gzip file per stream and hour, each record filed under the hour of its own time.

Streams (formats: ``canonical-events.md``):

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
import gzip
import json
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import accumulate, pairwise
from json.encoder import encode_basestring_ascii as _json_string
from pathlib import Path
from typing import NamedTuple

from tqdm import tqdm

ACCOUNT_ID = "111122223333"
ORGANIZATION_ID = "org-retail"
DEFAULT_DAY = datetime(2026, 11, 20, tzinfo=UTC)
STREAMS = ("ses", "sms_voice", "whatsapp", "conversations")
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


def generate(
    out_dir: Path,
    people: int = 2000,
    day: datetime = DEFAULT_DAY,
    hours: int = 24,
    seed: int = 7,
    streams: tuple[str, ...] | list[str] = STREAMS,
) -> dict[str, dict[str, int]]:
    """Write ``hours`` of traffic from ``day`` under ``out_dir/<stream>/``; returns counts per stream.

    ``day`` must start an hour. Volume is linear in ``people``: per person about 1.5 emails,
    1 SMS/MMS/voice message, 0.5 WhatsApp messages and 0.3 chatbot sessions (~10 events in all).
    Each stream's counts:

    - ``events``: distinct canonical events (a WhatsApp record counts each message and status in it)
    - ``records``: good lines written, re-deliveries not included
    - ``redeliveries``: lines written a second time, identical (at-least-once delivery)
    - ``malformed``: broken lines written (``malformed_lines``), to be quarantined
    - ``sns_wrapped``: records in SNS envelopes (SES only; 0 elsewhere)
    - ``opt_outs`` (``sms_voice`` only): inbound replies with an opt-out keyword

    So a stream's files hold ``records + redeliveries + malformed`` lines.
    """
    unknown = sorted(set(streams) - set(STREAMS))
    if unknown:
        raise ValueError(f"unknown streams {unknown}; known: {', '.join(STREAMS)}")
    day = day.astimezone(UTC) if day.tzinfo else day.replace(tzinfo=UTC)
    if day != day.replace(minute=0, second=0, microsecond=0) or hours < 1:
        raise ValueError(f"the window must be whole hours from the start of an hour: {day.isoformat()} + {hours}h")
    population = Population(seed, people)
    return {stream: _write_stream(Path(out_dir), stream, population, day, hours, seed) for stream in streams}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--day", type=lambda s: datetime.fromisoformat(s).replace(tzinfo=UTC), default=DEFAULT_DAY)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--streams", type=lambda s: tuple(s.split(",")), default=STREAMS, help="comma-separated")
    args = parser.parse_args(argv)
    counts = generate(
        args.out_dir, people=args.people, day=args.day, hours=args.hours, seed=args.seed, streams=args.streams
    )
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
