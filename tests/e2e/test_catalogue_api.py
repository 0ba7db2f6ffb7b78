"""The distributor announces price changes through the API (found by fuzzing: the mutation always failed)."""

from __future__ import annotations

SCHEDULE = """mutation { priceChangeSchedule(input: {currency: "EUR", percent: "10", effectiveFrom: "2027-04-01"}) {
  products { id } errors { code } } }"""


def test_the_distributor_schedules_a_price_change_from_a_future_date(as_user):
    result = as_user("distributor")(SCHEDULE)["priceChangeSchedule"]
    assert result["errors"] == [] and result["products"]


def test_partners_may_not_change_prices(as_user):
    result = as_user("nordit_admin")(SCHEDULE)["priceChangeSchedule"]
    assert result["errors"] == [{"code": "FORBIDDEN"}]
