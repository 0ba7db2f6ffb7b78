"""One botocore session (infra/aws.py) and one DynamoDB client per process, shared by every model and transaction.

PynamoDB gives each ``Connection`` its own botocore session, and a new session parses the
DynamoDB service description again (about 0.1 s of JSON) before its first request. With a
table per model and a connection per transaction that cost would be paid on every Lambda
invocation. Botocore clients are thread-safe, so one per (region, endpoint) serves all.
"""

from __future__ import annotations

import botocore.session
from pynamodb.connection import Connection
from pynamodb.models import Model

from infra.aws import lock as _lock
from infra.aws import shared_session

_clients: dict[tuple[str, str | None], object] = {}


class SharedConnection(Connection):
    """A PynamoDB connection that reuses the process-wide session and client."""

    @property
    def session(self) -> botocore.session.Session:
        return shared_session()

    @property
    def client(self):
        key = (self.region, self.host)
        client = _clients.get(key)
        # The same guard PynamoDB applies: a client that was built without credentials is rebuilt.
        if client is None or (client._request_signer and not client._request_signer._credentials):
            self._client = None
            with _lock:
                client = Connection.client.fget(self)
                _clients[key] = client
        return client


def attach(model: type[Model]) -> None:
    """Give a configured model a table connection that uses the shared client."""
    model._connection = None
    table_connection = model._get_connection()
    shared = SharedConnection(region=model.Meta.region, host=model.Meta.host)
    shared._tables = table_connection.connection._tables
    table_connection.connection = shared


def connection(region: str, host: str | None) -> Connection:
    """A connection for transactions, on the shared client."""
    return SharedConnection(region=region, host=host)
