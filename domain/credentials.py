"""Credentials known to technicians, stored only for the people who need them (DOMAIN.md, Service desk).

Source: csm-boarding-guide (access data that become known to the technicians are recorded in the service module and are
accessible only to the staff who need them: service and technicians; customer employees on request and after approval).

Decided here, where ``DOMAIN.md`` leaves room:

* **Who** (functions ``can_*`` below): distributor staff (the service desk and its technicians) record, change, delete
  and read every customer's credentials. A customer's EXTENDED users see the *labels* of their organisation's
  credentials and their own access, nothing else, and may ask for access to one; staff grant or refuse the request and
  may revoke a grant. A user granted access reads (reveals) that one credential until it is revoked. REPORT_ONLY users
  see nothing of the store: a partner may create them for its customer (userCreate) with an address it controls, so
  such a login must not even reach a request. Staff see, with each request, who made it (name, e-mail, permission
  level) to judge it. Partners and every other organisation see nothing: the technicians who need the access are the
  MSP's.
* **A grant is in force** (``grant_in_force``) only while its user is active and EXTENDED in the credential's customer
  and only if it was decided after the user's latest reactivation or permission-level change
  (``User.standing_changed_at``): deactivating a user, or making it REPORT_ONLY, ends its grants for good; reactivated
  or promoted again, it asks again. Checked at the reveal (one read of the user), shown to staff (``inForce``), and a
  grant is refused for a user who is not an active EXTENDED user of the customer. Checking instead of revoking keeps
  user administration one small transaction, whatever the number of the user's grants.
* **The secret** (``Secret``: the password with the user name and the note, which say as much about the access) is
  encrypted in one piece, with one KMS call, before it is stored (``ports.SecretCipher``, bound to the credential and
  its customer); no list or query carries any of it, encrypted or not: lists show label and system only. Credentials
  stored before (``sealed`` false: the password alone encrypted) read their user name and note from the item until
  password, user name or note is next changed. Reading it is an explicit act (``reveal``), recorded in the
  credential's audit trail with who and when, in the same transaction as the credential's ``last_revealed_at``: a
  revocation made meanwhile fails the reveal's write instead of slipping through, and the reveal, repeated
  (``reveal_credential_retrying``), reads the grant again and is refused; two reveals at once are both recorded.
* **Audit trail**: every record, change (the names of the fields changed, never their values), deletion, access
  request, decision and reveal is a ``CredentialEvent``; service staff read it. It stays after the deletion.
* **Deletion** erases the secret, the user name and the note; the label, system and customer stay as a tombstone the
  audit trail refers to. A deleted credential is listed nowhere and can no longer be changed, requested or revealed.
* **Access requests**: one per customer user and credential, in its latest state::

      (none), REFUSED, REVOKED, GRANTED not in force → PENDING (credentialAccessRequest)
      PENDING → GRANTED / REFUSED (staff decide)
      GRANTED → REVOKED (staff)

  Asking while PENDING or GRANTED and in force, deciding a request that is not PENDING, revoking one not GRANTED: ``Conflict``
  naming the state it is in.
* **Limits**: label 1 to 100 characters, system (host or URL) up to 500, user name up to 200, note up to 2,000,
  reason up to 500; the password 1 to 4,096 bytes of UTF-8, stored exactly as typed (blanks may be part of a
  password); password, user name and note together at most 4,096 bytes as encrypted (compact JSON: what KMS encrypts
  directly).
* **Characters**: label, system and user name are one line of text: control characters (Unicode Cc: NUL, ESC, CR, LF
  and TAB too, which in a one-line field is a paste accident), format characters (Cf: U+202E and the other bidi
  overrides that make a label read as something else, zero-width characters) and unpaired surrogates (Cs, not
  characters at all) are refused, naming the code point. Note and reason may span lines: TAB, CR and LF are allowed
  there, the rest is refused the same way. The password may hold any character, but must be encodable (an unpaired
  surrogate is refused); its refusal never repeats it, nor where the bad code unit is. Everything is checked before
  anything is encrypted.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from domain.calendar import ensure_utc
from domain.errors import Conflict, ValidationFailed
from domain.organisations import PermissionLevel, User
from domain.policy import Principal
from domain.validation import require_text

MAX_LABEL = 100
MAX_SYSTEM = 500
MAX_USERNAME = 200
MAX_NOTE = 2_000
MAX_REASON = 500
MAX_SECRET_BYTES = 4_096


class AccessStatus(str, Enum):
    PENDING = "PENDING"
    GRANTED = "GRANTED"
    REFUSED = "REFUSED"
    REVOKED = "REVOKED"


class CredentialEventKind(str, Enum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"
    REVEALED = "REVEALED"
    ACCESS_REQUESTED = "ACCESS_REQUESTED"
    ACCESS_GRANTED = "ACCESS_GRANTED"
    ACCESS_REFUSED = "ACCESS_REFUSED"
    ACCESS_REVOKED = "ACCESS_REVOKED"


@dataclass(frozen=True)
class AccessRequest:
    """A customer user's access to one credential, in its latest state."""

    user_id: str
    status: AccessStatus
    requested_at: datetime
    reason: str | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    decision_note: str | None = None


