"""Software that interrupts users, over moto: the maintenance job names it as excluded in every ticket it creates,
reading it once per customer and run; a request is a ticket linked to the asset, one open request per asset."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from domain.assets import AssetKind
from domain.contracts import ContractKind, Rates, maintenance_ticket_id
from domain.errors import Conflict
from domain.money import Money
from domain.policy import Principal
from domain.services import contracts as svc
from domain.services import software_updates as updates
from domain.services import tickets
from domain.services.maintenance import create_due_maintenance_tickets
from domain.software_updates import SoftwareUpdateState
from domain.tickets import TicketChannel, TicketStatus
from infra.dynamo.unit_of_work import DynamoUnitOfWork
from infra.email import MemoryMailer
from tests.request_counter import count_requests

NOW = datetime(2023, 6, 28, 4, 0, tzinfo=timezone.utc)
EXCLUDED = ("Not included: updates of software that interrupts users (DATEV Rechnungswesen; Lexware lohn+gehalt). "
            "Updates only on request: installed only when the customer requests one by ticket, at the time agreed with the customer.")


@pytest.fixture
def hanse(demo):
    """Hanse: two schedules due 2023-07-01 (tickets on 2023-06-28), DATEV and Lexware marked, Office and a server not."""
    ops = Principal.of(demo.users["distributor"])
    hanse = demo.customers["hanse"].id
    contract = svc.create_contract(
        DynamoUnitOfWork(), ops, svc.NewContract(hanse, ContractKind.COOPERATION, date(2023, 1, 1), Rates(Money.of("95.00"))),
        now=datetime(2023, 1, 1, tzinfo=timezone.utc),
    )
    schedules = [
        svc.add_maintenance_schedule(DynamoUnitOfWork(), ops, contract.id, subject=subject, every_months=1, anchor=date(2023, 7, 1),
                                     lead_days=3, now=datetime(2023, 1, 2, 9, tzinfo=timezone.utc))
        for subject in ("Patchday Server", "Patchday Clients")
    ]
    at = datetime(2023, 1, 3, 9, tzinfo=timezone.utc)
    datev = svc.create_asset(DynamoUnitOfWork(), ops, hanse, now=at, kind=AssetKind.SOFTWARE, name="DATEV Rechnungswesen", interrupts_users=True)
    svc.create_asset(DynamoUnitOfWork(), ops, hanse, now=at, kind=AssetKind.SOFTWARE, name="Office 2021")
    lexware = svc.create_asset(DynamoUnitOfWork(), ops, hanse, now=at, kind=AssetKind.SOFTWARE, name="Lexware lohn+gehalt")
    svc.update_asset(DynamoUnitOfWork(), ops, lexware.id, interrupts_users=True)
    svc.create_asset(DynamoUnitOfWork(), ops, hanse, now=at, kind=AssetKind.HARDWARE, name="Server HV01")
    return schedules, datev


def run():
    return create_due_maintenance_tickets(DynamoUnitOfWork, run_date=date(2023, 6, 28), now=NOW, mailer=MemoryMailer(), page_limit=50)


def test_every_maintenance_ticket_names_the_interrupting_software_as_excluded(hanse):
    schedules, _ = hanse
    with count_requests() as count:
        assert run().created == 2
    found = DynamoUnitOfWork().tickets.get_many(maintenance_ticket_id(s.id, date(2023, 7, 1)) for s in schedules)
    assert len(found) == 2
    for ticket in found.values():
        assert ticket.description.endswith("due 2023-07-01.\n\n" + EXCLUDED)
    # distributor (1), due index (1 page), Hanse's marked software (1 for both tickets)
    assert count.operations["Query"] == 3


def alpen_patchday(demo):
    """Alpen (no software that interrupts users) under a cooperation agreement of 2023-01-01, with a monthly
    "Patchday" maintenance from 2023-07-01, 3 days ahead: the contract and the schedule."""
    ops = Principal.of(demo.users["distributor"])
    contract = svc.create_contract(
        DynamoUnitOfWork(), ops,
        svc.NewContract(demo.customers["alpen"].id, ContractKind.COOPERATION, date(2023, 1, 1), Rates(Money.of("95.00"))),
        now=datetime(2023, 1, 1, tzinfo=timezone.utc),
    )
    schedule = svc.add_maintenance_schedule(DynamoUnitOfWork(), ops, contract.id, subject="Patchday", every_months=1,
                                            anchor=date(2023, 7, 1), lead_days=3, now=datetime(2023, 1, 2, 9, tzinfo=timezone.utc))
    return contract, schedule


def test_a_customer_without_such_software_gets_the_maintenance_text_as_before(demo):
    contract, schedule = alpen_patchday(demo)
    run()
    ticket = DynamoUnitOfWork().tickets.get(maintenance_ticket_id(schedule.id, date(2023, 7, 1)))
    assert ticket.description == f"Scheduled maintenance of contract {contract.id}, due 2023-07-01."


def test_a_run_that_creates_nothing_reads_no_assets(hanse):
    run()
    with count_requests() as count:
        assert run().created == 0
    assert count.operations["Query"] == 2  # distributor and the (now empty) due index


def test_a_request_is_a_ticket_linked_to_the_asset_and_a_second_one_is_refused(hanse, demo):
    _, datev = hanse
    hannes = Principal.of(demo.users["hanse_it"])
    at = datetime(2023, 6, 28, 10, tzinfo=timezone.utc)
    ticket = updates.request_update(DynamoUnitOfWork(), hannes, updates.UpdateRequest(datev.id, (date(2023, 7, 7),)), now=at,
                                    mailer=MemoryMailer())
    stored = DynamoUnitOfWork().tickets.get(ticket.id)
    assert (stored.channel, stored.status, stored.software_update.state) == (TicketChannel.PORTAL, TicketStatus.NEW, SoftwareUpdateState.REQUESTED)
    assert stored.software_update.wished_dates == (date(2023, 7, 7),)
    assert DynamoUnitOfWork().assets.get(datev.id).open_update_ticket_id == ticket.id
    with pytest.raises(Conflict) as refused:
        updates.request_update(DynamoUnitOfWork(), hannes, updates.UpdateRequest(datev.id), now=at, mailer=MemoryMailer())
    assert ticket.number in refused.value.message


def test_once_installed_the_asset_takes_a_new_request(hanse, demo):
    _, datev = hanse
    hannes, olga = Principal.of(demo.users["hanse_it"]), Principal.of(demo.users["distributor"])
    mailer = MemoryMailer()
    ticket = updates.request_update(DynamoUnitOfWork(), hannes, updates.UpdateRequest(datev.id), mailer=mailer,
                                    now=datetime(2023, 6, 28, 10, tzinfo=timezone.utc))
    updates.schedule_update(DynamoUnitOfWork(), olga, ticket.id, starts_at=datetime(2023, 7, 7, 16, tzinfo=timezone.utc),
                            now=datetime(2023, 6, 28, 11, tzinfo=timezone.utc), mailer=mailer)
    updates.confirm_update(DynamoUnitOfWork(), hannes, ticket.id, now=datetime(2023, 6, 29, 8, tzinfo=timezone.utc), mailer=mailer)
    done = updates.record_installed(DynamoUnitOfWork(), olga, ticket.id, now=datetime(2023, 7, 7, 17, tzinfo=timezone.utc), mailer=mailer)
    assert (done.status, done.software_update.state) == (TicketStatus.RESOLVED, SoftwareUpdateState.INSTALLED)
    assert DynamoUnitOfWork().assets.get(datev.id).open_update_ticket_id is None
    again = updates.request_update(DynamoUnitOfWork(), hannes, updates.UpdateRequest(datev.id), mailer=mailer,
                                   now=datetime(2023, 8, 1, 10, tzinfo=timezone.utc))
    assert DynamoUnitOfWork().assets.get(datev.id).open_update_ticket_id == again.id


def test_a_step_needs_the_asset_to_name_its_ticket(hanse, demo):
    """A ticket resolved before calling off existed kept its CONFIRMED update; a new request replaced it on the asset,
    and a customer's comment reopened the old ticket: its agreement takes no step."""
    from dataclasses import replace

    _, datev = hanse
    hannes, olga = Principal.of(demo.users["hanse_it"]), Principal.of(demo.users["distributor"])
    mailer = MemoryMailer()
    old = updates.request_update(DynamoUnitOfWork(), hannes, updates.UpdateRequest(datev.id), mailer=mailer,
                                 now=datetime(2026, 11, 23, 9, tzinfo=timezone.utc))
    updates.schedule_update(DynamoUnitOfWork(), olga, old.id, starts_at=datetime(2026, 12, 4, 17, tzinfo=timezone.utc),
                            now=datetime(2026, 11, 23, 10, tzinfo=timezone.utc), mailer=mailer)
    updates.confirm_update(DynamoUnitOfWork(), hannes, old.id, now=datetime(2026, 11, 24, 8, tzinfo=timezone.utc), mailer=mailer)
    uow = DynamoUnitOfWork()
    with uow:  # resolved as the code before calling off did: the update kept CONFIRMED
        stored = uow.tickets.get(old.id)
        uow.tickets.update(replace(stored, status=TicketStatus.RESOLVED))
        uow.commit()
    new = updates.request_update(DynamoUnitOfWork(), hannes, updates.UpdateRequest(datev.id), mailer=mailer,
                                 now=datetime(2026, 11, 25, 9, tzinfo=timezone.utc))
    tickets.add_comment(DynamoUnitOfWork(), hannes, old.id, body="Und das alte?", internal=False, mailer=mailer,
                        now=datetime(2026, 11, 25, 10, tzinfo=timezone.utc))
    with pytest.raises(Conflict) as refused:
        updates.record_installed(DynamoUnitOfWork(), olga, old.id, now=datetime(2026, 12, 4, 17, 30, tzinfo=timezone.utc), mailer=mailer)
    assert "no longer carries the open update request" in refused.value.message and new.number not in refused.value.message
    assert DynamoUnitOfWork().assets.get(datev.id).open_update_ticket_id == new.id
    assert DynamoUnitOfWork().tickets.get(old.id).software_update.state is SoftwareUpdateState.CONFIRMED


