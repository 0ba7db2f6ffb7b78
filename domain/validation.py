"""Small input validators shared by the domain entities."""

from __future__ import annotations

import re

from domain.errors import ValidationFailed

_DATEV_CONSULTANT = re.compile(r"^[0-9]{4,7}$")


def require_text(value: str | None, field: str, *, label: str, max_length: int = 200) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed(f"{label} must not be empty.", field=field)
    if len(text) > max_length:
        raise ValidationFailed(f"{label} is longer than {max_length} characters.", field=field)
    return text


def require_email(value: str | None, field: str) -> str:
    """A syntactically valid e-mail address, normalised (domain lower-cased)."""
    # Imported on first use: its rule tables cost a cold start ~15 ms that reads never need.
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email((value or "").strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValidationFailed(f"'{value}' is not a valid e-mail address: {exc}", field=field) from None


def optional_datev_consultant_number(value: str | None, field: str) -> str | None:
    """DATEV consultant numbers (Beraternummer) are 4 to 7 digits."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if not _DATEV_CONSULTANT.match(text):
        raise ValidationFailed(
            f"'{value}' is not a DATEV consultant number.",
            field=field,
            hint="Enter the 4 to 7 digits of the consultant number, without spaces or letters.",
        )
    return text
