"""Abusive queries are refused before anything is resolved: depth 10, 2,000 tokens, 20 aliases, deep introspection."""

from __future__ import annotations

import graphql
import pytest

from schema import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS
from schema.limits import MAX_INTROSPECTION_DEPTH


def nested(levels: int, innermost: str = "name", field: str = "ofType") -> str:
    selection = innermost
    for _ in range(levels):
        selection = f"{field} {{ {selection} }}"
    return selection


def refused(api, query: str) -> list[str]:
    """Posts ``query`` and returns the error messages; a refused query resolves nothing."""
    response = api.post(query)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] is None
    assert body["errors"]
    return [e["message"] for e in body["errors"]]


def test_a_query_deeper_than_10_is_refused(as_user):
    # customers > nodes > partnerLinks > partner > address, then five more levels
    query = "{ customers { nodes { partnerLinks { partner { address { " + nested(6, "f", "deeper") + " } } } } } }"
    assert f"'anonymous' exceeds maximum operation depth of {MAX_DEPTH}" in refused(as_user("distributor"), query)


def test_introspection_nested_deeper_than_the_standard_introspection_query_is_refused(as_user):
    query = "{ __schema { types { fields { type { " + nested(MAX_INTROSPECTION_DEPTH) + " } } } } }"
    messages = refused(as_user("hanse_it"), query)
    assert messages == [f"Introspection nested {MAX_INTROSPECTION_DEPTH + 4} levels deep exceeds the maximum of {MAX_INTROSPECTION_DEPTH}."]


def test_introspection_through_fragments_is_measured_too(as_user):
    query = ("query { ...Root } fragment Root on Query { __type(name: \"Customer\") { ...Deep } } "
             "fragment Deep on __Type { fields { type { " + nested(MAX_INTROSPECTION_DEPTH) + " } } }")
    assert "exceeds the maximum of" in refused(as_user("hanse_it"), query)[0]


def test_the_standard_introspection_query_still_works(as_user):
    data = as_user("hanse_it")(graphql.get_introspection_query())
    assert data["__schema"]["queryType"]["name"] == "Query"


def test_21_aliases_are_refused_and_20_allowed(as_user):
    api = as_user("hanse_it")

    def aliases(n: int) -> str:
        return "{ " + " ".join(f"a{i}: me {{ user {{ id }} }}" for i in range(n)) + " }"

    assert refused(api, aliases(MAX_ALIASES + 1)) == [f"{MAX_ALIASES + 1} aliases found. Allowed: {MAX_ALIASES}"]
    assert len(api(aliases(MAX_ALIASES))) == MAX_ALIASES


def test_a_query_of_more_than_2000_tokens_is_refused(as_user):
    query = "{ me { user { " + " ".join(["id"] * MAX_TOKENS) + " } } }"
    assert refused(as_user("hanse_it"), query) == [f"Syntax Error: Document contains more than {MAX_TOKENS} tokens. Parsing aborted."]


@pytest.mark.parametrize("levels", [200, 650])
def test_absurd_nesting_is_a_clear_error_not_a_crash(as_user, levels):
    query = "{ " + nested(levels, "id", "me") + " }"
    messages = refused(as_user("hanse_it"), query)
    assert any("nested too deeply" in m or "maximum operation depth" in m or "tokens" in m for m in messages), messages
