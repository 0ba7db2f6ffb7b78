"""Resolvers of the partner programme: applications, tiers, bank details, referrals, commissions, payouts."""

from datetime import date

import strawberry

from domain.calendar import berlin_date
from domain.commissions import shows_invoice_of
from domain.errors import Forbidden
from domain.money import Money as DomainMoney
from domain.organisations import CustomerOnboarding
from domain.partner_programme import ApplicationStatus, TierRates, can_decide_application
from domain.services.organisations import NewCustomer
from domain.services import commissions as ledger
from domain.services import partner_programme as service
from infra.referral_links import COOKIE_NAME, verify_clicks
from resolvers.context import Info
from resolvers.errors import payload_errors
from resolvers.organisations import address_of, onboarding_of
from schema import commissions as ct
from schema import organisations as org_types
from schema import partners as t
from schema.common import PresignedUpload
from schema.pagination import Connection


def _terms(info: Info):
    return service.programme_terms(info.context.services.settings.partner_programme_terms)


def _threshold(info: Info) -> DomainMoney:
    return DomainMoney.of(info.context.services.settings.payout_threshold)


def _programme_partner(info: Info, partner) -> t.ProgrammePartner:
    ctx = info.context
    return t.ProgrammePartner.of(partner, today=berlin_date(ctx.now), terms=_terms(info), link_base=ctx.services.settings.portal_url)


def _require_distributor(info: Info, what: str) -> None:
    if not can_decide_application(info.context.principal):
        raise Forbidden(f"Only the distributor may {what}.")


# --- queries ---------------------------------------------------------------------------------


async def partner_applications(
    info: Info, status: t.ApplicationStatus = ApplicationStatus.SUBMITTED, first: int | None = 20, after: str | None = None,
) -> Connection[t.PartnerApplication]:
    ctx = info.context
    page = await ctx.run(service.list_applications, ctx.uow(), ctx.principal, status.value, first=first, after=after)
    documents = ctx.services.documents

    def convert(application):
        # Only the distributor lists applications; it reviews the proof of trade through a short-lived URL.
        url = documents.download_url(application.proof_of_trade.document_key, filename=f"proof-of-trade-{application.id}")
        return t.PartnerApplication.of(application, proof_of_trade_download_url=url)

    return Connection.of(page, convert)


async def programme_partner(info: Info, partner_id: strawberry.ID) -> t.ProgrammePartner | None:
    ctx = info.context
    partner = await ctx.run(service.get_visible_programme_partner, ctx.uow(), ctx.principal, partner_id)
    return _programme_partner(info, partner) if partner else None


async def referrals(info: Info, partner_id: strawberry.ID, first: int | None = 20, after: str | None = None) -> ct.ReferralsOverview | None:
    ctx = info.context
    overview, next_cursor = await ctx.run(
        service.referrals_overview_page, ctx.uow(), ctx.principal, partner_id, terms=_terms(info), now=ctx.now, first=first, after=after
    )
    return ct.ReferralsOverview.of(overview, next_cursor) if overview else None


async def commissions(info: Info, partner_id: strawberry.ID, first: int | None = 20, after: str | None = None) -> Connection[ct.Commission]:
    ctx = info.context
    page = await ctx.run(ledger.list_commissions, ctx.uow(), ctx.principal, partner_id, first=first, after=after)
    return Connection.of(page, lambda entry: ct.Commission.of(entry, shows_invoice=shows_invoice_of(ctx.principal, entry)))


async def payouts(info: Info, partner_id: strawberry.ID, first: int | None = 20, after: str | None = None) -> Connection[ct.Payout]:
    ctx = info.context
    page = await ctx.run(ledger.list_payouts, ctx.uow(), ctx.principal, partner_id, first=first, after=after)
    return Connection.of(page, ct.Payout.of)


