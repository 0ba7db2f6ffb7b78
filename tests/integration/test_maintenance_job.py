"""The maintenance job: creates the tickets whose creation date has come, reads nothing else, never two
tickets for one due date, and a run resumed after a crash reaches the state of an uninterrupted one.
Each new ticket notifies the contacts the customer chose at onboarding (Hanse: it@hanse.example), once."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from domain.contracts import ContractKind, Rates, maintenance_ticket_id
from domain.money import Money
from domain.policy import Principal
from domain.services import contracts as svc
from domain.services.job_runs import ItemsFailed
from domain.services.maintenance import create_due_maintenance_tickets
from domain.tickets import TicketChannel
from infra.dynamo.unit_of_work import DynamoUnitOfWork
from infra.email import MemoryMailer
from tests.crash import crash_after_commit, crash_after_commits, refuse_one
from tests.e2e.test_throttling import throttle  # noqa: F401  (fixture)
from tests.request_counter import count_requests

NOW = datetime(2023, 6, 28, 4, 0, tzinfo=timezone.utc)


@pytest.fixture
def schedules(demo):
    """Four monthly schedules on the 1st, three days ahead (due 2023-07-01), and one not yet due."""
    ops = Principal.of(demo.users["distributor"])
    contract = svc.create_contract(
        DynamoUnitOfWork(), ops,
        svc.NewContract(demo.customers["hanse"].id, ContractKind.COOPERATION, date(2023, 1, 1), Rates(Money.of("95.00"))),
        now=datetime(2023, 1, 1, tzinfo=timezone.utc),
    )
    due = [
        svc.add_maintenance_schedule(DynamoUnitOfWork(), ops, contract.id, subject=f"Patchday server {n}", every_months=1,
                                     anchor=date(2023, 7, 1), lead_days=3, now=datetime(2023, 1, 2, 9, tzinfo=timezone.utc))
        for n in range(4)
    ]
    later = svc.add_maintenance_schedule(DynamoUnitOfWork(), ops, contract.id, subject="Backup restore test", every_months=3,
                                         anchor=date(2023, 9, 1), lead_days=3, now=datetime(2023, 1, 2, 9, tzinfo=timezone.utc))
    return due, later


def run(run_date=date(2023, 6, 28), now=NOW, mailer=None):
    return create_due_maintenance_tickets(DynamoUnitOfWork, run_date=run_date, now=now, mailer=mailer or MemoryMailer(), page_limit=2)


def tickets_of(schedules):
    due, later = schedules
    ids = [maintenance_ticket_id(s.id, d) for s in [*due, later] for d in (date(2023, 7, 1), date(2023, 8, 1), date(2023, 9, 1))]
    return DynamoUnitOfWork().tickets.get_many(ids)


def test_the_2023_07_01_ticket_appears_on_2023_06_28(schedules):
    assert run(date(2023, 6, 27)).created == 0
    summary = run(date(2023, 6, 28))
    assert (summary.created, summary.existing, summary.conflicts) == (4, 0, 0)
    found = tickets_of(schedules)
    assert sorted(t.subject for t in found.values()) == [f"Patchday server {n} (due 2023-07-01)" for n in range(4)]
    assert {t.channel for t in found.values()} == {TicketChannel.MAINTENANCE}
    assert sorted(t.number for t in found.values()) == ["T-000001", "T-000002", "T-000003", "T-000004"]
    assert DynamoUnitOfWork().maintenance_schedules.get(schedules[0][0].id).next_due == date(2023, 8, 1)


def test_reads_only_due_schedules_in_pages(schedules):
    with count_requests() as count:
        run()
    assert count.operations["Scan"] == 0
    # distributor lookup (1 Query) + due-index pages of 2 (3 Queries: 2 + 2 + an empty last page)
    # + Hanse's software that interrupts users, for the tickets' text, once per run (1 Query)
    assert count.operations["Query"] == 1 + 3 + 1
    # Per page with due schedules: which tickets exist (1 BatchGetItem), their numbers (1 UpdateItem on the counter);
    # the customers to notify once per run (1 BatchGetItem: all four schedules are Hanse's);
    # per due date one transaction (ticket and advanced schedule); no ticket is read one by one.
    assert (count.operations["BatchGetItem"], count.operations["UpdateItem"], count.operations["GetItem"]) == (2 + 1, 2, 0)
    assert count.operations["TransactWriteItems"] == 4


def test_running_twice_creates_nothing_the_second_time(schedules):
    run()
    again = run()
    assert (again.created, again.existing) == (0, 0)
    assert len(tickets_of(schedules)) == 4


def test_each_new_maintenance_ticket_notifies_the_contacts_chosen_at_onboarding(schedules):
    mailer = MemoryMailer()
    run(mailer=mailer)
    found = tickets_of(schedules)
    assert len(found) == 4
    assert sorted((m.to, m.subject) for m in mailer.sent) == sorted(
        (("it@hanse.example",), f"[#{t.number}] New ticket: {t.subject}") for t in found.values()
    )
    assert {m.subject.split("New ticket: ")[1] for m in mailer.sent} == {f"Patchday server {n} (due 2023-07-01)" for n in range(4)}
    assert "opened via maintenance by Maintenance schedule" in mailer.sent[0].body


def test_a_re_run_mails_nothing_again(schedules):
    mailer = MemoryMailer()
    run(mailer=mailer)
    run(mailer=mailer)
    run(date(2023, 6, 29), now=datetime(2023, 6, 29, 4, tzinfo=timezone.utc), mailer=mailer)
    assert len(mailer.sent) == 4


def test_a_ticket_found_existing_is_not_announced(schedules):
    from domain.services.maintenance import maintenance_ticket

    with DynamoUnitOfWork() as uow:
        uow.tickets.add(maintenance_ticket(schedules[0][0], date(2023, 7, 1), number="T-000099", distributor="dst_x", now=NOW))
        uow.commit()
    mailer = MemoryMailer()
    run(mailer=mailer)
    assert len(mailer.sent) == 3 and not [m for m in mailer.sent if "T-000099" in m.subject]


def test_a_crash_between_the_commit_and_the_mail_loses_that_notice_and_never_mails_twice(schedules):
    """At most once, like every ticket notice: the second ticket (T-000002) is written, the Lambda dies before its
    mail; the resumed run finds that schedule advanced, creates T-000003 and T-000004 and announces only those."""
    mailer = MemoryMailer()
    with crash_after_commit(1):
        run(mailer=mailer)
    assert [m.subject[:11] for m in mailer.sent] == ["[#T-000001]"]
    run(mailer=mailer)
    assert sorted(m.subject[:11] for m in mailer.sent) == ["[#T-000001]", "[#T-000003]", "[#T-000004]"]
    assert sorted(t.number for t in tickets_of(schedules).values()) == ["T-000001", "T-000002", "T-000003", "T-000004"]


def test_a_refused_transaction_mails_nobody(schedules, monkeypatch):
    from infra.dynamo.ticket_repositories import TicketNumbers

    first = sorted(schedules[0], key=lambda s: s.id)[0]
    reserve = TicketNumbers.reserve

    def operator_edits_then_reserve(self, distributor_id, count):
        uow = DynamoUnitOfWork()
        with uow:
            uow.maintenance_schedules.save(uow.maintenance_schedules.get(first.id))
            uow.commit()
        return reserve(self, distributor_id, count)

    monkeypatch.setattr(TicketNumbers, "reserve", operator_edits_then_reserve)
    mailer = MemoryMailer()
    summary = run(date(2023, 6, 28), mailer=mailer)
    assert summary.conflicts >= 1
    assert len(mailer.sent) == summary.created
    assert not [m for m in mailer.sent if "T-000001" in m.subject]  # T-000001 went to the refused transaction


def test_a_missed_week_is_caught_up_with_one_ticket_per_due_date(schedules):
    summary = run(date(2023, 7, 29), now=datetime(2023, 7, 29, 4, tzinfo=timezone.utc))
    assert summary.created == 8  # 2023-07-01 and 2023-08-01 for each of the four schedules
    assert len(tickets_of(schedules)) == 8


@pytest.mark.parametrize("crash_after", [0, 1, 2, 3], ids=["k=0", "k=1", "k=n/2", "k=n-1"])
def test_a_crashed_run_resumed_reaches_the_state_of_an_uninterrupted_one(schedules, crash_after):
    with crash_after_commits(crash_after):
        run()
    resumed = run()
    assert resumed.created == 4 - crash_after
    found = tickets_of(schedules)
    assert len(found) == 4
    assert len({t.number for t in found.values()}) == 4
    assert all(DynamoUnitOfWork().maintenance_schedules.get(s.id).next_due == date(2023, 8, 1) for s in schedules[0])


def numbers_by_schedule(schedules, due=date(2023, 7, 1)):
    """The ticket numbers of the due schedules, in the order of the due index (by schedule id)."""
    found = tickets_of(schedules)
    return [found[maintenance_ticket_id(s.id, due)].number for s in sorted(schedules[0], key=lambda s: s.id)]


def test_catching_up_numbers_the_tickets_in_the_order_they_are_written(schedules):
    """Run on 2023-07-29: per schedule the 2023-07-01 and the 2023-08-01 ticket; a page of 2 schedules reserves 4 numbers."""
    run(date(2023, 7, 29), now=datetime(2023, 7, 29, 4, tzinfo=timezone.utc))
    assert numbers_by_schedule(schedules) == ["T-000001", "T-000003", "T-000005", "T-000007"]
    assert numbers_by_schedule(schedules, date(2023, 8, 1)) == ["T-000002", "T-000004", "T-000006", "T-000008"]


def test_a_crash_after_the_numbers_of_a_page_were_reserved_leaves_a_gap_never_a_repeat(schedules):
    """Pages of 2: the first run reserves T-000001 and T-000002, writes the first ticket and dies; the resumed run
    reserves T-000003 .. T-000005 for the three schedules still due. T-000002 is never used."""
    with crash_after_commits(1):
        run()
    resumed = run()
    assert (resumed.created, resumed.existing, resumed.conflicts) == (3, 0, 0)
    assert numbers_by_schedule(schedules) == ["T-000001", "T-000003", "T-000004", "T-000005"]


def test_a_schedule_changed_during_the_run_leaves_its_number_unused_and_gets_a_ticket_the_next_day(schedules, monkeypatch):
    """An operator edits the first schedule after the job read it: its transaction is refused (version), T-000001 stays
    unused, the other three get T-000002 .. T-000004; the next day's run creates the missing ticket with T-000005."""
    from infra.dynamo.ticket_repositories import TicketNumbers

    first = sorted(schedules[0], key=lambda s: s.id)[0]
    reserve = TicketNumbers.reserve
    edited = []

    def operator_edits_then_reserve(self, distributor_id, count):
        if not edited:
            uow = DynamoUnitOfWork()
            with uow:
                uow.maintenance_schedules.save(uow.maintenance_schedules.get(first.id))  # a new version, same schedule
                uow.commit()
            edited.append(first.id)
        return reserve(self, distributor_id, count)

    monkeypatch.setattr(TicketNumbers, "reserve", operator_edits_then_reserve)
    summary = run()
    assert (summary.created, summary.existing, summary.conflicts) == (3, 0, 1)
    monkeypatch.setattr(TicketNumbers, "reserve", reserve)
    assert run(date(2023, 6, 29), now=datetime(2023, 6, 29, 4, tzinfo=timezone.utc)).created == 1
    assert numbers_by_schedule(schedules) == ["T-000005", "T-000002", "T-000003", "T-000004"]
    assert all(DynamoUnitOfWork().maintenance_schedules.get(s.id).next_due == date(2023, 8, 1) for s in schedules[0])


