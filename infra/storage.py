"""Documents in S3: invoice and report PDFs, uploaded files, raw inbound e-mails.

The bucket is private; readers get short-lived presigned URLs and browsers upload through
presigned POST forms whose policy pins the key, the content type and the size range, so
S3 itself refuses anything else.
"""

from __future__ import annotations

import threading
from functools import cached_property

from domain.ports import PresignedUpload
from infra.settings import Settings


class S3DocumentStore:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()

    @cached_property
    def _client(self):  # created on first use, on the shared session (infra/aws.py): no request pays for it twice
        from botocore.config import Config

        from infra.aws import boto3_client

        with self._lock:
            return boto3_client(
                "s3",
                region_name=self._settings.region,
                endpoint_url=self._settings.s3_endpoint,
                # Virtual-host addressing needs DNS for the bucket name, which a local endpoint lacks.
                config=Config(signature_version="s3v4", s3={"addressing_style": "path" if self._settings.s3_endpoint else "auto"}),
            )

    @property
    def bucket(self) -> str:
        return self._settings.documents_bucket

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self._client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type, ServerSideEncryption="AES256")

    def get(self, key: str) -> bytes:
        return self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def download_url(self, key: str, *, filename: str, expires_in_seconds: int = 300) -> str:
        safe_name = "".join(c for c in filename if c.isalnum() or c in "-_.") or "document"
        return self._client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": key, "ResponseContentDisposition": f'attachment; filename="{safe_name}"'},
            ExpiresIn=expires_in_seconds,
        )

    def upload_form(self, key: str, *, content_type: str, max_bytes: int, expires_in_seconds: int = 900) -> PresignedUpload:
        post = self._client.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=expires_in_seconds,
        )
        return PresignedUpload(url=post["url"], fields=dict(post["fields"]), key=key, expires_in_seconds=expires_in_seconds)


def create_bucket(settings: Settings) -> None:
    """Create the documents bucket locally and in tests (in AWS, serverless.yml creates it)."""
    from infra.aws import boto3_client

    client = boto3_client("s3", region_name=settings.region, endpoint_url=settings.s3_endpoint)
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if settings.documents_bucket not in existing:
        client.create_bucket(Bucket=settings.documents_bucket, CreateBucketConfiguration={"LocationConstraint": settings.region})