async def payout_runs(info: Info, first: int | None = 20, after: str | None = None) -> Connection[ct.PayoutRun]:
    ctx = info.context
    page = await ctx.run(ledger.list_payout_runs, ctx.uow(), ctx.services.documents, ctx.principal, first=first, after=after)
    return Connection.of(page, lambda pair: ct.PayoutRun.of(*pair))


# --- mutations -------------------------------------------------------------------------------


@payload_errors(t.PresignedUploadPayload)
async def partner_application_proof_upload(info: Info, input: t.PartnerApplicationProofUploadInput) -> t.PresignedUploadPayload:
    ctx = info.context
    _require_distributor(info, "enter partner applications")
    upload = await ctx.run(service.proof_of_trade_upload, ctx.services.documents, content_type=input.content_type, size_bytes=input.size_bytes)
    return t.PresignedUploadPayload(
        upload=PresignedUpload.of(upload)
    )


@payload_errors(t.PartnerApplicationPayload)
async def partner_application_submit(info: Info, input: t.PartnerApplicationSubmitInput) -> t.PartnerApplicationPayload:
    ctx = info.context
    _require_distributor(info, "enter partner applications")
    command = service.ApplicationCommand(
        company_name=input.company_name, address=address_of(input.address), contact_name=input.contact_name,
        contact_phone=input.contact_phone, contact_email=input.contact_email, proof_kind=input.proof_of_trade_kind,
        proof_document_key=input.proof_of_trade_key, proof_content_type=input.proof_of_trade_content_type,
        proof_size_bytes=input.proof_of_trade_size_bytes,
    )
    application = await ctx.run(service.submit_partner_application, ctx.uow(), ctx.services.documents, command, now=ctx.now)
    return t.PartnerApplicationPayload(application=t.PartnerApplication.of(application))


@payload_errors(t.PartnerApplicationPayload)
async def partner_application_approve(info: Info, id: strawberry.ID) -> t.PartnerApplicationPayload:
    ctx = info.context
    approval = await ctx.run(service.approve_application, ctx.uow(), ctx.principal, id, now=ctx.now)
    return t.PartnerApplicationPayload(
        application=t.PartnerApplication.of(approval.application), programme_partner=_programme_partner(info, approval.programme_partner)
    )


@payload_errors(t.PartnerApplicationPayload)
async def partner_application_reject(info: Info, id: strawberry.ID, reason: str) -> t.PartnerApplicationPayload:
    ctx = info.context
    rejected = await ctx.run(service.reject_application, ctx.uow(), ctx.principal, id, reason=reason, now=ctx.now)
    return t.PartnerApplicationPayload(application=t.PartnerApplication.of(rejected))


@payload_errors(t.ProgrammePartnerPayload)
async def partner_programme_enrol(info: Info, input: t.PartnerProgrammeEnrolInput) -> t.ProgrammePartnerPayload:
    ctx = info.context
    command = service.EnrolmentCommand(
        partner_id=input.partner_id, contact_name=input.contact_name, contact_phone=input.contact_phone,
        contact_email=input.contact_email, proof_kind=input.proof_of_trade_kind, proof_document_key=input.proof_of_trade_key,
        proof_content_type=input.proof_of_trade_content_type, proof_size_bytes=input.proof_of_trade_size_bytes,
    )
    partner = await ctx.run(service.enrol_partner, ctx.uow(), ctx.services.documents, ctx.principal, command, now=ctx.now)
    return t.ProgrammePartnerPayload(programme_partner=_programme_partner(info, partner))


@payload_errors(t.ProgrammePartnerPayload)
async def partner_tier_change(info: Info, input: t.PartnerTierChangeInput) -> t.ProgrammePartnerPayload:
    ctx = info.context
    rates = input.individual_rates
    individual = (
        TierRates.of(commission_percent=rates.commission_percent, cashback_percent=rates.cashback_percent,
                     reseller_discount_percent=rates.reseller_discount_percent, field_prefix="individualRates")
        if rates else None
    )
    partner = await ctx.run(
        service.change_tier, ctx.uow(), ctx.principal, input.partner_id, input.tier,
        effective_from=input.effective_from, individual_rates=individual, now=ctx.now,
    )
    return t.ProgrammePartnerPayload(programme_partner=_programme_partner(info, partner))