def test_a_ticket_written_before_the_schedule_could_advance_is_not_written_again(schedules):
    """A crash between an (older, non-transactional) ticket write and the schedule update: the id finds it."""
    from domain.services.maintenance import maintenance_ticket

    schedule = schedules[0][0]
    with DynamoUnitOfWork() as uow:
        uow.tickets.add(maintenance_ticket(schedule, date(2023, 7, 1), number="T-000099", distributor="dst_x", now=NOW))
        uow.commit()
    summary = run()
    assert (summary.created, summary.existing) == (3, 1)
    assert DynamoUnitOfWork().tickets.get(maintenance_ticket_id(schedule.id, date(2023, 7, 1))).number == "T-000099"


def test_scheduled_entry_point_uses_the_event_time(schedules, services, monkeypatch):
    import handler

    monkeypatch.setattr(handler, "_services", lambda: services)
    monkeypatch.setattr(services, "clock", lambda: NOW)
    event = {"detail-type": "Scheduled Event", "source": "aws.events", "time": "2023-06-28T04:00:00Z", "detail": {}}
    services.mailer.sent.clear()
    assert handler.create_maintenance_tickets(event, None) == {
        "run_date": "2023-06-28", "created": 4, "existing": 0, "conflicts": 0, "failed": [],
    }
    assert len(services.mailer.to("it@hanse.example")) == 4  # the services' mailer (SES in AWS)



