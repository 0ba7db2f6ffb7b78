"""Each Lambda's role (serverless.yml, `iamRoleStatements`) allows every AWS request its run makes.

moto enforces no IAM: a job whose code starts reading another table, writing another S3 prefix or sending e-mail
passes every other test and fails with AccessDenied in AWS. Here every function but the API (which may use every
table: test_deployment.py) runs a representative scenario through its entry point in handler.py, called as
EventBridge or S3 would call it, with SES and S3 behind the services as in AWS. Every request it attempts is
recorded (tests/request_counter.py) and turned into the (action, resource) IAM checks for it:

* DynamoDB: the table ARN, or the index ARN of a Query on an index (a granted `index/*` covers it); BatchGetItem per
  table; TransactWriteItems per item as PutItem, UpdateItem, DeleteItem or ConditionCheckItem on its table.
* S3: the object ARN (bucket/key) with s3:GetObject (also for HeadObject) or s3:PutObject.
* SES: ses:SendEmail / ses:SendRawEmail on the sender's identity, with ses:FromAddress for the statement's condition.

The role's statements are read from serverless.yml and their CloudFormation expressions resolved to the ARNs of this
test environment (the same table names, bucket and sender the code uses), then matched as IAM matches them
(`*` and `?` wildcards; actions case-insensitive). A missing grant fails the function's test with the list of what
is not allowed and which request needed it.
"""

from __future__ import annotations

import copy
import email
import email.utils
import importlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

import pytest

from tests.integration.billing_world import build_world
from tests.integration.test_deployment import load_serverless_config
from tests.integration.test_flat_rate_month_job import contracts  # noqa: F401  (fixture)
from tests.integration.test_inbound_email import add_status_contact, raw, reply, s3_event, set_status
from tests.integration.test_maintenance_job import schedules  # noqa: F401  (fixture)
from tests.integration.test_partner_programme_store import N as DUE_COMMISSIONS
from tests.integration.test_partner_programme_store import due, world  # noqa: F401  (fixtures)
from tests.integration.test_quota_month_job import quota, work  # noqa: F401  (fixture)
from tests.integration.test_renewal_job import book  # noqa: F401  (fixture)
from tests.request_counter import count_requests

API_FUNCTION = "api"
ACCOUNT_ID = "123456789012"  # moto's default account
PARTITION = "aws"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def scheduled_event(time: str) -> dict:
    """What EventBridge passes to a scheduled Lambda."""
    return {
        "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": ACCOUNT_ID, "time": time, "region": "eu-central-1",
        "resources": [f"arn:aws:events:eu-central-1:{ACCOUNT_ID}:rule/partnerhub-test-job"], "detail": {},
    }


# --- what a role allows ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Need:
    """One IAM authorisation a request needs."""

    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()  # condition keys of the request
    request: str = field(default="", compare=False)  # what asked for it, for the failure message

    def __str__(self) -> str:
        context = "".join(f" [{key}={value}]" for key, value in self.context)
        return f"{self.action} on {self.resource}{context}  (needed by {self.request})"