@dataclass(frozen=True)
class CredentialDetails:
    """What a credential says besides its secret, checked."""

    label: str
    system: str | None = None
    username: str | None = None
    note: str | None = None

    @classmethod
    def create(cls, *, label: str | None, system: str | None = None, username: str | None = None, note: str | None = None) -> "CredentialDetails":
        return cls(
            label=check_characters(require_text(label, "label", label="The label", max_length=MAX_LABEL), "label", "The label"),
            system=_optional(system, "system", "The system", MAX_SYSTEM),
            username=_optional(username, "username", "The user name", MAX_USERNAME),
            note=_optional(note, "note", "The note", MAX_NOTE, multiline=True),
        )


@dataclass(frozen=True)
class Credential:
    id: str
    customer_id: str
    label: str
    created_at: datetime
    created_by: str
    encrypted_secret: str | None  # opaque text of the SecretCipher; None once deleted
    system: str | None = None
    # Only in credentials stored before user name and note were encrypted with the password (``sealed`` false); else None.
    username: str | None = None
    note: str | None = None
    sealed: bool = False  # the ciphertext holds a ``Secret`` (password, user name, note); false: the password alone
    updated_at: datetime | None = None
    updated_by: str | None = None
    deleted_at: datetime | None = None
    deleted_by: str | None = None
    last_revealed_at: datetime | None = None
    last_revealed_by: str | None = None
    access: tuple[AccessRequest, ...] = ()
    version: int = 0

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    def access_of(self, user_id: str) -> AccessRequest | None:
        return next((a for a in self.access if a.user_id == user_id), None)

    @property
    def pending_since(self) -> datetime | None:
        """When the oldest request still waiting for a decision was made (None: none waits)."""
        pending = [a.requested_at for a in self.access if a.status is AccessStatus.PENDING]
        return min(pending) if pending else None


@dataclass(frozen=True)
class CredentialEvent:
    """One line of a credential's audit trail."""

    id: str
    credential_id: str
    customer_id: str
    kind: CredentialEventKind
    at: datetime
    by_user_id: str
    subject_user_id: str | None = None  # whose access was requested, decided or revoked
    detail: str | None = None  # the fields changed, a reason; never a secret


_MULTILINE_CONTROLS = frozenset("\t\n\r")
_REFUSED_CATEGORIES = {"Cc": "control character", "Cf": "format character", "Cs": "unpaired surrogate"}


def check_characters(text: str, field: str, label: str, *, multiline: bool = False) -> str:
    """``text`` without control, format or surrogate code points (``multiline``: TAB, CR, LF allowed); else
    ``ValidationFailed`` naming the code point and its position (1-based). Not for secrets (it names what it refuses)."""
    for position, char in enumerate(text, start=1):
        kind = _REFUSED_CATEGORIES.get(unicodedata.category(char))
        if kind is not None and not (multiline and char in _MULTILINE_CONTROLS):
            raise ValidationFailed(
                f"{label} contains the {kind} U+{ord(char):04X} at position {position}.", field=field,
                hint="Type it again without invisible characters (copied text may carry them)." if multiline
                else "One line of visible text: no line breaks, tabs or invisible characters.",
            )
    return text


def _optional(value: str | None, field: str, label: str, max_length: int, *, multiline: bool = False) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > max_length:
        raise ValidationFailed(f"{label} is longer than {max_length} characters.", field=field)
    return check_characters(text, field, label, multiline=multiline)


def check_secret(secret: str | None) -> str:
    """The password as typed: not empty nor blanks only, encodable (no unpaired surrogate), at most ``MAX_SECRET_BYTES``
    bytes of UTF-8. Checked without encoding it, so that no exception (nor a log of one) carries its characters."""
    if secret is None or secret == "" or not secret.strip():
        raise ValidationFailed("The password must not be empty.", field="password")
    if any("\ud800" <= char <= "\udfff" for char in secret):
        raise ValidationFailed(
            "The password contains an unpaired surrogate, which is no character and cannot be stored.", field="password",
            hint="Type or paste the password again; the client sent a broken character.",
        )
    if len(secret.encode("utf-8")) > MAX_SECRET_BYTES:
        raise ValidationFailed(
            f"The password is longer than {MAX_SECRET_BYTES} bytes.", field="password",
            hint="Store a longer secret (a key file, a certificate) in the customer's documentation, not here.",
        )
    return secret


