"""Per-branch billing: branches have stable keys; contracts and tickets name the branch the work is delivered at; the
billing run gives a customer billed PER_BRANCH one invoice per branch (and one for the head office), a customer billed
CENTRAL one invoice whose lines name their branches.

Hanse Logistik GmbH, Am Sandtorkai 1, 20457 Hamburg, has the branches Hamburg (Waltershofer Str. 5, 21129 Hamburg) and
Bremen (Hafenstr. 12, 28195 Bremen). November 2026: the rental flat rate of EUR 300.00 is delivered in Bremen, a
service report of 2 h at EUR 95.00 in Hamburg, one of 1 h at EUR 95.00 names no branch.
"""

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from domain import contracts as ct
from domain import tickets as tk
from domain.billing import CustomerAccount, ServiceItem, invoice_id_for_run, plan_billing_run
from domain.errors import Conflict, ErrorCode, ValidationFailed
from domain.invoices import BillingParty, InvoiceBranch, InvoiceParty, PaymentMethod
from domain.money import Money
from domain.organisations import (
    AccessLevel,
    Address,
    BillingMode,
    BillingModePeriod,
    Branch,
    BranchBilling,
    CustomerOnboarding,
    OnboardingChanges,
    OrganisationKind,
    PartnerLink,
    branch_slug,
    new_organisation,
    service_branch_of,
)
from infra.codec import decode, encode

