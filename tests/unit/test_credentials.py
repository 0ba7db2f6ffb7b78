"""Credentials known to technicians are stored only for the people who need them (domain/credentials.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest

from domain import credentials as cr
from domain.errors import Conflict, ValidationFailed
from domain.organisations import OrganisationKind, PermissionLevel, Role, User
from domain.policy import Principal

RECORDED = datetime(2026, 3, 2, 8, 15, tzinfo=timezone.utc)
ASKED = datetime(2026, 3, 9, 7, 30, tzinfo=timezone.utc)
DECIDED = datetime(2026, 3, 9, 10, 0, tzinfo=timezone.utc)

TECHNICIAN = Principal("usr_tech", "dst_1", OrganisationKind.DISTRIBUTOR, Role.DISTRIBUTOR_STAFF)
HANSE_IT = Principal("usr_hanse_it", "cus_hanse", OrganisationKind.CUSTOMER, Role.CUSTOMER_USER, permission_level=PermissionLevel.EXTENDED)
HANSE_STAFF = Principal("usr_hanse_staff", "cus_hanse", OrganisationKind.CUSTOMER, Role.CUSTOMER_USER,
                        permission_level=PermissionLevel.REPORT_ONLY)
HANSE_IT_2 = Principal("usr_hanse_it_2", "cus_hanse", OrganisationKind.CUSTOMER, Role.CUSTOMER_USER, permission_level=PermissionLevel.EXTENDED)
KANZLEI = Principal("usr_kanzlei", "cus_kanzlei", OrganisationKind.CUSTOMER, Role.CUSTOMER_USER, permission_level=PermissionLevel.EXTENDED)
NORDIT = Principal("usr_nordit", "ptn_nordit", OrganisationKind.PARTNER, Role.PARTNER_ADMIN)


def user(principal: Principal, **changes) -> User:
    """The stored user behind a customer principal (active, its level; neither reactivated nor changed in level)."""
    return replace(User(principal.user_id, principal.organisation_id, principal.organisation_kind, f"{principal.user_id}@hanse.example",
                        principal.user_id, principal.role, permission_level=principal.permission_level, created_at=RECORDED), **changes)


USERS = {p.user_id: user(p) for p in (HANSE_IT, HANSE_IT_2, HANSE_STAFF, KANZLEI)}


def firewall() -> cr.Credential:
    details = cr.CredentialDetails.create(label=" Firewall admin ", system="https://fw.hanse.example", username="admin", note="Sophos XGS")
    credential, event = cr.new_credential(credential_id="crd_1", customer_id="cus_hanse", details=details, encrypted_secret="CIPHERTEXT",
                                          by=TECHNICIAN.user_id, now=RECORDED, event_id="cre_1")
    assert event == cr.CredentialEvent("cre_1", "crd_1", "cus_hanse", cr.CredentialEventKind.CREATED, RECORDED, "usr_tech")
    return credential


def requested(user: Principal = HANSE_IT) -> cr.Credential:
    credential, _ = cr.access_requested(firewall(), user=USERS[user.user_id], reason="Wartung am Wochenende", now=ASKED, event_id="cre_2")
    return credential


def test_recorded_credential_keeps_the_trimmed_label_and_only_the_ciphertext():
    credential = firewall()
    assert (credential.label, credential.system, credential.username, credential.note, credential.encrypted_secret, credential.sealed) == (
        "Firewall admin", "https://fw.hanse.example", None, None, "CIPHERTEXT", True)  # user name and note: in the ciphertext
    assert credential.created_at == RECORDED and credential.access == ()


@pytest.mark.parametrize(("fields", "field"), [
    ({"label": "  "}, "label"),
    ({"label": "x" * 101}, "label"),
    ({"label": "VPN", "system": "h" * 501}, "system"),
    ({"label": "VPN", "username": "u" * 201}, "username"),
    ({"label": "VPN", "note": "n" * 2001}, "note"),
])
def test_details_out_of_bounds_are_refused_naming_the_field(fields, field):
    with pytest.raises(ValidationFailed) as refused:
        cr.CredentialDetails.create(**fields)
    assert refused.value.field == field


@pytest.mark.parametrize(("fields", "field", "code_point"), [
    ({"label": "Firewall\x00admin"}, "label", "U+0000"),
    ({"label": "Firewall \u202enimda"}, "label", "U+202E"),  # right-to-left override: reads "admin" backwards
    ({"label": "VPN\ud83d"}, "label", "U+D83D"),  # an unpaired surrogate (JSON "\ud83d"): not a character
    ({"label": "VPN", "system": "fw.hanse.example\x1b[2J"}, "system", "U+001B"),
    ({"label": "VPN", "username": "admin\r\nX-Injected: 1"}, "username", "U+000D"),
    ({"label": "VPN", "username": "ad\tmin"}, "username", "U+0009"),  # one line: no TAB either
    ({"label": "VPN", "username": "ad\u200bmin"}, "username", "U+200B"),
    ({"label": "VPN", "note": "Zeile 1\n\x07"}, "note", "U+0007"),
])
def test_control_format_and_surrogate_characters_are_refused_naming_the_code_point(fields, field, code_point):
    with pytest.raises(ValidationFailed) as refused:
        cr.CredentialDetails.create(**fields)
    assert refused.value.field == field and code_point in refused.value.message


def test_a_note_and_a_reason_may_span_lines_with_tabs():
    assert cr.CredentialDetails.create(label="VPN", note="Zeile 1\r\n\tZeile 2").note == "Zeile 1\r\n\tZeile 2"
    assert cr.check_reason("Wartung\nam Samstag") == "Wartung\nam Samstag"
    with pytest.raises(ValidationFailed):
        cr.check_reason("Wartung\u202e")


def test_a_password_with_an_unpaired_surrogate_is_refused_without_repeating_it():
    with pytest.raises(ValidationFailed) as refused:
        cr.check_secret("Geheim\ud83dPass")
    error = refused.value
    assert error.field == "password"
    said = f"{error.message} {error.hint} {error!r}"
    assert "Geheim" not in said and "d83d" not in said.lower() and "position" not in said and "7" not in said
    assert error.__context__ is None and error.__cause__ is None
    assert cr.check_secret("Geheim\U0001f600Pass") == "Geheim\U0001f600Pass"  # the pair, a real character, is fine
    assert cr.check_secret("a\x00b\u202e") == "a\x00b\u202e"  # a password is kept as typed


def test_the_password_is_kept_as_typed_up_to_4096_bytes():
    assert cr.check_secret(" pass word ") == " pass word "
    assert cr.check_secret("ä" * 2048) == "ä" * 2048  # 4,096 bytes of UTF-8
    for bad in ("", "   ", None, "ä" * 2049):
        with pytest.raises(ValidationFailed) as refused:
            cr.check_secret(bad)
        assert refused.value.field == "password"


def test_an_update_names_the_fields_changed_never_their_values():
    credential = firewall()
    details = cr.changed_details(credential, username="root", note="")
    current = cr.Secret("alt", "admin", "Sophos XGS")
    secret, changed = cr.changed_secret(current, details, password="neu", username_given=True, note_given=True)
    assert (secret, changed) == (cr.Secret("neu", "root", None), ["username", "note", "password"])
    new, event = cr.updated(credential, details, secret_changed=changed, encrypted_secret="NEW", by="usr_tech", now=DECIDED, event_id="cre_9")
    assert (new.username, new.note, new.encrypted_secret, new.updated_at) == (None, None, "NEW", DECIDED)
    assert (event.kind, event.detail) == (cr.CredentialEventKind.UPDATED, "username, note, password")
    assert "root" not in event.detail
    assert cr.changed_secret(current, details, password=None, username_given=False, note_given=False) == (current, [])
    assert cr.updated(credential, cr.changed_details(credential, label="Firewall admin"), secret_changed=[], encrypted_secret=None, by="usr_tech",
                      now=DECIDED, event_id="cre_10") is None


def test_password_user_name_and_note_are_sealed_in_one_piece_of_at_most_4096_bytes():
    sealed = cr.Secret("Tr0ub4dor&3", "admin", "Sophos XGS\nim Serverraum").sealed()
    assert cr.Secret.opened(sealed, firewall()) == cr.Secret("Tr0ub4dor&3", "admin", "Sophos XGS\nim Serverraum")
    with pytest.raises(ValidationFailed) as refused:
        cr.Secret("p" * 3000, "admin", "ä" * 600).sealed()  # 3,000 + 1,200 bytes
    assert refused.value.field == "note" and "ä" not in refused.value.message
    stored_before = replace(firewall(), sealed=False, username="admin", note="alt")  # the password alone was encrypted
    assert cr.Secret.opened('{"password":"x"}', stored_before) == cr.Secret('{"password":"x"}', "admin", "alt")


def test_customer_user_asks_staff_grant_then_revoke():
    credential = requested()
    assert credential.access_of("usr_hanse_it").status is cr.AccessStatus.PENDING
    assert credential.pending_since == ASKED
    assert not cr.can_reveal(HANSE_IT, credential, USERS.get(HANSE_IT.user_id))
    granted, event = cr.access_decided(credential, user_id="usr_hanse_it", requester=USERS["usr_hanse_it"], grant=True, by="usr_tech", note=None, now=DECIDED, event_id="cre_3")
    assert (event.kind, event.subject_user_id, event.by_user_id) == (cr.CredentialEventKind.ACCESS_GRANTED, "usr_hanse_it", "usr_tech")
    assert granted.pending_since is None
    assert cr.can_reveal(HANSE_IT, granted, USERS.get(HANSE_IT.user_id))
    assert not cr.can_reveal(HANSE_IT_2, granted, USERS.get(HANSE_IT_2.user_id))  # the grant is per user
    revoked, _ = cr.access_revoked(granted, user_id="usr_hanse_it", by="usr_tech", now=DECIDED, event_id="cre_4")
    assert revoked.access_of("usr_hanse_it").status is cr.AccessStatus.REVOKED
    assert not cr.can_reveal(HANSE_IT, revoked, USERS.get(HANSE_IT.user_id))
    again, _ = cr.access_requested(revoked, user=USERS["usr_hanse_it"], reason=None, now=DECIDED, event_id="cre_5")
    assert again.access_of("usr_hanse_it").status is cr.AccessStatus.PENDING


def test_wrong_states_are_conflicts():
    pending = requested()
    with pytest.raises(Conflict, match="asked for access"):
        cr.access_requested(pending, user=USERS["usr_hanse_it"], reason=None, now=DECIDED, event_id="x")
    with pytest.raises(Conflict, match="not GRANTED"):
        cr.access_revoked(pending, user_id="usr_hanse_it", by="usr_tech", now=DECIDED, event_id="x")
    with pytest.raises(Conflict, match="has not asked"):
        cr.access_decided(pending, user_id="usr_hanse_staff", requester=USERS["usr_hanse_staff"], grant=True, by="usr_tech", note=None, now=DECIDED, event_id="x")
    refused, _ = cr.access_decided(pending, user_id="usr_hanse_it", requester=USERS["usr_hanse_it"], grant=False, by="usr_tech", note="Nur IT-Leitung", now=DECIDED,
                                   event_id="x")
    assert refused.access_of("usr_hanse_it").decision_note == "Nur IT-Leitung"
    with pytest.raises(Conflict, match="REFUSED, not PENDING"):
        cr.access_decided(refused, user_id="usr_hanse_it", requester=USERS["usr_hanse_it"], grant=True, by="usr_tech", note=None, now=DECIDED, event_id="x")
    granted, _ = cr.access_decided(pending, user_id="usr_hanse_it", requester=USERS["usr_hanse_it"], grant=True, by="usr_tech", note=None, now=DECIDED, event_id="x")
    with pytest.raises(Conflict, match="have access"):
        cr.access_requested(granted, user=USERS["usr_hanse_it"], reason=None, now=DECIDED, event_id="x")


def test_deletion_erases_the_secret_and_ends_every_access():
    granted, _ = cr.access_decided(requested(), user_id="usr_hanse_it", requester=USERS["usr_hanse_it"], grant=True, by="usr_tech", note=None, now=DECIDED, event_id="x")
    tombstone, event = cr.deleted(granted, by="usr_tech", now=DECIDED, event_id="cre_7")
    assert (tombstone.encrypted_secret, tombstone.username, tombstone.note, tombstone.access) == (None, None, None, ())
    assert event.kind is cr.CredentialEventKind.DELETED
    assert not cr.can_reveal(TECHNICIAN, tombstone, USERS.get(TECHNICIAN.user_id)) and not cr.can_see(HANSE_IT, tombstone)
    with pytest.raises(Conflict):
        cr.revealed(tombstone, by="usr_tech", now=DECIDED, event_id="x")


def test_who_sees_what():
    credential = requested()
    assert [cr.can_see(p, credential) for p in (TECHNICIAN, HANSE_IT, HANSE_STAFF, KANZLEI, NORDIT)] == [True, True, False, False, False]
    assert [cr.can_request_access(p, credential) for p in (TECHNICIAN, HANSE_IT, HANSE_STAFF, KANZLEI, NORDIT)] == [
        False, True, False, False, False]
    assert [cr.can_manage_credentials(p) for p in (TECHNICIAN, HANSE_IT, NORDIT)] == [True, False, False]
    staff_view = cr.view_for(TECHNICIAN, credential)
    assert staff_view.system == "https://fw.hanse.example" and not hasattr(staff_view, "username") and not hasattr(staff_view, "note")
    assert [a.user_id for a in staff_view.access_requests] == ["usr_hanse_it"]
    customer_view = cr.view_for(HANSE_IT, credential)
    assert customer_view == cr.CredentialView("crd_1", "cus_hanse", "Firewall admin", credential.access_of("usr_hanse_it"))
    assert customer_view.my_access.status is cr.AccessStatus.PENDING


def test_report_only_users_see_nothing_of_the_store_a_partner_may_create_them():
    """A partner creates REPORT_ONLY users of its customers (userCreate) with addresses it controls: such a login must not
    list labels nor ask for access, so no grant can ever lead the partner to the customer's password."""
    credential = requested()
    assert not cr.can_see_labels_of(HANSE_STAFF, "cus_hanse")
    assert not cr.can_see(HANSE_STAFF, credential)
    assert not cr.can_request_access(HANSE_STAFF, credential)
    asked_before, _ = cr.access_requested(credential, user=USERS["usr_hanse_staff"], reason=None, now=ASKED, event_id="x")  # stored before
    granted_by_mistake = replace(asked_before, access=(cr.AccessRequest("usr_hanse_staff", cr.AccessStatus.GRANTED, ASKED, decided_at=DECIDED),))
    assert not cr.can_reveal(HANSE_STAFF, granted_by_mistake, USERS["usr_hanse_staff"])


