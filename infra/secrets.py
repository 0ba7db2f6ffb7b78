"""Customers' credentials encrypted with AWS KMS (the ``SecretCipher`` port of domain/ports.py).

Secrets are a few KB at most (domain.credentials.MAX_SECRET_BYTES), so KMS encrypts them directly (Encrypt/Decrypt, no
data keys); the ciphertext is stored base64-encoded. The encryption context binds it to its credential and customer:
a ciphertext copied to another item does not decrypt, and CloudTrail logs which credential each Decrypt was for.
The key (serverless.yml: CredentialsKey, rotated yearly by KMS) is usable by the API function alone.

Outside AWS Lambda without KMS_ENDPOINT (``make dev`` against a DynamoDB of your own) the cipher refuses before it makes
a client: it would call the real AWS KMS with the developer's credentials. ``make dev``'s embedded moto answers KMS;
the test suite (moto) sets KMS_USE_AWS_OUTSIDE_LAMBDA.
"""

from __future__ import annotations

import base64
import threading
from functools import cached_property

from infra.settings import Settings


class KmsSecretCipher:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()

    @cached_property
    def _client(self):  # created on first use, on the shared session (infra/aws.py): importing the handler makes none
        from infra.aws import boto3_client

        require_kms_here(self._settings)
        with self._lock:
            return boto3_client("kms", region_name=self._settings.region, endpoint_url=self._settings.kms_endpoint)

    @property
    def key_id(self) -> str:
        return self._settings.credentials_key_id

    def encrypt(self, plaintext: str, *, context: dict[str, str]) -> str:
        answer = self._client.encrypt(KeyId=self.key_id, Plaintext=plaintext.encode("utf-8"), EncryptionContext=dict(context))
        return base64.b64encode(answer["CiphertextBlob"]).decode("ascii")

    def decrypt(self, ciphertext: str, *, context: dict[str, str]) -> str:
        # KeyId given: KMS refuses a ciphertext of any other key instead of decrypting it with that one.
        answer = self._client.decrypt(
            CiphertextBlob=base64.b64decode(ciphertext), EncryptionContext=dict(context), KeyId=self.key_id,
        )
        return answer["Plaintext"].decode("utf-8")


def require_kms_here(settings: Settings) -> None:
    """Refuse (a typed error, before any AWS call) to use AWS KMS outside Lambda unless a local KMS is set or it is asked for."""
    if settings.kms_endpoint or settings.aws_kms_without_endpoint:
        return
    from domain.errors import PreconditionFailed

    raise PreconditionFailed(
        "The credential store has no KMS here: outside AWS Lambda it does not call AWS KMS with your own AWS credentials.",
        hint="Set KMS_ENDPOINT to a local KMS (make dev's embedded moto server answers KMS; run make dev without "
             "DYNAMODB_ENDPOINT, or set both).",
    )


def create_credentials_key(settings: Settings) -> str:
    """Locally and in tests: a rotated key behind the alias of ``settings.credentials_key_id`` (made once); its key id.
    In AWS serverless.yml creates the key."""
    from infra.aws import boto3_client

    client = boto3_client("kms", region_name=settings.region, endpoint_url=settings.kms_endpoint)
    alias = settings.credentials_key_id
    if not alias.startswith("alias/"):
        return alias
    for page in client.get_paginator("list_aliases").paginate():
        for found in page["Aliases"]:
            if found["AliasName"] == alias and found.get("TargetKeyId"):
                return found["TargetKeyId"]
    key_id = client.create_key(Description=f"Partnerhub {settings.stage}: customers' credentials")["KeyMetadata"]["KeyId"]
    client.enable_key_rotation(KeyId=key_id)
    client.create_alias(AliasName=alias, TargetKeyId=key_id)
    return key_id
