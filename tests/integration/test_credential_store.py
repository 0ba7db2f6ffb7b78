"""The credential store over moto's DynamoDB and KMS: encrypted at rest, revealed on purpose and recorded, transactional."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from domain import credentials as cr
from domain.errors import ConcurrentUpdate, Conflict, Forbidden, NotFound, ValidationFailed
from domain.policy import Principal
from domain.services import credentials as svc
from tests.conftest import NOW

PASSWORD = "Tr0ub4dor&3 Hafen"


@pytest.fixture
def key(services):
    from infra.secrets import create_credentials_key

    return create_credentials_key(services.settings)


@pytest.fixture
def actors(demo):
    return {key: Principal.of(user) for key, user in demo.users.items()}


@pytest.fixture
def firewall(services, demo, actors, key):
    command = svc.NewCredential(demo.customers["hanse"].id, "Firewall admin", PASSWORD, system="https://fw.hanse.example", username="admin",
                                note="Sophos XGS im Serverraum")
    return svc.create_credential(services.uow(), services.secrets, actors["distributor"], command, now=NOW)


def raw_item(credential_id: str) -> dict:
    from infra.dynamo.models import CredentialModel

    return CredentialModel.get(credential_id, consistent_read=True).serialize()


def events(services, credential_id: str) -> list[tuple[str, str]]:
    page = services.uow().credential_events.list_for_credential(credential_id, limit=100, cursor=None)
    return [(e.kind.value, e.by_user_id) for e in page.items]


def test_the_password_is_stored_only_as_kms_ciphertext_bound_to_its_credential(services, firewall, key):
    from infra.aws import boto3_client

    stored = json.dumps(raw_item(firewall.id))
    assert PASSWORD not in stored and base64.b64encode(PASSWORD.encode()).decode() not in stored
    kms = boto3_client("kms", region_name=services.settings.region)
    blob = base64.b64decode(firewall.encrypted_secret)
    context = cr.encryption_context(firewall.id, firewall.customer_id)
    assert json.loads(kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"].decode())["password"] == PASSWORD
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)["KeyId"].endswith(key)
    with pytest.raises(Exception, match="InvalidCiphertext"):  # copied to another credential, it does not decrypt
        kms.decrypt(CiphertextBlob=blob, EncryptionContext=cr.encryption_context("crd_other", firewall.customer_id))


def test_user_name_and_note_are_encrypted_with_the_password_in_one_kms_call(services, demo, actors, key):
    """Repro: user name and note were stored and served in plaintext to every staff member, without audit."""
    from infra.aws import boto3_client

    calls = []

    class Counting:
        def encrypt(self, plaintext, *, context):
            calls.append("encrypt")
            return services.secrets.encrypt(plaintext, context=context)

        def decrypt(self, ciphertext, *, context):
            calls.append("decrypt")
            return services.secrets.decrypt(ciphertext, context=context)

    command = svc.NewCredential(demo.customers["hanse"].id, "NAS", "Nas!2026", system="nas.hanse.example", username="backup-svc",
                                note="Schlüssel im Tresor 3")
    created = svc.create_credential(services.uow(), Counting(), actors["distributor"], command, now=NOW)
    assert calls == ["encrypt"]
    stored = json.dumps(raw_item(created.id), ensure_ascii=False)
    assert "backup-svc" not in stored and "Tresor" not in stored and "nas.hanse.example" in stored
    kms = boto3_client("kms", region_name=services.settings.region)
    plaintext = kms.decrypt(CiphertextBlob=base64.b64decode(created.encrypted_secret),
                            EncryptionContext=cr.encryption_context(created.id, created.customer_id))["Plaintext"].decode()
    assert json.loads(plaintext) == {"password": "Nas!2026", "username": "backup-svc", "note": "Schlüssel im Tresor 3"}
    calls.clear()
    svc.update_credential(services.uow(), Counting(), actors["distributor"], created.id, svc.CredentialChanges(note=""), now=NOW + timedelta(days=1))
    assert calls == ["decrypt", "encrypt"]
    revealed = svc.reveal_credential(services.uow(), services.secrets, actors["distributor"], created.id, now=NOW + timedelta(days=2))
    assert revealed.secret == cr.Secret("Nas!2026", "backup-svc", None)
    assert [kind for kind, _ in events(services, created.id)] == ["REVEALED", "UPDATED", "CREATED"]


def test_a_credential_stored_before_reads_user_name_and_note_from_its_item_until_changed(services, demo, actors, key):
    import dataclasses

    uow, staff = services.uow(), actors["distributor"]
    created = svc.create_credential(uow, services.secrets, staff, svc.NewCredential(demo.customers["hanse"].id, "Alt", "pw-1"), now=NOW)
    context = cr.encryption_context(created.id, created.customer_id)
    old = dataclasses.replace(uow.credentials.get(created.id), sealed=False, username="root", note="alt", encrypted_secret=services.secrets.encrypt("pw-1", context=context))
    with uow:
        uow.credentials.update(old)
        uow.commit()
    assert svc.reveal_credential(uow, services.secrets, staff, created.id, now=NOW).secret == cr.Secret("pw-1", "root", "alt")
    svc.update_credential(uow, services.secrets, staff, created.id, svc.CredentialChanges(note="neu"), now=NOW + timedelta(hours=1))
    stored = uow.credentials.get(created.id)
    assert (stored.sealed, stored.username, stored.note) == (True, None, None)
    assert svc.reveal_credential(uow, services.secrets, staff, created.id, now=NOW).secret == cr.Secret("pw-1", "root", "neu")


def test_staff_reveal_is_recorded_before_the_password_is_returned(services, firewall, actors, clock):
    later = NOW + timedelta(hours=2)
    revealed = svc.reveal_credential(services.uow(), services.secrets, actors["distributor"], firewall.id, now=later)
    assert (revealed.password, revealed.revealed_at) == (PASSWORD, later)
    staff = actors["distributor"].user_id
    assert events(services, firewall.id) == [("REVEALED", staff), ("CREATED", staff)]
    stored = services.uow().credentials.get(firewall.id)
    assert (stored.last_revealed_at, stored.last_revealed_by, stored.version) == (later, staff, 2)


def test_customer_user_reveals_only_after_a_grant_and_not_after_a_revocation(services, firewall, actors):
    uow, staff, hannes = services.uow(), actors["distributor"], actors["hanse_it"]
    with pytest.raises(Forbidden, match="no access"):
        svc.reveal_credential(uow, services.secrets, hannes, firewall.id, now=NOW)
    svc.request_access(uow, hannes, firewall.id, reason="Firmware-Update am Samstag", now=NOW + timedelta(minutes=5))
    assert [c.id for c in svc.list_awaiting_decision(uow, staff, first=10, after=None).items] == [firewall.id]
    with pytest.raises(Forbidden) as waiting:
        svc.reveal_credential(uow, services.secrets, hannes, firewall.id, now=NOW)
    assert "waits" in waiting.value.hint
    svc.decide_access(uow, staff, firewall.id, user_id=hannes.user_id, grant=True, note=None, now=NOW + timedelta(minutes=30))
    assert svc.list_awaiting_decision(uow, staff, first=10, after=None).items == []
    assert svc.reveal_credential(uow, services.secrets, hannes, firewall.id, now=NOW + timedelta(hours=1)).password == PASSWORD
    with pytest.raises(NotFound):  # the grant is Hannes's; his REPORT_ONLY colleague does not even see the credential
        svc.reveal_credential(uow, services.secrets, actors["hanse_staff"], firewall.id, now=NOW)
    svc.revoke_access(uow, staff, firewall.id, user_id=hannes.user_id, now=NOW + timedelta(days=2))
    with pytest.raises(Forbidden):
        svc.reveal_credential(uow, services.secrets, hannes, firewall.id, now=NOW + timedelta(days=2, hours=1))
    assert [kind for kind, _ in events(services, firewall.id)] == [
        "ACCESS_REVOKED", "REVEALED", "ACCESS_GRANTED", "ACCESS_REQUESTED", "CREATED"]


def test_customers_see_labels_partners_and_strangers_nothing(services, firewall, actors):
    uow, hanse = services.uow(), firewall.customer_id
    assert [c.label for c in svc.list_credentials(uow, actors["hanse_it"], hanse, first=10, after=None).items] == ["Firewall admin"]
    for stranger in ("hanse_staff", "nordit_admin", "nordit_sales", "kanzlei_office", "alpen_owner"):
        assert svc.list_credentials(uow, actors[stranger], hanse, first=10, after=None).items == []
        assert svc.get_visible_credential(uow, actors[stranger], firewall.id) is None
        assert svc.audit_trail(uow, actors[stranger], firewall.id, first=10, after=None).items == []
        with pytest.raises(NotFound):
            svc.reveal_credential(uow, services.secrets, actors[stranger], firewall.id, now=NOW)
        with pytest.raises(NotFound):
            svc.request_access(uow, actors[stranger], firewall.id, reason=None, now=NOW)
    assert svc.audit_trail(uow, actors["hanse_it"], firewall.id, first=10, after=None).items == []


def test_bad_input_changes_nothing_and_encrypts_nothing(services, demo, firewall, actors):
    calls = []

    class Recording:
        def encrypt(self, plaintext, *, context):
            calls.append(context)
            return services.secrets.encrypt(plaintext, context=context)

        def decrypt(self, ciphertext, *, context):
            return services.secrets.decrypt(ciphertext, context=context)

    uow, staff, hanse = services.uow(), actors["distributor"], demo.customers["hanse"].id
    before = (raw_item(firewall.id), events(services, firewall.id))
    with pytest.raises(ValidationFailed) as refused:
        svc.update_credential(uow, Recording(), staff, firewall.id, svc.CredentialChanges(label="", password="neu"), now=NOW)
    assert refused.value.field == "label"
    with pytest.raises(ValidationFailed):
        svc.update_credential(uow, Recording(), staff, firewall.id, svc.CredentialChanges(password="x" * 4097), now=NOW)
    with pytest.raises(Forbidden):
        svc.update_credential(uow, Recording(), actors["hanse_it"], firewall.id, svc.CredentialChanges(password="gekapert"), now=NOW)
    with pytest.raises(ValidationFailed):
        svc.create_credential(uow, Recording(), staff, svc.NewCredential(hanse, "WLAN", ""), now=NOW)
    with pytest.raises(NotFound):
        svc.create_credential(uow, Recording(), staff, svc.NewCredential(demo.partners["nordit"].id, "WLAN", "geheim"), now=NOW)
    with pytest.raises(Conflict):
        svc.decide_access(uow, staff, firewall.id, user_id=actors["hanse_it"].user_id, grant=True, note=None, now=NOW)
    assert calls == []
    assert (raw_item(firewall.id), events(services, firewall.id)) == before
    assert [c.id for c in svc.list_credentials(uow, staff, hanse, first=10, after=None).items] == [firewall.id]


def test_a_password_changed_is_encrypted_again_and_the_trail_names_the_fields(services, firewall, actors):
    staff = actors["distributor"]
    changed = svc.update_credential(services.uow(), services.secrets, staff, firewall.id,
                                    svc.CredentialChanges(password="Neu!2026", note=""), now=NOW + timedelta(days=1))
    assert changed.encrypted_secret != firewall.encrypted_secret
    revealed = svc.reveal_credential(services.uow(), services.secrets, staff, firewall.id, now=NOW + timedelta(days=1, minutes=1))
    assert revealed.secret == cr.Secret("Neu!2026", "admin", None)
    trail = services.uow().credential_events.list_for_credential(firewall.id, limit=10, cursor=None).items
    assert [(e.kind.value, e.detail) for e in trail] == [("REVEALED", None), ("UPDATED", "note, password"), ("CREATED", None)]


def test_deleted_credential_is_gone_for_everyone_but_its_audit_trail_stays(services, firewall, actors):
    uow, staff = services.uow(), actors["distributor"]
    svc.request_access(uow, actors["hanse_it"], firewall.id, reason=None, now=NOW + timedelta(minutes=10))
    assert svc.delete_credential(uow, staff, firewall.id, now=NOW + timedelta(days=3)) == firewall.id
    assert PASSWORD not in json.dumps(raw_item(firewall.id)) and "CiphertextBlob" not in json.dumps(raw_item(firewall.id))
    assert services.uow().credentials.get(firewall.id).encrypted_secret is None
    assert svc.list_credentials(uow, staff, firewall.customer_id, first=10, after=None).items == []
    assert svc.list_awaiting_decision(uow, staff, first=10, after=None).items == []
    for attempt in (lambda: svc.reveal_credential(uow, services.secrets, staff, firewall.id, now=NOW),
                    lambda: svc.delete_credential(uow, staff, firewall.id, now=NOW)):
        with pytest.raises(NotFound):
            attempt()
    assert [kind for kind, _ in events(services, firewall.id)] == ["DELETED", "ACCESS_REQUESTED", "CREATED"]


def test_a_revocation_between_the_read_and_the_reveal_stops_the_reveal(services, firewall, actors):
    """The reveal's write is conditional on the version read: access revoked meanwhile refuses it, and nothing is returned."""
    uow, staff, hannes = services.uow(), actors["distributor"], actors["hanse_it"]
    svc.request_access(uow, hannes, firewall.id, reason=None, now=NOW)
    svc.decide_access(uow, staff, firewall.id, user_id=hannes.user_id, grant=True, note=None, now=NOW)

    class RevokingWhileDecrypting:
        def decrypt(self, ciphertext, *, context):
            svc.revoke_access(services.uow(), staff, firewall.id, user_id=hannes.user_id, now=NOW + timedelta(seconds=1))
            return services.secrets.decrypt(ciphertext, context=context)

    with pytest.raises(ConcurrentUpdate):
        svc.reveal_credential(uow, RevokingWhileDecrypting(), hannes, firewall.id, now=NOW + timedelta(seconds=2))
    assert [kind for kind, _ in events(services, firewall.id)][0] == "ACCESS_REVOKED"


