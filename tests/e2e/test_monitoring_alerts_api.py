"""Monitoring alerts through GraphQL: the monitoring team (distributor staff) qualifies a sensor's alert into a ticket.

Demo data: Hanse chose it@hanse.example for new-ticket e-mails at onboarding; "distributor" is service-desk staff.
"""

from __future__ import annotations

import pytest

QUALIFY = """mutation($input: MonitoringAlertQualifyInput!) { monitoringAlertQualify(input: $input) {
  created ticket { id number channel subject status receivedAt reporter { name } customer { name } }
  errors { code field message } } }"""


def alert(customer_id: str, **overrides) -> dict:
    return {"customerId": customer_id, "alertId": "prtg-48213", "kind": "BACKUP_FAILED", "host": "srv-dc01",
            "sensor": "Veeam job 'Nacht'", "message": "Job failed: repository full.", "raisedAt": "2026-11-23T03:12:00Z",
            "note": "Repository 92 % voll, bitte prüfen.", **overrides}


def test_an_alert_becomes_a_monitoring_ticket_received_when_raised_and_notifies_the_onboarding_contacts(as_user, demo, services):
    hanse = demo.customers["hanse"].id
    qualified = as_user("distributor")(QUALIFY, {"input": alert(hanse)})["monitoringAlertQualify"]
    assert qualified["errors"] == [] and qualified["created"] is True
    ticket = qualified["ticket"]
    assert (ticket["channel"], ticket["subject"], ticket["status"], ticket["customer"]["name"]) == (
        "MONITORING", "Backup failed on srv-dc01", "NEW", "Hanse Logistik AG")
    assert ticket["receivedAt"].startswith("2026-11-23T03:12:00")
    (notice,) = services.mailer.to("it@hanse.example")
    assert ticket["number"] in notice.subject
    # The customer sees it among its tickets, with the monitoring team's note in the description.
    seen = as_user("hanse_it")("query($id: ID!) { ticket(id: $id) { channel description } }", {"id": ticket["id"]})["ticket"]
    assert seen["channel"] == "MONITORING" and "Repository 92 % voll" in seen["description"] and "Sensor: Veeam job 'Nacht'" in seen["description"]


def test_qualifying_the_same_alert_again_returns_its_ticket_and_sends_nothing(as_user, demo, services):
    ops, hanse = as_user("distributor"), demo.customers["hanse"].id
    first = ops(QUALIFY, {"input": alert(hanse)})["monitoringAlertQualify"]
    again = ops(QUALIFY, {"input": alert(hanse, note="zweiter Versuch")})["monitoringAlertQualify"]
    assert again["errors"] == [] and again["created"] is False
    assert (again["ticket"]["id"], again["ticket"]["number"]) == (first["ticket"]["id"], first["ticket"]["number"])
    assert len(services.mailer.to("it@hanse.example")) == 1
    # The same alert id from another customer's monitoring is another alert.
    other = ops(QUALIFY, {"input": alert(demo.customers["alpen"].id)})["monitoringAlertQualify"]
    assert other["created"] is True and other["ticket"]["id"] != first["ticket"]["id"]


@pytest.mark.parametrize("actor", ["nordit_admin", "hanse_it", "hanse_staff"])
def test_only_service_staff_qualify_alerts(as_user, demo, services, actor):
    refused = as_user(actor)(QUALIFY, {"input": alert(demo.customers["hanse"].id)})["monitoringAlertQualify"]
    assert refused["ticket"] is None and refused["errors"][0]["code"] == "FORBIDDEN"
    assert services.mailer.sent == []


@pytest.mark.parametrize("overrides, field", [
    ({"host": "  "}, "host"),
    ({"message": ""}, "message"),
    ({"alertId": ""}, "alertId"),
    ({"raisedAt": "2026-11-23T03:12:00"}, "raisedAt"),  # no time zone
    ({"raisedAt": "2027-01-01T00:00:00Z"}, "raisedAt"),  # in the future
])
def test_an_incomplete_alert_is_refused_and_nothing_is_written(as_user, demo, services, overrides, field):
    ops, hanse = as_user("distributor"), demo.customers["hanse"].id
    refused = ops(QUALIFY, {"input": alert(hanse, **overrides)})["monitoringAlertQualify"]
    assert refused["ticket"] is None and [e["field"] for e in refused["errors"]] == [field]
    tickets = ops("query($c: ID) { tickets(customerId: $c) { nodes { channel } } }", {"c": hanse})["tickets"]["nodes"]
    assert "MONITORING" not in [t["channel"] for t in tickets] and services.mailer.sent == []
