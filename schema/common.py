"""Types shared by every area: errors, money, the Node interface."""

from decimal import Decimal
from enum import Enum

import strawberry

from domain.errors import ErrorCode as DomainErrorCode
from domain.money import Money as DomainMoney
from domain.ports import PresignedUpload as DomainPresignedUpload

ErrorCode = strawberry.enum(DomainErrorCode, description="Machine-readable reason of an expected failure.")


@strawberry.type(description="An expected failure: nothing was changed. `hint` says what to do instead.")
class Error:
    code: ErrorCode
    message: str
    field: str | None = None
    hint: str | None = None


@strawberry.type
class Money:
    amount: Decimal
    currency: str

    @classmethod
    def of(cls, money: DomainMoney) -> "Money":
        return cls(amount=money.rounded().amount, currency=money.currency)


@strawberry.interface(description="An object with a globally unique, typed id (e.g. `cus_…`).")
class Node:
    id: strawberry.ID


def enum_of(domain_enum: type[Enum], description: str | None = None):
    return strawberry.enum(domain_enum, description=description)


@strawberry.type(description="One form field of a presigned upload.")
class FormField:
    name: str
    value: str


@strawberry.type(description="POST the file to `url` as multipart/form-data: every field in order, then the file as `file`.")
class PresignedUpload:
    url: str
    fields: list[FormField]
    key: str = strawberry.field(description="Where the file will be; name it when you register the upload.")
    expires_in_seconds: int

    @classmethod
    def of(cls, upload: DomainPresignedUpload) -> "PresignedUpload":
        return cls(url=upload.url, fields=[FormField(name=k, value=v) for k, v in upload.fields.items()], key=upload.key,
                   expires_in_seconds=upload.expires_in_seconds)
