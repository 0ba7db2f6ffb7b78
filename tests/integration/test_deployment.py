"""serverless.yml deploys what the code expects: the tables of the PynamoDB models, handlers that exist,
least-privilege IAM and the same pinned dependencies as pyproject.toml.

`make deploy-check` packages the stack with the Serverless Framework and lints the generated template; these
tests read serverless.yml itself, so they run without Node.
"""

from __future__ import annotations

import copy
import fnmatch
import importlib
import inspect
import re
import textwrap
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from pynamodb.attributes import TTLAttribute
from pynamodb.models import Model

from infra.dynamo.models import ALL_MODELS

ROOT = Path(__file__).resolve().parents[2]
TABLE_TYPE = "AWS::DynamoDB::Table"
# Tables are named <TABLE_PREFIX><aggregate>; the Lambda gets the same prefix.
TABLE_NAME_PREFIX = "partnerhub-${sls:stage}-"
# What a data-touching function may do; transactions are authorised through the item actions.
ALLOWED_DYNAMODB_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
}


# --- reading serverless.yml ----------------------------------------------------------------------------------


class _CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that also reads CloudFormation short tags (!Ref, !GetAtt, !Sub...) as their long form."""


def _short_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


_CloudFormationLoader.add_multi_constructor("!", _short_tag)


_SELF_REFERENCE = re.compile(r"\$\{self:([A-Za-z0-9_.-]+)\}")


def _resolve_self_references(value: Any, root: dict[str, Any]) -> Any:
    """Resolve `${self:a.b}` as the Framework does (other sources, like ${sls:stage}, stay as written)."""

    def lookup(path: str) -> Any:
        node: Any = root
        for part in path.split("."):
            node = node[part]
        return _resolve_self_references(node, root)

    if isinstance(value, dict):
        return {k: _resolve_self_references(v, root) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_self_references(v, root) for v in value]
    if isinstance(value, str):
        whole = _SELF_REFERENCE.fullmatch(value)
        if whole:
            return lookup(whole.group(1))
        return _SELF_REFERENCE.sub(lambda m: str(lookup(m.group(1))), value)
    return value


def load_serverless_config() -> dict[str, Any]:
    raw = yaml.load((ROOT / "serverless.yml").read_text(), Loader=_CloudFormationLoader)
    return _resolve_self_references(raw, raw)


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return load_serverless_config()


def resources(config: dict[str, Any]) -> dict[str, Any]:
    return config["resources"]["Resources"]


def table_resources_by_aggregate(config: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Aggregate name (from TableName) -> (logical id, resource)."""
    tables: dict[str, tuple[str, dict[str, Any]]] = {}
    for logical_id, resource in resources(config).items():
        if resource.get("Type") != TABLE_TYPE:
            continue
        table_name = resource["Properties"]["TableName"]
        assert table_name.startswith(TABLE_NAME_PREFIX), f"{logical_id}: TableName must be {TABLE_NAME_PREFIX}<name>"
        tables[table_name.removeprefix(TABLE_NAME_PREFIX)] = (logical_id, resource)
    return tables


# --- what a model says its table looks like (the same schema PynamoDB's create_table sends) ------------------


def _keys(key_schema: list[dict[str, str]]) -> dict[str, str]:
    return {key["KeyType"]: key["AttributeName"] for key in key_schema}


def _index_shape(index: dict[str, Any]) -> dict[str, Any]:
    projection = index["Projection"] if "Projection" in index else index["projection"]
    key_schema = index["KeySchema"] if "KeySchema" in index else index["key_schema"]
    return {
        "keys": _keys(key_schema),
        "projection": projection["ProjectionType"],
        "non_key_attributes": sorted(projection.get("NonKeyAttributes", [])),
    }


def ttl_attribute(model: type[Model]) -> str | None:
    names = [attr.attr_name for attr in model.get_attributes().values() if isinstance(attr, TTLAttribute)]
    assert len(names) <= 1, f"{model.__name__} has several TTL attributes: {names}"
    return names[0] if names else None