def check_reason(reason: str | None, field: str = "reason") -> str | None:
    return _optional(reason, field, "The reason", MAX_REASON, multiline=True)


def encryption_context(credential_id: str, customer_id: str) -> dict[str, str]:
    """What the ciphertext is bound to: decrypting it for another credential or customer fails."""
    return {"partnerhub:credential": credential_id, "partnerhub:customer": customer_id}


# --- changes: each returns the changed credential and the event to record ---------------------------------------------


@dataclass(frozen=True)
class Secret:
    """What is encrypted, in one piece: the password with the user name and the note."""

    password: str
    username: str | None = None
    note: str | None = None

    def sealed(self) -> str:
        """The text to encrypt (compact JSON); ``ValidationFailed`` when longer than KMS encrypts directly. Check the
        parts first (``check_secret``, ``CredentialDetails``): this never repeats them."""
        text = json.dumps({"password": self.password, "username": self.username, "note": self.note}, ensure_ascii=False,
                          separators=(",", ":"))
        if len(text.encode("utf-8")) > MAX_SECRET_BYTES:
            raise ValidationFailed(
                f"Password, user name and note together are longer than {MAX_SECRET_BYTES} bytes, what is encrypted in one piece.",
                field="note" if self.note else "password", hint="Shorten the note; longer documentation belongs in the customer's documentation.",
            )
        return text

    @classmethod
    def opened(cls, plaintext: str, credential: Credential) -> "Secret":
        """The secret of ``credential`` from its decrypted ciphertext (stored before ``sealed``: the password alone)."""
        if not credential.sealed:
            return cls(plaintext, credential.username, credential.note)
        data = json.loads(plaintext)
        return cls(data["password"], data.get("username"), data.get("note"))


def new_credential(
    *, credential_id: str, customer_id: str, details: CredentialDetails, encrypted_secret: str, by: str, now: datetime, event_id: str,
) -> tuple[Credential, CredentialEvent]:
    """``encrypted_secret``: the ``Secret`` of password, ``details.username`` and ``details.note``, sealed and encrypted."""
    at = ensure_utc(now)
    credential = Credential(
        id=credential_id, customer_id=customer_id, label=details.label, system=details.system, created_at=at, created_by=by,
        encrypted_secret=encrypted_secret, sealed=True,
    )
    return credential, _event(event_id, credential, CredentialEventKind.CREATED, by, at)


def changed_details(
    credential: Credential, *, label: str | None = None, system: str | None = None, username: str | None = None, note: str | None = None,
) -> CredentialDetails:
    """The details with what is given changed (``None``: as it is; ``""``: cleared, except the label), checked as new ones.
    User name and note are in the secret: what is given only (None when not given or cleared)."""

    def kept(new, old):
        return old if new is None else new

    return CredentialDetails.create(label=kept(label, credential.label), system=kept(system, credential.system), username=username, note=note)


def changed_secret(
    current: Secret, details: CredentialDetails, *, password: str | None, username_given: bool, note_given: bool,
) -> tuple[Secret, list[str]]:
    """The secret with what is given changed, and the names of what changed (a password given always counts)."""
    new = Secret(
        password if password is not None else current.password,
        details.username if username_given else current.username,
        details.note if note_given else current.note,
    )
    changed = [name for name in ("username", "note") if getattr(new, name) != getattr(current, name)]
    return new, changed + (["password"] if password is not None else [])


def updated(
    credential: Credential, details: CredentialDetails, *, secret_changed: list[str], encrypted_secret: str | None, by: str,
    now: datetime, event_id: str,
) -> tuple[Credential, CredentialEvent] | None:
    """The credential with a new label or system and, if given, a new secret (``secret_changed``: its parts that changed);
    None if nothing changes."""
    require_not_deleted(credential)
    changed = [name for name in ("label", "system") if getattr(details, name) != getattr(credential, name)] + list(secret_changed)
    if not changed:
        return None
    at = ensure_utc(now)
    new = replace(credential, label=details.label, system=details.system, updated_at=at, updated_by=by)
    if encrypted_secret is not None:
        new = replace(new, encrypted_secret=encrypted_secret, sealed=True, username=None, note=None)
    return new, _event(event_id, new, CredentialEventKind.UPDATED, by, at, detail=", ".join(changed))


