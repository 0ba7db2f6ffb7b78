"""Opaque, typed identifiers: a prefix naming the type and 20 random hex digits."""

from __future__ import annotations

import uuid

PREFIX_KIND = {
    "dst": "Distributor",
    "ptn": "Partner",
    "cus": "Customer",
    "usr": "User",
    "sub": "Subscription",
    "inv": "Invoice",
}


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


def prefix_of(identifier: str) -> str:
    return identifier.split("_", 1)[0] if "_" in identifier else ""
