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
        os.environ.setdefault("KMS_ENDPOINT", os.environ["DYNAMODB_ENDPOINT"])  # and KMS (the credential store's key)
        print(f"Embedded DynamoDB (moto) on {os.environ['DYNAMODB_ENDPOINT']}")

    from infra.bootstrap import utc_now
    from infra.devtokens import demo_tokens
    from infra.demo import seed, seed_credentials, seed_invoices, seed_service_desk
    from infra.dynamo.models import create_tables
    from infra.dynamo.unit_of_work import DynamoUnitOfWork
    from infra.settings import get_settings
    from domain.organisations import OrganisationKind

    settings = get_settings()
    create_tables(settings)
    if settings.s3_endpoint:
        from infra.storage import create_bucket

        create_bucket(settings)
    if settings.kms_endpoint:
        from infra.secrets import create_credentials_key

        create_credentials_key(settings)
    elif not settings.aws_kms_without_endpoint:
        print("No KMS_ENDPOINT: the credential store refuses to record or reveal credentials (it would call AWS KMS with your "
              "AWS credentials). Set KMS_ENDPOINT to a local KMS to use it.")
    uow = DynamoUnitOfWork(settings)
    if not uow.organisations.list_by_kind(OrganisationKind.DISTRIBUTOR, limit=1, cursor=None).items:
        data = seed(uow, utc_now(), partner_programme=True)
        seed_service_desk(uow, data, utc_now())
        seed_invoices(lambda: DynamoUnitOfWork(settings), data, utc_now())
        if settings.kms_endpoint:  # a DynamoDB of your own without KMS_ENDPOINT: no demo credential (it would need AWS KMS)
            from infra.secrets import KmsSecretCipher

            seed_credentials(uow, KmsSecretCipher(settings), data, utc_now())
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
