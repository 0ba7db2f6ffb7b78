"""Use cases of the credential store (rules and who may do what: ``domain.credentials``).

Every change writes the credential and its audit event in one transaction. Input is checked, and the principal's
rights, before the secret is encrypted and before anything is written: a refusal changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from domain import credentials as cr
from domain.errors import Forbidden, NotFound
from domain.ids import new_id
from domain.organisations import OrganisationKind
from domain.policy import Principal, require
from domain.ports import Page, SecretCipher, UnitOfWork
from domain.services.organisations import page_size
from domain.services.retry import retry_on_concurrent_update


@dataclass(frozen=True)
class NewCredential:
    customer_id: str
    label: str
    password: str
    system: str | None = None
    username: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class CredentialChanges:
    """``None``: as it is; ``""`` clears system, user name or note."""

    label: str | None = None
    system: str | None = None
    username: str | None = None
    password: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class RevealedCredential:
    credential: cr.Credential
    secret: cr.Secret  # password, user name and note
    revealed_at: datetime

    @property
    def password(self) -> str:
        return self.secret.password


def _not_found(credential_id: str) -> NotFound:
    return NotFound(f"No credential with id '{credential_id}'.", field="credentialId")


def _visible(uow: UnitOfWork, principal: Principal, credential_id: str) -> cr.Credential:
    """The credential if the principal may see it at all; else NOT_FOUND, so nobody learns another organisation's exist."""
    credential = uow.credentials.get(credential_id)
    if credential is None or not cr.can_see(principal, credential):
        raise _not_found(credential_id)
    return credential


def _managed(uow: UnitOfWork, principal: Principal, credential_id: str, what: str) -> cr.Credential:
    require(cr.can_manage_credentials(principal), what)
    return _visible(uow, principal, credential_id)


def _save(uow: UnitOfWork, change: tuple[cr.Credential, cr.CredentialEvent], *, new: bool = False) -> cr.Credential:
    credential, event = change
    if new:
        uow.credentials.add(credential)
    else:
        uow.credentials.update(credential)
    uow.credential_events.add(event)
    uow.commit()
    return credential if new else _next_version(credential)


def _next_version(credential: cr.Credential) -> cr.Credential:
    return replace(credential, version=credential.version + 1)


# --- staff: record, change, delete --------------------------------------------------------------------------------


def create_credential(uow: UnitOfWork, cipher: SecretCipher, principal: Principal, command: NewCredential, *, now: datetime) -> cr.Credential:
    require(cr.can_manage_credentials(principal), "record credentials")
    with uow:
        customer = uow.organisations.get(command.customer_id)
        if customer is None or customer.kind is not OrganisationKind.CUSTOMER:
            raise NotFound(f"No customer with id '{command.customer_id}'.", field="customerId")
        details = cr.CredentialDetails.create(label=command.label, system=command.system, username=command.username, note=command.note)
        sealed = cr.Secret(cr.check_secret(command.password), details.username, details.note).sealed()
        credential_id = new_id("crd")
        encrypted = cipher.encrypt(sealed, context=cr.encryption_context(credential_id, customer.id))  # the one KMS call
        change = cr.new_credential(credential_id=credential_id, customer_id=customer.id, details=details, encrypted_secret=encrypted,
                                   by=principal.user_id, now=now, event_id=new_id("cre"))
        return _save(uow, change, new=True)


def update_credential(
    uow: UnitOfWork, cipher: SecretCipher, principal: Principal, credential_id: str, changes: CredentialChanges, *, now: datetime,
) -> cr.Credential:
    with uow:
        credential = _managed(uow, principal, credential_id, "change credentials")
        cr.require_not_deleted(credential)
        details = cr.changed_details(credential, label=changes.label, system=changes.system, username=changes.username, note=changes.note)
        password = cr.check_secret(changes.password) if changes.password is not None else None
        encrypted, secret_changed = None, []
        if any(given is not None for given in (changes.username, changes.note, changes.password)):
            # User name and note are encrypted with the password: the parts not given are read from the current secret.
            context = cr.encryption_context(credential.id, credential.customer_id)
            current = cr.Secret.opened(cipher.decrypt(credential.encrypted_secret, context=context), credential)
            secret, secret_changed = cr.changed_secret(current, details, password=password, username_given=changes.username is not None,
                                                       note_given=changes.note is not None)
            if secret_changed:
                encrypted = cipher.encrypt(secret.sealed(), context=context)
        change = cr.updated(credential, details, secret_changed=secret_changed, encrypted_secret=encrypted, by=principal.user_id, now=now,
                            event_id=new_id("cre"))
        if change is None:
            return credential
        return _save(uow, change)


def delete_credential(uow: UnitOfWork, principal: Principal, credential_id: str, *, now: datetime) -> str:
    with uow:
        credential = _managed(uow, principal, credential_id, "delete credentials")
        _save(uow, cr.deleted(credential, by=principal.user_id, now=now, event_id=new_id("cre")))
    return credential.id


# --- reading the secret --------------------------------------------------------------------------------------------


