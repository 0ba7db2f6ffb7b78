"""The domain reaches the subscription stores only through its ports: every method a domain module calls on
``uow.subscriptions`` or ``uow.saas_subscriptions`` is declared by that port (domain/ports.py), so a fake or another
store knows what to provide (``history_pages``, which reads a subscription's full history, was missing)."""

import re
from pathlib import Path

import pytest

from domain import ports

ROOT = Path(__file__).resolve().parents[2]
PORTS = {"subscriptions": ports.SubscriptionRepository, "saas_subscriptions": ports.SaasSubscriptionRepository}


def calls_on(attribute: str) -> set[tuple[str, str]]:
    """(method, module) of each ``uow.<attribute>.<method>(`` in the domain."""
    pattern = re.compile(rf"\buow\.{attribute}\.(\w+)\(")
    return {(method, str(path.relative_to(ROOT))) for path in (ROOT / "domain").rglob("*.py") for method in pattern.findall(path.read_text())}


@pytest.mark.parametrize("attribute", sorted(PORTS))
def test_every_store_method_the_domain_calls_is_declared_by_its_port(attribute):
    port = PORTS[attribute]
    calls = calls_on(attribute)
    assert calls, f"no calls on uow.{attribute} found: the check would prove nothing"
    assert sorted((method, module) for method, module in calls if not hasattr(port, method)) == []


def test_the_history_pages_are_declared_for_both_kinds_of_subscription():
    assert "history_pages" in ports.SubscriptionRepository.__dict__
    assert "history_pages" in ports.SaasSubscriptionRepository.__dict__