def deleted(credential: Credential, *, by: str, now: datetime, event_id: str) -> tuple[Credential, CredentialEvent]:
    require_not_deleted(credential)
    at = ensure_utc(now)
    tombstone = replace(credential, encrypted_secret=None, username=None, note=None, deleted_at=at, deleted_by=by, access=())
    return tombstone, _event(event_id, tombstone, CredentialEventKind.DELETED, by, at)


def revealed(credential: Credential, *, by: str, now: datetime, event_id: str) -> tuple[Credential, CredentialEvent]:
    require_not_deleted(credential)
    at = ensure_utc(now)
    new = replace(credential, last_revealed_at=at, last_revealed_by=by)
    return new, _event(event_id, new, CredentialEventKind.REVEALED, by, at)


def access_requested(
    credential: Credential, *, user: User, reason: str | None, now: datetime, event_id: str,
) -> tuple[Credential, CredentialEvent]:
    """``user``: who asks, as stored (a grant no longer in force may be asked for again, and so may a request still
    pending from before the user's latest reactivation or level change, which is granted no more)."""
    require_not_deleted(credential)
    reason = check_reason(reason)
    user_id = user.id
    current = credential.access_of(user_id)
    stale = current is not None and asked_before_standing_changed(current, user)
    if current is not None and current.status is AccessStatus.PENDING and not stale:
        raise Conflict("You asked for access to this credential already; the service desk has not decided yet.",
                       field="credentialId", hint="Wait for the decision; the service desk sees your request.")
    if current is not None and grant_in_force(current, user, credential.customer_id):
        raise Conflict("You have access to this credential already.", field="credentialId", hint="Read it with credentialReveal.")
    at = ensure_utc(now)
    request = AccessRequest(user_id=user_id, status=AccessStatus.PENDING, requested_at=at, reason=reason)
    new = replace(credential, access=_with(credential.access, request))
    return new, _event(event_id, new, CredentialEventKind.ACCESS_REQUESTED, user_id, at, subject=user_id, detail=reason)


def access_decided(
    credential: Credential, *, user_id: str, requester: User | None, grant: bool, by: str, note: str | None, now: datetime, event_id: str,
) -> tuple[Credential, CredentialEvent]:
    """``requester``: the user ``user_id`` as stored (None: gone); a grant needs an active EXTENDED user of the customer."""
    require_not_deleted(credential)
    note = check_reason(note)
    current = _request_of(credential, user_id)
    if current.status is not AccessStatus.PENDING:
        raise Conflict(
            f"The access request of {user_id} is {current.status.value}, not PENDING: only a pending request is granted or refused.",
            field="userId",
            hint="Revoke a granted access with credentialAccessRevoke; a refused or revoked user asks again first.",
        )
    if grant and not may_hold_access(requester, credential.customer_id):
        standing = "unknown" if requester is None else ("deactivated" if not requester.active else
                                                         (requester.permission_level.value if requester.permission_level else "no customer user"))
        raise Conflict(
            f"{user_id} is {standing}: only active EXTENDED users of the customer are granted access to its credentials.",
            field="userId", hint="Refuse the request (credentialAccessRefuse).",
        )
    if grant and asked_before_standing_changed(current, requester):
        raise Conflict(
            f"{user_id} asked on {current.requested_at:%Y-%m-%d %H:%M} UTC, before the login was reactivated or changed in "
            f"level ({requester.standing_changed_at:%Y-%m-%d %H:%M} UTC): a request from before that is granted no more.",
            field="userId", hint="Refuse this request (credentialAccessRefuse); the user asks again if still needed.",
        )
    at = ensure_utc(now)
    status = AccessStatus.GRANTED if grant else AccessStatus.REFUSED
    decided = replace(current, status=status, decided_at=at, decided_by=by, decision_note=note)
    new = replace(credential, access=_with(credential.access, decided))
    kind = CredentialEventKind.ACCESS_GRANTED if grant else CredentialEventKind.ACCESS_REFUSED
    return new, _event(event_id, new, kind, by, at, subject=user_id, detail=note)


def access_revoked(credential: Credential, *, user_id: str, by: str, now: datetime, event_id: str) -> tuple[Credential, CredentialEvent]:
    require_not_deleted(credential)
    current = _request_of(credential, user_id)
    if current.status is not AccessStatus.GRANTED:
        raise Conflict(f"The access of {user_id} is {current.status.value}, not GRANTED: there is nothing to revoke.", field="userId")
    at = ensure_utc(now)
    revoked = replace(current, status=AccessStatus.REVOKED, decided_at=at, decided_by=by, decision_note=None)
    new = replace(credential, access=_with(credential.access, revoked))
    return new, _event(event_id, new, CredentialEventKind.ACCESS_REVOKED, by, at, subject=user_id)