class Environment:
    """Resolves serverless.yml's CloudFormation expressions to the ARNs of this test environment."""

    def __init__(self, config: dict[str, Any], settings) -> None:
        self.config = config
        self.settings = settings
        self.region = settings.region
        self.resources = config["resources"]["Resources"]
        self.variables = {"${sls:stage}": settings.stage, **{f"${{param:{k}}}": str(v) for k, v in config["params"]["default"].items()}}

    def text(self, value: str) -> str:
        for variable, replacement in self.variables.items():
            value = value.replace(variable, replacement)
        if "${" in value:
            raise ValueError(f"cannot resolve {value!r}")
        return value

    def table_arn(self, table_name: str) -> str:
        return f"arn:{PARTITION}:dynamodb:{self.region}:{ACCOUNT_ID}:table/{table_name}"

    def bucket_arn(self, bucket: str) -> str:
        return f"arn:{PARTITION}:s3:::{bucket}"

    def identity_arn(self, identity: str) -> str:
        return f"arn:{PARTITION}:ses:{self.region}:{ACCOUNT_ID}:identity/{identity}"

    def resolve(self, value: Any) -> str:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict) and len(value) == 1:
            ((function, argument),) = value.items()
            if function == "Fn::Join":
                delimiter, parts = argument
                return delimiter.join(self.resolve(part) for part in parts)
            if function == "Ref":
                pseudo = {"AWS::Partition": PARTITION, "AWS::Region": self.region, "AWS::AccountId": ACCOUNT_ID}
                if argument in pseudo:
                    return pseudo[argument]
            if function == "Fn::GetAtt" and argument[1] == "Arn":
                resource = self.resources[argument[0]]
                if resource["Type"] == "AWS::DynamoDB::Table":
                    return self.table_arn(self.text(resource["Properties"]["TableName"]))
                if argument[0] == "DocumentsBucket":  # the provider's DOCUMENTS_BUCKET (Ref) is the code's bucket
                    return self.bucket_arn(self.settings.documents_bucket)
                if resource["Type"] == "AWS::SQS::Queue":  # the code never sends to it (Lambda does): any ARN of the stack's own
                    return f"arn:{PARTITION}:sqs:{self.region}:{ACCOUNT_ID}:{argument[0]}"
        raise ValueError(f"cannot resolve {value!r}")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _wildcard(pattern: str, *, ignore_case: bool = False) -> re.Pattern:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


@dataclass
class Statement:
    effect: str
    actions: list[str]
    resources: list[str]
    conditions: dict[str, dict[str, list[str]]]

    def applies_to(self, need: Need) -> bool:
        return (
            any(_wildcard(a, ignore_case=True).fullmatch(need.action) for a in self.actions)
            and any(_wildcard(r).fullmatch(need.resource) for r in self.resources)
            and self._conditions_hold(dict(need.context))
        )

    def _conditions_hold(self, context: dict[str, str]) -> bool:
        for operator, keys in self.conditions.items():
            for key, expected in keys.items():
                if key not in context:
                    return False
                actual = context[key]
                if operator == "StringEquals":
                    if actual not in expected:
                        return False
                elif operator == "StringLike":
                    if not any(_wildcard(e).fullmatch(actual) for e in expected):
                        return False
                else:
                    raise ValueError(f"condition operator {operator} is not evaluated here")
        return True


def role_statements(config: dict[str, Any], function: str, environment: Environment) -> list[Statement]:
    statements = []
    for raw_statement in config["functions"][function]["iamRoleStatements"]:
        unsupported = set(raw_statement) - {"Effect", "Action", "Resource", "Condition", "Sid"}
        assert not unsupported, f"{function}: statement keys {unsupported} are not evaluated here"
        statements.append(Statement(
            effect=raw_statement["Effect"],
            actions=_as_list(raw_statement["Action"]),
            resources=[environment.resolve(r) for r in _as_list(raw_statement["Resource"])],
            conditions={
                operator: {key: [environment.resolve(v) for v in _as_list(values)] for key, values in keys.items()}
                for operator, keys in (raw_statement.get("Condition") or {}).items()
            },
        ))
    return statements


def allowed(statements: list[Statement], need: Need) -> bool:
    matching = [s for s in statements if s.applies_to(need)]
    return any(s.effect == "Allow" for s in matching) and not any(s.effect == "Deny" for s in matching)


# --- what a run needs --------------------------------------------------------------------------------------------

_TRANSACT_WRITE_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}
_S3_OBJECT_ACTIONS = {"GetObject": "GetObject", "HeadObject": "GetObject", "PutObject": "PutObject", "DeleteObject": "DeleteObject"}


