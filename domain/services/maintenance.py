"""The maintenance job: recurring maintenance tickets of contracts and managed services.

Reads only due schedules (an index keyed by the creation date of the next ticket, paged).
Each due date is one transaction: put the ticket whose id is derived from schedule and due
date (refused if it exists) and advance the schedule under its version. A crash loses
nothing and a re-run continues where it stopped; a due date never gets a second ticket.

Per page of schedules, two requests serve all of its due dates: one consistent BatchGetItem
asks which of their tickets exist already (a ticket written before its schedule advanced is
not written again, the schedule just advances), and one UpdateItem reserves the ticket
numbers of those that do not. Numbers are handed out in the order the tickets are written.
A number whose transaction does not commit (a crash, a schedule changed meanwhile) is not
used again: ticket numbers may have gaps (``domain.tickets``), never repeats.

A new ticket notifies the customer's contacts chosen at onboarding, like a portal or hotline
ticket: right after its own transaction commits, never before (a refused transaction mails
nobody). The contacts come from one BatchGetItem per page, for the customers the run has
not read yet. A ticket found existing is not announced again, so a re-run never mails twice.
Like every ticket notice (``domain.services.tickets``) this is at most once: a crash between
the commit and the mail leaves the ticket without its notice (the re-run finds its schedule
advanced and creates nothing), and a mail that fails is logged and undoes nothing.

Updates of software that interrupts users are never part of maintenance (``domain.software_updates``): each new
ticket's text names the customer's software marked so as excluded (updates only on request), so the technician
working it sees it. Those assets are read with one Query per customer and run (the customer's assets, filtered to
the marked ones), by the first due item of that customer that creates a ticket, inside that item's failure isolation
(``due_item``): a read a rule refuses fails that item alone and the customer's next item reads again, while other
customers' items go on; a resumed run whose tickets exist reads none. (An AWS error past botocore's retries, a
throttled Query among them, still ends the run as every such error does: ``job_runs``.)

A due date whose ticket a business rule refuses is not written (its schedule does not advance): the schedule is
reported in ``failed`` and its later due dates wait with it for the next run; the run goes on (``job_runs``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from domain import tickets as tk
from domain.contracts import MaintenanceSchedule, maintenance_source_key, maintenance_ticket_id
from domain.errors import AlreadyExists, Conflict
from domain.organisations import Organisation
from domain.ports import Mailer
from domain.services.job_runs import due_item, summary_dict
from domain.software_updates import maintenance_exclusion_text
from domain.services.tickets import SYSTEM_ACTOR, distributor_id, send_notifications


@dataclass
class MaintenanceRunSummary:
    run_date: date
    created: int = 0
    existing: int = 0  # the ticket was there already (a resumed run)
    conflicts: int = 0  # the schedule changed meanwhile; the next run reads it again
    failed: tuple[str, ...] = ()  # schedules a business rule refused (``job_runs.due_item``): that due date still due

    def as_dict(self) -> dict:
        return summary_dict(self)


def maintenance_ticket(
    schedule: MaintenanceSchedule, due: date, *, number: str, distributor: str, now: datetime, excluded: str | None = None,
) -> tk.Ticket:
    """``excluded``: what the ticket says is not included (``maintenance_exclusion_text``), after its description."""
    description = schedule.description or (
        f"Scheduled maintenance of contract {schedule.contract_id}"
        + (f", managed service {schedule.managed_service_code}" if schedule.managed_service_code else "")
        + f", due {due.isoformat()}."
    )
    if excluded:  # kept whole however long the schedule's description: a shortened text loses its end
        room = tk.DESCRIPTION_MAX - len(excluded) - len(tk.TRUNCATION_MARK) - 2
        if len(description) > room:
            description = description[:room].rstrip() + tk.TRUNCATION_MARK
        description = f"{description}\n\n{excluded}"
    return tk.open_ticket(
        ticket_id=maintenance_ticket_id(schedule.id, due),
        number=number,
        distributor_id=distributor,
        customer_id=schedule.customer_id,
        channel=tk.TicketChannel.MAINTENANCE,
        subject=f"{schedule.subject} (due {due.isoformat()})",
        description=description,
        reporter=tk.Reporter(name="Maintenance schedule"),
        received_at=now,
        actor=SYSTEM_ACTOR,
        now=now,
        source_key=maintenance_source_key(schedule.id, due),
        branch_key=schedule.branch_key,  # the contract's branch, kept on the schedule: no read of the contract
    )


def due_dates(schedule: MaintenanceSchedule, run_date: date) -> list[date]:
    """The due dates whose ticket is to be created by ``run_date``: a missed run is caught up, one ticket per due date."""
    dates = []
    while schedule.is_due(run_date):
        dates.append(schedule.next_due)
        schedule = schedule.advanced()
    return dates


def create_due_maintenance_tickets(
    uow_factory, *, run_date: date, now: datetime, mailer: Mailer, page_limit: int = 50
) -> MaintenanceRunSummary:
    summary = MaintenanceRunSummary(run_date)
    distributor = distributor_id(uow_factory())
    customers: dict[str, Organisation | None] = {}  # read once per run, for the contacts to notify
    excluded: dict[str, str | None] = {}  # read once per run: the customer's software whose updates are excluded
    cursor: str | None = None
    while True:
        reader = uow_factory()
        page = reader.maintenance_schedules.list_due(run_date, limit=page_limit, cursor=cursor)
        due = [(schedule, due_dates(schedule, run_date)) for schedule in page.items]
        ticket_ids = [maintenance_ticket_id(s.id, d) for s, dates in due for d in dates]  # distinct: one per schedule and date
        existing = reader.tickets.existing_ids(ticket_ids)
        missing = len(ticket_ids) - len(existing)
        numbers = iter(reader.ticket_numbers.reserve(distributor, missing) if missing else ())
        unread = {s.customer_id for s, dates in due if dates} - customers.keys()
        if missing and unread:
            found = reader.organisations.get_many(unread)
            customers.update({customer_id: found.get(customer_id) for customer_id in unread})
        for schedule, dates in due:
            for due_date in dates:
                with due_item(summary, schedule.id) as item:
                    exists = maintenance_ticket_id(schedule.id, due_date) in existing
                    if not exists and schedule.customer_id not in excluded:  # once per customer and run, kept once read
                        excluded[schedule.customer_id] = maintenance_exclusion_text(
                            reader.assets.list_interrupting_software(schedule.customer_id))
                    # Taken before the commit, in writing order: a refused transaction leaves its number unused.
                    number = None if exists else tk.format_ticket_number(next(numbers))
                    ticket = None if exists else maintenance_ticket(
                        schedule, due_date, number=number, distributor=distributor, now=now, excluded=excluded.get(schedule.customer_id),
                    )
                    uow = uow_factory()
                    with uow:
                        advanced = schedule.advanced()
                        uow.maintenance_schedules.save(advanced)
                        if ticket is not None:
                            uow.tickets.add(ticket)
                        try:
                            uow.commit()
                        except (Conflict, AlreadyExists):
                            summary.conflicts += 1
                            break  # the schedule's later due dates wait for the next run, which reads it again
                if item.failed:
                    break  # likewise
                if ticket is None:
                    summary.existing += 1
                else:
                    summary.created += 1
                    customer = customers.get(schedule.customer_id)
                    send_notifications(mailer, tk.new_ticket_notifications(ticket, customer.onboarding if customer else None))
                schedule = replace(advanced, version=advanced.version + 1)
        if page.next_cursor is None:
            return summary
        cursor = page.next_cursor