def test_a_due_date_a_rule_refuses_fails_alone_and_gets_its_ticket_once_when_the_rule_passes(schedules, services, monkeypatch):
    """Of the four schedules due 2023-07-01 (tickets created 2023-06-28), a rule refuses the ticket of the second
    (simulated: building it raises a domain error). The other three get theirs; its schedule is left as it was (no
    ticket, not advanced, no mail), reported and raised. Once the rule passes, the next run creates its ticket, once."""
    import handler
    from domain.errors import ValidationFailed
    from domain.services import maintenance

    due, _ = schedules
    poison = due[1].id
    real_ticket = refuse_one(monkeypatch, maintenance, "maintenance_ticket", lambda schedule, due_date, **_: ValidationFailed(
        f"Schedule {schedule.id} has no contact for its ticket.", field="contactId") if schedule.id == poison else None)
    monkeypatch.setattr(handler, "_services", lambda: services)
    monkeypatch.setattr(services, "clock", lambda: NOW)
    services.mailer.sent.clear()
    before = DynamoUnitOfWork().maintenance_schedules.get(poison)
    with pytest.raises(ItemsFailed) as raised:
        handler.create_maintenance_tickets({"run_date": "2023-06-28"}, None)
    summary = raised.value.summary
    assert (summary["created"], summary["existing"], summary["conflicts"], summary["failed"]) == (3, 0, 0, [poison])
    assert poison in str(raised.value)
    assert sorted(t.subject for t in tickets_of(schedules).values()) == [f"Patchday server {n} (due 2023-07-01)" for n in (0, 2, 3)]
    assert DynamoUnitOfWork().maintenance_schedules.get(poison) == before  # not advanced
    assert len(services.mailer.to("it@hanse.example")) == 3

    monkeypatch.setattr(maintenance, "maintenance_ticket", real_ticket)
    again = handler.create_maintenance_tickets({"run_date": "2023-06-28"}, None)
    assert (again["created"], again["failed"]) == (1, [])
    assert handler.create_maintenance_tickets({"run_date": "2023-06-28"}, None)["created"] == 0
    assert sorted(t.subject for t in tickets_of(schedules).values()) == [f"Patchday server {n} (due 2023-07-01)" for n in range(4)]
    assert DynamoUnitOfWork().maintenance_schedules.get(poison).next_due == date(2023, 8, 1)
    assert len(services.mailer.to("it@hanse.example")) == 4

