"""Settings from environment variables, read once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

DEV_JWT_SECRET = "partnerhub-local-dev-secret-not-for-production"
DEV_REFERRAL_SECRET = "partnerhub-local-referral-secret-not-for-production"


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    table_prefix: str
    dynamodb_endpoint: str | None
    jwt_issuer: str
    jwt_audience: str | None
    jwt_jwks_url: str | None
    jwt_dev_secret: str | None
    jwt_user_claim: str
    graphiql_enabled: bool
    mail_from: str
    email_backend: str  # "ses" or "memory"
    portal_url: str  # links in e-mails point here
    documents_bucket: str  # S3 bucket for PDFs, uploads and raw e-mails
    s3_endpoint: str | None  # a local S3 (the dev server's moto) instead of AWS
    # Partner programme: rates per tier (JSON, see domain.partner_programme.ProgrammeTerms; empty: defaults),
    # the payout threshold (EUR), the referral cookie's HMAC key and the distributor's account for SEPA payouts.
    partner_programme_terms: str | None = None
    payout_threshold: str = "50.00"
    referral_secret: str = ""
    payout_debtor_name: str = ""
    payout_debtor_iban: str = ""
    payout_debtor_bic: str = ""
    # The distributor's SEPA creditor identifier (Gläubiger-ID), printed on direct-debit invoices and in their debit files.
    sepa_creditor_id: str = ""
    invoice_number_prefix: str = "PH"  # invoice numbers PH-2026-000123
    invoice_online_months: int = 24  # invoices stay downloadable this long; older ones need an archive retrieval
    archive_hourly_rate: str = "60.00"  # EUR net per search hour beyond the first (in the EUR 100.00 base fee)
    # The KMS key customers' credentials are encrypted with (infra/secrets.py): its id in AWS (serverless.yml gives it to
    # the API only), locally and in tests an alias infra.secrets.create_credentials_key makes; a local KMS (moto) if set.
    credentials_key_id: str = ""
    kms_endpoint: str | None = None
    # Without kms_endpoint the cipher calls AWS KMS: in AWS Lambda, or where asked for (the test suite, under moto). Not on
    # a developer's machine running the API against a DynamoDB of its own: that would encrypt customers' secrets with
    # the developer's AWS credentials in whatever account they reach (infra/secrets.py refuses instead).
    aws_kms_without_endpoint: bool = False

    def table_name(self, aggregate: str) -> str:
        return f"{self.table_prefix}{aggregate}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    stage = os.environ.get("STAGE", "dev")
    local = stage in {"local", "test"}  # make dev and the test suite: sample secrets and accounts
    return Settings(
        stage=stage,
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-central-1",
        table_prefix=os.environ.get("TABLE_PREFIX", f"partnerhub-{stage}-"),
        dynamodb_endpoint=os.environ.get("DYNAMODB_ENDPOINT") or None,
        jwt_issuer=os.environ.get("JWT_ISSUER", "partnerhub-local"),
        jwt_audience=os.environ.get("JWT_AUDIENCE", "partnerhub") or None,
        jwt_jwks_url=os.environ.get("JWT_JWKS_URL") or None,
        jwt_dev_secret=os.environ.get("JWT_DEV_SECRET") or None,
        jwt_user_claim=os.environ.get("JWT_USER_CLAIM", "sub"),
        graphiql_enabled=_flag("GRAPHIQL_ENABLED"),
        mail_from=os.environ.get("MAIL_FROM", "no-reply@partnerhub.example"),
        email_backend=os.environ.get("EMAIL_BACKEND", "ses"),
        portal_url=os.environ.get("PORTAL_URL", "https://portal.partnerhub.example").rstrip("/"),
        documents_bucket=os.environ.get("DOCUMENTS_BUCKET", f"partnerhub-{stage}-documents"),
        s3_endpoint=os.environ.get("S3_ENDPOINT") or None,
        partner_programme_terms=os.environ.get("PARTNER_PROGRAMME_TERMS") or None,
        payout_threshold=os.environ.get("PAYOUT_THRESHOLD", "50.00"),
        # Deployed stages must set it; without one, referral links redirect without a cookie.
        referral_secret=os.environ.get("REFERRAL_SECRET") or (DEV_REFERRAL_SECRET if local else ""),
        # The distributor's account payouts are sent from; locally and in tests a sample account.
        payout_debtor_name=os.environ.get("PAYOUT_DEBTOR_NAME") or ("Cloud Distribution GmbH" if local else ""),
        payout_debtor_iban=os.environ.get("PAYOUT_DEBTOR_IBAN") or ("DE02120300000000202051" if local else ""),
        payout_debtor_bic=os.environ.get("PAYOUT_DEBTOR_BIC") or ("BYLADEM1001" if local else ""),
        sepa_creditor_id=os.environ.get("SEPA_CREDITOR_ID") or ("DE98ZZZ09999999999" if local else ""),
        invoice_number_prefix=os.environ.get("INVOICE_NUMBER_PREFIX", "PH"),
        invoice_online_months=int(os.environ.get("INVOICE_ONLINE_MONTHS", "24")),
        archive_hourly_rate=os.environ.get("ARCHIVE_HOURLY_RATE", "60.00"),
        credentials_key_id=os.environ.get("CREDENTIALS_KEY_ID") or f"alias/partnerhub-{stage}-credentials",
        kms_endpoint=os.environ.get("KMS_ENDPOINT") or None,
        aws_kms_without_endpoint=bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME")) or _flag("KMS_USE_AWS_OUTSIDE_LAMBDA"),
    )
