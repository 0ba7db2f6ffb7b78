"""Lambda and ASGI entry points."""

from __future__ import annotations

import logging

from mangum import Mangum

from resolvers.http import create_app

logging.getLogger().setLevel(logging.INFO)

app = create_app()
handler = Mangum(app, lifespan="off")
