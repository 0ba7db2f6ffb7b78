"""SEPA direct-debit mandates through GraphQL: the distributor records and revokes them, the customer's EXTENDED users
see them masked, nobody else sees or changes them; a hosting invoice collected under one names it.

Demo: Direktkunde Müller has no partner; Hanse's partner NordIT pays for Hanse. Today is 2026-11-23 (tests.conftest.NOW).
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from domain import contracts as ct
from domain.money import Money
from domain.policy import Principal
from domain.services import billing
from domain.services import contracts as contract_svc

SET = """mutation($input: CustomerSepaMandateSetInput!) { customerSepaMandateSet(input: $input) {
  customer { id sepaMandate { reference ibanMasked accountHolder bic signedOn } } errors { code field message hint } } }"""
REVOKE = """mutation($c: ID!) { customerSepaMandateRevoke(customerId: $c) { customer { sepaMandate { reference } } errors { code } } }"""
MANDATE_OF = """query($c: ID!) { customer(id: $c) { sepaMandate { reference ibanMasked accountHolder signedOn } } }"""


def mandate_input(customer_id: str, **changes) -> dict:
    return {"input": {"customerId": customer_id, "reference": "MNDT-2026-0042", "iban": "DE89 3704 0044 0532 0130 00",
                      "accountHolder": "Hanse Logistik AG", "signedOn": "2026-11-20", **changes}}


def test_the_distributor_puts_a_mandate_on_file_and_it_is_shown_masked(as_user, demo):
    hanse = demo.customers["hanse"].id
    payload = as_user("distributor")(SET, mandate_input(hanse, bic="COBADEFFXXX"))["customerSepaMandateSet"]
    assert payload["errors"] == []
    assert payload["customer"]["sepaMandate"] == {
        "reference": "MNDT-2026-0042", "ibanMasked": "DE89 **** 3000", "accountHolder": "Hanse Logistik AG", "bic": "COBADEFFXXX",
        "signedOn": "2026-11-20",
    }
    seen = {"reference": "MNDT-2026-0042", "ibanMasked": "DE89 **** 3000", "accountHolder": "Hanse Logistik AG", "signedOn": "2026-11-20"}
    assert as_user("hanse_it")(MANDATE_OF, {"c": hanse})["customer"]["sepaMandate"] == seen  # EXTENDED
    assert as_user("hanse_staff")(MANDATE_OF, {"c": hanse})["customer"]["sepaMandate"] is None  # REPORT_ONLY
    assert as_user("nordit_admin")(MANDATE_OF, {"c": hanse})["customer"] == {"sepaMandate": None}  # its partner


def test_nobody_but_the_distributor_records_or_revokes_a_mandate(as_user, demo):
    hanse = demo.customers["hanse"].id
    for actor in ("hanse_it", "hanse_staff", "nordit_admin"):  # the customer's own users and its partner
        refused = as_user(actor)(SET, mandate_input(hanse))["customerSepaMandateSet"]
        assert (refused["customer"], [e["code"] for e in refused["errors"]]) == (None, ["FORBIDDEN"])
        assert as_user(actor)(REVOKE, {"c": hanse})["customerSepaMandateRevoke"]["errors"] == [{"code": "FORBIDDEN"}]
    assert as_user("distributor")(MANDATE_OF, {"c": hanse})["customer"]["sepaMandate"] is None


def test_a_mandate_with_a_wrong_iban_a_future_date_or_a_used_reference_is_refused_and_nothing_changes(as_user, demo):
    hanse, kanzlei = demo.customers["hanse"].id, demo.customers["kanzlei"].id
    ops = as_user("distributor")
    wrong_iban = ops(SET, mandate_input(hanse, iban="DE89 3704 0044 0532 0130 01"))["customerSepaMandateSet"]
    assert [(e["code"], e["field"]) for e in wrong_iban["errors"]] == [("INVALID_INPUT", "iban")]
    future = ops(SET, mandate_input(hanse, signedOn="2026-11-24"))["customerSepaMandateSet"]
    assert [(e["code"], e["field"]) for e in future["errors"]] == [("INVALID_INPUT", "signedOn")]
    assert ops(SET, mandate_input(kanzlei))["customerSepaMandateSet"]["errors"] == []
    taken = ops(SET, mandate_input(hanse, reference="mndt-2026-0042"))["customerSepaMandateSet"]
    assert [(e["code"], e["field"]) for e in taken["errors"]] == [("ALREADY_EXISTS", "reference")]
    assert ops(MANDATE_OF, {"c": hanse})["customer"]["sepaMandate"] is None


def test_a_revoked_mandate_is_off_file(as_user, demo):
    direkt = demo.customers["direkt"].id
    ops = as_user("distributor")
    ops(SET, mandate_input(direkt, accountHolder="Direktkunde Müller e.K."))
    assert ops(REVOKE, {"c": direkt})["customerSepaMandateRevoke"] == {"customer": {"sepaMandate": None}, "errors": []}
    assert ops(REVOKE, {"c": direkt})["customerSepaMandateRevoke"]["errors"] == []  # again: nothing to revoke, nothing changes


def test_a_hosting_invoice_collected_by_direct_debit_shows_the_mandate_to_the_customer(as_user, demo, services):
    """Kanzlei pays itself (customer pays, partner NordIT) and hosts for EUR 300.00 a month from 2026-11-01."""
    kanzlei = demo.customers["kanzlei"].id
    as_user("distributor")(SET, mandate_input(kanzlei, accountHolder="Kanzlei Weber & Partner"))
    contract = contract_svc.create_contract(
        services.uow(), Principal.of(demo.users["distributor"]),
        contract_svc.NewContract(kanzlei, ct.ContractKind.DATA_CENTRE_HOSTING, date(2026, 11, 1), ct.Rates(Money.of("95.00")),
                                 monthly_flat_rate=Money.of("300.00")),
        now=datetime(2026, 10, 20, 9, tzinfo=timezone.utc),
    )
    uow = services.uow()
    with uow:
        uow.service_items.add(ct.flat_rate_item(contract, "2026-12"), bill_date=date(2026, 12, 1))
        uow.commit()
    billing.run_billing(services.uow, run_date=date(2026, 12, 1), now=datetime(2026, 12, 1, 21, tzinfo=timezone.utc),
                        documents=services.documents, mailer=services.mailer, renderer=services.invoice_renderer,
                        sepa_creditor_id=services.settings.sepa_creditor_id)
    query = """query($c: ID!) { invoices(organisationId: $c, first: 10) { nodes { paymentMethod dueDate grossTotal { amount }
      directDebit { mandateReference ibanMasked creditorId } } } }"""
    assert as_user("kanzlei_office")(query, {"c": kanzlei})["invoices"]["nodes"] == [{
        "paymentMethod": "SEPA_DIRECT_DEBIT", "dueDate": "2026-12-15", "grossTotal": {"amount": "357.00"},
        "directDebit": {"mandateReference": "MNDT-2026-0042", "ibanMasked": "DE89 **** 3000", "creditorId": "DE98ZZZ09999999999"},
    }]


RUN = """mutation($d: Date!) { directDebitRunCreate(collectionDate: $d) { run { collectionDate total { amount } invoiceIds notCollected { reason }
  downloadUrl } errors { code field } } }"""


def test_the_distributor_collects_the_due_direct_debit_invoices_in_a_sepa_file_once(as_user, demo, services):
    kanzlei = demo.customers["kanzlei"].id
    as_user("distributor")(SET, mandate_input(kanzlei, accountHolder="Kanzlei Weber & Partner"))
    contract = contract_svc.create_contract(
        services.uow(), Principal.of(demo.users["distributor"]),
        contract_svc.NewContract(kanzlei, ct.ContractKind.RENTAL_FLAT_RATE, date(2026, 12, 1), ct.Rates(Money.of("95.00")),
                                 monthly_flat_rate=Money.of("249.00")),
        now=datetime(2026, 11, 20, 9, tzinfo=timezone.utc),
    )
    contract_svc.book_flat_rate_months(services.uow, run_date=date(2026, 12, 1), now=datetime(2026, 12, 1, 0, 45, tzinfo=timezone.utc))
    billing.run_billing(services.uow, run_date=date(2026, 12, 1), now=datetime(2026, 12, 1, 21, tzinfo=timezone.utc),
                        documents=services.documents, mailer=services.mailer, renderer=services.invoice_renderer,
                        sepa_creditor_id=services.settings.sepa_creditor_id)
    (invoice,) = services.uow().invoices.list_for_payer(kanzlei, issued_from=None, issued_to=None, status=None, limit=10, cursor=None).items
    assert (str(invoice.gross_total.amount), invoice.due_date, contract.kind) == ("296.31", date(2026, 12, 15), ct.ContractKind.RENTAL_FLAT_RATE)

    assert as_user("kanzlei_office")(RUN, {"d": "2026-12-15"})["directDebitRunCreate"]["errors"] == [{"code": "FORBIDDEN", "field": None}]
    created = as_user("distributor")(RUN, {"d": "2026-12-15"})["directDebitRunCreate"]
    assert created["errors"] == []
    run = created["run"]
    assert (run["collectionDate"], run["total"], run["invoiceIds"], run["notCollected"]) == ("2026-12-15", {"amount": "296.31"}, [invoice.id], [])
    assert run["downloadUrl"]
    again = as_user("distributor")(RUN, {"d": "2026-12-31"})["directDebitRunCreate"]
    assert (again["run"], again["errors"]) == (None, [{"code": "PRECONDITION_FAILED", "field": "collectionDate"}])
    runs = "{ directDebitRuns(first: 10) { nodes { invoiceIds } } }"
    assert as_user("distributor")(runs)["directDebitRuns"]["nodes"] == [{"invoiceIds": [invoice.id]}]
    assert as_user("kanzlei_office")(runs)["directDebitRuns"]["nodes"] == []
