"""Who pays for service work follows the billing mode of the customer's partnership link, with or without a contract.

Hanse is linked to NordIT. 1 h of work on 2026-11-20 without a contract is billed at the list price of EUR 110.00.
Before, a report without a contract named no partner, so Hanse was invoiced even when NordIT pays (partner pays),
while the same work under a cooperation agreement went to NordIT.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from domain import contracts as ct
from domain import tickets as tk
from domain.billing import CustomerAccount, PartnerTerms, plan_billing_run
from domain.invoices import BillingParty
from domain.money import Money
from domain.organisations import AccessLevel, Address, BillingMode, BillingModePeriod, OrganisationKind, PartnerLink, new_organisation


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def link(partner_id: str, mode: BillingMode) -> PartnerLink:
    return PartnerLink(partner_id, partner_id, AccessLevel.FULL, (BillingModePeriod(mode, utc(2026, 1, 1), "usr_1"),), utc(2026, 1, 1))


def hanse(*links: PartnerLink):
    customer = new_organisation(id="cus_hanse", kind=OrganisationKind.CUSTOMER, name="Hanse Logistik GmbH",
                                address=Address.create("Am Hafen 1", "28195", "Bremen"), billing_email="it@hanse.example", now=utc(2026, 1, 1))
    return replace(customer, partner_links=tuple(links))


def report() -> tk.ServiceReport:
    line = tk.ServiceReportLine("tim_1", "tkt_1", "T-000001", date(2026, 11, 20), "usr_tech", 60, True, "Drucker", None)
    return tk.ServiceReport("srv_1", "cus_hanse", tk.ServiceReportScope.TICKET, date(2026, 11, 20), date(2026, 11, 20), (line,), utc(2026, 11, 20, 10))


def billed(customer, contracts=()):
    (item,) = ct.bill_service_report(report(), list(contracts), None, now=utc(2026, 11, 20, 10), customer=customer).items
    plan = plan_billing_run(
        run_date=date(2026, 11, 21), now=utc(2026, 11, 21, 2), issuer_id="dst_1", charges=[],
        customers={"cus_hanse": CustomerAccount(BillingParty("cus_hanse"), customer.partner_links)},
        partners={"ptn_nordit": PartnerTerms(BillingParty("ptn_nordit"), reseller_discount_percent=Decimal("15"))},
        service_items=[item],
    )
    (invoice,) = plan.invoices
    return item, invoice.draft


@pytest.mark.parametrize("mode,payer", [(BillingMode.PARTNER_PAYS, "ptn_nordit"), (BillingMode.CUSTOMER_PAYS, "cus_hanse")])
def test_work_without_a_contract_is_invoiced_to_whoever_the_partnership_link_says_pays(mode, payer):
    item, invoice = billed(hanse(link("ptn_nordit", mode)))
    assert item.partner_id == "ptn_nordit"  # before: None, so Hanse paid whatever the link said
    assert (invoice.payer_id, invoice.net_total) == (payer, Money.of("110.00"))  # no reseller discount on services


def test_a_cooperation_agreement_entered_before_the_link_existed_follows_the_link_too():
    agreement = ct.new_contract(contract_id="ctr_a", customer_id="cus_hanse", kind=ct.ContractKind.COOPERATION, starts_on=date(2026, 1, 1),
                                rates=ct.Rates(Money.of("95.00")), now=utc(2026, 1, 1))  # no partner named
    item, invoice = billed(hanse(link("ptn_nordit", BillingMode.PARTNER_PAYS)), [agreement])
    assert (item.partner_id, invoice.payer_id, invoice.net_total) == ("ptn_nordit", "ptn_nordit", Money.of("95.00"))


def test_a_contracts_partner_comes_first_and_a_customer_with_two_partners_pays_itself_without_one():
    two = hanse(link("ptn_nordit", BillingMode.PARTNER_PAYS), link("ptn_sued", BillingMode.PARTNER_PAYS))
    assert ct.service_partner_id(two) is None and ct.service_partner_id(hanse()) is None
    (item,) = ct.bill_service_report(report(), [], None, now=utc(2026, 11, 20, 10), customer=two).items
    assert item.partner_id is None
    agreement = ct.new_contract(contract_id="ctr_a", customer_id="cus_hanse", kind=ct.ContractKind.COOPERATION, starts_on=date(2026, 1, 1),
                                rates=ct.Rates(Money.of("95.00")), now=utc(2026, 1, 1), partner_id="ptn_sued")
    (item,) = ct.bill_service_report(report(), [agreement], None, now=utc(2026, 11, 20, 10), customer=two).items
    assert item.partner_id == "ptn_sued"
