"""The local Customer Profiles / SESv2 endpoint, through real boto3 clients over HTTP."""

import json
import urllib.request

import boto3
import pytest
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from local.profiles_endpoint import ProfilesEndpoint
from tests.unit.conftest import endpoint_client as client

# A small object type of the shape the sync uses: the address is both the profile key and the unique key.
EMAIL_ENGAGEMENT = {
    "Description": "test type",
    "AllowProfileCreation": True,
    "Fields": {
        "email_address": {"Source": "_source.email_address", "Target": "_profile.EmailAddress"},
        "sends": {"Source": "_source.sends", "ContentType": "NUMBER"},
    },
    "Keys": {"email_address": [{"StandardIdentifiers": ["PROFILE", "UNIQUE"], "FieldNames": ["email_address"]}]},
}


@pytest.fixture
def domain(endpoint):
    cp = client(endpoint)
    cp.create_domain(DomainName="d", DefaultExpirationDays=30)
    cp.put_profile_object_type(DomainName="d", ObjectTypeName="EmailEngagement", **EMAIL_ENGAGEMENT)
    return cp


def put(cp, email: str, sends: int = 1) -> str:
    body = json.dumps({"email_address": email, "sends": sends})
    return cp.put_profile_object(DomainName="d", ObjectTypeName="EmailEngagement", Object=body)[
        "ProfileObjectUniqueKey"
    ]


def profile_id(cp, email: str) -> str:
    return cp.search_profiles(DomainName="d", KeyName="email_address", Values=[email])["Items"][0]["ProfileId"]


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


def signed(url: str, method: str, body: bytes) -> urllib.request.Request:
    """A request signed as boto3 signs one (SigV4, service profile)."""
    aws = AWSRequest(method=method, url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials("k", "s"), "profile", "us-east-1").add_auth(aws)
    return urllib.request.Request(url, method=method, data=body, headers=dict(aws.headers.items()))


def test_requests_are_validated_against_the_input_shape(endpoint, domain):
    # boto3 validates client-side, so send what a broken client would: no ObjectTypeName.
    request = signed(f"{endpoint.url}/domains/d/profiles/objects", "PUT", json.dumps({"Object": "{}"}).encode())
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)
    assert caught.value.code == 400
    assert caught.value.headers["x-amzn-ErrorType"] == "BadRequestException"
    assert "ObjectTypeName" in json.loads(caught.value.read())["Message"]


@pytest.mark.parametrize(
    "headers,code",
    [
        ({}, "MissingAuthenticationTokenException"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "IncompleteSignatureException"),
        ({"Authorization": "AWS4-HMAC-SHA256 Credential=k/20261120/us-east-1/profile/aws4_request"},
         "IncompleteSignatureException"),
    ],
)  # fmt: skip
def test_unsigned_requests_are_refused_as_aws_refuses_them(endpoint, domain, headers, code):
    request = urllib.request.Request(f"{endpoint.url}/domains/d", headers=headers)
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)
    assert (caught.value.code, caught.value.headers["x-amzn-ErrorType"]) == (403, code)
    assert json.loads(caught.value.read())["message"]


def test_an_unsigned_boto3_client_gets_the_aws_error(endpoint, domain):
    anonymous = boto3.client(
        "customer-profiles",
        endpoint_url=endpoint.url,
        region_name="us-east-1",
        config=Config(signature_version=UNSIGNED, retries={"mode": "standard", "max_attempts": 1}),
    )
    with pytest.raises(ClientError) as caught:
        anonymous.get_domain(DomainName="d")
    assert caught.value.response["Error"] == {"Code": "MissingAuthenticationTokenException",
                                              "Message": "Missing Authentication Token"}  # fmt: skip
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert domain.get_domain(DomainName="d")["DomainName"] == "d"  # a signed client is served


def test_throttling_is_injected_at_the_configured_rate(tmp_path):
    server = ProfilesEndpoint(tmp_path / "s.sqlite", throttle_rate=1.0).start()
    try:
        cp = client(server)
        cp.create_domain(DomainName="d", DefaultExpirationDays=30)  # control plane: never throttled
        cp.put_profile_object_type(DomainName="d", ObjectTypeName="EmailEngagement", **EMAIL_ENGAGEMENT)
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


