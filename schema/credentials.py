"""The credential store: access data of customers' systems known to the technicians (domain.credentials).

No type here carries the secret except ``CredentialSecret``, which only ``credentialReveal`` returns (and records).
What a viewer sees of a credential is decided by ``domain.credentials.view_for``.
"""

from datetime import datetime
from typing import Mapping

import strawberry

from domain import credentials as cr
from domain.organisations import User as UserRecord
from domain.policy import Principal
from schema.common import Error, enum_of
from schema.organisations import User

CredentialAccessStatus = enum_of(cr.AccessStatus, "PENDING → GRANTED / REFUSED; GRANTED → REVOKED; refused or revoked users may ask again.")
CredentialEventKind = enum_of(cr.CredentialEventKind)


@strawberry.type(description="A customer user's access to one credential, in its latest state.")
class CredentialAccessRequest:
    user_id: strawberry.ID
    status: CredentialAccessStatus
    requested_at: datetime
    reason: str | None
    decided_at: datetime | None
    decided_by: strawberry.ID | None
    decision_note: str | None
    in_force: bool = strawberry.field(
        description="GRANTED and still valid: the user is active and EXTENDED and was neither reactivated nor changed in level "
                    "since the grant. A grant not in force reveals nothing; the user asks again."
    )
    requester: User | None = strawberry.field(
        description="Service staff only: who asked (name, e-mail, permission level, active), to judge the request; null in myAccess."
    )

    @classmethod
    def of(cls, a: cr.AccessRequest, customer_id: str, user: UserRecord | None, *, show_requester: bool) -> "CredentialAccessRequest":
        """``user``: the user of ``a`` as stored (None: not loaded or gone)."""
        return cls(user_id=strawberry.ID(a.user_id), status=a.status, requested_at=a.requested_at, reason=a.reason, decided_at=a.decided_at,
                   decided_by=strawberry.ID(a.decided_by) if a.decided_by else None, decision_note=a.decision_note,
                   in_force=cr.grant_in_force(a, user, customer_id),
                   requester=User.of(user) if show_requester and user is not None else None)


@strawberry.type(
    description="Access data of a customer's system: label and system only. Password, user name and note are encrypted "
                "together and only credentialReveal returns them (recorded). The "
                "customer's EXTENDED users see the label and their own access (myAccess) only; the other fields are for service "
                "staff. REPORT_ONLY users, partners and other organisations see nothing."
)
class Credential:
    id: strawberry.ID
    customer_id: strawberry.ID
    label: str
    my_access: CredentialAccessRequest | None = strawberry.field(description="Your own request for access, if you made one.")
    system: str | None = strawberry.field(description="Host name or URL. Service staff only.")
    created_at: datetime | None
    updated_at: datetime | None
    last_revealed_at: datetime | None
    access_requests: list[CredentialAccessRequest] = strawberry.field(
        description="Every customer user's access, with who asked (requester). Service staff only."
    )

    @classmethod
    def of(cls, credential: cr.Credential, principal: Principal, users: Mapping[str, UserRecord]) -> "Credential":
        """``users``: the users of the access shown (the requesters for staff, the principal's own), as loaded."""
        v = cr.view_for(principal, credential)
        return cls(
            id=strawberry.ID(v.id), customer_id=strawberry.ID(v.customer_id), label=v.label,
            my_access=CredentialAccessRequest.of(v.my_access, v.customer_id, users.get(v.my_access.user_id), show_requester=False)
            if v.my_access else None, system=v.system,
            created_at=v.created_at, updated_at=v.updated_at, last_revealed_at=v.last_revealed_at,
            access_requests=[CredentialAccessRequest.of(a, v.customer_id, users.get(a.user_id), show_requester=True) for a in v.access_requests],
        )


@strawberry.type(description="A credential's password, user name and note, read now; the reveal is in the credential's audit trail.")
class CredentialSecret:
    credential_id: strawberry.ID
    label: str
    system: str | None
    username: str | None
    password: str
    note: str | None
    revealed_at: datetime


@strawberry.type(description="One line of a credential's audit trail: who recorded, changed, deleted or read it, who asked for access and the decisions.")
class CredentialEvent:
    id: strawberry.ID
    credential_id: strawberry.ID
    customer_id: strawberry.ID
    kind: CredentialEventKind
    at: datetime
    by_user_id: strawberry.ID
    subject_user_id: strawberry.ID | None = strawberry.field(description="Whose access was asked for, granted, refused or revoked.")
    detail: str | None = strawberry.field(description="The fields changed (never their values), or the reason given.")

    @classmethod
    def of(cls, e: cr.CredentialEvent) -> "CredentialEvent":
        return cls(id=strawberry.ID(e.id), credential_id=strawberry.ID(e.credential_id), customer_id=strawberry.ID(e.customer_id), kind=e.kind,
                   at=e.at, by_user_id=strawberry.ID(e.by_user_id),
                   subject_user_id=strawberry.ID(e.subject_user_id) if e.subject_user_id else None, detail=e.detail)


@strawberry.input
class CredentialCreateInput:
    customer_id: strawberry.ID
    label: str = strawberry.field(
        description='What it opens, e.g. "Firewall admin": 1 to 100 characters of one line (no control or format characters, '
                    'as system and username).'
    )
    password: str = strawberry.field(
        description="The secret, as typed (any character but an unpaired surrogate); stored encrypted together with the user "
                    "name and the note, at most 4,096 bytes of UTF-8 for the three as stored (JSON: quotes, backslashes and "
                    "control characters take two or more bytes)."
    )
    system: str | None = strawberry.field(default=None, description="Host name or URL.")
    username: str | None = strawberry.field(default=None, description="Stored encrypted with the password.")
    note: str | None = strawberry.field(default=None, description="Stored encrypted with the password (TAB, CR, LF allowed).")


@strawberry.input(description="What to change: a field left out (or null) stays; an empty string clears system, username or note; "
                              "a password given replaces the secret.")
class CredentialUpdateInput:
    credential_id: strawberry.ID
    label: str | None = None
    system: str | None = None
    username: str | None = None
    password: str | None = None
    note: str | None = None


@strawberry.type
class CredentialPayload:
    credential: Credential | None = None
    errors: list[Error] = strawberry.field(default_factory=list)


@strawberry.type
class CredentialDeletePayload:
    deleted_credential_id: strawberry.ID | None = None
    errors: list[Error] = strawberry.field(default_factory=list)


@strawberry.type
class CredentialRevealPayload:
    secret: CredentialSecret | None = None
    errors: list[Error] = strawberry.field(default_factory=list)