# --- a grant is in force only while its user is an active EXTENDED user, since its latest reactivation or level change

REACTIVATED = datetime(2026, 3, 16, 8, 0, tzinfo=timezone.utc)


def granted_to_hannes() -> cr.Credential:
    credential, _ = cr.access_decided(requested(), user_id="usr_hanse_it", requester=USERS["usr_hanse_it"], grant=True, by="usr_tech",
                                      note=None, now=DECIDED, event_id="cre_3")
    return credential


def test_a_grant_ends_with_a_deactivation_and_does_not_come_back_with_the_reactivation():
    """Granted 2026-03-09 10:00; deactivated 2026-03-12, reactivated 2026-03-16 08:00: the grant reveals nothing more."""
    credential, hannes = granted_to_hannes(), USERS["usr_hanse_it"]
    assert cr.can_reveal(HANSE_IT, credential, hannes)
    gone = hannes.deactivated(datetime(2026, 3, 12, 17, 0, tzinfo=timezone.utc))
    assert not cr.grant_in_force(credential.access_of(hannes.id), gone, "cus_hanse")
    back = gone.reactivated(now=REACTIVATED)
    assert back.standing_changed_at == REACTIVATED
    assert not cr.can_reveal(HANSE_IT, credential, back)
    again, _ = cr.access_requested(credential, user=back, reason="wieder da", now=REACTIVATED, event_id="cre_6")  # asks again
    regranted, _ = cr.access_decided(again, user_id=hannes.id, requester=back, grant=True, by="usr_tech", note=None,
                                     now=datetime(2026, 3, 16, 9, 0, tzinfo=timezone.utc), event_id="cre_7")
    assert cr.can_reveal(HANSE_IT, regranted, back)


