"""The Assets that chain the DAGs: file drops → landing → build → sync."""

from airflow.sdk import Asset

from include import settings, streams


def _raw(stream: str) -> Asset:
    return Asset(name=f"raw_{stream}", uri=f"s3://{settings.RAW_BUCKET}/{stream}/")


def _drop(stream: str) -> Asset:
    return Asset(name=f"landing_{stream}", uri=f"s3://{settings.LANDING_BUCKET}/{stream}/")


# Source systems drop batches whenever their exports finish; the drop's Asset event (extra
# {"keys": [...]}, posted by the exporter or an S3-notification watcher) lands them at once.
# Engagement streams arrive continuously through Firehose: the hourly schedule lands them.
LANDING_DROPS = {stream.name: _drop(stream.name) for stream in streams.STREAMS if stream.dropped}
RAW_ZONE = {stream: _raw(stream) for stream in streams.RAW_STREAMS}
# One event per landing run that landed anything (extra: the streams and the hours with lines),
# after all its streams: the build it triggers covers them all. Per-stream events come and go at
# each task's end, and a build triggered by the first would leave the rest to a second build.
RAW_ZONE_LANDED = Asset(name="raw_zone_landed", uri=f"s3://{settings.RAW_BUCKET}/")
VALIDATED_MARTS = Asset(name="validated_marts", uri="customer360://warehouse/validated_marts")
# suppression_list passed its own checks: the SES suppression sync waits on this alone, so a failed
# check elsewhere never holds back a bounce or a complaint.
VALIDATED_SUPPRESSIONS = Asset(name="validated_suppressions", uri="customer360://warehouse/validated_suppressions")