@pytest.mark.parametrize("operation", ["BatchGetItem", "UpdateItem", "TransactWriteItems"])
def test_throttled_existence_check_number_reservation_and_transaction_are_retried(schedules, throttle, operation):
    """DynamoDB refuses two requests of the kind; botocore retries them: the same four tickets, T-000001 .. T-000004."""
    plan = throttle(operation, times=2)
    summary = run()
    assert plan["refused"] == 2
    assert (summary.created, summary.conflicts) == (4, 0)
    assert numbers_by_schedule(schedules) == ["T-000001", "T-000002", "T-000003", "T-000004"]


def test_the_one_off_index_task_puts_schedules_saved_before_the_contract_index_on_it(schedules):
    """`python -m infra.jobs index_maintenance_schedules`: contractEnd finds a contract's schedules through that index."""
    from infra.dynamo.models import MaintenanceScheduleModel

    due, later = schedules
    contract_id = later.contract_id
    for schedule in [*due, later]:  # as saved before the index: without the attribute
        item = MaintenanceScheduleModel.get(schedule.id)
        item.contract_id = None
        item.save()
    assert DynamoUnitOfWork().maintenance_schedules.list_for_contract(contract_id) == []

    summary = svc.index_maintenance_schedules(DynamoUnitOfWork, page_limit=2)

    assert (summary.read, summary.indexed, summary.conflicts) == (5, 5, 0)
    assert sorted(s.id for s in DynamoUnitOfWork().maintenance_schedules.list_for_contract(contract_id)) == sorted(s.id for s in [*due, later])
    assert run().created == 4  # the job goes on as before


def test_a_schedule_entered_with_a_first_due_date_in_2020_raises_one_ticket_for_the_next_due_date_not_83(demo):
    """A contract whose monthly maintenance has run since 2020-01-01, entered on 2026-11-20 (three days ahead)."""
    ops = Principal.of(demo.users["distributor"])
    contract = svc.create_contract(
        DynamoUnitOfWork(), ops,
        svc.NewContract(demo.customers["hanse"].id, ContractKind.COOPERATION, date(2020, 1, 1), Rates(Money.of("95.00"))),
        now=datetime(2026, 11, 20, 9, tzinfo=timezone.utc),
    )
    schedule = svc.add_maintenance_schedule(DynamoUnitOfWork(), ops, contract.id, subject="Patchday", every_months=1, anchor=date(2020, 1, 1),
                                            lead_days=3, now=datetime(2026, 11, 20, 9, tzinfo=timezone.utc))
    assert (schedule.next_due, schedule.next_creation_date) == (date(2026, 12, 1), date(2026, 11, 28))
    mailer = MemoryMailer()
    assert run(date(2026, 11, 23), now=datetime(2026, 11, 23, 4, tzinfo=timezone.utc), mailer=mailer).created == 0
    summary = run(date(2026, 11, 28), now=datetime(2026, 11, 28, 4, tzinfo=timezone.utc), mailer=mailer)
    assert (summary.created, summary.existing) == (1, 0)
    ticket = DynamoUnitOfWork().tickets.get(maintenance_ticket_id(schedule.id, date(2026, 12, 1)))
    assert ticket.subject == "Patchday (due 2026-12-01)"
    assert len(mailer.sent) == 1
    assert DynamoUnitOfWork().maintenance_schedules.get(schedule.id).next_due == date(2027, 1, 1)
