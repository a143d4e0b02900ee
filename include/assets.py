"""The Assets that chain the DAGs: landing → build → sync."""

from airflow.sdk import Asset

from include import settings


def _raw(stream: str) -> Asset:
    return Asset(name=f"raw_{stream}", uri=f"s3://{settings.RAW_BUCKET}/{stream}/")


RAW_ENGAGEMENT = {stream: _raw(stream) for stream in settings.ENGAGEMENT_STREAMS}
RAW_SOURCE_SYSTEMS = {stream: _raw(stream) for stream in settings.SOURCE_STREAMS}
RAW_ZONE = RAW_ENGAGEMENT | RAW_SOURCE_SYSTEMS
VALIDATED_MARTS = Asset(name="validated_marts", uri="customer360://warehouse/validated_marts")
