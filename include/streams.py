"""The raw streams, declared once: each stream's name, kind, and the dbt models it feeds.

A stream's name is its folder in the landing bucket, its prefix and relation in the raw zone,
its landing task (``land_<name>``) and its Assets (``raw_<name>``, and ``landing_<name>`` for a
source system's drops). The Assets, the landing DAG, the reconciliation, the sample data and
the benchmarks take the streams from here. dbt keeps its copy in ``dbt/dbt_project.yml``'s
``c360__raw_streams`` (so dbt runs from the command line on its own): tests/test_streams.py
holds it, the dbt sources and landing's record checks to this registry.

Adding a stream: a row here, its line in ``c360__raw_streams``, a dbt source and staging model,
landing's check for its records (``include/landing/records.py`` or ``sources.py``), sample data
(``local/sample_data.py``) and its format in docs/input-formats.md.
"""

from __future__ import annotations

from dataclasses import dataclass

ENGAGEMENT = "engagement"
SOURCE_SYSTEM = "source_system"


@dataclass(frozen=True)
class Stream:
    name: str
    # ENGAGEMENT: events delivered continuously (Firehose, SNS), landed by the hourly schedule.
    # SOURCE_SYSTEM: batches an exporter drops; the drop's Asset event lands them at once.
    kind: str
    # The dbt source table over its raw relation: (source, table).
    dbt_source: tuple[str, str]
    # The staging model that reads it: landing_reconciliation counts its rows as raw_records.
    staging_model: str
    # The mart holding one row per canonical event of it (landing_reconciliation's canonical_events);
    # None for source systems, whose records become unified profiles instead.
    canonical_model: str | None
    description: str

    @property
    def dropped(self) -> bool:
        """Arrives as dropped batches (a ``landing_<name>`` Asset triggers its landing)."""
        return self.kind == SOURCE_SYSTEM


# In this order everywhere: landing tasks, sample data, the dbt var.
STREAMS = (
    Stream("ses", ENGAGEMENT, ("ses", "events"), "stg_ses__events", "engagement_events",
           "Amazon SES event publishing records and identity notifications"),
    Stream("sms_voice", ENGAGEMENT, ("sms_voice", "events"), "stg_sms_voice__events", "engagement_events",
           "AWS End User Messaging SMS, MMS and voice events, and inbound SMS replies"),
    Stream("whatsapp", ENGAGEMENT, ("whatsapp", "events"), "stg_whatsapp__events", "engagement_events",
           "AWS End User Messaging Social (WhatsApp) statuses and inbound messages"),
    Stream("conversations", ENGAGEMENT, ("conversations", "messages"), "stg_conversations__messages",
           "conversation_messages", "chatbot conversation turns"),
    Stream("customers", SOURCE_SYSTEM, ("source_systems", "customers"), "stg_source_systems__customers", None,
           "CRM and other customer masters (CSV or JSON lines)"),
    Stream("bookings", SOURCE_SYSTEM, ("source_systems", "bookings"), "stg_source_systems__bookings", None,
           "air and hotel bookings"),
    Stream("loyalty", SOURCE_SYSTEM, ("source_systems", "loyalty"), "stg_source_systems__loyalty_members", None,
           "loyalty programme members"),
    Stream("clickstream", SOURCE_SYSTEM, ("source_systems", "clickstream"),
           "stg_source_systems__clickstream_events", None, "web clickstream events"),
    Stream("service_interactions", SOURCE_SYSTEM, ("source_systems", "service_interactions"),
           "stg_source_systems__service_interactions", None, "contact-centre interactions"),
)  # fmt: skip

BY_NAME = {stream.name: stream for stream in STREAMS}
RAW_STREAMS = tuple(stream.name for stream in STREAMS)
ENGAGEMENT_STREAMS = tuple(stream.name for stream in STREAMS if stream.kind == ENGAGEMENT)
SOURCE_STREAMS = tuple(stream.name for stream in STREAMS if stream.kind == SOURCE_SYSTEM)


def feeding(canonical_model: str) -> tuple[str, ...]:
    """The streams whose events become rows of ``canonical_model`` (e.g. engagement_events)."""
    return tuple(stream.name for stream in STREAMS if stream.canonical_model == canonical_model)


def dbt_raw_streams() -> dict[str, str]:
    """dbt's ``c360__raw_streams`` var as this registry says it must be: stream → staging model."""
    return {stream.name: stream.staging_model for stream in STREAMS}
