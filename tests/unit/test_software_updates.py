"""Software that interrupts users (DATEV Rechnungswesen at Hanse) is never updated automatically: only on request by
ticket, at a time proposed by the service desk and confirmed by the customer, recorded installed not before it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone

import pytest

from domain import software_updates as su
from domain import tickets as tk
from domain.assets import AssetKind, changed_asset, new_asset
from domain.contracts import MaintenanceSchedule
from domain.errors import Conflict, ErrorCode, PreconditionFailed, ValidationFailed
from domain.services.maintenance import maintenance_ticket

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)  # Monday, 10:00 in Berlin
FRIDAY_EVENING = datetime(2026, 12, 4, 17, 0, tzinfo=timezone.utc)  # 18:00 in Berlin, after the office closes


def datev(**changes):
    return new_asset(asset_id="ast_datev", customer_id="cus_hanse", kind=AssetKind.SOFTWARE, name="DATEV Rechnungswesen",
                     now=NOW, interrupts_users=True, **changes)


def requested(**kwargs):
    return su.request_update(datev(), by="usr_hannes", now=NOW, **kwargs)


def proposed():
    return su.propose(requested(), starts_at=FRIDAY_EVENING, by="usr_olga", now=NOW)


def confirmed():
    return su.confirm(proposed(), by="usr_hannes", now=datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc))


# --- which software -----------------------------------------------------------------------------


def test_software_can_be_marked_as_interrupting_users_and_stays_marked_on_other_changes():
    asset = datev()
    assert asset.interrupts_users
    assert changed_asset(asset, licence_expires_on=date(2027, 12, 31)).interrupts_users
    assert not changed_asset(asset, interrupts_users=False).interrupts_users


def test_hardware_cannot_interrupt_users():
    with pytest.raises(ValidationFailed) as refused:
        new_asset(asset_id="ast_hv01", customer_id="cus_hanse", kind=AssetKind.HARDWARE, name="Server HV01", now=NOW,
                  interrupts_users=True)
    assert refused.value.field == "interruptsUsers"
    with pytest.raises(ValidationFailed):
        changed_asset(datev(), kind=AssetKind.HARDWARE)
    assert changed_asset(datev(), kind=AssetKind.HARDWARE, interrupts_users=False).kind is AssetKind.HARDWARE


def test_an_open_request_survives_a_correction_of_its_asset():
    asset = changed_asset(replace(datev(), open_update_ticket_id="tkt_1"), name="DATEV Rewe")
    assert asset.open_update_ticket_id == "tkt_1"


# --- maintenance tickets -------------------------------------------------------------------------


def test_a_maintenance_ticket_names_the_interrupting_software_as_excluded():
    schedule = MaintenanceSchedule(id="mnt_1", contract_id="ctr_1", customer_id="cus_hanse", subject="Patchday Server",
                                   every_months=1, anchor=date(2026, 12, 1), lead_days=3)
    office = new_asset(asset_id="ast_office", customer_id="cus_hanse", kind=AssetKind.SOFTWARE, name="Office", now=NOW)
    excluded = su.maintenance_exclusion_text([office, datev()])
    ticket = maintenance_ticket(schedule, date(2026, 12, 1), number="T-000007", distributor="dst_1", now=NOW, excluded=excluded)
    assert ticket.description == (
        "Scheduled maintenance of contract ctr_1, due 2026-12-01.\n\n"
        "Not included: updates of software that interrupts users (DATEV Rechnungswesen). Updates only on request: "
        "installed only when the customer requests one by ticket, at the time agreed with the customer."
    )
    assert su.maintenance_exclusion_text([office]) is None


def test_the_exclusion_survives_an_over_long_schedule_description():
    schedule = MaintenanceSchedule(id="mnt_1", contract_id="ctr_1", customer_id="cus_hanse", subject="Patchday", every_months=1,
                                   anchor=date(2026, 12, 1), description="x" * 60_000)
    excluded = su.maintenance_exclusion_text([datev()])
    ticket = maintenance_ticket(schedule, date(2026, 12, 1), number="T-000007", distributor="dst_1", now=NOW, excluded=excluded)
    assert len(ticket.description) <= tk.DESCRIPTION_MAX
    assert ticket.description.endswith(excluded)


# --- the request ------------------------------------------------------------------------------------


def test_a_request_keeps_the_wished_dates_and_note():
    update = requested(wished_dates=[date(2026, 12, 5), date(2026, 12, 4), date(2026, 12, 4)], note="nicht im Monatsabschluss")
    assert update.state is su.SoftwareUpdateState.REQUESTED
    assert update.wished_dates == (date(2026, 12, 4), date(2026, 12, 5))
    assert update.note == "nicht im Monatsabschluss"


def test_software_that_does_not_interrupt_users_needs_no_request():
    office = new_asset(asset_id="ast_office", customer_id="cus_hanse", kind=AssetKind.SOFTWARE, name="Office", now=NOW)
    with pytest.raises(PreconditionFailed) as refused:
        su.request_update(office, by="usr_hannes", now=NOW)
    assert refused.value.field == "assetId" and "regular maintenance" in refused.value.message


def test_a_wished_date_in_the_past_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        requested(wished_dates=[date(2026, 11, 22)])
    assert refused.value.field == "wishedDates" and "2026-11-23" in refused.value.hint


def test_staff_name_the_caller_and_customers_do_not():
    with pytest.raises(ValidationFailed):
        su.check_on_behalf(by_staff=True, caller_name="  ")
    with pytest.raises(ValidationFailed):
        su.check_on_behalf(by_staff=False, caller_name="Hannes IT")
    assert su.check_on_behalf(by_staff=True, caller_name=" Hannes IT ") == "Hannes IT"


# --- the workflow -------------------------------------------------------------------------------------


def test_a_proposal_lies_in_the_future():
    with pytest.raises(ValidationFailed) as refused:
        su.propose(requested(), starts_at=datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc), by="usr_olga", now=NOW)
    assert refused.value.field == "startsAt"


def test_nothing_to_confirm_before_a_proposal():
    with pytest.raises(PreconditionFailed) as refused:
        su.confirm(requested(), by="usr_hannes", now=NOW)
    assert refused.value.code is ErrorCode.PRECONDITION_FAILED and refused.value.hint


def test_a_confirmation_keeps_the_agreed_time():
    update = confirmed()
    assert (update.state, update.starts_at, update.confirmed_by) == (su.SoftwareUpdateState.CONFIRMED, FRIDAY_EVENING, "usr_hannes")


def test_a_proposal_whose_time_has_passed_cannot_be_confirmed():
    with pytest.raises(PreconditionFailed) as refused:
        su.confirm(proposed(), by="usr_hannes", now=datetime(2026, 12, 4, 17, 0, tzinfo=timezone.utc))
    assert "softwareUpdateDecline" in refused.value.hint


def test_confirming_twice_is_a_conflict():
    with pytest.raises(Conflict):
        su.confirm(confirmed(), by="usr_hannes", now=datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc))


def test_asking_for_another_date_goes_back_to_requested():
    update = su.decline(proposed(), now=NOW, wished_dates=[date(2026, 12, 11)], note="Freitag, 11.12. ab 18 Uhr")
    assert (update.state, update.starts_at, update.wished_dates) == (su.SoftwareUpdateState.REQUESTED, None, (date(2026, 12, 11),))


def test_a_new_proposal_after_a_confirmation_is_to_be_confirmed_again():
    update = su.propose(confirmed(), starts_at=datetime(2026, 12, 11, 17, 0, tzinfo=timezone.utc), by="usr_olga", now=NOW)
    assert (update.state, update.confirmed_by) == (su.SoftwareUpdateState.PROPOSED, None)


def test_not_installed_before_the_customer_confirmed():
    with pytest.raises(PreconditionFailed) as refused:
        su.record_installed(proposed(), by="usr_olga", now=datetime(2026, 12, 4, 18, 0, tzinfo=timezone.utc))
    assert "confirmed" in refused.value.message


def test_not_installed_before_the_agreed_time():
    with pytest.raises(PreconditionFailed) as refused:
        su.record_installed(confirmed(), by="usr_olga", now=datetime(2026, 12, 4, 16, 59, tzinfo=timezone.utc))
    assert "04.12.2026 18:00 Berlin time" in refused.value.message
    done = su.record_installed(confirmed(), by="usr_olga", now=datetime(2026, 12, 4, 18, 30, tzinfo=timezone.utc))
    assert (done.state, done.installed_at) == (su.SoftwareUpdateState.INSTALLED, datetime(2026, 12, 4, 18, 30, tzinfo=timezone.utc))
    with pytest.raises(Conflict):
        su.record_installed(done, by="usr_olga", now=datetime(2026, 12, 4, 19, 0, tzinfo=timezone.utc))
    with pytest.raises(Conflict):
        su.propose(done, starts_at=datetime(2026, 12, 11, 17, 0, tzinfo=timezone.utc), by="usr_olga", now=NOW)


# --- on the ticket ------------------------------------------------------------------------------------


def request_ticket(status=tk.TicketStatus.NEW) -> tk.Ticket:
    ticket = tk.open_ticket(ticket_id="tkt_1", number="T-000042", distributor_id="dst_1", customer_id="cus_hanse",
                            channel=tk.TicketChannel.PORTAL, subject="Software update on request: DATEV Rechnungswesen",
                            description="Update", reporter=tk.Reporter(user_id="usr_hannes"), received_at=NOW, actor="usr_hannes", now=NOW)
    ticket.software_update = requested()
    ticket.status = status
    return ticket


def test_a_proposal_puts_the_ticket_waiting_for_the_customer():
    ticket = request_ticket()
    event = ticket.record_software_update(proposed(), actor="usr_olga", now=NOW, status=tk.TicketStatus.WAITING_FOR_CUSTOMER)
    assert ticket.status is tk.TicketStatus.WAITING_FOR_CUSTOMER
    assert event.details == {"from": "NEW", "to": "WAITING_FOR_CUSTOMER"}
    assert [e.kind for e in ticket.history][-2:] == [tk.TicketEventKind.SOFTWARE_UPDATE, tk.TicketEventKind.STATUS_CHANGED]


def test_a_resolved_or_closed_ticket_takes_no_step_and_is_unchanged():
    for status, error in ((tk.TicketStatus.RESOLVED, Conflict), (tk.TicketStatus.CLOSED, tk.TicketClosed)):
        ticket = request_ticket(status)
        before = (list(ticket.history), ticket.software_update)
        with pytest.raises(error):
            ticket.record_software_update(proposed(), actor="usr_olga", now=NOW, status=tk.TicketStatus.WAITING_FOR_CUSTOMER)
        assert (ticket.history, ticket.software_update, ticket.status) == (*before, status)


def test_a_ticket_without_a_request_takes_no_step():
    ticket = request_ticket()
    ticket.software_update = None
    with pytest.raises(ValidationFailed) as refused:
        ticket.check_software_update_step()
    assert refused.value.field == "ticketId"


# --- called off, the agreed day, the asset while requested ----------------------------------------------------


def test_resolving_the_ticket_calls_the_update_off_for_good():
    ticket = request_ticket()
    ticket.record_software_update(confirmed(), actor="usr_hannes", now=NOW, status=tk.TicketStatus.IN_PROGRESS)
    resolved_at = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
    ticket.change_status(tk.TicketStatus.RESOLVED, actor="usr_olga", now=resolved_at)
    assert (ticket.software_update.state, ticket.software_update.cancelled_at) == (su.SoftwareUpdateState.CANCELLED, resolved_at)
    ticket.add_comment(author="usr_hannes", body="Und das Update?", now=resolved_at, by_staff=False)  # reopens the ticket
    assert ticket.status is tk.TicketStatus.IN_PROGRESS
    for step in (lambda u: su.record_installed(u, by="usr_olga", now=datetime(2026, 12, 4, 17, 30, tzinfo=timezone.utc)),
                 lambda u: su.propose(u, starts_at=datetime(2026, 12, 11, 17, 0, tzinfo=timezone.utc), by="usr_olga", now=resolved_at),
                 lambda u: su.decline(u, now=resolved_at)):
        with pytest.raises(Conflict) as refused:
            step(ticket.software_update)
        assert "called off" in refused.value.message


def test_an_installed_update_is_not_called_off_by_closing_its_ticket():
    ticket = request_ticket()
    ticket.record_software_update(confirmed(), actor="usr_hannes", now=NOW, status=tk.TicketStatus.IN_PROGRESS)
    done = su.record_installed(confirmed(), by="usr_olga", now=datetime(2026, 12, 4, 17, 30, tzinfo=timezone.utc))
    ticket.record_software_update(done, actor="usr_olga", now=datetime(2026, 12, 4, 17, 30, tzinfo=timezone.utc), status=tk.TicketStatus.RESOLVED)
    ticket.change_status(tk.TicketStatus.CLOSED, actor="usr_olga", now=datetime(2026, 12, 5, 9, 0, tzinfo=timezone.utc))
    assert ticket.software_update.state is su.SoftwareUpdateState.INSTALLED


def test_the_agreement_holds_from_the_agreed_time_to_the_end_of_that_berlin_day():
    assert su.installation_window_ends_at(FRIDAY_EVENING) == datetime(2026, 12, 4, 23, 0, tzinfo=timezone.utc)  # midnight in Berlin
    su.record_installed(confirmed(), by="usr_olga", now=datetime(2026, 12, 4, 22, 59, tzinfo=timezone.utc))
    for late in (datetime(2026, 12, 4, 23, 0, tzinfo=timezone.utc), datetime(2026, 12, 20, 10, 0, tzinfo=timezone.utc)):
        with pytest.raises(PreconditionFailed) as refused:
            su.record_installed(confirmed(), by="usr_olga", now=late)
        assert "lapsed" in refused.value.message


def test_the_customer_declines_before_the_agreed_time_and_after_its_day_not_during_it():
    su.decline(confirmed(), now=datetime(2026, 12, 4, 16, 59, tzinfo=timezone.utc))
    with pytest.raises(Conflict):
        su.decline(confirmed(), now=datetime(2026, 12, 4, 22, 0, tzinfo=timezone.utc))
    assert su.decline(confirmed(), now=datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc)).state is su.SoftwareUpdateState.REQUESTED


def test_while_requested_the_asset_stays_software_that_interrupts_users():
    asset = replace(datev(), open_update_ticket_id="tkt_1")
    for changes, field in (({"interrupts_users": False}, "interruptsUsers"), ({"kind": AssetKind.HARDWARE, "interrupts_users": False}, "kind")):
        with pytest.raises(Conflict) as refused:
            su.check_asset_change(asset, changed_asset(asset, **changes), open_request_number="T-000042")
        assert refused.value.field == field and "T-000042" in refused.value.message
    su.check_asset_change(asset, changed_asset(asset, interrupts_users=False), open_request_number=None)
    su.check_asset_change(asset, changed_asset(asset, name="DATEV Rewe"), open_request_number="T-000042")


def test_the_notice_of_a_proposal_gives_the_time_in_berlin():
    headline, body = su.step_notice(requested(), proposed())
    assert headline == "Update of DATEV Rechnungswesen proposed for 04.12.2026 18:00 Berlin time"
    assert "on 04.12.2026 18:00 Berlin time" in body
