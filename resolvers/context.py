"""The per-request context: who asks, when, and the services and loaders to answer with."""

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, TypeVar

from strawberry.types import Info as StrawberryInfo

from domain.policy import Principal
from infra.bootstrap import Services
from infra.dynamo.unit_of_work import DynamoUnitOfWork
from resolvers.loaders import Loaders

R = TypeVar("R")


@dataclass
class Context:
    principal: Principal | None  # set before any resolver runs (resolvers/sign_in.py)
    now: datetime
    services: Services
    loaders: Loaders
    request: Any = None
    response: Any = None
    signing_in: "asyncio.Future[Principal] | None" = None  # the token's user, being read

    def uow(self) -> DynamoUnitOfWork:
        return self.services.uow()

    async def run(self, function: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """Run blocking domain/repository code off the event loop."""
        return await asyncio.to_thread(function, *args, **kwargs)


Info = StrawberryInfo[Context, None]
