"""Per-branch billing over moto: the billing run issues one invoice per branch of a customer billed PER_BRANCH.

Hanse Logistik GmbH (Am Sandtorkai 1, 20457 Hamburg; no partner, it pays itself) has the branches Hamburg (Waltershofer
Str. 5, 21129 Hamburg) and Bremen (Hafenstr. 12, 28195 Bremen). Its rental flat rate of EUR 300.00 a month from
2026-11-01 is delivered in Bremen; on 2026-11-30 the service desk reports 2 h worked on 2026-11-10 on a Hamburg ticket
and 1 h on 2026-11-11 on a ticket naming no branch, both at the contract's EUR 95.00 an hour. The billing run of
2026-11-30 (22:00 Berlin) bills November.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from domain import contracts as ct
from domain import tickets as tk
from domain.errors import Conflict
from domain.money import Money
from domain.organisations import Address, Branch, BranchBilling, CustomerOnboarding, OnboardingChanges
from domain.services import contracts as contract_svc
from domain.services import organisations as org_svc
from domain.services import tickets as ticket_svc
from domain.services.invoices import document_key
from infra.dynamo.unit_of_work import DynamoUnitOfWork
from infra.report_pdf import render_service_report
from tests.crash import crash_after_commits
from tests.integration.billing_world import build_world, pdf_text, utc

HAMBURG = Address.create("Waltershofer Str. 5", "21129", "Hamburg")
BREMEN = Address.create("Hafenstr. 12", "28195", "Bremen")
RUN_DATE = date(2026, 11, 30)
RUN_AT = utc("2026-11-30T21:00:00")


@pytest.fixture
def world(aws):
    return build_world()


def hanse(world, billing: BranchBilling) -> str:
    command = org_svc.NewCustomer(
        "Hanse Logistik GmbH", Address.create("Am Sandtorkai 1", "20457", "Hamburg"), "rechnung@hanse-logistik.example",
        onboarding=CustomerOnboarding.create(branches=(Branch.create("Hamburg", HAMBURG), Branch.create("Bremen", BREMEN)),
                                             branch_billing=billing),
    )
    return org_svc.create_customer(DynamoUnitOfWork(), world.ops, command, now=utc("2026-10-01T09:00:00")).id


def bremen_rental(world, customer_id: str, *, starts_on: date = date(2026, 11, 1), now: datetime | None = None) -> ct.Contract:
    """A rental flat rate of EUR 300.00 a month (EUR 95.00 an hour) delivered at Bremen from ``starts_on``."""
    return contract_svc.create_contract(
        DynamoUnitOfWork(), world.ops,
        contract_svc.NewContract(customer_id, ct.ContractKind.RENTAL_FLAT_RATE, starts_on, ct.Rates(Money.of("95.00")),
                                 monthly_flat_rate=Money.of("300.00"), branch_key="bremen"),
        now=now or utc("2026-10-20T09:00:00"),
    )


def monthly_maintenance(world, contract: ct.Contract, subject: str = "Patchday") -> ct.MaintenanceSchedule:
    """Maintenance of ``contract`` due on the 1st of every month from 2026-12-01, its ticket three days ahead."""
    return contract_svc.add_maintenance_schedule(DynamoUnitOfWork(), world.ops, contract.id, subject=subject, every_months=1,
                                                 anchor=date(2026, 12, 1), lead_days=3, now=utc("2026-11-20T09:00:00"))


def november(world, customer_id: str) -> ct.Contract:
    """The Bremen rental of November (booked late, by the job of 2026-11-30) and the two service reports of 2026-11-30."""
    rental = bremen_rental(world, customer_id)
    assert contract_svc.book_flat_rate_months(DynamoUnitOfWork, run_date=RUN_DATE, now=utc("2026-11-30T00:30:00")).months_booked == 1
    for branch, minutes, day in (("hamburg", 120, date(2026, 11, 10)), (None, 60, date(2026, 11, 11))):
        ticket = ticket_svc.open_hotline_ticket(
            DynamoUnitOfWork(), world.ops,
            ticket_svc.NewHotlineTicket(customer_id, "Scanner im Lager", "Anruf: Scanner verbindet nicht.", "Hannes IT", branch_key=branch),
            now=utc(f"{day.isoformat()}T08:00:00"), mailer=world.mailer,
        )
        ticket_svc.record_time(DynamoUnitOfWork(), world.ops, ticket.id,
                               ticket_svc.NewTimeEntry(day, minutes, True, "Scanner eingerichtet"), now=utc(f"{day.isoformat()}T12:00:00"))
        ticket_svc.create_service_report(DynamoUnitOfWork(), world.ops, now=utc("2026-11-30T09:00:00"), documents=world.documents,
                                         mailer=world.mailer, render=render_service_report, ticket_id=ticket.id)
    return rental


def invoices_of(customer_id: str):
    page = DynamoUnitOfWork().invoices.list_for_payer(customer_id, issued_from=None, issued_to=None, status=None, limit=100, cursor=None)
    return sorted(page.items, key=lambda i: i.number)


def invoice_mails(world) -> list[str]:
    return sorted(m.subject for m in world.mailer.sent if m.subject.startswith("Rechnung"))


def state(customer_id: str):
    """Per invoice: number, branch, recipient as printed, net and gross."""
    return [
        (i.number, i.branch.key if i.branch else None, i.payer_party.name, i.payer_party.address, i.net_total, i.gross_total)
        for i in invoices_of(customer_id)
    ]


PER_BRANCH = [  # in the plan's order: the regular invoices (head office, then the branches by key), then the rental
    ("PH-2026-000001", None, "Hanse Logistik GmbH", Address.create("Am Sandtorkai 1", "20457", "Hamburg"), Money.of("95.00"), Money.of("113.05")),
    ("PH-2026-000002", "hamburg", "Hanse Logistik GmbH – Hamburg", HAMBURG, Money.of("190.00"), Money.of("226.10")),
    ("PH-2026-000003", "bremen", "Hanse Logistik GmbH – Bremen", BREMEN, Money.of("300.00"), Money.of("357.00")),
]


def test_a_customer_billed_per_branch_gets_three_invoices_addressed_to_the_head_office_and_each_branch(world):
    customer_id = hanse(world, BranchBilling.PER_BRANCH)
    november(world, customer_id)

    summary = world.run(RUN_DATE, RUN_AT)

    assert (summary.invoices_issued, summary.service_items_billed, summary.skipped) == (3, 3, [])
    assert state(customer_id) == PER_BRANCH
    by_branch = {(i.branch.key if i.branch else None): i for i in invoices_of(customer_id)}
    assert [line.branch for line in by_branch["bremen"].lines] == ["Bremen"]
    assert [line.branch for line in by_branch["hamburg"].lines] == ["Hamburg"]
    assert [line.branch for line in by_branch[None].lines] == [None]
    text = pdf_text(world.documents.get(document_key(by_branch["bremen"])))
    assert "Hanse Logistik GmbH – Bremen" in text and "Hafenstr. 12" in text and "28195 Bremen" in text
    assert "Niederlassung / Branch: Bremen" in text
    assert "Am Sandtorkai 1" in pdf_text(world.documents.get(document_key(by_branch[None])))
    assert invoice_mails(world) == [f"Rechnung / Invoice {number}" for number, *_ in PER_BRANCH]


def test_a_customer_billed_centrally_gets_its_invoices_as_before_with_lines_naming_their_branches(world):
    customer_id = hanse(world, BranchBilling.CENTRAL)
    november(world, customer_id)

    world.run(RUN_DATE, RUN_AT)

    regular, rental = invoices_of(customer_id)
    assert {regular.branch, rental.branch} == {None}
    assert {regular.payer_party.name, rental.payer_party.name} == {"Hanse Logistik GmbH"}
    assert [(line.branch, line.net_amount) for line in regular.lines] == [("Hamburg", Money.of("190.00")), (None, Money.of("95.00"))]
    assert regular.gross_total == Money.of("339.15")
    # rental is billed on an invoice of its own, as for every customer (DOMAIN.md, Invoices)
    assert [(line.description, line.branch) for line in rental.lines] == [("Rental flat rate November 2026", "Bremen")]


@pytest.mark.parametrize("crash_after", [0, 1, 2])
def test_a_per_branch_run_resumed_after_a_crash_issues_each_invoice_once_with_gap_free_numbers(world, crash_after):
    customer_id = hanse(world, BranchBilling.PER_BRANCH)
    november(world, customer_id)
    with crash_after_commits(crash_after):
        world.run(RUN_DATE, RUN_AT)
    assert len(invoices_of(customer_id)) == crash_after

    resumed = world.run(RUN_DATE, RUN_AT)

    assert resumed.invoices_issued == 3 - crash_after
    assert state(customer_id) == PER_BRANCH
    assert invoice_mails(world) == [f"Rechnung / Invoice {number}" for number, *_ in PER_BRANCH]  # each e-mailed once
    again = world.run(RUN_DATE, utc("2026-11-30T21:30:00"))
    assert (again.invoices_issued, again.already_issued, again.delivered) == (0, 0, 0)
    assert state(customer_id) == PER_BRANCH


def test_a_branch_an_open_contract_names_is_not_removed_until_the_contract_moves(world):
    customer_id = hanse(world, BranchBilling.PER_BRANCH)
    rental = november(world, customer_id)
    only_hamburg = org_svc.CustomerChanges(onboarding=OnboardingChanges(branches=(Branch.create("Hamburg", HAMBURG),)))

    with pytest.raises(Conflict) as err:
        org_svc.update_customer(DynamoUnitOfWork(), world.ops, customer_id, only_hamburg, now=utc("2026-12-02T09:00:00"))
    assert err.value.field == "onboarding.branches" and f"contract {rental.id}" in err.value.message
    assert [b.key for b in DynamoUnitOfWork().organisations.get(customer_id).onboarding.branches] == ["hamburg", "bremen"]

    contract_svc.set_contract_branch(DynamoUnitOfWork(), world.ops, contract_svc.ContractBranch(rental.id, "hamburg"),
                                     now=utc("2026-12-02T09:05:00"))
    updated = org_svc.update_customer(DynamoUnitOfWork(), world.ops, customer_id, only_hamburg, now=utc("2026-12-02T09:10:00"))
    assert [b.key for b in updated.onboarding.branches] == ["hamburg"]
    assert DynamoUnitOfWork().contracts.get(rental.id).branch_key == "hamburg"


def test_a_branch_an_open_ticket_names_is_not_removed(world):
    customer_id = hanse(world, BranchBilling.CENTRAL)
    ticket = ticket_svc.open_hotline_ticket(
        DynamoUnitOfWork(), world.ops, ticket_svc.NewHotlineTicket(customer_id, "Drucker", "Anruf.", "Hannes IT", branch_key="bremen"),
        now=utc("2026-11-10T08:00:00"), mailer=world.mailer,
    )
    only_hamburg = org_svc.CustomerChanges(onboarding=OnboardingChanges(branches=(Branch.create("Hamburg", HAMBURG),)))
    with pytest.raises(Conflict) as err:
        org_svc.update_customer(DynamoUnitOfWork(), world.ops, customer_id, only_hamburg, now=utc("2026-11-11T09:00:00"))
    assert f"ticket {ticket.number}" in err.value.message
    ticket_svc.set_branch(DynamoUnitOfWork(), world.ops, ticket.id, branch_key=None, now=utc("2026-11-11T09:05:00"))
    org_svc.update_customer(DynamoUnitOfWork(), world.ops, customer_id, only_hamburg, now=utc("2026-11-11T09:10:00"))


def closed_bremen_ticket_with_time_not_reported(world, customer_id: str):
    """A hotline ticket at Bremen of 2026-11-10 with 45 billable minutes, closed that day, its time not reported."""
    ticket = ticket_svc.open_hotline_ticket(
        DynamoUnitOfWork(), world.ops, ticket_svc.NewHotlineTicket(customer_id, "Drucker", "Anruf.", "Hannes IT", branch_key="bremen"),
        now=utc("2026-11-10T08:00:00"), mailer=world.mailer,
    )
    ticket_svc.record_time(DynamoUnitOfWork(), world.ops, ticket.id, ticket_svc.NewTimeEntry(date(2026, 11, 10), 45, True, "Drucker getauscht"),
                           now=utc("2026-11-10T12:00:00"))
    for status in (tk.TicketStatus.IN_PROGRESS, tk.TicketStatus.RESOLVED, tk.TicketStatus.CLOSED):
        ticket_svc.change_status(DynamoUnitOfWork(), world.ops, ticket.id, status=status, note=None, now=utc("2026-11-10T13:00:00"),
                                 mailer=world.mailer)
    return ticket


def test_a_branch_a_closed_ticket_with_time_not_reported_names_is_not_removed(world):
    customer_id = hanse(world, BranchBilling.CENTRAL)
    ticket = closed_bremen_ticket_with_time_not_reported(world, customer_id)
    only_hamburg = org_svc.CustomerChanges(onboarding=OnboardingChanges(branches=(Branch.create("Hamburg", HAMBURG),)))
    with pytest.raises(Conflict) as err:
        org_svc.update_customer(DynamoUnitOfWork(), world.ops, customer_id, only_hamburg, now=utc("2026-11-11T09:00:00"))
    assert f"ticket {ticket.number}" in err.value.message
    assert [b.key for b in DynamoUnitOfWork().organisations.get(customer_id).onboarding.branches] == ["hamburg", "bremen"]


def test_a_new_site_listed_without_keys_under_an_old_name_does_not_take_the_key_a_rental_names(world):
    """The client sends [Hamburg, 'Bremen Alt' at the old Bremen address, 'Bremen' at Am Speicher 3] without keys."""
    customer_id = hanse(world, BranchBilling.PER_BRANCH)
    rental = bremen_rental(world, customer_id, starts_on=date(2026, 12, 1), now=utc("2026-11-20T09:00:00"))
    sent = org_svc.CustomerChanges(onboarding=OnboardingChanges(branches=(
        Branch.create("Hamburg", HAMBURG), Branch.create("Bremen Alt", BREMEN),
        Branch.create("Bremen", Address.create("Am Speicher 3", "28217", "Bremen")),
    )))
    with pytest.raises(Conflict) as err:  # the old site's key goes, and the rental names it
        org_svc.update_customer(DynamoUnitOfWork(), world.ops, customer_id, sent, now=utc("2026-11-23T09:00:00"))
    assert f"contract {rental.id}" in err.value.message
    stored = DynamoUnitOfWork().organisations.get(customer_id).onboarding
    assert [(b.key, b.address) for b in stored.branches] == [("hamburg", HAMBURG), ("bremen", BREMEN)]


def test_maintenance_tickets_name_the_branch_of_their_contract_moved_with_it(world):
    """A rental in Bremen with a monthly maintenance due on the 1st, three days ahead, from 2026-12-01."""
    from domain.services.maintenance import create_due_maintenance_tickets
    from infra.email import MemoryMailer

    customer_id = hanse(world, BranchBilling.PER_BRANCH)
    rental = bremen_rental(world, customer_id)
    schedule = monthly_maintenance(world, rental)
    assert schedule.branch_key == "bremen"

    def run(day: date):
        return create_due_maintenance_tickets(DynamoUnitOfWork, run_date=day, now=utc(f"{day.isoformat()}T04:00:00"), mailer=MemoryMailer())

    assert run(date(2026, 11, 28)).created == 1
    assert DynamoUnitOfWork().tickets.get(ct.maintenance_ticket_id(schedule.id, date(2026, 12, 1))).branch_key == "bremen"

    contract_svc.set_contract_branch(DynamoUnitOfWork(), world.ops, contract_svc.ContractBranch(rental.id, "hamburg"),
                                     now=utc("2026-12-10T09:00:00"))
    assert DynamoUnitOfWork().maintenance_schedules.get(schedule.id).branch_key == "hamburg"  # in the same transaction
    assert run(date(2026, 12, 29)).created == 1
    assert DynamoUnitOfWork().tickets.get(ct.maintenance_ticket_id(schedule.id, date(2027, 1, 1))).branch_key == "hamburg"


def test_setting_a_contracts_branch_again_repairs_schedules_saved_without_it(world):
    """A rental in Bremen whose monthly maintenance (from 2026-12-01, three days ahead) was saved before schedules
    carried the branch: contractBranchSet with 'bremen' again on 2026-11-25 gives it the branch, the contract unchanged,
    and the ticket of 2026-12-01 names Bremen."""
    from dataclasses import replace

    from domain.services.maintenance import create_due_maintenance_tickets
    from infra.email import MemoryMailer

    customer_id = hanse(world, BranchBilling.PER_BRANCH)
    rental = bremen_rental(world, customer_id)
    schedule = monthly_maintenance(world, rental)
    uow = DynamoUnitOfWork()  # as saved before ea3a235: no branch
    with uow:
        uow.maintenance_schedules.save(replace(uow.maintenance_schedules.get(schedule.id), branch_key=None))
        uow.commit()
    assert DynamoUnitOfWork().maintenance_schedules.get(schedule.id).branch_key is None

    same = contract_svc.set_contract_branch(DynamoUnitOfWork(), world.ops, contract_svc.ContractBranch(rental.id, "bremen"),
                                            now=utc("2026-11-25T09:00:00"))
    assert (same.branch_key, same.changes) == ("bremen", rental.changes)  # no BRANCH change recorded
    assert DynamoUnitOfWork().maintenance_schedules.get(schedule.id).branch_key == "bremen"
    created = create_due_maintenance_tickets(DynamoUnitOfWork, run_date=date(2026, 11, 28), now=utc("2026-11-28T04:00:00"),
                                             mailer=MemoryMailer())
    assert created.created == 1
    assert DynamoUnitOfWork().tickets.get(ct.maintenance_ticket_id(schedule.id, date(2026, 12, 1))).branch_key == "bremen"


def test_a_contract_with_more_schedules_than_one_transaction_holds_is_refused_with_a_hint(world, monkeypatch):
    """One transaction holds the contract and at most MAX_SCHEDULES_ENDED_AT_ONCE schedules (here lowered to 1)."""
    customer_id = hanse(world, BranchBilling.PER_BRANCH)
    rental = bremen_rental(world, customer_id)
    for subject in ("Patchday", "Backup-Test"):
        monthly_maintenance(world, rental, subject)
    monkeypatch.setattr(contract_svc, "MAX_SCHEDULES_ENDED_AT_ONCE", 1)
    with pytest.raises(Conflict) as err:
        contract_svc.set_contract_branch(DynamoUnitOfWork(), world.ops, contract_svc.ContractBranch(rental.id, "bremen"),
                                         now=utc("2026-11-25T09:00:00"))
    assert err.value.field == "contractId" and "It has 2" in err.value.hint
    assert DynamoUnitOfWork().contracts.get(rental.id).changes == rental.changes


def test_a_branch_whose_closed_tickets_are_all_reported_is_removed_and_their_items_go_to_the_head_office(world):
    """Hanse (PER_BRANCH, no contract): a Bremen ticket of 45 min on 2026-11-10, closed; removing Bremen is refused
    while its time is not reported, allowed once it is (report of 2026-11-11: EUR 82.50 at EUR 110.00 an hour, not
    billed yet); that day's run bills it on the head office's invoice, its line naming 'bremen'."""
    customer_id = hanse(world, BranchBilling.PER_BRANCH)
    ticket = closed_bremen_ticket_with_time_not_reported(world, customer_id)
    only_hamburg = org_svc.CustomerChanges(onboarding=OnboardingChanges(branches=(Branch.create("Hamburg", HAMBURG),)))
    with pytest.raises(Conflict):
        org_svc.update_customer(DynamoUnitOfWork(), world.ops, customer_id, only_hamburg, now=utc("2026-11-11T09:00:00"))

    ticket_svc.create_service_report(DynamoUnitOfWork(), world.ops, now=utc("2026-11-11T09:05:00"), documents=world.documents,
                                     mailer=world.mailer, render=render_service_report, ticket_id=ticket.id)
    updated = org_svc.update_customer(DynamoUnitOfWork(), world.ops, customer_id, only_hamburg, now=utc("2026-11-11T09:10:00"))
    assert [b.key for b in updated.onboarding.branches] == ["hamburg"]

    assert world.run(date(2026, 11, 11), utc("2026-11-11T21:00:00")).invoices_issued == 1
    (invoice,) = invoices_of(customer_id)
    assert (invoice.branch, invoice.net_total, [line.branch for line in invoice.lines]) == (None, Money.of("82.50"), ["bremen"])
