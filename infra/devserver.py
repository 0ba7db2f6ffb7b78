"""`make dev`: the API on 127.0.0.1:8000 over an embedded DynamoDB (moto's server), with demo data.

Set DYNAMODB_ENDPOINT to use a DynamoDB you run yourself instead of the embedded one.
"""

from __future__ import annotations

import os
import socket
import sys

from infra.settings import DEV_JWT_SECRET

API_HOST, API_PORT = "127.0.0.1", int(os.environ.get("PORT", "8000"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    os.environ.setdefault("JWT_DEV_SECRET", DEV_JWT_SECRET)
    os.environ.setdefault("GRAPHIQL_ENABLED", "true")
    os.environ.setdefault("EMAIL_BACKEND", "memory")
    os.environ.setdefault("STAGE", "local")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-central-1")

    if not os.environ.get("DYNAMODB_ENDPOINT"):
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per DynamoDB call drowns the API's

        port = free_port()
        ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False).start()
        os.environ["DYNAMODB_ENDPOINT"] = f"http://127.0.0.1:{port}"
        os.environ.setdefault("S3_ENDPOINT", os.environ["DYNAMODB_ENDPOINT"])  # the same moto server answers S3
        print(f"Embedded DynamoDB (moto) on {os.environ['DYNAMODB_ENDPOINT']}")

    from infra.bootstrap import utc_now
    from infra.devtokens import demo_tokens
    from infra.demo import seed
    from infra.dynamo.models import create_tables
    from infra.dynamo.unit_of_work import DynamoUnitOfWork
    from infra.settings import get_settings
    from domain.organisations import OrganisationKind

    settings = get_settings()
    create_tables(settings)
    if settings.s3_endpoint:
        from infra.storage import create_bucket

        create_bucket(settings)
    uow = DynamoUnitOfWork(settings)
    if not uow.organisations.list_by_kind(OrganisationKind.DISTRIBUTOR, limit=1, cursor=None).items:
        seed(uow, utc_now())
        print("Demo data loaded.")

    print("\nDev tokens: paste a line into GraphiQL's Headers tab (or send it as an HTTP header):\n")
    for line in demo_tokens(settings):
        print(line)
    print(f"\nGraphiQL: http://{API_HOST}:{API_PORT}/graphql\n")
    sys.stdout.flush()

    import uvicorn

    uvicorn.run("handler:app", host=API_HOST, port=API_PORT, log_level="info")


if __name__ == "__main__":
    main()