@payload_errors(t.ProgrammePartnerPayload)
async def partner_programme_active_set(info: Info, partner_id: strawberry.ID, active: bool) -> t.ProgrammePartnerPayload:
    ctx = info.context
    partner = await ctx.run(service.set_active, ctx.uow(), ctx.principal, partner_id, active=active)
    return t.ProgrammePartnerPayload(programme_partner=_programme_partner(info, partner))


@payload_errors(t.ProgrammePartnerPayload)
async def partner_bank_details_set(info: Info, input: t.PartnerBankDetailsSetInput) -> t.ProgrammePartnerPayload:
    ctx = info.context
    partner = await ctx.run(
        service.set_bank_details, ctx.uow(), ctx.principal, input.partner_id, iban=input.iban, account_holder=input.account_holder, bic=input.bic
    )
    return t.ProgrammePartnerPayload(programme_partner=_programme_partner(info, partner))


@payload_errors(ct.PayoutPayload)
async def payout_request(info: Info, partner_id: strawberry.ID) -> ct.PayoutPayload:
    ctx = info.context
    payout = await ctx.run(ledger.request_payout, ctx.uow(), ctx.principal, partner_id, threshold=_threshold(info), now=ctx.now)
    return ct.PayoutPayload(payout=ct.Payout.of(payout))


def _create_run(ctx, execution_date: date):
    from infra.sepa import render_payouts

    settings = ctx.services.settings
    debtor = ledger.Debtor(settings.payout_debtor_name, settings.payout_debtor_iban, settings.payout_debtor_bic or None)
    uow = ctx.uow()
    run = ledger.create_payout_run(
        uow, ctx.services.documents, ctx.principal, debtor=debtor, execution_date=execution_date, render=render_payouts, now=ctx.now,
    )
    payouts = [p for p in (uow.payouts.get(i) for i in run.payout_ids) if p]
    return run, ctx.services.documents.download_url(run.document_key, filename=run.filename), payouts


@payload_errors(ct.PayoutRunPayload)
async def payout_run_create(info: Info, execution_date: date) -> ct.PayoutRunPayload:
    ctx = info.context
    run, url, payouts = await ctx.run(_create_run, ctx, execution_date)
    return ct.PayoutRunPayload(run=ct.PayoutRun.of(run, url), payouts=[ct.Payout.of(p) for p in payouts])


@payload_errors(ct.CustomerSignUpPayload)
async def customer_sign_up(
    info: Info, input: org_types.CustomerCreateInput, referral_code: int | None = None, referral_cookie: str | None = None,
    idempotency_key: str | None = None,
) -> ct.CustomerSignUpPayload:
    """Create a customer and attribute it to the referring partner (cookie value, or the request's cookie, or a code)."""
    ctx = info.context
    command = NewCustomer(
        name=input.name, address=address_of(input.address), billing_email=input.billing_email, vat_id=input.vat_id,
        onboarding=onboarding_of(input.onboarding) or CustomerOnboarding(), partner_id=input.partner_id,
        billing_mode=input.billing_mode, access_level=input.access_level,
    )
    cookie = referral_cookie or (ctx.request.cookies.get(COOKIE_NAME) if ctx.request is not None else None)
    clicks = verify_clicks(ctx.services.settings.referral_secret, cookie)
    customer, attribution = await ctx.run(
        service.sign_up_customer, ctx.uow(), ctx.principal, command,
        cookie_clicks=clicks, referral_code=referral_code, now=ctx.now, idempotency_key=idempotency_key,
    )
    return ct.CustomerSignUpPayload(
        customer=org_types.organisation_of(customer), referred_by_partner_number=attribution.partner_number if attribution else None
    )