def test_batch_put_reports_each_item_with_the_models_shape(domain):
    items = [
        {"Id": "good", "Object": json.dumps({"email_address": "a@example.com"})},
        {"Id": "bad", "Object": json.dumps({"sends": 1})},
    ]
    result = domain.batch_put_profile_object(DomainName="d", ObjectTypeName="EmailEngagement", Items=items)
    assert [x["Id"] for x in result["Successful"]] == ["good"]
    (failed,) = result["Failed"]
    assert (failed["Id"], failed["Code"]) == ("bad", 400) and "UNIQUE" in failed["Message"]


def test_list_and_delete_use_the_key_put_returned(domain):
    key = put(domain, "a@example.com")
    pid = profile_id(domain, "a@example.com")
    listed = domain.list_profile_objects(DomainName="d", ObjectTypeName="EmailEngagement", ProfileId=pid)["Items"]
    assert [x["ProfileObjectUniqueKey"] for x in listed] == [key]
    domain.delete_profile_object(
        DomainName="d", ObjectTypeName="EmailEngagement", ProfileId=pid, ProfileObjectUniqueKey=key
    )
    assert domain.list_profile_objects(DomainName="d", ObjectTypeName="EmailEngagement", ProfileId=pid)["Items"] == []
    with pytest.raises(domain.exceptions.ResourceNotFoundException):
        domain.delete_profile_object(
            DomainName="d", ObjectTypeName="EmailEngagement", ProfileId=pid, ProfileObjectUniqueKey=key
        )


def test_merge_moves_objects_and_keys_to_the_main_profile(domain):
    put(domain, "a@example.com")
    put(domain, "b@example.com")
    main, merged = profile_id(domain, "a@example.com"), profile_id(domain, "b@example.com")
    domain.merge_profiles(DomainName="d", MainProfileId=main, ProfileIdsToBeMerged=[merged])
    assert profile_id(domain, "b@example.com") == main
    objects = domain.list_profile_objects(DomainName="d", ObjectTypeName="EmailEngagement", ProfileId=main)["Items"]
    assert sorted(json.loads(o["Object"])["email_address"] for o in objects) == ["a@example.com", "b@example.com"]
    assert domain.get_domain(DomainName="d")["Stats"]["ProfileCount"] == 1


def test_a_failed_operation_changes_nothing(domain):
    put(domain, "a@example.com")
    put(domain, "b@example.com")
    main, other = profile_id(domain, "a@example.com"), profile_id(domain, "b@example.com")
    # The second id does not exist: the merge is refused as a whole, the first one included.
    with pytest.raises(domain.exceptions.ResourceNotFoundException):
        domain.merge_profiles(DomainName="d", MainProfileId=main, ProfileIdsToBeMerged=[other, "0" * 32])
    assert domain.get_domain(DomainName="d")["Stats"]["ProfileCount"] == 2
    assert profile_id(domain, "b@example.com") == other


def test_deleting_an_address_not_on_the_suppression_list_is_not_found(endpoint):
    ses = client(endpoint, "sesv2")
    ses.put_suppressed_destination(EmailAddress="b@example.com", Reason="COMPLAINT")
    ses.delete_suppressed_destination(EmailAddress="b@example.com")
    assert ses.list_suppressed_destinations()["SuppressedDestinationSummaries"] == []
    with pytest.raises(ses.exceptions.NotFoundException):
        ses.delete_suppressed_destination(EmailAddress="b@example.com")


def test_the_outage_switch_refuses_every_request_until_it_is_removed(endpoint, domain):
    ses = client(endpoint, "sesv2")
    endpoint.outage_flag.touch()
    for call in (
        lambda: domain.get_domain(DomainName="d"),
        lambda: put(domain, "a@example.com"),
        lambda: ses.put_suppressed_destination(EmailAddress="a@example.com", Reason="BOUNCE"),
    ):
        with pytest.raises(ClientError) as caught:
            call()
        error = caught.value.response
        assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDeniedException", 403)
    endpoint.start_outage("ExpiredTokenException\n")
    with pytest.raises(ClientError, match="ExpiredTokenException"):
        domain.get_domain(DomainName="d")
    endpoint.start_outage("AccessDeniedException PutProfileObject PutSuppressedDestination")
    assert domain.get_domain(DomainName="d")["DomainName"] == "d"  # not named: served
    with pytest.raises(ClientError, match="AccessDeniedException"):
        put(domain, "a@example.com")

    endpoint.outage_flag.unlink()
    assert domain.get_domain(DomainName="d")["Stats"]["ProfileCount"] == 0  # nothing refused was applied
    assert ses.list_suppressed_destinations()["SuppressedDestinationSummaries"] == []
    put(domain, "a@example.com")
    assert domain.get_domain(DomainName="d")["Stats"]["ProfileCount"] == 1
