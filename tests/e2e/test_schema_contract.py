"""schema.graphql at the repository root is the published contract; it must match the code."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_schema_graphql_is_up_to_date():
    from schema import schema

    committed = (ROOT / "schema.graphql").read_text()
    assert committed == schema.as_str() + "\n", "schema.graphql is stale: run `make schema` and commit it"


def test_every_mutation_payload_carries_typed_errors():
    from schema import schema

    mutation_type = schema._schema.mutation_type
    for name, field in mutation_type.fields.items():
        payload = field.type.of_type if hasattr(field.type, "of_type") else field.type
        assert "errors" in payload.fields, f"{name} has no errors field"
        assert str(payload.fields["errors"].type) == "[Error!]!", name


def test_alias_and_token_limits_refuse_abusive_queries(as_user):
    api = as_user("distributor")
    deep = "{ me { organisation { ... on Customer { partnerLinks { partner { id } } } } } }"
    assert "errors" not in api.post(deep).json()
    nested = "{ customers { nodes { partnerLinks { partner { id } } } } }"
    many_aliases = "query { " + "me { user { id } } " + " ".join(f"a{i}: customers {{ nodes {{ id }} }}" for i in range(25)) + " }"
    body = api.post(many_aliases).json()
    assert "aliases" in body["errors"][0]["message"].lower()
    assert "errors" not in api.post(nested).json()
    huge = "{ " + " ".join("me { user { id email name role } }" for _ in range(300)) + " }"
    assert "token" in api.post(huge).json()["errors"][0]["message"].lower()
