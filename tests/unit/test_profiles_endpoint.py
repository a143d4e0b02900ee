"""The local Customer Profiles / SESv2 endpoint, through real boto3 clients over HTTP."""

import json
import urllib.request

import pytest

from include.customer_profiles_sync import object_type_template
from include.profiles_endpoint import ProfilesEndpoint
from tests.unit.conftest import endpoint_client as client


@pytest.fixture
def domain(endpoint):
    cp = client(endpoint)
    cp.create_domain(DomainName="d", DefaultExpirationDays=30)
    cp.put_profile_object_type(
        DomainName="d", ObjectTypeName="EmailEngagement", **object_type_template("EmailEngagement")
    )
    return cp


def test_put_profile_object_creates_a_profile_found_by_its_key(domain):
    body = {"email_address": "a@example.com", "sends": 2}
    domain.put_profile_object(DomainName="d", ObjectTypeName="EmailEngagement", Object=json.dumps(body))
    found = domain.search_profiles(DomainName="d", KeyName="email_address", Values=["a@example.com"])["Items"]
    assert len(found) == 1 and found[0]["EmailAddress"] == "a@example.com"
    objects = domain.list_profile_objects(
        DomainName="d", ObjectTypeName="EmailEngagement", ProfileId=found[0]["ProfileId"]
    )["Items"]
    assert [json.loads(o["Object"]) for o in objects] == [body]


def test_same_unique_key_updates_in_place(domain):
    for sends in (1, 2):
        domain.put_profile_object(
            DomainName="d",
            ObjectTypeName="EmailEngagement",
            Object=json.dumps({"email_address": "a@example.com", "sends": sends}),
        )
    profile = domain.search_profiles(DomainName="d", KeyName="email_address", Values=["a@example.com"])["Items"][0]
    objects = domain.list_profile_objects(
        DomainName="d", ObjectTypeName="EmailEngagement", ProfileId=profile["ProfileId"]
    )["Items"]
    assert [json.loads(o["Object"])["sends"] for o in objects] == [2]
    assert domain.get_domain(DomainName="d")["Stats"]["ProfileCount"] == 1


def test_errors_use_the_service_models_exceptions(domain):
    with pytest.raises(domain.exceptions.ResourceNotFoundException):
        domain.put_profile_object(DomainName="d", ObjectTypeName="Nope", Object="{}")
    with pytest.raises(domain.exceptions.BadRequestException, match="UNIQUE"):
        domain.put_profile_object(DomainName="d", ObjectTypeName="EmailEngagement", Object='{"sends": 1}')
    with pytest.raises(domain.exceptions.ResourceNotFoundException):
        domain.get_domain(DomainName="missing")


def test_requests_are_validated_against_the_input_shape(endpoint, domain):
    # boto3 validates client-side, so send what a broken client would: no ObjectTypeName.
    request = urllib.request.Request(
        f"{endpoint.url}/domains/d/profiles/objects", method="PUT", data=json.dumps({"Object": "{}"}).encode()
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)
    assert caught.value.code == 400
    assert caught.value.headers["x-amzn-ErrorType"] == "BadRequestException"
    assert "ObjectTypeName" in json.loads(caught.value.read())["Message"]


def test_throttling_is_injected_at_the_configured_rate(tmp_path):
    server = ProfilesEndpoint(tmp_path / "s.sqlite", throttle_rate=1.0).start()
    try:
        cp = client(server)
        cp.create_domain(DomainName="d", DefaultExpirationDays=30)  # control plane: never throttled
        cp.put_profile_object_type(
            DomainName="d", ObjectTypeName="EmailEngagement", **object_type_template("EmailEngagement")
        )
        with pytest.raises(cp.exceptions.ThrottlingException):
            cp.put_profile_object(
                DomainName="d", ObjectTypeName="EmailEngagement", Object=json.dumps({"email_address": "a@example.com"})
            )
    finally:
        server.stop()


def test_state_survives_a_restart(tmp_path):
    first = ProfilesEndpoint(tmp_path / "s.sqlite").start()
    client(first).create_domain(DomainName="d", DefaultExpirationDays=30)
    first.stop()
    second = ProfilesEndpoint(tmp_path / "s.sqlite").start()
    try:
        assert client(second).get_domain(DomainName="d")["DomainName"] == "d"
    finally:
        second.stop()


def test_ses_suppression_list(endpoint):
    ses = client(endpoint, "sesv2")
    ses.put_suppressed_destination(EmailAddress="B@example.com", Reason="BOUNCE")
    got = ses.get_suppressed_destination(EmailAddress="b@example.com")["SuppressedDestination"]
    assert (got["EmailAddress"], got["Reason"]) == ("b@example.com", "BOUNCE")
    listed = ses.list_suppressed_destinations()["SuppressedDestinationSummaries"]
    assert [x["EmailAddress"] for x in listed] == ["b@example.com"]
    with pytest.raises(ses.exceptions.NotFoundException):
        ses.get_suppressed_destination(EmailAddress="nobody@example.com")