def model_table_shape(model: type[Model]) -> dict[str, Any]:
    schema = model._get_schema()
    stream_view_type = getattr(model.Meta, "stream_view_type", None)
    return {
        "attribute_definitions": {
            **{a["AttributeName"]: a["AttributeType"] for a in schema["attribute_definitions"]},
            **{
                a["AttributeName"]: a["AttributeType"]
                for index in [*schema["global_secondary_indexes"], *schema["local_secondary_indexes"]]
                for a in index["attribute_definitions"]
            },
        },
        "keys": _keys(schema["key_schema"]),
        "global_secondary_indexes": {i["index_name"]: _index_shape(i) for i in schema["global_secondary_indexes"]},
        "local_secondary_indexes": {i["index_name"]: _index_shape(i) for i in schema["local_secondary_indexes"]},
        "billing_mode": "PAY_PER_REQUEST",
        "point_in_time_recovery": True,
        "ttl_attribute": ttl_attribute(model),
        "stream_view_type": stream_view_type,
    }


def resource_table_shape(resource: dict[str, Any]) -> dict[str, Any]:
    props = resource["Properties"]
    ttl = props.get("TimeToLiveSpecification") or {}
    return {
        "attribute_definitions": {a["AttributeName"]: a["AttributeType"] for a in props.get("AttributeDefinitions", [])},
        "keys": _keys(props.get("KeySchema", [])),
        "global_secondary_indexes": {i["IndexName"]: _index_shape(i) for i in props.get("GlobalSecondaryIndexes", [])},
        "local_secondary_indexes": {i["IndexName"]: _index_shape(i) for i in props.get("LocalSecondaryIndexes", [])},
        "billing_mode": props.get("BillingMode"),
        "point_in_time_recovery": (props.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled"),
        "ttl_attribute": ttl.get("AttributeName") if ttl.get("Enabled") is True else None,
        "stream_view_type": (props.get("StreamSpecification") or {}).get("StreamViewType"),
    }


def logical_id_for(aggregate: str) -> str:
    return "".join(part.capitalize() for part in aggregate.split("_")) + "Table"


def resource_block_for(aggregate: str, model: type[Model]) -> str:
    """The serverless.yml block for a model, printed when a table is missing or differs."""
    shape = model_table_shape(model)

    def index_blocks(indexes: dict[str, Any]) -> list[dict[str, Any]]:
        blocks = []
        for name, index in indexes.items():
            projection: dict[str, Any] = {"ProjectionType": index["projection"]}
            if index["non_key_attributes"]:
                projection["NonKeyAttributes"] = index["non_key_attributes"]
            key_schema = [{"AttributeName": index["keys"][kind], "KeyType": kind} for kind in ("HASH", "RANGE") if kind in index["keys"]]
            blocks.append({"IndexName": name, "KeySchema": key_schema, "Projection": projection})
        return blocks

    props: dict[str, Any] = {
        "TableName": f"${{self:custom.tablePrefix}}{aggregate}",
        "BillingMode": "PAY_PER_REQUEST",
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in shape["attribute_definitions"].items()],
        "KeySchema": [{"AttributeName": shape["keys"][kind], "KeyType": kind} for kind in ("HASH", "RANGE") if kind in shape["keys"]],
    }
    if shape["global_secondary_indexes"]:
        props["GlobalSecondaryIndexes"] = index_blocks(shape["global_secondary_indexes"])
    if shape["local_secondary_indexes"]:
        props["LocalSecondaryIndexes"] = index_blocks(shape["local_secondary_indexes"])
    if shape["ttl_attribute"]:
        props["TimeToLiveSpecification"] = {"AttributeName": shape["ttl_attribute"], "Enabled": True}
    if shape["stream_view_type"]:
        props["StreamSpecification"] = {"StreamViewType": shape["stream_view_type"]}
    block = {
        logical_id_for(aggregate): {
            "Type": TABLE_TYPE,
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": props,
        }
    }
    # Indented to sit under `resources.Resources`.
    return textwrap.indent(yaml.safe_dump(block, sort_keys=False, default_flow_style=False), "    ")


# --- tables ----------------------------------------------------------------------------------------------------


def test_models_to_check_exist():
    assert {"organisations", "users", "partner_customers", "idempotency"} <= set(ALL_MODELS)


@pytest.mark.parametrize("aggregate", sorted(ALL_MODELS))
def test_every_model_has_a_table_resource_identical_to_it(config, aggregate):
    model = ALL_MODELS[aggregate]
    tables = table_resources_by_aggregate(config)
    paste_this = f"\nAdd this under resources.Resources in serverless.yml:\n{resource_block_for(aggregate, model)}"
    assert aggregate in tables, f"No table resource with TableName {TABLE_NAME_PREFIX}{aggregate}.{paste_this}"
    _, resource = tables[aggregate]
    assert resource_table_shape(resource) == model_table_shape(model), f"The table differs from {model.__name__}.{paste_this}"


