"""Public partner applications: a company that has no account yet applies without signing in.

``POST /partner-applications/proof-upload`` returns a presigned S3 form for the proof of trade
(type and size pinned by its policy); ``POST /partner-applications`` submits the application
with the uploaded key. Answers are JSON; expected failures are ``400`` with the same
``errors`` (code, message, field, hint) as GraphQL payloads. The distributor decides in GraphQL.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from domain.errors import DomainError, ValidationFailed
from domain.partner_programme import DocumentKind
from domain.services import partner_programme as service

MAX_BODY_BYTES = 16 * 1024


def _errors(error: DomainError) -> JSONResponse:
    nested = getattr(error, "errors", None)
    errors = nested if isinstance(nested, list) and nested else [error]
    return JSONResponse(
        {"errors": [{"code": e.code.value, "message": e.message, "field": e.field, "hint": e.hint} for e in errors]},
        status_code=400,
    )


async def _json(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise ValidationFailed("The request is too large.")
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise ValidationFailed("The body is not JSON.", hint="Send Content-Type: application/json.") from None
    if not isinstance(data, dict):
        raise ValidationFailed("The body must be a JSON object.")
    return data


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    return value if isinstance(value, str) else ""


def _int(data: dict[str, Any], name: str) -> int:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(f"'{name}' must be a whole number.", field=name)
    return value


async def proof_upload(request: Request) -> JSONResponse:
    services = request.app.state.services
    try:
        data = await _json(request)
        upload = await asyncio.to_thread(
            service.proof_of_trade_upload, services.documents, content_type=_text(data, "contentType"), size_bytes=_int(data, "sizeBytes")
        )
    except DomainError as error:
        return _errors(error)
    return JSONResponse({"url": upload.url, "fields": upload.fields, "key": upload.key, "expiresInSeconds": upload.expires_in_seconds})


async def submit(request: Request) -> JSONResponse:
    services = request.app.state.services
    try:
        data = await _json(request)
        address = data.get("address") if isinstance(data.get("address"), dict) else {}
        try:
            kind = DocumentKind(_text(data, "proofOfTradeKind"))
        except ValueError:
            raise ValidationFailed(
                "Name the kind of proof of trade.", field="proofOfTradeKind",
                hint=f"One of {', '.join(k.value for k in DocumentKind)}.",
            ) from None
        command = service.ApplicationCommand(
            company_name=_text(data, "companyName"),
            address={
                "street": _text(address, "street"), "postal_code": _text(address, "postalCode"),
                "city": _text(address, "city"), "country": _text(address, "country") or "DE",
            },
            contact_name=_text(data, "contactName"),
            contact_phone=_text(data, "contactPhone"),
            contact_email=_text(data, "contactEmail"),
            proof_kind=kind,
            proof_document_key=_text(data, "proofOfTradeKey"),
            proof_content_type=_text(data, "proofOfTradeContentType"),
            proof_size_bytes=_int(data, "proofOfTradeSizeBytes"),
        )
        application = await asyncio.to_thread(
            service.submit_partner_application, services.uow(), services.documents, command, now=services.clock()
        )
    except DomainError as error:
        return _errors(error)
    return JSONResponse({"id": application.id, "status": application.status.value}, status_code=201)