UTC = timezone.utc
HAMBURG = Address.create("Waltershofer Str. 5", "21129", "Hamburg")
BREMEN = Address.create("Hafenstr. 12", "28195", "Bremen")
HEAD_OFFICE = Address.create("Am Sandtorkai 1", "20457", "Hamburg")
RUN = date(2026, 12, 1)
RUN_AT = datetime(2026, 12, 1, 22, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def onboarding(billing: BranchBilling = BranchBilling.PER_BRANCH, **bremen) -> CustomerOnboarding:
    return CustomerOnboarding.create(
        branches=(Branch.create("Hamburg", HAMBURG), Branch.create("Bremen", BREMEN, **bremen)), branch_billing=billing,
    )


def hanse(billing: BranchBilling = BranchBilling.PER_BRANCH, links=()):
    customer = new_organisation(
        id="cus_hanse", kind=OrganisationKind.CUSTOMER, name="Hanse Logistik GmbH", address=HEAD_OFFICE,
        billing_email="rechnung@hanse.example", now=utc(2026, 1, 1), onboarding=onboarding(billing),
    )
    return replace(customer, partner_links=tuple(links))


def rental(branch_key: str | None = "bremen") -> ct.Contract:
    return ct.new_contract(
        contract_id="ctr_rent", customer_id="cus_hanse", kind=ct.ContractKind.RENTAL_FLAT_RATE, starts_on=date(2026, 11, 1),
        rates=ct.Rates(Money.of("95.00")), now=utc(2026, 10, 20, 9), monthly_flat_rate=Money.of("300.00"), branch_key=branch_key,
    )


def report_item(reference: str, hours: int, branch_key: str | None) -> ServiceItem:
    return ServiceItem("cus_hanse", f"Service report {reference}", Decimal(1), Money.of("95.00") * hours, reference,
                       period_start=date(2026, 11, 10), period_end=date(2026, 11, 11), branch_key=branch_key)


def november_items():
    return [ct.flat_rate_item(rental(), "2026-11"), report_item("srv_hh", 2, "hamburg"), report_item("srv_ho", 1, None)]


def plan(customer, items):
    return plan_billing_run(run_date=RUN, now=RUN_AT, issuer_id="dst_1", charges=[], partners={},
                            customers={customer.id: CustomerAccount.of(customer)}, service_items=items)


# --- branch keys ---------------------------------------------------------------------------


def test_branch_keys_are_slugs_of_the_names_unique_within_the_customer():
    data = CustomerOnboarding.create(branches=(
        Branch.create("Lager Bremen-Süd", BREMEN), Branch.create("Lager  Bremen Süd", BREMEN), Branch.create("Straße 7", HAMBURG),
    ))
    assert [b.key for b in data.branches] == ["lager-bremen-sued", "lager-bremen-sued-2", "strasse-7"]
    assert branch_slug("§§§") == "branch"


def test_branches_stored_before_keys_existed_are_read_with_keys_derived_from_their_names():
    stored = encode(onboarding())
    for branch in stored["branches"]:
        del branch["key"]
    read = decode(CustomerOnboarding, stored)
    assert [(b.key, b.name, b.address.city) for b in read.branches] == [("hamburg", "Hamburg", "Hamburg"), ("bremen", "Bremen", "Bremen")]
    assert decode(CustomerOnboarding, encode(read)) == read


def test_a_renamed_branch_keeps_its_key_when_given_and_a_branch_listed_by_name_keeps_its_key():
    renamed = onboarding().with_changes(OnboardingChanges(branches=(
        Branch.create("Hamburg", HAMBURG), Branch.create("Niederlassung Bremen", Address.create("Am Speicher 3", "28217", "Bremen"), key="bremen"),
    )))
    assert [(b.key, b.name) for b in renamed.branches] == [("hamburg", "Hamburg"), ("bremen", "Niederlassung Bremen")]
    added = renamed.with_changes(OnboardingChanges(branches=renamed.branches + (Branch.create("Kiel", HAMBURG),)))
    assert [b.key for b in added.branches] == ["hamburg", "bremen", "kiel"]


NEW_BREMEN = Address.create("Am Speicher 3", "28217", "Bremen")


def test_a_branch_listed_without_its_key_keeps_it_only_at_the_same_name_and_address():
    """A client that sends no keys: Hamburg as before, the old Bremen site renamed 'Bremen Alt', a new 'Bremen' site."""
    listed = onboarding().with_changes(OnboardingChanges(branches=(
        Branch.create("Hamburg", HAMBURG), Branch.create("Bremen Alt", BREMEN), Branch.create("Bremen", NEW_BREMEN),
    )))
    # the rental contract's key 'bremen' does not move to the new address: the old site is removed (key retired)
    assert [(b.key, b.name, b.address) for b in listed.branches] == [
        ("hamburg", "Hamburg", HAMBURG), ("bremen-alt", "Bremen Alt", BREMEN), ("bremen-2", "Bremen", NEW_BREMEN),
    ]
    assert listed.retired_branch_keys == ("bremen",)


def test_a_branch_removed_and_added_again_gets_a_new_key_never_the_retired_one():
    removed = onboarding().with_changes(OnboardingChanges(branches=(Branch.create("Hamburg", HAMBURG),)))
    assert removed.retired_branch_keys == ("bremen",)
    again = removed.with_changes(OnboardingChanges(branches=removed.branches + (Branch.create("Bremen", BREMEN),)))
    assert [b.key for b in again.branches] == ["hamburg", "bremen-2"]
    with pytest.raises(ValidationFailed) as err:  # the retired key names no branch
        removed.with_changes(OnboardingChanges(branches=removed.branches + (Branch.create("Bremen", BREMEN, key="bremen"),)))
    assert err.value.field == "onboarding.branches[1].key"
    assert decode(CustomerOnboarding, encode(again)) == again  # retired keys are stored


def test_a_branch_key_the_customer_does_not_have_is_refused_naming_the_entry():
    with pytest.raises(ValidationFailed) as err:
        onboarding().with_changes(OnboardingChanges(branches=(Branch.create("Kiel", HAMBURG, key="kiel"),)))
    assert err.value.field == "onboarding.branches[0].key"


@pytest.mark.parametrize("key,reason", [("kiel", "no branch with the key 'kiel'"), ("bremen", "receives no services")])
def test_contracts_and_tickets_name_only_a_branch_of_the_customer_that_receives_services(key, reason):
    customer = replace(hanse(), onboarding=onboarding(receives_services=False))
    with pytest.raises(ValidationFailed) as err:
        service_branch_of(customer, key)
    assert (err.value.field, err.value.code) == ("branchKey", ErrorCode.INVALID_INPUT)
    assert reason in err.value.message
    assert service_branch_of(customer, "hamburg") == "hamburg" and service_branch_of(customer, "  ") is None


# --- contracts, tickets, service reports ----------------------------------------------------


def test_every_item_of_a_contract_carries_the_branch_it_is_delivered_at():
    assert ct.flat_rate_item(rental(), "2026-11").branch_key == "bremen"
    quota = ct.new_contract(
        contract_id="ctr_q", customer_id="cus_hanse", kind=ct.ContractKind.PREPAID_QUOTA, starts_on=date(2026, 11, 1),
        rates=ct.Rates(Money.of("95.00")), now=utc(2026, 10, 20, 9), quota=ct.QuotaTerms(600, Money.of("900.00")), branch_key="hamburg",
    )
    assert ct.quota_month_item(quota, "2026-11").branch_key == "hamburg"


def test_a_contracts_branch_changed_by_staff_moves_the_items_made_after_it_and_is_recorded():
    moved = ct.set_branch(rental(), "hamburg", today=date(2026, 11, 20), now=utc(2026, 11, 20, 10), by="usr_ops")
    assert ct.flat_rate_item(moved, "2026-12").branch_key == "hamburg"
    change = moved.changes[-1]
    assert (change.kind, change.branch_key, change.previous_branch_key, change.by) == (ct.ContractChangeKind.BRANCH, "hamburg", "bremen", "usr_ops")
    assert ct.set_branch(moved, "hamburg", today=date(2026, 11, 21), now=utc(2026, 11, 21, 10), by="usr_ops") is moved


def test_an_ended_contracts_branch_is_not_changed():
    ended = replace(rental(), ends_on=date(2026, 11, 30))
    with pytest.raises(Conflict):
        ct.set_branch(ended, None, today=date(2026, 12, 2), now=utc(2026, 12, 2, 10), by="usr_ops")


def ticket(number: str, branch_key: str | None) -> tk.Ticket:
    opened = tk.open_ticket(
        ticket_id=f"tkt_{number}", number=f"T-00000{number}", distributor_id="dst_1", customer_id="cus_hanse",
        channel=tk.TicketChannel.HOTLINE, subject="Drucker", description="Druckt nicht", reporter=tk.Reporter(name="Hannes"),
        received_at=utc(2026, 11, 10, 8), actor="usr_ops", now=utc(2026, 11, 10, 8), branch_key=branch_key,
    )
    return opened


def test_a_service_report_over_tickets_of_two_sites_bills_each_sites_time_as_its_own_item():
    hamburg, unassigned = ticket("1", "hamburg"), ticket("2", None)
    hamburg.record_time(work_date=date(2026, 11, 10), minutes=120, billable=True, description="Drucker getauscht",
                        technician_id="usr_tech", now=utc(2026, 11, 10, 12))
    unassigned.record_time(work_date=date(2026, 11, 11), minutes=60, billable=True, description="VPN",
                           technician_id="usr_tech", now=utc(2026, 11, 11, 12))
    report = tk.service_report_for_period("cus_hanse", [hamburg, unassigned], first_day=date(2026, 11, 1),
                                          last_day=date(2026, 11, 30), now=utc(2026, 12, 1, 8))
    assert [line.branch_key for line in report.lines] == ["hamburg", None]
    billing = ct.bill_service_report(report, [rental()], None, now=utc(2026, 12, 1, 8), customer=hanse())
    assert [(i.reference, i.branch_key, i.unit_price) for i in billing.items] == [
        (f"{report.id}#head-office", None, Money.of("95.00")), (f"{report.id}#hamburg", "hamburg", Money.of("190.00")),
    ]


def three_sites_report() -> tk.ServiceReport:
    """20 minutes each on tickets of Hamburg, Bremen and the head office in November 2026: 1 h at EUR 95.00."""
    tickets = [ticket("1", "hamburg"), ticket("2", "bremen"), ticket("3", None)]
    for day, opened in enumerate(tickets, start=10):
        opened.record_time(work_date=date(2026, 11, day), minutes=20, billable=True, description="Netzwerk",
                           technician_id="usr_tech", now=utc(2026, 11, day, 12))
    return tk.service_report_for_period("cus_hanse", tickets, first_day=date(2026, 11, 1), last_day=date(2026, 11, 30),
                                        now=utc(2026, 12, 1, 8))


def test_a_report_split_over_branches_is_rounded_once_and_its_cents_shared_by_the_largest_remainder():
    report = three_sites_report()
    billing = ct.bill_service_report(report, [rental()], None, now=utc(2026, 12, 1, 8), customer=hanse())
    assert [(i.reference, i.branch_key, i.unit_price) for i in billing.items] == [
        (f"{report.id}#head-office", None, Money.of("31.67")),
        (f"{report.id}#bremen", "bremen", Money.of("31.67")),
        (f"{report.id}#hamburg", "hamburg", Money.of("31.66")),
    ]
    assert sum((i.unit_price.amount for i in billing.items), Decimal(0)) == Decimal("95.00")  # not 95.01
    result = plan(hanse(), list(billing.items))
    assert sum((p.draft.net_total.amount for p in result.invoices), Decimal(0)) == Decimal("95.00")


NORDIT_PAYS = BillingModePeriod(BillingMode.PARTNER_PAYS, utc(2026, 1, 1), "usr_1")


def nordit(*periods: BillingModePeriod) -> PartnerLink:
    return PartnerLink("ptn_nordit", "NordIT", AccessLevel.FULL, periods or (NORDIT_PAYS,), utc(2026, 1, 1))


def two_sites_report() -> tk.ServiceReport:
    """Made 2026-11-30: 30 min on a Hamburg ticket and 30 min on a Bremen ticket, no contract: 1 h at EUR 110.00."""
    tickets = [ticket("1", "hamburg"), ticket("2", "bremen")]
    for opened in tickets:
        opened.record_time(work_date=date(2026, 11, 20), minutes=30, billable=True, description="Netzwerk",
                           technician_id="usr_tech", now=utc(2026, 11, 20, 12))
    return tk.service_report_for_period("cus_hanse", tickets, first_day=date(2026, 11, 1), last_day=date(2026, 11, 30),
                                        now=utc(2026, 11, 30, 12))


def plan_with_nordit(customer, items):
    from domain.billing import PartnerTerms

    return plan_billing_run(run_date=RUN, now=RUN_AT, issuer_id="dst_1", charges=[], service_items=items,
                            customers={customer.id: CustomerAccount.of(customer)},
                            partners={"ptn_nordit": PartnerTerms(BillingParty("ptn_nordit"))})


def test_a_report_over_several_sites_is_always_split_whoever_pays_and_however_the_customer_is_billed():
    report = three_sites_report()
    for customer in (hanse(BranchBilling.CENTRAL), hanse(links=(nordit(),))):
        billing = ct.bill_service_report(report, [rental()], None, now=utc(2026, 12, 1, 8), customer=customer)
        assert [(i.reference, i.branch_key, i.unit_price) for i in billing.items] == [
            (f"{report.id}#head-office", None, Money.of("31.67")),
            (f"{report.id}#bremen", "bremen", Money.of("31.67")),
            (f"{report.id}#hamburg", "hamburg", Money.of("31.66")),
        ]


def test_a_report_made_while_the_partner_paid_is_billed_per_branch_after_the_customer_switched_to_paying_itself():
    """The report is made 2026-11-30 while NordIT pays; Hanse switches to customer pays on 2026-12-01 00:10 (Berlin):
    the run of 2026-12-01 bills Hamburg's 55.00 and Bremen's 55.00 on their branches' invoices, not 110.00 to the
    head office."""
    switched = nordit(NORDIT_PAYS, BillingModePeriod(BillingMode.CUSTOMER_PAYS, utc(2026, 11, 30, 23, 10), "usr_hanse"))
    items = ct.bill_service_report(two_sites_report(), [], None, now=utc(2026, 11, 30, 12), customer=hanse(links=(nordit(),))).items
    invoices = plan_with_nordit(hanse(links=(switched,)), list(items)).invoices
    totals = {(p.draft.payer_id, p.draft.branch.key if p.draft.branch else None): p.draft.net_total for p in invoices}
    assert totals == {("cus_hanse", "bremen"): Money.of("55.00"), ("cus_hanse", "hamburg"): Money.of("55.00")}


def test_a_report_made_while_billed_centrally_is_billed_per_branch_once_the_customer_is():
    items = ct.bill_service_report(two_sites_report(), [], None, now=utc(2026, 11, 30, 12), customer=hanse(BranchBilling.CENTRAL)).items
    totals = {p.draft.branch.key: p.draft.net_total for p in plan(hanse(), list(items)).invoices}
    assert totals == {"bremen": Money.of("55.00"), "hamburg": Money.of("55.00")}


def test_the_parts_of_a_report_on_one_invoice_are_its_lines_naming_their_branches():
    """Billed centrally, or paid by the partner at the run: one invoice, the report's parts side by side (110.00)."""
    report = two_sites_report()
    items = list(ct.bill_service_report(report, [], None, now=utc(2026, 11, 30, 12), customer=hanse()).items)
    for customer, payer in ((hanse(BranchBilling.CENTRAL), "cus_hanse"), (hanse(links=(nordit(),)), "ptn_nordit")):
        partner_id = "ptn_nordit" if customer.partner_links else None
        (invoice,) = plan_with_nordit(customer, [replace(i, partner_id=partner_id) for i in items]).invoices
        assert (invoice.draft.payer_id, invoice.draft.branch, invoice.draft.net_total) == (payer, None, Money.of("110.00"))
        assert [(line.source_reference, line.branch, line.net_amount) for line in invoice.draft.lines] == [
            (f"{report.id}#bremen", "Bremen", Money.of("55.00")), (f"{report.id}#hamburg", "Hamburg", Money.of("55.00")),
        ]


def test_sharing_cents_refuses_negative_parts():
    from domain.money import share_cents

    with pytest.raises(ValueError):  # before: shared as if the parts had one sign
        share_cents(Decimal("95.00"), [Decimal("95.00"), Decimal("-0.004")])
    # shares are not each rounded half-up: 0.005 + 0.005 + 0.005 (0.015 rounded once: 0.02) shares 0.01, 0.01, 0.00
    assert share_cents(Decimal("0.02"), [Decimal("0.005")] * 3) == [Decimal("0.01"), Decimal("0.01"), Decimal("0.00")]


def test_a_report_of_one_sites_tickets_keeps_the_report_id_as_its_items_reference():
    hamburg = ticket("1", "hamburg")
    hamburg.record_time(work_date=date(2026, 11, 10), minutes=120, billable=True, description="Drucker getauscht",
                        technician_id="usr_tech", now=utc(2026, 11, 10, 12))
    report = tk.service_report_for_ticket(hamburg, now=utc(2026, 12, 1, 8))
    (item,) = ct.bill_service_report(report, [rental()], None, now=utc(2026, 12, 1, 8)).items
    assert (item.reference, item.branch_key, item.unit_price) == (report.id, "hamburg", Money.of("190.00"))


def bremen_quota(overdraft: bool = False, branch_key: str | None = "bremen") -> ct.Contract:
    """Hanse's prepaid quota at Bremen: 3 h a month for EUR 300.00 (overdraft at EUR 120.00 per hour if allowed)."""
    return ct.new_contract(
        contract_id="ctr_q", customer_id="cus_hanse", kind=ct.ContractKind.PREPAID_QUOTA, starts_on=date(2026, 11, 1),
        rates=ct.Rates(Money.of("95.00")), now=utc(2026, 10, 20, 9), branch_key=branch_key,
        quota=ct.QuotaTerms(180, Money.of("300.00"), overdraft_allowed=overdraft,
                            overdraft_hourly_rate=Money.of("120.00") if overdraft else None),
    )


def hamburg_and_bremen_report(first: str = "hamburg") -> tk.ServiceReport:
    """November 2026: a Hamburg ticket of 4 h and a Bremen ticket of 1 h, reported on 2026-11-30."""
    hours = {"hamburg": 4, "bremen": 1}
    second = "bremen" if first == "hamburg" else "hamburg"
    tickets = [ticket("1", first), ticket("2", second)]
    for day, opened in enumerate(tickets, start=10):
        opened.record_time(work_date=date(2026, 11, day), minutes=60 * hours[opened.branch_key], billable=True,
                           description="Netzwerk", technician_id="usr_tech", now=utc(2026, 11, day, 12))
    return tk.service_report_for_period("cus_hanse", tickets, first_day=date(2026, 11, 1), last_day=date(2026, 11, 30),
                                        now=utc(2026, 11, 30, 12))


def bill_with_quota(quota: ct.Contract, report: tk.ServiceReport):
    assert ct.quota_of_report([quota], report) == quota
    ledger = ct.QuotaLedger(quota)
    ledger.credit_month("2026-11", now=utc(2026, 11, 1, 6))
    billing = ct.bill_service_report(report, [quota], ledger, now=utc(2026, 11, 30, 12), customer=hanse())
    return billing, ledger


@pytest.mark.parametrize("first", ["hamburg", "bremen"])
def test_a_quota_naming_a_branch_covers_only_that_branchs_tickets(first):
    """Hamburg's 4 h are billed to Hamburg at EUR 95.00 (380.00); Bremen's 1 h comes from Bremen's 3 h quota, whatever
    the order of the lines: Bremen's invoice is the quota's 300.00 alone."""
    report = hamburg_and_bremen_report(first)
    billing, ledger = bill_with_quota(bremen_quota(), report)
    assert [(i.branch_key, i.unit_price) for i in billing.items] == [("hamburg", Money.of("380.00"))]
    assert (billing.quota_minutes, billing.billed_minutes, ledger.balance_minutes) == (60, 240, 120)
    items = [ct.quota_month_item(bremen_quota(), "2026-11"), *billing.items]
    totals = {p.draft.branch.key: p.draft.net_total for p in plan(hanse(), items).invoices}
    assert totals == {"bremen": Money.of("300.00"), "hamburg": Money.of("380.00")}


def test_an_overdrawable_quota_naming_a_branch_is_not_overdrawn_by_another_branchs_work():
    billing, ledger = bill_with_quota(bremen_quota(overdraft=True), hamburg_and_bremen_report())
    assert [(i.branch_key, i.unit_price) for i in billing.items] == [("hamburg", Money.of("380.00"))]
    assert ledger.close_month("2026-11", now=utc(2026, 12, 1, 6)) is None  # 2 h left of Bremen's 3 h: no correction


def test_a_quota_naming_no_branch_covers_the_whole_customer():
    """The same month under a quota of Hanse as a whole (as before): 3 of the 5 h from the quota, 2 h billed at
    EUR 95.00."""
    billing, ledger = bill_with_quota(bremen_quota(branch_key=None), hamburg_and_bremen_report())
    assert (billing.quota_minutes, billing.billed_minutes, ledger.balance_minutes) == (180, 120, 0)
    assert sum((i.unit_price.amount for i in billing.items), Decimal(0)) == Decimal("190.00")


def test_a_report_over_the_quotas_of_two_branches_is_refused_naming_both():
    hamburg_quota = replace(bremen_quota(), id="ctr_q_hh", branch_key="hamburg")
    with pytest.raises(ValidationFailed) as err:
        ct.quota_of_report([bremen_quota(), hamburg_quota], hamburg_and_bremen_report())
    assert err.value.field == "ticketId" and "ctr_q and ctr_q_hh" in err.value.message


def test_a_tickets_branch_set_by_staff_is_in_its_history():
    opened = ticket("1", None)
    event = opened.set_branch("bremen", actor="usr_ops", now=utc(2026, 11, 12, 9))
    assert (opened.branch_key, event.kind, event.details) == ("bremen", tk.TicketEventKind.BRANCH_CHANGED, {"branch": "bremen", "previous": ""})
    assert opened.set_branch("bremen", actor="usr_ops", now=utc(2026, 11, 12, 9)) is None


# --- the billing run -----------------------------------------------------------------------


def test_a_customer_billed_per_branch_gets_one_invoice_per_branch_and_one_for_the_head_office():
    result = plan(hanse(), november_items())
    by_branch = {(p.draft.branch.key if p.draft.branch else None): p.draft for p in result.invoices}
    assert set(by_branch) == {"bremen", "hamburg", None}
    assert by_branch["bremen"].branch == InvoiceBranch("bremen", "Bremen", BREMEN)
    assert by_branch["hamburg"].branch == InvoiceBranch("hamburg", "Hamburg", HAMBURG)
    totals = {key: (draft.net_total, draft.gross_total) for key, draft in by_branch.items()}
    assert totals == {
        "bremen": (Money.of("300.00"), Money.of("357.00")),
        "hamburg": (Money.of("190.00"), Money.of("226.10")),
        None: (Money.of("95.00"), Money.of("113.05")),
    }
    assert [line.branch for line in by_branch["bremen"].lines] == ["Bremen"]
    assert [line.branch for line in by_branch[None].lines] == [None]
    assert len({p.invoice_id for p in result.invoices}) == 3
    assert by_branch[None].invoice_id == invoice_id_for_run(RUN, "cus_hanse", "cus_hanse", None)  # the head office's id as before


def test_a_branch_invoice_is_addressed_to_the_company_with_the_branch_name_at_the_branchs_address():
    printed = InvoiceParty.of(hanse()).at_branch(InvoiceBranch("bremen", "Bremen", BREMEN))
    assert (printed.name, printed.address, printed.billing_email) == ("Hanse Logistik GmbH – Bremen", BREMEN, "rechnung@hanse.example")


def test_a_customer_billed_centrally_gets_its_invoices_as_before_with_each_line_naming_its_branch():
    result = plan(hanse(BranchBilling.CENTRAL), november_items())
    assert all(p.draft.branch is None for p in result.invoices)
    rental_invoice, regular = sorted(result.invoices, key=lambda p: len(p.draft.lines))
    # rental is billed on an invoice of its own (DOMAIN.md: rental and data-centre customers are billed separately)
    assert [(line.description, line.branch) for line in rental_invoice.draft.lines] == [("Rental flat rate November 2026", "Bremen")]
    assert [(line.source_reference, line.branch, line.net_amount) for line in regular.draft.lines] == [
        ("srv_hh", "Hamburg", Money.of("190.00")), ("srv_ho", None, Money.of("95.00")),
    ]


def test_a_centrally_billed_customers_quota_and_reports_are_one_invoice_of_three_lines_naming_their_branches():
    quota = ct.new_contract(
        contract_id="ctr_q", customer_id="cus_hanse", kind=ct.ContractKind.PREPAID_QUOTA, starts_on=date(2026, 11, 1),
        rates=ct.Rates(Money.of("95.00")), now=utc(2026, 10, 20, 9), quota=ct.QuotaTerms(180, Money.of("300.00")), branch_key="bremen",
    )
    items = [ct.quota_month_item(quota, "2026-11"), report_item("srv_hh", 2, "hamburg"), report_item("srv_ho", 1, None)]
    (invoice,) = plan(hanse(BranchBilling.CENTRAL), items).invoices
    assert [(line.branch, line.net_amount) for line in invoice.draft.lines] == [
        ("Bremen", Money.of("300.00")), ("Hamburg", Money.of("190.00")), (None, Money.of("95.00")),
    ]
    assert (invoice.draft.branch, invoice.draft.gross_total) == (None, Money.of("696.15"))


def test_a_branchs_rental_is_collected_by_direct_debit_under_the_customers_mandate():
    from domain.sepa import SepaMandate

    mandate = SepaMandate.create(reference="MNDT-HANSE-1", iban="DE89370400440532013000", account_holder="Hanse Logistik GmbH",
                                 signed_on=date(2026, 10, 1), today=date(2026, 10, 2))
    customer = replace(hanse(), sepa_mandate=mandate)
    by_branch = {(p.draft.branch.key if p.draft.branch else None): p.draft for p in plan(customer, november_items()).invoices}
    assert by_branch["bremen"].payment_method is PaymentMethod.SEPA_DIRECT_DEBIT
    assert by_branch["bremen"].direct_debit.mandate_reference == "MNDT-HANSE-1"
    assert {by_branch["hamburg"].payment_method, by_branch[None].payment_method} == {PaymentMethod.TRANSFER}


def test_work_a_partner_pays_for_stays_on_the_partners_invoice_with_lines_naming_their_branch():
    from domain.billing import PartnerTerms

    link = PartnerLink("ptn_nordit", "NordIT", AccessLevel.FULL,
                       (BillingModePeriod(BillingMode.PARTNER_PAYS, utc(2026, 1, 1), "usr_1"),), utc(2026, 1, 1))
    customer = hanse(links=(link,))
    items = [replace(i, partner_id="ptn_nordit") for i in november_items()[1:]]
    result = plan_billing_run(run_date=RUN, now=RUN_AT, issuer_id="dst_1", charges=[], service_items=items,
                              customers={"cus_hanse": CustomerAccount.of(customer)},
                              partners={"ptn_nordit": PartnerTerms(BillingParty("ptn_nordit"))})
    (invoice,) = result.invoices
    assert (invoice.draft.payer_id, invoice.draft.branch) == ("ptn_nordit", None)
    assert [line.branch for line in invoice.draft.lines] == ["Hamburg", None]


def test_an_item_naming_a_branch_no_longer_recorded_goes_on_the_head_offices_invoice_naming_its_key():
    customer = replace(hanse(), onboarding=CustomerOnboarding.create(branches=(Branch.create("Hamburg", HAMBURG),),
                                                                     branch_billing=BranchBilling.PER_BRANCH))
    result = plan(customer, [report_item("srv_old", 1, "bremen")])
    (invoice,) = result.invoices
    assert invoice.draft.branch is None and [line.branch for line in invoice.draft.lines] == ["bremen"]


WIEN = Address.create("Mariahilfer Str. 10", "1060", "Wien", "AT")


def test_items_of_a_branch_abroad_go_on_the_head_offices_invoice_with_the_payers_vat():
    """Hanse (Hamburg, no VAT id) billed PER_BRANCH with a branch in Wien: 2 h at EUR 95.00 there in November 2026."""
    customer = replace(hanse(), onboarding=CustomerOnboarding.create(
        branches=(Branch.create("Hamburg", HAMBURG), Branch.create("Wien", WIEN)), branch_billing=BranchBilling.PER_BRANCH))
    (invoice,) = plan(customer, [report_item("srv_wien", 2, "wien")]).invoices
    assert invoice.draft.branch is None  # addressed to the head office in Hamburg, not to Wien
    assert [line.branch for line in invoice.draft.lines] == ["Wien"]
    assert (invoice.draft.vat_treatment.value, invoice.draft.gross_total) == ("STANDARD", Money.of("226.10"))


def test_items_of_a_german_branch_of_an_austrian_customer_go_on_its_reverse_charge_invoice_to_wien():
    """Donau Handel GmbH (Wien, UID ATU12345678) billed PER_BRANCH with a branch in Hamburg: 2 h at EUR 95.00 there."""
    customer = new_organisation(
        id="cus_hanse", kind=OrganisationKind.CUSTOMER, name="Donau Handel GmbH", address=WIEN, vat_id="ATU12345678",
        billing_email="rechnung@donau.example", now=utc(2026, 1, 1),
        onboarding=CustomerOnboarding.create(branches=(Branch.create("Hamburg", HAMBURG),), branch_billing=BranchBilling.PER_BRANCH),
    )
    (invoice,) = plan(customer, [report_item("srv_hh", 2, "hamburg")]).invoices
    assert invoice.draft.branch is None and [line.branch for line in invoice.draft.lines] == ["Hamburg"]
    assert (invoice.draft.vat_treatment.value, invoice.draft.gross_total) == ("REVERSE_CHARGE", Money.of("190.00"))


def test_a_credit_note_for_a_branchs_invoice_is_addressed_to_the_branch_and_its_lines_name_it():
    from domain.invoices import credit_note_for

    by_branch = {(p.draft.branch.key if p.draft.branch else None): p.draft for p in plan(hanse(), november_items()).invoices}
    issued = by_branch["bremen"].issue(number="PH-2026-000003", issued_at=utc(2026, 12, 1, 22))
    note = credit_note_for(issued, reason="Miete Dezember doppelt", now=utc(2026, 12, 10, 9), number="PH-2026-000004")
    assert note.branch == InvoiceBranch("bremen", "Bremen", BREMEN)
    assert [(line.branch, line.net_amount) for line in note.lines] == [("Bremen", Money.of("-300.00"))]
    printed = InvoiceParty.of(hanse()).at_branch(note.branch)
    assert (printed.name, printed.address) == ("Hanse Logistik GmbH – Bremen", BREMEN)


def test_a_credit_note_is_addressed_to_the_payer_as_the_corrected_invoice_was_issued():
    """Bremen's rental invoice issued 2026-12-01 to 'Hanse Logistik GmbH – Bremen', Hafenstr. 12: the credit note of
    2026-12-10 carries that party (before: none, so issuing it printed the company's name of that day)."""
    from domain.invoices import credit_note_for

    by_branch = {(p.draft.branch.key if p.draft.branch else None): p.draft for p in plan(hanse(), november_items()).invoices}
    as_issued = InvoiceParty.of(hanse()).at_branch(by_branch["bremen"].branch)
    issued = replace(by_branch["bremen"].issue(number="PH-2026-000003", issued_at=utc(2026, 12, 1, 22)), payer_party=as_issued)
    note = credit_note_for(issued, reason="Miete Dezember doppelt", now=utc(2026, 12, 10, 9), number="PH-2026-000004")
    assert note.payer_party == as_issued
    assert (note.payer_party.name, note.payer_party.address) == ("Hanse Logistik GmbH – Bremen", BREMEN)