def _dynamodb_needs(operation: str, params: dict, environment: Environment) -> list[Need]:
    def table(name: str, index: str | None = None) -> str:
        return environment.table_arn(name) + (f"/index/{index}" if index else "")

    def need(action: str, resource: str, what: str) -> Need:
        return Need(f"dynamodb:{action}", resource, request=f"{operation} {what}")

    if operation == "BatchGetItem":
        return [need("BatchGetItem", table(name), name) for name in params["RequestItems"]]
    if operation == "BatchWriteItem":
        return [need("BatchWriteItem", table(name), name) for name in params["RequestItems"]]
    if operation == "TransactWriteItems":
        needs = []
        for item in params["TransactItems"]:
            ((kind, body),) = item.items()
            needs.append(need(_TRANSACT_WRITE_ACTIONS[kind], table(body["TableName"]), f"{kind} {body['TableName']}"))
        return needs
    if operation == "TransactGetItems":
        return [need("GetItem", table(item["Get"]["TableName"]), item["Get"]["TableName"]) for item in params["TransactItems"]]
    if "TableName" in params:
        index = params.get("IndexName")
        return [need(operation, table(params["TableName"], index), params["TableName"] + (f" index {index}" if index else ""))]
    return [need(operation, "*", "")]


def _sender(operation: str, params: dict) -> str:
    source = params.get("Source")
    if not source and operation == "SendRawEmail":
        source = email.message_from_bytes(params["RawMessage"]["Data"]).get("From", "")
    return email.utils.parseaddr(source or "")[1]


def needs_of(attempts: list[tuple[str, str, dict]], environment: Environment) -> list[Need]:
    needs: list[Need] = []
    for service, operation, params in attempts:
        if service == "dynamodb":
            needs += _dynamodb_needs(operation, params, environment)
        elif service == "s3" and operation in _S3_OBJECT_ACTIONS:
            bucket, key = params["Bucket"], params["Key"]
            needs.append(Need(f"s3:{_S3_OBJECT_ACTIONS[operation]}", f"{environment.bucket_arn(bucket)}/{key}", request=f"{operation} {key}"))
        elif service in {"ses", "email"} and operation in {"SendEmail", "SendRawEmail"}:
            sender = _sender(operation, params)
            needs.append(Need(f"ses:{operation}", environment.identity_arn(sender), (("ses:FromAddress", sender),), request=f"{operation} from {sender}"))
        else:  # nothing the code does today: it needs a grant of its own, and this mapping a case
            needs.append(Need(f"{service}:{operation}", "*", request=f"{service} {operation} {sorted(params)}"))
    return needs


def missing_grants(config: dict[str, Any], function: str, attempts, environment: Environment) -> list[Need]:
    """What the role does not allow, once per (action, resource), with every kind of request that needed it."""
    statements = role_statements(config, function, environment)
    missing: dict[tuple, list[str]] = {}
    for need in needs_of(attempts, environment):
        if not allowed(statements, need):
            requests = missing.setdefault((need.action, need.resource, need.context), [])
            if need.request not in requests:
                requests.append(need.request)
    return sorted((Need(*key, request="; ".join(requests)) for key, requests in missing.items()), key=lambda n: (n.action, n.resource))


# --- running a function as AWS runs it ---------------------------------------------------------------------------


class Lambdas:
    """Calls a function's entry point (the `handler` of serverless.yml) with the services it has in AWS: SES for e-mail,
    S3 for documents; records every AWS request of the call, per function."""

    def __init__(self, config, services) -> None:
        self.config = config
        self.services = services
        self.attempts: dict[str, list[tuple[str, str, dict]]] = defaultdict(list)

    def invoke(self, function: str, event: dict, *, at: datetime) -> dict:
        module_name, _, attribute = self.config["functions"][function]["handler"].rpartition(".")
        entry_point = getattr(importlib.import_module(module_name), attribute)
        self.services.clock = lambda: at  # the Lambda runs when its trigger fires
        with count_requests() as count:
            result = entry_point(event, None)
        self.attempts[function] += count.attempts
        return result

    def assert_role_allows_what_it_did(self, function: str) -> None:
        attempts = self.attempts[function]
        assert attempts, f"{function} made no AWS request: the scenario exercises nothing"
        environment = Environment(self.config, self.services.settings)
        missing = missing_grants(self.config, function, attempts, environment)
        report = "\n".join(f"  {need}" for need in missing)
        if missing:
            print(f"\n{function}: its role in serverless.yml does not allow\n{report}")
        assert not missing, f"{function}: the role in serverless.yml does not allow\n{report}"


@pytest.fixture
def config() -> dict[str, Any]:
    return load_serverless_config()


