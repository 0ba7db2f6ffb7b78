"""One tenant domain, one customer, even when two requests pass their checks at the same moment.

Creating a tenant and confirming a tenant link both claim `<domain>` in the transaction that stores the
tenant (a conditional put on the uniques table). Each test lets a rival operation commit between the
checks of an operation and its commit, as a concurrent request would: the second commit must fail on the
claim, leave its customer unchanged, and the first customer keeps the domain.
"""

from __future__ import annotations

import pytest

from domain.errors import AlreadyExists
from domain.policy import Principal
from domain.services import subscriptions as subs
from domain.subscriptions import TenantState
from domain.tenants import MicrosoftTenant, tenant_domain_claim
from tests.conftest import NOW


class RivalCommitsFirst:
    """A unit of work whose commit lets ``rival`` (another request, with its own unit of work) commit first."""

    def __init__(self, uow, rival) -> None:
        self._uow, self._rival = uow, rival

    def __getattr__(self, name):
        return getattr(self._uow, name)

    def __enter__(self):
        self._uow.__enter__()
        return self

    def __exit__(self, *exc):
        return self._uow.__exit__(*exc)

    def commit(self) -> None:
        self._rival()
        self._uow.commit()


@pytest.fixture
def actors(demo):
    return {key: Principal.of(demo.users[key]) for key in ("nordit_sales", "kanzlei_office", "suedcloud_admin")}


def pending_link(services, demo, actors, domain: str) -> str:
    """Kanzlei's link to ``domain``, requested and not yet confirmed; returns the mailed confirmation code."""
    subs.request_tenant_link(services.uow(), services.mailer, actors["nordit_sales"], customer_id=demo.customers["kanzlei"].id,
                             default_domain=domain, contact_email="office@kanzlei.example", now=NOW,
                             confirmation_url="https://portal.example/confirm")
    return services.mailer.to("office@kanzlei.example")[-1].body.split("code=")[1].split(" ")[0].rstrip(".")


def tenant_of(services, demo, key: str) -> MicrosoftTenant:
    return services.uow().organisations.get(demo.customers[key].id).microsoft or MicrosoftTenant()


def claim_owner(services, domain: str) -> str | None:
    from infra.dynamo.models import UniqueClaimModel

    claim = UniqueClaimModel.get(tenant_domain_claim(domain), consistent_read=True)
    return claim.owner_id


def test_a_creation_that_a_link_confirmation_overtakes_is_refused(services, demo, actors):
    code = pending_link(services, demo, actors, "wettlauf.onmicrosoft.com")

    def confirm_first():
        subs.confirm_tenant_link(services.uow(), actors["kanzlei_office"], customer_id=demo.customers["kanzlei"].id, token=code, now=NOW)

    with pytest.raises(AlreadyExists):
        subs.create_tenant(RivalCommitsFirst(services.uow(), confirm_first), actors["suedcloud_admin"],
                           customer_id=demo.customers["alpen"].id, prefix="wettlauf")
    assert tenant_of(services, demo, "kanzlei").state is TenantState.LINKED
    assert tenant_of(services, demo, "alpen").state is TenantState.NONE
    assert claim_owner(services, "wettlauf.onmicrosoft.com") == demo.customers["kanzlei"].id


def test_a_link_confirmation_that_a_creation_overtakes_is_refused(services, demo, actors):
    code = pending_link(services, demo, actors, "wettlauf.onmicrosoft.com")

    def create_first():
        subs.create_tenant(services.uow(), actors["suedcloud_admin"], customer_id=demo.customers["alpen"].id, prefix="wettlauf")

    with pytest.raises(AlreadyExists):
        subs.confirm_tenant_link(RivalCommitsFirst(services.uow(), create_first), actors["kanzlei_office"],
                                 customer_id=demo.customers["kanzlei"].id, token=code, now=NOW)
    assert tenant_of(services, demo, "kanzlei").state is TenantState.LINK_PENDING
    assert tenant_of(services, demo, "alpen").state is TenantState.CREATED
    assert claim_owner(services, "wettlauf.onmicrosoft.com") == demo.customers["alpen"].id


def test_of_two_creations_of_one_prefix_only_the_first_commits(services, demo, actors):
    def create_first():
        subs.create_tenant(services.uow(), actors["nordit_sales"], customer_id=demo.customers["kanzlei"].id, prefix="wettlauf")

    with pytest.raises(AlreadyExists):
        subs.create_tenant(RivalCommitsFirst(services.uow(), create_first), actors["suedcloud_admin"],
                           customer_id=demo.customers["alpen"].id, prefix="wettlauf")
    assert tenant_of(services, demo, "kanzlei").state is TenantState.CREATED
    assert tenant_of(services, demo, "alpen").state is TenantState.NONE
    assert claim_owner(services, "wettlauf.onmicrosoft.com") == demo.customers["kanzlei"].id