def test_no_table_resource_without_a_model(config):
    assert set(table_resources_by_aggregate(config)) - set(ALL_MODELS) == set()


def test_tables_are_retained_when_the_stack_goes(config):
    for logical_id, resource in table_resources_by_aggregate(config).values():
        assert (logical_id, resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")) == (logical_id, "Retain", "Retain")


def test_table_prefix_of_the_lambda_is_the_prefix_of_the_table_names(config):
    assert config["custom"]["tablePrefix"] == TABLE_NAME_PREFIX
    assert config["provider"]["environment"]["TABLE_PREFIX"] == TABLE_NAME_PREFIX


def test_the_idempotency_table_expires_records_through_ttl(config):
    _, resource = table_resources_by_aggregate(config)["idempotency"]
    assert resource["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_table_comparison_notices_a_changed_key_and_a_missing_index(config):
    """The comparison above is not vacuous: a swapped key or a dropped GSI makes it differ."""
    model = ALL_MODELS["organisations"]
    _, resource = table_resources_by_aggregate(config)["organisations"]
    assert resource_table_shape(resource) == model_table_shape(model)

    wrong_key = copy.deepcopy(resource)
    wrong_key["Properties"]["KeySchema"] = [{"AttributeName": "kind", "KeyType": "HASH"}]
    assert resource_table_shape(wrong_key)["keys"] == {"HASH": "kind"}
    assert resource_table_shape(wrong_key) != model_table_shape(model)

    no_index = copy.deepcopy(resource)
    del no_index["Properties"]["GlobalSecondaryIndexes"]
    assert resource_table_shape(no_index) != model_table_shape(model)


# --- functions and routes --------------------------------------------------------------------------------------


def test_every_handler_named_in_serverless_yml_exists(config):
    assert config["functions"], "serverless.yml declares no function"
    for name, function in config["functions"].items():
        module_name, _, attribute = function["handler"].rpartition(".")
        module = importlib.import_module(module_name)
        assert callable(getattr(module, attribute, None)), f"function {name}: {function['handler']} is not a callable"


def test_every_job_function_in_handler_py_is_deployed(config):
    """A job written in handler.py but missing from serverless.yml would never run in AWS."""
    import handler

    jobs = {
        f"handler.{name}"
        for name, member in inspect.getmembers(handler, inspect.isfunction)
        if member.__module__ == handler.__name__ and not name.startswith("_")
    }
    deployed = {function["handler"] for function in config["functions"].values()}
    assert jobs - deployed == set()


def test_the_api_function_is_the_mangum_handler(config):
    assert config["functions"]["api"]["handler"] == "handler.handler"


def _http_routes(function: dict[str, Any]) -> dict[str, Any]:
    routes = {}
    for event in function.get("events", []):
        if "httpApi" in event:
            http = event["httpApi"]
            routes[f"{http['method'].upper()} {http['path']}"] = (http.get("authorizer") or {}).get("name")
    return routes


def test_graphql_needs_a_cognito_jwt_and_health_does_not(config):
    assert _http_routes(config["functions"]["api"]) == {
        "POST /graphql": "cognito",
        "GET /graphql": "cognito",
        "GET /health": None,
        "GET /r": None,  # partner referral links: public by design
        "POST /partner-applications/proof-upload": None,  # companies without an account apply
        "POST /partner-applications": None,
    }
    authorizer = config["provider"]["httpApi"]["authorizers"]["cognito"]
    assert authorizer["type"] == "jwt"
    assert authorizer["identitySource"] == "$request.header.Authorization"
    assert authorizer["audience"] == [{"Ref": "UserPoolClient"}]
    assert authorizer["issuerUrl"] == config["custom"]["cognito"]["issuerUrl"]
    assert {"Ref": "UserPool"} in authorizer["issuerUrl"]["Fn::Join"][1]


def test_environment_configures_production_settings(config):
    env = config["provider"]["environment"]
    assert {key: env[key] for key in ("STAGE", "JWT_USER_CLAIM", "EMAIL_BACKEND", "GRAPHIQL_ENABLED")} == {
        "STAGE": "${sls:stage}",
        "JWT_USER_CLAIM": "custom:partnerhub_user_id",
        "EMAIL_BACKEND": "ses",
        "GRAPHIQL_ENABLED": "false",
    }
    assert env["JWT_ISSUER"] == config["custom"]["cognito"]["issuerUrl"]
    assert env["JWT_AUDIENCE"] == {"Ref": "UserPoolClient"}
    assert env["JWT_JWKS_URL"] == {"Fn::Join": ["", [config["custom"]["cognito"]["issuerUrl"], "/.well-known/jwks.json"]]}
    assert env["MAIL_FROM"]
    assert "JWT_DEV_SECRET" not in env


def test_the_sepa_creditor_identifier_is_a_deployment_parameter(config):
    assert config["provider"]["environment"]["SEPA_CREDITOR_ID"] == "${param:sepaCreditorId}"
    assert config["params"]["default"]["sepaCreditorId"] == ""


def test_the_user_pool_carries_the_user_claim_and_users_cannot_write_it(config):
    pool = resources(config)["UserPool"]["Properties"]
    attributes = {a["Name"]: a for a in pool["Schema"]}
    assert attributes["partnerhub_user_id"]["AttributeDataType"] == "String"
    assert attributes["partnerhub_user_id"]["Mutable"] is False
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    client = resources(config)["UserPoolClient"]["Properties"]
    assert "custom:partnerhub_user_id" in client["ReadAttributes"]
    assert "custom:partnerhub_user_id" not in client["WriteAttributes"]


# --- IAM -------------------------------------------------------------------------------------------------------


def iam_statements(config: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every IAM statement in serverless.yml, with where it is."""
    found: list[tuple[str, dict[str, Any]]] = []
    provider = config["provider"]
    provider_role = (provider.get("iam") or {}).get("role")
    if isinstance(provider_role, dict):
        found += [("provider.iam.role", s) for s in provider_role.get("statements", [])]
    found += [("provider.iamRoleStatements", s) for s in provider.get("iamRoleStatements", [])]
    for name, function in config["functions"].items():
        found += [(f"functions.{name}", s) for s in function.get("iamRoleStatements", [])]
    for logical_id, resource in resources(config).items():
        if resource.get("Type") in {"AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}:
            props = resource["Properties"]
            documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
            documents += [props["PolicyDocument"]] if "PolicyDocument" in props else []
            found += [(f"resources.{logical_id}", s) for d in documents for s in d["Statement"]]
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def too_broad(statement: dict[str, Any]) -> list[str]:
    """Why a statement grants too much: a `*` action, any action that covers dynamodb:Scan, or NotAction."""
    problems = []
    if "NotAction" in statement:
        problems.append("NotAction grants every other action")
    for action in _as_list(statement.get("Action", [])):
        if not isinstance(action, str):
            problems.append(f"action {action!r} is not a literal")
        elif action.strip() == "*":
            problems.append("action *")
        elif fnmatch.fnmatchcase("dynamodb:scan", action.lower()):
            problems.append(f"action {action} allows dynamodb:Scan")
    return problems


@pytest.mark.parametrize(
    ("statement", "flagged"),
    [
        ({"Effect": "Allow", "Action": "*", "Resource": "*"}, True),
        ({"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Scan"]}, True),
        ({"Effect": "Allow", "Action": ["dynamodb:*"]}, True),
        ({"Effect": "Allow", "Action": ["DynamoDB:S*"]}, True),
        ({"Effect": "Allow", "NotAction": ["iam:*"]}, True),
        ({"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"]}, False),
    ],
)
def test_the_breadth_check_flags_what_it_should(statement, flagged):
    assert bool(too_broad(statement)) is flagged


def test_serverless_yml_has_iam_statements_to_check(config):
    assert len(iam_statements(config)) >= 2


def test_no_iam_statement_grants_scan_or_a_wildcard_action(config):
    offenders = [(where, problem) for where, statement in iam_statements(config) for problem in too_broad(statement)]
    assert offenders == []


def test_dynamodb_access_is_limited_to_item_and_query_actions(config):
    granted = {
        action
        for _, statement in iam_statements(config)
        for action in _as_list(statement.get("Action", []))
        if isinstance(action, str) and action.lower().startswith("dynamodb:")
    }
    assert granted - ALLOWED_DYNAMODB_ACTIONS == set()


def test_every_function_has_its_own_role(config):
    assert "serverless-iam-roles-per-function" in config["plugins"]
    assert [name for name, function in config["functions"].items() if "iamRoleStatements" not in function] == []
    assert "statements" not in ((config["provider"].get("iam") or {}).get("role") or {})
    assert "iamRoleStatements" not in config["provider"]


def _dynamodb_resources(function: dict[str, Any]) -> list[Any]:
    return [
        resource
        for statement in function.get("iamRoleStatements", [])
        if any(str(a).startswith("dynamodb:") for a in _as_list(statement.get("Action", [])))
        for resource in _as_list(statement.get("Resource", []))
    ]


def test_the_api_may_use_every_table_and_its_indexes_and_nothing_else(config):
    granted = _dynamodb_resources(config["functions"]["api"])
    expected = []
    for logical_id, _ in table_resources_by_aggregate(config).values():
        arn = {"Fn::GetAtt": [logical_id, "Arn"]}
        expected += [arn, {"Fn::Join": ["/", [arn, "index/*"]]}]
    assert sorted(map(repr, granted)) == sorted(map(repr, expected))


def test_the_api_sends_e_mail_only_as_its_own_sender(config):
    statements = [s for s in config["functions"]["api"]["iamRoleStatements"] if any(a.startswith("ses:") for a in s["Action"])]
    assert [sorted(s["Action"]) for s in statements] == [["ses:SendEmail", "ses:SendRawEmail"]]
    assert statements[0]["Condition"] == {"StringEquals": {"ses:FromAddress": config["provider"]["environment"]["MAIL_FROM"]}}


def test_the_credentials_key_is_rotated_kept_and_named_to_the_api_alone(config):
    key = resources(config)["CredentialsKey"]
    assert (key["Type"], key["DeletionPolicy"], key["UpdateReplacePolicy"]) == ("AWS::KMS::Key", "Retain", "Retain")
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["Properties"]["KeySpec"] == "SYMMETRIC_DEFAULT" and key["Properties"]["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert config["functions"]["api"]["environment"] == {"CREDENTIALS_KEY_ID": {"Ref": "CredentialsKey"}}
    assert "CREDENTIALS_KEY_ID" not in config["provider"]["environment"]
    assert [name for name, f in config["functions"].items() if "CREDENTIALS_KEY_ID" in (f.get("environment") or {})] == ["api"]


KEY_USE = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:GenerateDataKeyPair",
           "kms:GenerateDataKeyWithoutPlaintext", "kms:CreateGrant")


def _allows(statement: dict[str, Any], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), str(a).lower()) for a in _as_list(statement.get("Action", [])))


def test_no_iam_policy_grants_kms_use_the_credentials_key_policy_does(config):
    kms = [where for where, statement in iam_statements(config) if any(_allows(statement, action) for action in KEY_USE)]
    assert kms == []


def test_the_account_administers_the_credentials_key_but_cannot_encrypt_or_decrypt_with_it(config):
    """Repro: the key policy gave the account root kms:*, so any admin role of the account could decrypt every secret."""
    statements = resources(config)["CredentialsKey"]["Properties"]["KeyPolicy"]["Statement"]
    assert all("NotAction" not in s and "NotPrincipal" not in s for s in statements)
    (root,) = [s for s in statements if "root" in repr(s["Principal"])]
    assert root["Effect"] == "Allow"
    assert [action for action in KEY_USE if _allows(root, action)] == []
    for action in ("kms:PutKeyPolicy", "kms:GetKeyPolicy", "kms:DescribeKey", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
                   "kms:EnableKeyRotation", "kms:UpdateAlias", "kms:RevokeGrant"):
        assert _allows(root, action), action  # still manageable: the policy can be put again, the key rotated or retired


def test_only_the_api_role_encrypts_and_decrypts_and_only_with_the_credential_store_encryption_context(config):
    from domain.credentials import encryption_context

    statements = resources(config)["CredentialsKey"]["Properties"]["KeyPolicy"]["Statement"]
    users = [s for s in statements if any(_allows(s, action) for action in KEY_USE)]
    assert len(users) == 1
    (api,) = users
    assert (api["Effect"], api["Principal"]) == ("Allow", {"AWS": {"Fn::GetAtt": ["ApiIamRoleLambdaExecution", "Arn"]}})
    assert sorted(api["Action"]) == ["kms:Decrypt", "kms:Encrypt"]
    context = encryption_context("crd_1", "cus_1")  # what infra/secrets.py sends with every Encrypt and Decrypt
    condition = api["Condition"]
    assert condition["ForAllValues:StringEquals"] == {"kms:EncryptionContextKeys": sorted(context)}
    assert condition["StringLike"] == {f"kms:EncryptionContext:{key}": f"{value.split('_')[0]}_*" for key, value in context.items()}
    assert set(condition) == {"ForAllValues:StringEquals", "StringLike"}  # every key required (StringLike), no other key allowed


def test_no_job_may_touch_the_credential_store(config):
    credential_tables = {"CredentialsTable", "CredentialEventsTable"}
    for name, function in config["functions"].items():
        if name == "api":
            continue
        touched = {part for resource in _dynamodb_resources(function) for part in credential_tables if part in repr(resource)}
        assert touched == set(), f"{name} may use {touched}"


# --- packaging -------------------------------------------------------------------------------------------------


def _pins(lines: list[str]) -> dict[str, tuple[frozenset[str], str]]:
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        assert name not in pins, f"{name} is listed twice"
        pins[name] = (frozenset(requirement.extras), str(requirement.specifier))
    return pins


def test_requirements_txt_pins_exactly_the_runtime_dependencies_of_pyproject():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    expected = _pins(pyproject["project"]["dependencies"])
    actual = _pins((ROOT / "requirements.txt").read_text().splitlines())
    assert actual == expected
    assert all(specifier.startswith("==") for _, specifier in actual.values())


def test_python_requirements_are_built_for_the_lambda_runtime_and_architecture(config):
    provider = config["provider"]
    options = config["custom"]["pythonRequirements"]
    version = provider["runtime"].removeprefix("python")
    architecture = provider.get("architecture", "x86_64")
    platform = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}[architecture]
    assert options["dockerizePip"] is False
    assert options["fileName"] == "requirements.txt"
    assert f"--python-version {version}" in options["pipCmdExtraArgs"]
    assert f"--platform {platform}" in options["pipCmdExtraArgs"]
    assert "--only-binary=:all:" in options["pipCmdExtraArgs"]
    assert set(options["noDeploy"]) == {"boto3", "botocore", "s3transfer", "jmespath", "urllib3"}


def test_only_the_application_code_is_packaged(config):
    patterns = config["package"]["patterns"]
    assert patterns[0] == "!**"
    included = [p for p in patterns if not p.startswith("!")]
    assert included == ["handler.py", "domain/**", "infra/**", "schema/**", "resolvers/**"]


def _logical_id(function_name: str) -> str:
    """The Framework's logical id of a function's AWS::Lambda::Function (renewSubscriptions -> RenewSubscriptionsLambdaFunction)."""
    return function_name[0].upper() + function_name[1:] + "LambdaFunction"


def test_every_function_without_a_waiting_user_alarms_ops_when_it_fails(config):
    """A scheduled job raises when items failed, and an e-mail can fail to process: nobody is waiting for an answer,
    so an alarm on the function's Errors must tell ops (the OpsAlerts topic)."""
    unattended = [name for name, function in config["functions"].items()
                  if any("schedule" in event or "s3" in event for event in function.get("events", []))]
    assert len(unattended) >= 8
    alarmed = {}
    for resource in resources(config).values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::CloudWatch::Alarm" and properties.get("MetricName") == "Errors":
            assert properties["AlarmActions"] == [{"Ref": "OpsAlertsTopic"}]
            assert properties["Threshold"] == 1 and properties["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
            for dimension in properties["Dimensions"]:
                alarmed[dimension["Value"]["Ref"]] = properties["Namespace"]
    assert {_logical_id(name): "AWS/Lambda" for name in unattended} == alarmed


def test_an_inbound_email_that_keeps_failing_lands_in_a_dead_letter_queue_ops_hears_of(config):
    queue = {"Fn::GetAtt": ["IngestEmailDeadLetterQueue", "Arn"]}
    function = config["resources"]["extensions"]["IngestEmailLambdaFunction"]["Properties"]
    assert function["DeadLetterConfig"]["TargetArn"] == queue
    statements = config["functions"]["ingestEmail"]["iamRoleStatements"]
    assert any(s["Action"] == ["sqs:SendMessage"] and s["Resource"] == [queue] for s in statements)
    alarm = resources(config)["IngestEmailDeadLetterAlarm"]["Properties"]
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["IngestEmailDeadLetterQueue", "QueueName"]}
    assert alarm["AlarmActions"] == [{"Ref": "OpsAlertsTopic"}]