@pytest.fixture
def lambdas(aws, config, monkeypatch) -> Lambdas:
    import boto3

    import handler
    from infra.bootstrap import build_services
    from infra.email import SesMailer
    from infra.settings import get_settings

    settings = get_settings()
    # The sender the statement's condition names is the one the code sends as (MAIL_FROM: ${param:mailFrom}).
    deployed_sender = Environment(config, settings).text(config["provider"]["environment"]["MAIL_FROM"])
    assert settings.mail_from == deployed_sender
    boto3.client("ses", region_name=settings.region).verify_email_identity(EmailAddress=settings.mail_from)
    services = build_services(settings, mailer=SesMailer(settings), clock=lambda: utc("2000-01-01T00:00:00Z"))
    monkeypatch.setattr(handler, "_services", lambda: services)
    return Lambdas(config, services)


def sent_mails(lambdas: Lambdas) -> list[tuple[str, str]]:
    """(recipients, subject) of each e-mail the functions sent through SES."""
    found = []
    for attempts in lambdas.attempts.values():
        for service, operation, params in attempts:
            if service in {"ses", "email"} and operation == "SendEmail":
                found.append((",".join(params["Destination"]["ToAddresses"]), params["Message"]["Subject"]["Data"]))
            elif service in {"ses", "email"} and operation == "SendRawEmail":
                message = email.message_from_bytes(params["RawMessage"]["Data"])
                found.append((message["To"], message["Subject"]))
    return found


# --- the check itself --------------------------------------------------------------------------------------------

JOB_SCENARIOS = {
    "renewSubscriptions", "runBilling", "bookQuotaMonths", "bookFlatRateMonths", "createMaintenanceTickets", "approveCommissions",
    "ingestEmail", "billSaasSubscriptions",
}


def test_every_function_but_the_api_has_a_scenario_here(config):
    assert set(config["functions"]) - {API_FUNCTION} == JOB_SCENARIOS


CHARGES_INDEXES = {"Fn::Join": ["/", [{"Fn::GetAtt": ["ChargesTable", "Arn"]}, "index/*"]]}


def test_a_grant_taken_away_is_reported_with_the_request_that_needs_it(config):
    """The check is not vacuous: without the billing role's Query on the charges' indexes, the run's Query is refused."""
    from infra.settings import get_settings

    settings = get_settings()
    environment = Environment(config, settings)
    charges = settings.table_name("charges")
    attempts = [
        ("dynamodb", "Query", {"TableName": charges, "IndexName": "unbilled-index"}),
        ("s3", "PutObject", {"Bucket": settings.documents_bucket, "Key": "invoices/dst_1/2024/PH-2024-000001.pdf"}),
        ("ses", "SendRawEmail", {"Source": settings.mail_from, "RawMessage": {"Data": b"From: x\r\n\r\n"}}),
    ]
    assert missing_grants(config, "runBilling", attempts, environment) == []

    crippled = copy.deepcopy(config)
    for statement in crippled["functions"]["runBilling"]["iamRoleStatements"]:
        statement["Resource"] = [r for r in _as_list(statement["Resource"]) if repr(r) != repr(CHARGES_INDEXES)]
    assert [(n.action, n.resource, n.request) for n in missing_grants(crippled, "runBilling", attempts, environment)] == [
        ("dynamodb:Query", environment.table_arn(charges) + "/index/unbilled-index", f"Query {charges} index unbilled-index"),
    ]
    # Another prefix or another sender is not covered by the grants either.
    elsewhere = [("s3", "PutObject", {"Bucket": settings.documents_bucket, "Key": "inbound/x.eml"}),
                 ("ses", "SendEmail", {"Source": "someone@else.example"})]
    assert [n.action for n in missing_grants(config, "runBilling", elsewhere, environment)] == ["s3:PutObject", "ses:SendEmail"]


def test_renewing_subscriptions(lambdas, book):
    # 2023-02-15: the monthly cycles of the annual terms bought on 2023-01-15 (their February charges).
    cycles = lambdas.invoke("renewSubscriptions", scheduled_event("2023-02-15T22:30:00Z"), at=utc("2023-02-15T22:30:00Z"))
    # 2024-01-15: annual terms renewed at the new price, one without auto-renewal expires, a monthly term renewed.
    renewals = lambdas.invoke("renewSubscriptions", scheduled_event("2024-01-15T22:30:00Z"), at=utc("2024-01-15T22:30:00Z"))
    assert cycles["cycles_charged"] == 2 and (renewals["renewed"], renewals["expired"]) == (2, 1)
    lambdas.assert_role_allows_what_it_did("renewSubscriptions")


