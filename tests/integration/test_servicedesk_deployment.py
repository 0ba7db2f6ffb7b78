"""serverless.yml wires the service desk as the code expects: the inbound e-mail function on S3 puts under
inbound/ of the documents bucket, the maintenance job on a daily schedule, each with least privilege."""

from __future__ import annotations

from tests.integration.test_deployment import config, load_serverless_config  # noqa: F401


def _resources(statements, action_prefix):
    found = []
    for statement in statements:
        if any(a.startswith(action_prefix) for a in statement["Action"]):
            resources = statement["Resource"]
            found += resources if isinstance(resources, list) else [resources]
    return found


def test_ingest_email_runs_on_objects_created_under_inbound_in_the_documents_bucket(config):
    (event,) = config["functions"]["ingestEmail"]["events"]
    assert event["s3"] == {"bucket": {"Ref": "DocumentsBucket"}, "event": "s3:ObjectCreated:*", "rules": [{"prefix": "inbound/"}], "existing": True}


def test_ingest_email_reads_raw_mail_and_writes_attachments_only(config):
    statements = config["functions"]["ingestEmail"]["iamRoleStatements"]
    s3 = {tuple(s["Action"]): s["Resource"] for s in statements if s["Action"][0].startswith("s3:")}
    assert s3 == {
        ("s3:GetObject",): {"Fn::Join": ["", [{"Fn::GetAtt": ["DocumentsBucket", "Arn"]}, "/inbound/*"]]},
        ("s3:PutObject",): {"Fn::Join": ["", [{"Fn::GetAtt": ["DocumentsBucket", "Arn"]}, "/tickets/*"]]},
    }
    tables = {r["Fn::GetAtt"][0] for r in _resources(statements, "dynamodb:") if "Fn::GetAtt" in r}
    assert tables == {"OrganisationsTable", "UsersTable", "UniquesTable", "TicketsTable", "InboundEmailsTable", "CountersTable"}


def test_the_maintenance_job_runs_daily_alone_and_touches_only_its_tables(config):
    function = config["functions"]["createMaintenanceTickets"]
    assert function["handler"] == "handler.create_maintenance_tickets"
    assert function["reservedConcurrency"] == 1
    assert function["events"] == [{"schedule": {"rate": "cron(0 4 * * ? *)"}}]
    statements = function["iamRoleStatements"]
    # DynamoDB, and SES for the new-ticket notices to the contacts chosen at onboarding; nothing else.
    assert {a.split(":")[0] for s in statements for a in s["Action"]} == {"dynamodb", "ses"}
    assert {a for s in statements for a in s["Action"] if a.startswith("ses:")} == {"ses:SendEmail", "ses:SendRawEmail"}
    granted = {repr(r) for r in _resources(statements, "dynamodb:")}
    assert not any("Users" in g or "Subscriptions" in g for g in granted)
    # What a run does (tests/integration/test_maintenance_job.py): reads existing tickets and the customers in batches.
    batch = {r["Fn::GetAtt"][0] for s in statements if "dynamodb:BatchGetItem" in s["Action"] for r in s["Resource"]}
    assert batch == {"TicketsTable", "OrganisationsTable"}


def test_the_quota_month_job_runs_daily_reads_its_index_and_ledgers_and_only_puts_entries_items_and_contracts(config):
    function = config["functions"]["bookQuotaMonths"]
    assert function["handler"] == "handler.book_quota_months"
    assert function["reservedConcurrency"] == 1
    assert function["events"] == [{"schedule": {"rate": "cron(30 0 * * ? *)"}}]  # daily: a missed run is caught up
    statements = function["iamRoleStatements"]
    queries = [s for s in statements if s["Action"] == ["dynamodb:Query"]]
    assert [r for s in queries for r in s["Resource"]] == [
        {"Fn::Join": ["/", [{"Fn::GetAtt": ["ContractsTable", "Arn"]}, "index/quota-index"]]},
        {"Fn::GetAtt": ["QuotaLedgerTable", "Arn"]},
    ]
    puts = [s for s in statements if s["Action"] == ["dynamodb:PutItem"]]
    assert {r["Fn::GetAtt"][0] for s in puts for r in s["Resource"]} == {"ContractsTable", "QuotaLedgerTable", "ServiceItemsTable"}
    assert {a for s in statements for a in s["Action"]} == {"dynamodb:Query", "dynamodb:PutItem"}


def test_the_flat_rate_job_runs_daily_reads_only_its_index_and_only_puts_items_and_contracts(config):
    function = config["functions"]["bookFlatRateMonths"]
    assert function["handler"] == "handler.book_flat_rate_months"
    assert function["reservedConcurrency"] == 1
    assert function["events"] == [{"schedule": {"rate": "cron(45 0 * * ? *)"}}]
    statements = function["iamRoleStatements"]
    queries = [s for s in statements if s["Action"] == ["dynamodb:Query"]]
    assert [r for s in queries for r in s["Resource"]] == [
        {"Fn::Join": ["/", [{"Fn::GetAtt": ["ContractsTable", "Arn"]}, "index/flat-rate-index"]]}
    ]
    puts = [s for s in statements if s["Action"] == ["dynamodb:PutItem"]]
    assert {r["Fn::GetAtt"][0] for s in puts for r in s["Resource"]} == {"ContractsTable", "ServiceItemsTable"}
    assert {a for s in statements for a in s["Action"]} == {"dynamodb:Query", "dynamodb:PutItem"}