def test_a_refused_read_of_a_customers_software_fails_only_that_customers_due_items(hanse, demo, monkeypatch):
    """Hanse's two schedules and Alpen's one are due 2023-07-01; reading Hanse's marked software is refused: Alpen's
    ticket is created, Hanse's two schedules fail and stay due; the next run creates theirs, naming DATEV and Lexware."""
    from domain.errors import PreconditionFailed
    from infra.dynamo import ticket_repositories

    schedules, _ = hanse
    contract, alpen = alpen_patchday(demo)
    real = ticket_repositories.AssetRepository.list_interrupting_software
    hanse_id = demo.customers["hanse"].id

    def refused_for_hanse(self, customer_id):
        if customer_id == hanse_id:
            raise PreconditionFailed("Hanse's assets cannot be read now.", field="customerId")
        return real(self, customer_id)

    monkeypatch.setattr(ticket_repositories.AssetRepository, "list_interrupting_software", refused_for_hanse)
    summary = run()
    assert (summary.created, sorted(summary.failed)) == (1, sorted(s.id for s in schedules))
    assert DynamoUnitOfWork().tickets.get(maintenance_ticket_id(alpen.id, date(2023, 7, 1))) is not None
    monkeypatch.setattr(ticket_repositories.AssetRepository, "list_interrupting_software", real)
    again = run()
    assert (again.created, again.failed) == (2, ())
    found = DynamoUnitOfWork().tickets.get_many(maintenance_ticket_id(s.id, date(2023, 7, 1)) for s in schedules)
    assert all(ticket.description.endswith(EXCLUDED) for ticket in found.values())
