"""A company without an account applies in public: upload form for the proof of trade, then the application."""

from __future__ import annotations

APPLICATION = {
    "companyName": "Kowalski IT", "address": {"street": "Długa 5", "postalCode": "00-001", "city": "Warszawa", "country": "PL"},
    "contactName": "Anna Kowalska", "contactPhone": "+48 22 123 45 67", "contactEmail": "anna@kowalski.example",
    "proofOfTradeKind": "TRADE_LICENCE", "proofOfTradeContentType": "image/png", "proofOfTradeSizeBytes": 2048,
}


def test_a_company_applies_without_signing_in_and_the_distributor_sees_it(client, services, as_user):
    upload = client.post("/partner-applications/proof-upload", json={"contentType": "image/png", "sizeBytes": 2048})
    assert upload.status_code == 200 and upload.json()["fields"]["Content-Type"] == "image/png"
    key = upload.json()["key"]
    not_uploaded = client.post("/partner-applications", json={**APPLICATION, "proofOfTradeKey": key})
    assert not_uploaded.status_code == 400 and not_uploaded.json()["errors"][0]["field"] == "proofOfTrade.documentKey"
    services.documents.put(key, b"\x89PNG", "image/png")
    created = client.post("/partner-applications", json={**APPLICATION, "proofOfTradeKey": key})
    assert created.status_code == 201 and created.json()["status"] == "SUBMITTED"
    listed = as_user("distributor")("{ partnerApplications(status: SUBMITTED) { nodes { id } } }")["partnerApplications"]["nodes"]
    assert listed == [{"id": created.json()["id"]}]


def test_every_problem_is_answered_at_once_with_codes_and_fields(client):
    response = client.post("/partner-applications", json={**APPLICATION, "contactEmail": "nope", "contactPhone": "x", "proofOfTradeKey": "elsewhere/1"})
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"contact.email", "contact.phone"}


def test_an_oversized_or_unsupported_proof_gets_no_upload_form(client):
    too_big = client.post("/partner-applications/proof-upload", json={"contentType": "application/pdf", "sizeBytes": 10 * 1024 * 1024 + 1})
    wrong = client.post("/partner-applications/proof-upload", json={"contentType": "text/html", "sizeBytes": 10})
    garbage = client.post("/partner-applications/proof-upload", content=b"not json", headers={"content-type": "application/json"})
    assert [r.status_code for r in (too_big, wrong, garbage)] == [400, 400, 400]
    assert too_big.json()["errors"][0]["field"] == "proofOfTrade.sizeBytes"