def test_a_grant_ends_with_a_level_change_even_when_changed_back():
    credential, hannes = granted_to_hannes(), USERS["usr_hanse_it"]
    demoted = hannes.with_permission_level(PermissionLevel.REPORT_ONLY, now=REACTIVATED)
    assert not cr.grant_in_force(credential.access_of(hannes.id), demoted, "cus_hanse")
    promoted = demoted.with_permission_level(PermissionLevel.EXTENDED, now=datetime(2026, 3, 17, 8, 0, tzinfo=timezone.utc))
    assert not cr.can_reveal(HANSE_IT, credential, promoted)
    assert hannes.with_permission_level(PermissionLevel.EXTENDED, now=REACTIVATED) == hannes  # no change: grants stay


def test_a_request_made_before_a_deactivation_is_not_granted_after_the_reactivation():
    """Hannes asks 2026-03-09 07:30, is deactivated at 08:00 and back at 09:00; granting the old request at 10:00 is
    refused, a grant of it would not be in force either, and he may ask again though the old request is still pending."""
    pending, hannes = requested(), USERS["usr_hanse_it"]
    back = hannes.deactivated(datetime(2026, 3, 9, 8, 0, tzinfo=timezone.utc)).reactivated(now=datetime(2026, 3, 9, 9, 0, tzinfo=timezone.utc))
    with pytest.raises(Conflict, match="asked on 2026-03-09 07:30 UTC, before the login was reactivated") as refused:
        cr.access_decided(pending, user_id=hannes.id, requester=back, grant=True, by="usr_tech", note=None, now=DECIDED, event_id="x")
    assert refused.value.field == "userId" and "credentialAccessRefuse" in refused.value.hint
    sneaked = replace(pending.access_of(hannes.id), status=cr.AccessStatus.GRANTED, decided_at=DECIDED, decided_by="usr_tech")
    assert not cr.grant_in_force(sneaked, back, "cus_hanse")
    again, _ = cr.access_requested(pending, user=back, reason="wieder da", now=datetime(2026, 3, 9, 9, 30, tzinfo=timezone.utc), event_id="y")
    with pytest.raises(Conflict, match="asked for access to this credential already"):  # the fresh request is pending
        cr.access_requested(again, user=back, reason=None, now=datetime(2026, 3, 9, 9, 40, tzinfo=timezone.utc), event_id="w")
    granted, _ = cr.access_decided(again, user_id=hannes.id, requester=back, grant=True, by="usr_tech", note=None, now=DECIDED, event_id="z")
    assert cr.can_reveal(HANSE_IT, granted, back)


def test_staff_grant_only_active_extended_users_of_the_customer():
    pending, hannes = requested(), USERS["usr_hanse_it"]
    for standing in (hannes.deactivated(DECIDED), replace(hannes, permission_level=PermissionLevel.REPORT_ONLY), None):
        with pytest.raises(Conflict, match="only active EXTENDED users"):
            cr.access_decided(pending, user_id=hannes.id, requester=standing, grant=True, by="usr_tech", note=None, now=DECIDED, event_id="x")
    refused, _ = cr.access_decided(pending, user_id=hannes.id, requester=None, grant=False, by="usr_tech", note=None, now=DECIDED, event_id="x")
    assert refused.access_of(hannes.id).status is cr.AccessStatus.REFUSED