def test_two_reveals_at_the_same_moment_are_both_answered_and_recorded_and_a_revocation_meanwhile_refuses(services, firewall, actors):
    """credentialReveal repeats a reveal whose write lost the race (reveal_credential_retrying): the second reader gets
    the password too, and both reads are in the trail; a grant revoked meanwhile is read again and refuses."""
    staff, hannes = actors["distributor"], actors["hanse_it"]

    class AnotherRevealWhileDecrypting:
        calls = 0

        def decrypt(self, ciphertext, *, context):
            AnotherRevealWhileDecrypting.calls += 1
            if AnotherRevealWhileDecrypting.calls == 1:
                svc.reveal_credential(services.uow(), services.secrets, staff, firewall.id, now=NOW + timedelta(seconds=1))
            return services.secrets.decrypt(ciphertext, context=context)

    revealed = svc.reveal_credential_retrying(services.uow, AnotherRevealWhileDecrypting(), staff, firewall.id, now=NOW + timedelta(seconds=2))
    assert (revealed.password, AnotherRevealWhileDecrypting.calls) == (PASSWORD, 2)
    assert [kind for kind, _ in events(services, firewall.id)][:2] == ["REVEALED", "REVEALED"]

    svc.request_access(services.uow(), hannes, firewall.id, reason=None, now=NOW + timedelta(minutes=1))
    svc.decide_access(services.uow(), staff, firewall.id, user_id=hannes.user_id, grant=True, note=None, now=NOW + timedelta(minutes=2))

    class RevokingWhileDecrypting:
        def decrypt(self, ciphertext, *, context):
            svc.revoke_access(services.uow(), staff, firewall.id, user_id=hannes.user_id, now=NOW + timedelta(minutes=3))
            return services.secrets.decrypt(ciphertext, context=context)

    with pytest.raises(Forbidden):
        svc.reveal_credential_retrying(services.uow, RevokingWhileDecrypting(), hannes, firewall.id, now=NOW + timedelta(minutes=4))
    assert [kind for kind, _ in events(services, firewall.id)][0] == "ACCESS_REVOKED"


