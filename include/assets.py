"""The Assets that chain the DAGs: landing → build → sync."""

from airflow.sdk import Asset

from include import settings

RAW_ENGAGEMENT = {
    stream: Asset(name=f"raw_{stream}", uri=f"s3://{settings.RAW_BUCKET}/{stream}/")
    for stream in settings.ENGAGEMENT_STREAMS
}
VALIDATED_MARTS = Asset(name="validated_marts", uri="customer360://warehouse/validated_marts")
