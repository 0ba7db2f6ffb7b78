"""The domain stays free of AWS, GraphQL and HTTP: it holds the rules, nothing else."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_IN_DOMAIN = {"boto3", "botocore", "pynamodb", "strawberry", "starlette", "mangum", "infra", "schema", "resolvers", "handler"}


def imported_top_level_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


DOMAIN_FILES = sorted((ROOT / "domain").rglob("*.py"))


def test_domain_has_modules_to_check():
    assert len(DOMAIN_FILES) >= 5


@pytest.mark.parametrize("path", DOMAIN_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_domain_module_imports_nothing_from_aws_graphql_or_outer_layers(path):
    assert imported_top_level_modules(path) & FORBIDDEN_IN_DOMAIN == set()


def test_domain_never_reads_the_clock():
    offenders = [
        str(p.relative_to(ROOT))
        for p in DOMAIN_FILES
        if any(call in p.read_text() for call in ("datetime.now(", "datetime.utcnow(", "date.today(", "time.time("))
    ]
    assert offenders == []


def test_checker_detects_a_forbidden_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import boto3\nfrom strawberry import type\n")
    assert imported_top_level_modules(sample) == {"boto3", "strawberry"}