def reveal_credential(uow: UnitOfWork, cipher: SecretCipher, principal: Principal, credential_id: str, *, now: datetime) -> RevealedCredential:
    """The secret, for staff and for a customer user whose grant is in force (``domain.credentials.grant_in_force``: read
    from the user as stored); the reveal is recorded (who, when) before it is returned, in one transaction with the
    credential's version and the user's: a grant revoked, or the user deactivated or demoted, meanwhile makes it fail."""
    with uow:
        credential = _visible(uow, principal, credential_id)
        user = None if cr.can_manage_credentials(principal) else uow.users.get(principal.user_id)  # its standing: one GetItem
        if not cr.can_reveal(principal, credential, user):
            access = credential.access_of(principal.user_id)
            pending = access is not None and access.status is cr.AccessStatus.PENDING
            raise Forbidden(
                "You have no access to this credential's password.", field="credentialId",
                hint="Your request waits for the service desk's decision." if pending
                else "Ask for access with credentialAccessRequest; the service desk decides.",
            )
        plaintext = cipher.decrypt(credential.encrypted_secret, context=cr.encryption_context(credential.id, credential.customer_id))
        change = cr.revealed(credential, by=principal.user_id, now=now, event_id=new_id("cre"))
        if user is not None:  # its standing as read: deactivated or demoted meanwhile, the reveal fails and is repeated
            uow.users.require_unchanged([user])
        saved = _save(uow, change)
    return RevealedCredential(saved, cr.Secret.opened(plaintext, credential), change[1].at)


def reveal_credential_retrying(uow_factory, cipher: SecretCipher, principal: Principal, credential_id: str, *,
                               now: datetime) -> RevealedCredential:
    """``reveal_credential`` on a fresh unit of work, repeated if the credential changed between its read and its write
    (``retry_on_concurrent_update``): two reveals at the same moment are both answered and recorded; a grant revoked
    meanwhile is read again and refuses the repeat."""
    return retry_on_concurrent_update(lambda: reveal_credential(uow_factory(), cipher, principal, credential_id, now=now))


# --- access of customer users --------------------------------------------------------------------------------------


def request_access(uow: UnitOfWork, principal: Principal, credential_id: str, *, reason: str | None, now: datetime) -> cr.Credential:
    with uow:
        credential = _visible(uow, principal, credential_id)
        if not cr.can_request_access(principal, credential):
            raise Forbidden("Only the customer's own users ask for access to its credentials.", field="credentialId",
                            hint="Service staff reveal credentials with credentialReveal without asking.")
        user = uow.users.get(principal.user_id)
        if user is None:
            raise _not_found(credential_id)
        return _save(uow, cr.access_requested(credential, user=user, reason=reason, now=now, event_id=new_id("cre")))


def decide_access(
    uow: UnitOfWork, principal: Principal, credential_id: str, *, user_id: str, grant: bool, note: str | None, now: datetime,
) -> cr.Credential:
    with uow:
        credential = _managed(uow, principal, credential_id, "grant or refuse access to credentials")
        requester = uow.users.get(user_id) if grant and user_id else None  # a grant needs an active EXTENDED user: one GetItem
        change = cr.access_decided(credential, user_id=user_id, requester=requester, grant=grant, by=principal.user_id, note=note, now=now,
                                   event_id=new_id("cre"))
        return _save(uow, change)


def revoke_access(uow: UnitOfWork, principal: Principal, credential_id: str, *, user_id: str, now: datetime) -> cr.Credential:
    with uow:
        credential = _managed(uow, principal, credential_id, "revoke access to credentials")
        return _save(uow, cr.access_revoked(credential, user_id=user_id, by=principal.user_id, now=now, event_id=new_id("cre")))


# --- reads -----------------------------------------------------------------------------------------------------------


def get_visible_credential(uow: UnitOfWork, principal: Principal, credential_id: str) -> cr.Credential | None:
    found = uow.credentials.get(credential_id)
    return found if found is not None and cr.can_see(principal, found) else None


def list_credentials(uow: UnitOfWork, principal: Principal, customer_id: str, *, first: int | None, after: str | None) -> Page[cr.Credential]:
    limit = page_size(first)
    if not cr.can_see_labels_of(principal, customer_id):
        return Page([], None)
    return uow.credentials.list_for_customer(customer_id, limit=limit, cursor=after)


def list_awaiting_decision(uow: UnitOfWork, principal: Principal, *, first: int | None, after: str | None) -> Page[cr.Credential]:
    limit = page_size(first)
    if not cr.can_manage_credentials(principal):
        return Page([], None)
    return uow.credentials.list_awaiting_decision(limit=limit, cursor=after)


def audit_trail(uow: UnitOfWork, principal: Principal, credential_id: str, *, first: int | None, after: str | None) -> Page[cr.CredentialEvent]:
    """Staff: who recorded, changed, deleted and read the credential and who asked for access, newest first (deleted
    credentials' too)."""
    limit = page_size(first)
    if not cr.can_manage_credentials(principal) or not credential_id:
        return Page([], None)
    return uow.credential_events.list_for_credential(credential_id, limit=limit, cursor=after)
