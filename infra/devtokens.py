"""Mint dev tokens for demo users: `python -m infra.devtokens [user id or e-mail]`.

Tokens are signed with the local HS256 dev key and are refused by any deployed stage.
"""

from __future__ import annotations

import json
import os
import sys

from infra.settings import DEV_JWT_SECRET, Settings


def demo_tokens(settings: Settings) -> list[str]:
    from domain.organisations import OrganisationKind
    from infra.auth import mint_dev_token
    from infra.dynamo.unit_of_work import DynamoUnitOfWork

    uow = DynamoUnitOfWork(settings)
    lines = []
    for kind in OrganisationKind:
        for organisation in uow.organisations.list_by_kind(kind, limit=100, cursor=None).items:
            for user in uow.users.list_by_organisation(organisation.id, limit=100, cursor=None).items:
                header = json.dumps({"Authorization": f"Bearer {mint_dev_token(settings, user.id)}"})
                level = user.permission_level.value if user.permission_level else user.role.value
                lines.append(f"# {user.name} <{user.email}>, {organisation.name} ({level})\n{header}\n")
    return lines


def main(argv: list[str]) -> None:
    os.environ.setdefault("JWT_DEV_SECRET", DEV_JWT_SECRET)
    from infra.auth import mint_dev_token
    from infra.dynamo.models import configure
    from infra.settings import get_settings

    settings = get_settings()
    configure(settings)
    if not argv:
        print("\n".join(demo_tokens(settings)))
        return
    who = argv[0]
    if "@" in who:
        from infra.dynamo.models import UniqueClaimModel

        who = UniqueClaimModel.get(f"user-email#{who.casefold()}").owner_id
    print(mint_dev_token(settings, who))


if __name__ == "__main__":
    main(sys.argv[1:])