@pytest.fixture
def billing_world(aws):
    return build_world()


def test_running_billing(lambdas, billing_world):
    """Charges and service items; a customer-pays invoice with cashback (Kanzlei through NordIT) and partner-pays ones
    (NordIT for Hanse, SüdCloud for Alpen); both partners enrolled in the programme, SüdCloud referred Kanzlei and earns
    a commission once the invoice is paid; then Kanzlei switches to partner pays and cancels: the next run credits the
    billed seats (a credit note noted on the invoice it corrects) and reduces the commission and the cashback."""
    from domain.commissions import CommissionKind
    from domain.invoices import InvoiceKind
    from domain.organisations import BillingMode
    from domain.services import subscriptions as subs
    from domain.subscriptions import CancelSubscription
    from infra.demo import enrol_demo_partner
    from infra.dynamo.unit_of_work import DynamoUnitOfWork
    from tests.integration.test_billing_run import pay, referred_by_suedcloud, switch

    w = billing_world
    enrol_demo_partner(DynamoUnitOfWork(), w.documents, w.ops, w.partner("nordit"), now=utc("2024-01-02T09:00:00Z"))
    referred_by_suedcloud(w, "kanzlei")  # enrols SüdCloud too
    w.make_csp_ready("kanzlei")
    kanzlei_subscription = w.order("kanzlei", "2024-01-15T10:00:00")
    w.order("hanse", "2024-01-15T10:00:00")
    w.add_service_item("hanse", "sr-1", "120.00", date(2024, 1, 15), partner="nordit")
    w.add_service_item("alpen", "sr-2", "45.50", date(2024, 1, 14), partner="suedcloud")
    w.add_service_item("direkt", "sr-3", "99.99", date(2024, 1, 15))

    first = lambdas.invoke("runBilling", scheduled_event("2024-01-15T22:30:00Z"), at=utc("2024-01-15T22:30:00Z"))
    assert (first["invoices_issued"], first["charges_billed"], first["service_items_billed"], first["delivered"]) == (4, 2, 3, 4)
    (kanzlei_invoice,) = w.invoices_of("kanzlei")
    assert DynamoUnitOfWork().cashbacks.get(kanzlei_invoice.id) is not None
    pay(w, kanzlei_invoice, date(2024, 1, 16))  # SüdCloud's referral commission
    switch(w, "kanzlei", "kanzlei_office", BillingMode.PARTNER_PAYS, "2024-01-16T09:00:00")
    subs.change_subscription(DynamoUnitOfWork(), w.sales, kanzlei_subscription, CancelSubscription(), now=utc("2024-01-17T09:00:00Z"))

    second = lambdas.invoke("runBilling", scheduled_event("2024-01-17T22:30:00Z"), at=utc("2024-01-17T22:30:00Z"))
    assert (second["invoices_issued"], second["delivered"]) == (1, 1)
    _, note = w.invoices_of("kanzlei")
    assert note.kind is InvoiceKind.CREDIT_NOTE and note.corrects_invoice_id == kanzlei_invoice.id
    ledger = DynamoUnitOfWork().commissions.list_for_invoice(kanzlei_invoice.id)
    assert {e.kind for e in ledger if note.id in e.credit_references} == {CommissionKind.COMMISSION, CommissionKind.CASHBACK}
    assert len(sent_mails(lambdas)) == 5
    lambdas.assert_role_allows_what_it_did("runBilling")


