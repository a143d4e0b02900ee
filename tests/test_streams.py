"""include/streams.py is the one list of raw streams: dbt's copy, its sources and staging models,
landing's record checks, the Assets and the sample data all agree with it."""

from __future__ import annotations

import json

import pytest
import yaml

from include import settings, streams
from include.landing import records, sources


@pytest.fixture(scope="module")
def manifest() -> dict:
    path = settings.DBT_MANIFEST_PATH
    if not path.exists():
        pytest.fail(f"no dbt manifest at {path}: compile it with `make dbt-manifest`")
    return json.loads(path.read_text())


def test_each_stream_is_declared_once_and_has_a_kind():
    assert len(streams.BY_NAME) == len(streams.STREAMS)
    assert streams.RAW_STREAMS == streams.ENGAGEMENT_STREAMS + streams.SOURCE_STREAMS
    assert {stream.kind for stream in streams.STREAMS} == {streams.ENGAGEMENT, streams.SOURCE_SYSTEM}


def test_dbts_stream_list_is_the_registrys():
    project = yaml.safe_load((settings.DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    assert list(project["vars"]["c360__raw_streams"].items()) == list(streams.dbt_raw_streams().items())


def test_each_stream_has_a_dbt_source_over_its_raw_relation_read_by_its_staging_model(manifest):
    raw_sources = {
        (source["source_name"], source["name"]): source
        for source in manifest["sources"].values()
        if (source["source_name"], source["name"]) != ("landing", "quarantine")
    }
    assert set(raw_sources) == {stream.dbt_source for stream in streams.STREAMS}
    models = {node["name"]: node for node in manifest["nodes"].values() if node["resource_type"] == "model"}
    for stream in streams.STREAMS:
        source = raw_sources[stream.dbt_source]
        assert source["identifier"] == stream.name, stream.name
        assert models[stream.staging_model]["depends_on"]["nodes"] == [source["unique_id"]], stream.name
        if stream.canonical_model:
            assert stream.canonical_model in models, stream.name


def test_landing_checks_the_records_of_every_stream_and_no_other():
    assert tuple(records._EVENT_TIME) == streams.ENGAGEMENT_STREAMS
    assert set(sources.SOURCES) == set(streams.SOURCE_STREAMS)


def test_the_assets_are_the_registrys():
    from include.orchestration import assets

    assert tuple(assets.RAW_ZONE) == streams.RAW_STREAMS
    assert tuple(assets.LANDING_DROPS) == tuple(stream.name for stream in streams.STREAMS if stream.dropped)
    assert tuple(assets.LANDING_DROPS) == streams.SOURCE_STREAMS


def test_the_sample_data_writes_every_stream(tmp_path):
    from local import sample_data

    counts = sample_data.generate(tmp_path, people=3, hours=1, streams=streams.RAW_STREAMS)
    assert tuple(counts) == streams.RAW_STREAMS
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("_")) == sorted(streams.RAW_STREAMS)