def test_a_deactivation_between_the_read_and_the_reveal_stops_the_reveal(services, firewall, actors):
    """Hilde (made EXTENDED) holds a grant; her login is deactivated while her reveal decrypts: the reveal's write fails
    on her user's version, the repeat reads her deactivated and refuses; nothing is returned and no reveal recorded."""
    from domain.services import organisations as org_svc

    from domain.organisations import PermissionLevel

    staff, hilde = actors["distributor"], actors["hanse_staff"]
    org_svc.set_permission_level(services.uow(), staff, hilde.user_id, PermissionLevel.EXTENDED, now=NOW - timedelta(hours=1))
    hilde = Principal.of(services.uow().users.get(hilde.user_id))
    svc.request_access(services.uow(), hilde, firewall.id, reason=None, now=NOW)
    svc.decide_access(services.uow(), staff, firewall.id, user_id=hilde.user_id, grant=True, note=None, now=NOW + timedelta(minutes=1))

    class DeactivatingWhileDecrypting:
        def decrypt(self, ciphertext, *, context):
            org_svc.deactivate_user(services.uow(), staff, hilde.user_id, now=NOW + timedelta(minutes=2))
            return services.secrets.decrypt(ciphertext, context=context)

    with pytest.raises(Forbidden):
        svc.reveal_credential_retrying(services.uow, DeactivatingWhileDecrypting(), hilde, firewall.id, now=NOW + timedelta(minutes=3))
    assert "REVEALED" not in [kind for kind, _ in events(services, firewall.id)]