def test_booking_quota_months(lambdas, services, demo, quota):
    """Hanse's 10 h a month: credited on 1 January and 1 February; overdrawn in February, corrected (invoiced) on 1 March."""
    ops, _ = quota
    lambdas.invoke("bookQuotaMonths", scheduled_event("2026-01-01T00:30:00Z"), at=utc("2026-01-01T00:30:00Z"))
    work(services, demo, ops, minutes=420, day=date(2026, 1, 20))
    lambdas.invoke("bookQuotaMonths", scheduled_event("2026-02-01T00:30:00Z"), at=utc("2026-02-01T00:30:00Z"))
    work(services, demo, ops, minutes=900, day=date(2026, 2, 25))
    march = lambdas.invoke("bookQuotaMonths", scheduled_event("2026-03-01T00:30:00Z"), at=utc("2026-03-01T00:30:00Z"))
    assert (march["credits"], march["corrections"]) == (1, 1)
    lambdas.assert_role_allows_what_it_did("bookQuotaMonths")


def test_booking_flat_rate_months(lambdas, contracts):  # noqa: F811
    """Direkt's hosting from 2026-11-16 (its November booked by hand already), Kanzlei's rental until 2027-01-31: the
    months as they fall due, a missed run caught up, the ended rental taken off the index."""
    from domain.contracts import flat_rate_item
    from infra.dynamo.unit_of_work import DynamoUnitOfWork

    hosting, _, _ = contracts
    uow = DynamoUnitOfWork()
    with uow:
        uow.service_items.add(flat_rate_item(hosting, "2026-11"), bill_date=date(2026, 11, 16))
        uow.commit()
    november = lambdas.invoke("bookFlatRateMonths", scheduled_event("2026-11-15T23:45:00Z"), at=utc("2026-11-15T23:45:00Z"))
    december = lambdas.invoke("bookFlatRateMonths", scheduled_event("2026-11-30T23:45:00Z"), at=utc("2026-11-30T23:45:00Z"))
    caught_up = lambdas.invoke("bookFlatRateMonths", scheduled_event("2027-02-02T23:45:00Z"), at=utc("2027-02-02T23:45:00Z"))
    assert (november["months_booked"], november["existing"]) == (1, 1)
    assert (december["months_booked"], caught_up["months_booked"]) == (2, 3)  # January and February, the rental's January
    lambdas.assert_role_allows_what_it_did("bookFlatRateMonths")


def test_billing_saas_subscriptions(lambdas, billing_world):
    """NordIT's e-mail signatures for two companies (created 2024-01-15 and 2024-01-31) and one deactivated: each
    month on its payment date, a missed run caught up month by month, a re-run charging nothing."""
    from domain.services import subscriptions as subs
    from infra.dynamo.unit_of_work import DynamoUnitOfWork

    w = billing_world

    def create(company: str, at: str) -> str:
        command = subs.NewSaasSubscription("prd_signatures_m365", company, 10)
        return subs.create_saas_subscription(DynamoUnitOfWork(), w.mailer, w.sales, command, now=utc(at)).id

    create("Hafenbar KG", "2024-01-15T10:00:00Z")
    create("Fischmarkt OHG", "2024-01-31T10:00:00Z")
    subs.change_saas_subscription(DynamoUnitOfWork(), w.sales, create("Ruhend AG", "2024-01-02T10:00:00Z"), subs.DeactivateSaas(),
                                  now=utc("2024-01-03T10:00:00Z"))
    february = lambdas.invoke("billSaasSubscriptions", scheduled_event("2024-02-15T01:00:00Z"), at=utc("2024-02-15T01:00:00Z"))
    caught_up = lambdas.invoke("billSaasSubscriptions", scheduled_event("2024-04-01T01:00:00Z"), at=utc("2024-04-01T01:00:00Z"))
    again = lambdas.invoke("billSaasSubscriptions", scheduled_event("2024-04-01T01:30:00Z"), at=utc("2024-04-01T01:30:00Z"))
    assert (february["months_charged"], caught_up["months_charged"], again["months_charged"]) == (1, 1 + 2, 0)  # 03-15; 02-29, 03-31
    lambdas.assert_role_allows_what_it_did("billSaasSubscriptions")