def require_not_deleted(credential: Credential) -> None:
    if credential.deleted:
        raise Conflict("The credential was deleted.", field="credentialId")


def _request_of(credential: Credential, user_id: str) -> AccessRequest:
    current = credential.access_of(user_id)
    if current is None:
        raise Conflict(f"{user_id or 'That user'} has not asked for access to this credential.", field="userId",
                       hint="Customer users ask with credentialAccessRequest; the request then waits for a decision.")
    return current


def _with(access: tuple[AccessRequest, ...], request: AccessRequest) -> tuple[AccessRequest, ...]:
    return tuple(a for a in access if a.user_id != request.user_id) + (request,)


def _event(
    event_id: str, credential: Credential, kind: CredentialEventKind, by: str, at: datetime, *, subject: str | None = None,
    detail: str | None = None,
) -> CredentialEvent:
    return CredentialEvent(event_id, credential.id, credential.customer_id, kind, at, by, subject, detail)


# --- who may do what -------------------------------------------------------------------------------------------------


def can_manage_credentials(principal: Principal) -> bool:
    """Record, change, delete, reveal any credential, decide access, read the audit trail: the service desk."""
    return principal.is_distributor


def is_extended_user_of(principal: Principal, customer_id: str) -> bool:
    """One of the customer's own EXTENDED users: the only customer logins the credential store shows itself to (a partner
    creates REPORT_ONLY users of its customers, with addresses it controls)."""
    return (principal.is_customer and principal.organisation_id == customer_id
            and principal.permission_level is PermissionLevel.EXTENDED)


def can_see_labels_of(principal: Principal, customer_id: str) -> bool:
    """The list of a customer's credentials (labels only, unless ``can_manage_credentials``)."""
    return principal.is_distributor or is_extended_user_of(principal, customer_id)


def can_see(principal: Principal, credential: Credential) -> bool:
    return not credential.deleted and can_see_labels_of(principal, credential.customer_id)


def can_request_access(principal: Principal, credential: Credential) -> bool:
    return is_extended_user_of(principal, credential.customer_id)


def may_hold_access(user: User | None, customer_id: str) -> bool:
    """An active EXTENDED user of the customer: the only users a grant can be in force for."""
    return (user is not None and user.active and user.organisation_id == customer_id
            and user.permission_level is PermissionLevel.EXTENDED)


def grant_in_force(access: AccessRequest, user: User | None, customer_id: str) -> bool:
    """GRANTED, to an active EXTENDED user of the customer, and asked for and decided after the user's latest
    reactivation or permission-level change: a grant does not survive a deactivation or a demotion, even once undone,
    nor does a request made before one."""
    if access.status is not AccessStatus.GRANTED or user is None or user.id != access.user_id:
        return False
    if not may_hold_access(user, customer_id):
        return False
    changed = user.standing_changed_at
    return changed is None or (access.decided_at is not None and access.decided_at > changed
                               and not asked_before_standing_changed(access, user))


def asked_before_standing_changed(access: AccessRequest, user: User) -> bool:
    """Requested before the user's latest reactivation or permission-level change: granted no more, asked again."""
    return user.standing_changed_at is not None and access.requested_at < user.standing_changed_at


def can_reveal(principal: Principal, credential: Credential, user: User | None) -> bool:
    """``user``: the principal's user as stored (its standing; not needed for staff)."""
    if credential.deleted:
        return False
    if can_manage_credentials(principal):
        return True
    access = credential.access_of(principal.user_id)
    return can_request_access(principal, credential) and access is not None and grant_in_force(access, user, credential.customer_id)


@dataclass(frozen=True)
class CredentialView:
    """What one viewer sees of a credential: staff everything but the secret (password, user name, note), a customer user
    the label and its own access."""

    id: str
    customer_id: str
    label: str
    my_access: AccessRequest | None
    system: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_revealed_at: datetime | None = None
    access_requests: tuple[AccessRequest, ...] = ()


def view_for(principal: Principal, credential: Credential) -> CredentialView:
    mine = credential.access_of(principal.user_id)
    if not can_manage_credentials(principal):
        return CredentialView(credential.id, credential.customer_id, credential.label, mine)
    return CredentialView(
        credential.id, credential.customer_id, credential.label, mine, system=credential.system, created_at=credential.created_at, updated_at=credential.updated_at,
        last_revealed_at=credential.last_revealed_at, access_requests=credential.access,
    )
