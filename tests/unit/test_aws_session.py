"""The shared botocore session's QuickLoader loads the very models botocore's own loader does, without listing
every service first (infra/aws.py)."""

from __future__ import annotations

import json

import pytest
from botocore import loaders
from botocore.exceptions import UnknownServiceError

from infra import aws


@pytest.fixture
def fresh_session(monkeypatch):
    monkeypatch.setattr(aws, "_session", None)
    monkeypatch.setattr(aws, "_boto3_session", None)
    return aws.shared_session


def ordered(data) -> str:
    """The data with its key order, so that two loads compare equal only if they also list keys in the same order."""
    return json.dumps(data)


@pytest.mark.parametrize("service", ["dynamodb", "s3", "ses"])
@pytest.mark.parametrize("type_name", ["service-2", "endpoint-rule-set-1", "paginators-1"])
def test_it_loads_the_same_models_as_botocore(service, type_name):
    quick, botocore_own = aws.QuickLoader(), loaders.Loader()
    assert ordered(quick.load_service_model(service, type_name)) == ordered(botocore_own.load_service_model(service, type_name))


def test_it_loads_the_same_endpoints_and_defaults_as_botocore():
    quick, botocore_own = aws.QuickLoader(), loaders.Loader()
    for name in ("endpoints", "partitions", "sdk-default-configuration", "_retry"):
        assert ordered(quick.load_data(name)) == ordered(botocore_own.load_data(name))


def test_a_client_is_made_without_listing_every_service(fresh_session, monkeypatch):
    listed = []
    real = loaders.Loader.list_available_services
    monkeypatch.setattr(loaders.Loader, "list_available_services", lambda self, type_name: listed.append(type_name) or real(self, type_name))
    client = fresh_session().create_client("dynamodb", region_name="eu-central-1", aws_access_key_id="a", aws_secret_access_key="b")
    assert client.meta.endpoint_url == "https://dynamodb.eu-central-1.amazonaws.com"
    assert "TransactWriteItems" in client.meta.service_model.operation_names
    assert listed == []


def test_an_unknown_service_is_still_refused_as_botocore_refuses_it(fresh_session):
    with pytest.raises(UnknownServiceError, match="Unknown service: 'dynamodbx'"):
        fresh_session().create_client("dynamodbx", region_name="eu-central-1")


def test_aws_data_path_is_searched_first_as_by_botocore(fresh_session, monkeypatch, tmp_path):
    model = tmp_path / "dynamodb" / "2012-08-10"
    model.mkdir(parents=True)
    own = json.loads(json.dumps(loaders.Loader().load_service_model("dynamodb", "service-2")))
    own["metadata"]["serviceFullName"] = "DynamoDB from AWS_DATA_PATH"
    (model / "service-2.json").write_text(json.dumps(own))
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    client = fresh_session().create_client("dynamodb", region_name="eu-central-1", aws_access_key_id="a", aws_secret_access_key="b")
    assert client.meta.service_model.metadata["serviceFullName"] == "DynamoDB from AWS_DATA_PATH"


def test_s3_and_ses_clients_share_the_session(fresh_session):
    s3 = aws.boto3_client("s3", region_name="eu-central-1", aws_access_key_id="a", aws_secret_access_key="b")
    ses = aws.boto3_client("ses", region_name="eu-central-1", aws_access_key_id="a", aws_secret_access_key="b")
    assert s3.meta.service_model.service_name == "s3" and ses.meta.service_model.service_name == "ses"
    assert isinstance(fresh_session().get_component("data_loader"), aws.QuickLoader)
    assert hasattr(s3, "upload_fileobj")  # boto3's own S3 methods, as boto3.client("s3") has them


def test_the_quick_loader_fits_this_botocore_and_not_one_without_the_parts_it_overrides():
    assert aws.quick_loader_fits(aws.QuickLoader())

    class OtherBotocoresLoader(loaders.Loader):  # as a botocore whose loader finds extras another way would be
        _find_extras = None

    assert not aws.quick_loader_fits(OtherBotocoresLoader())


def test_where_it_does_not_fit_botocores_own_loader_serves(fresh_session, monkeypatch):
    """Lambda provides botocore; should its version lack a part QuickLoader relies on, clients are made all the same."""
    monkeypatch.setattr(aws, "quick_loader_fits", lambda loader: False)
    session = fresh_session()
    assert not isinstance(session.get_component("data_loader"), aws.QuickLoader)
    client = session.create_client("dynamodb", region_name="eu-central-1", aws_access_key_id="a", aws_secret_access_key="b")
    assert "TransactWriteItems" in client.meta.service_model.operation_names