def test_demo_data_records_hanses_firewall_login_for_make_dev(services, demo, actors, key):
    from infra.demo import seed_credentials

    created = seed_credentials(services.uow(), services.secrets, demo, NOW)
    assert (created.customer_id, created.label) == (demo.customers["hanse"].id, "Firewall admin")
    revealed = svc.reveal_credential(services.uow(), services.secrets, actors["distributor"], created.id, now=NOW)
    assert (revealed.password, revealed.secret.username) == ("Demo-Passwort-2026!", "admin")


def test_outside_lambda_without_kms_endpoint_the_store_refuses_before_calling_aws_kms(services, demo, actors, monkeypatch):
    """Repro: make dev with a DynamoDB of one's own and no KMS_ENDPOINT: credentialCreate called the real AWS KMS with the
    developer's credentials. Now a typed refusal, no KMS client made, nothing written."""
    import dataclasses

    from domain.errors import PreconditionFailed
    from infra.secrets import KmsSecretCipher
    from infra.settings import get_settings

    for name in ("AWS_LAMBDA_FUNCTION_NAME", "KMS_ENDPOINT", "KMS_USE_AWS_OUTSIDE_LAMBDA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STAGE", "local")
    local = get_settings.__wrapped__()  # as make dev reads them, DYNAMODB_ENDPOINT aside
    assert (local.kms_endpoint, local.aws_kms_without_endpoint) == (None, False)
    cipher = KmsSecretCipher(dataclasses.replace(services.settings, kms_endpoint=None, aws_kms_without_endpoint=False))
    command = svc.NewCredential(demo.customers["hanse"].id, "Firewall admin", PASSWORD)
    with pytest.raises(PreconditionFailed, match="no KMS here") as refused:
        svc.create_credential(services.uow(), cipher, actors["distributor"], command, now=NOW)
    assert "KMS_ENDPOINT" in refused.value.hint
    assert "_client" not in vars(cipher)
    assert svc.list_credentials(services.uow(), actors["distributor"], demo.customers["hanse"].id, first=10, after=None).items == []
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "partnerhub-prod-api")  # in Lambda: AWS KMS, as deployed
    assert get_settings.__wrapped__().aws_kms_without_endpoint is True