def test_creating_maintenance_tickets(lambdas, schedules):  # noqa: F811
    """Four monthly schedules due 2023-07-01, one of whose tickets a crashed run wrote already; a month missed, caught up."""
    from domain.services.maintenance import maintenance_ticket
    from infra.dynamo.unit_of_work import DynamoUnitOfWork

    uow = DynamoUnitOfWork()
    with uow:
        uow.tickets.add(maintenance_ticket(schedules[0][0], date(2023, 7, 1), number="T-000099", distributor="dst_x", now=utc("2023-06-28T04:00:00Z")))
        uow.commit()
    first = lambdas.invoke("createMaintenanceTickets", scheduled_event("2023-06-28T04:00:00Z"), at=utc("2023-06-28T04:00:00Z"))
    late = lambdas.invoke("createMaintenanceTickets", scheduled_event("2023-08-29T04:00:00Z"), at=utc("2023-08-29T04:00:00Z"))
    assert (first["created"], first["existing"], late["created"]) == (3, 1, 4 + 4 + 1)  # August, September; the quarterly one
    assert len(sent_mails(lambdas)) == 3 + 9  # the new-ticket notices to it@hanse.example
    lambdas.assert_role_allows_what_it_did("createMaintenanceTickets")


def test_approving_commissions(lambdas, due):  # noqa: F811
    summary = lambdas.invoke("approveCommissions", scheduled_event("2024-05-10T03:00:00Z"), at=utc("2024-05-10T03:00:00Z"))
    assert summary["approved"] == DUE_COMMISSIONS
    lambdas.assert_role_allows_what_it_did("approveCommissions")


def test_ingesting_email(lambdas, services, demo):
    """A new ticket with a screenshot (stored under tickets/), the same message under another key, a reply that becomes
    a comment, a reply by an onboarding contact without login, an unknown sender's mail recorded for triage, a Word
    attachment refused, an automatic reply, a reply to a closed ticket that opens a new one."""
    from domain.tickets import TicketStatus

    add_status_contact(services, demo.customers["hanse"].id, "chef@hanse.example")
    bucket = services.settings.documents_bucket

    def deliver(key: str, data: bytes) -> dict:
        services.documents.put(key, data, "message/rfc822")  # what the SES receipt rule does
        (outcome,) = lambdas.invoke("ingestEmail", s3_event(bucket, key), at=utc("2026-11-23T08:12:40Z"))["outcomes"]
        return outcome

    created = deliver("inbound/a.eml", raw("multipart_screenshot.eml"))
    assert created["outcome"] == "TICKET_CREATED" and services.uow().tickets.get(created["ticketId"]).attachments
    assert deliver("inbound/a-again.eml", raw("multipart_screenshot.eml"))["outcome"] == "DUPLICATE"
    set_status(services, created["ticketId"], TicketStatus.WAITING_FOR_CUSTOMER)
    assert deliver("inbound/b.eml", raw("reply_with_ticket_number.eml"))["outcome"] == "COMMENT_ADDED"
    contact = reply("chef@hanse.example", "AW: [#T-000001] Drucker", "Bitte heute noch erledigen!", "chef-1@hanse.example")
    assert deliver("inbound/c.eml", contact)["outcome"] == "COMMENT_ADDED"
    assert deliver("inbound/d.eml", raw("unknown_sender.eml"))["outcome"] == "UNKNOWN_SENDER"
    assert services.uow().inbound_emails.list_awaiting_triage(limit=10, cursor=None).items
    assert deliver("inbound/e.eml", raw("word_attachment.eml"))["outcome"] == "TICKET_CREATED"
    automatic = reply("it@hanse.example", "AW: [#T-000001] Drucker", "Abwesend", "ooo-1@hanse.example").replace(
        b"MIME-Version", b"Auto-Submitted: auto-replied\r\nMIME-Version")
    assert deliver("inbound/f.eml", automatic)["outcome"] == "COMMENT_ADDED"
    set_status(services, created["ticketId"], TicketStatus.RESOLVED)
    set_status(services, created["ticketId"], TicketStatus.CLOSED)
    reopened = reply("it@hanse.example", "AW: [#T-000001] Drucker", "Schon wieder.", "it-9@hanse.example")
    assert deliver("inbound/g.eml", reopened)["outcome"] == "TICKET_CREATED"
    assert sent_mails(lambdas)  # receipts and notices through SES
    lambdas.assert_role_allows_what_it_did("ingestEmail")
