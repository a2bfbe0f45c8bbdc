"""Price tiers into single-currency price lists: the currency's minor unit, changes only, nothing cleared."""

from __future__ import annotations

from decimal import Decimal

from shared.flows.prices import plan_prices
from shared.models.product import PriceList

LISTS = [
    PriceList(tier="Tier 1", currency="GBP", list_id="gbp-list"),
    PriceList(tier="Tier 2", currency="JPY", list_id="jpy-list"),
    PriceList(tier="Tier 3", currency="KWD", list_id="kwd-list"),
    PriceList(tier="Tier 1", currency="GBP", list_id="gbp-outlet"),
]


def test_each_list_gets_its_tier_at_its_currencys_minor_unit() -> None:
    plan = plan_prices(
        {"Tier 1": Decimal("12.4950"), "Tier 2": Decimal("1999.5"), "Tier 3": Decimal("3.14159")}, LISTS, {}
    )
    assert [(w.price_list.list_id, w.amount) for w in plan.writes] == [
        ("gbp-list", Decimal("12.50")),
        ("jpy-list", Decimal("2000")),
        ("kwd-list", Decimal("3.142")),
        ("gbp-outlet", Decimal("12.50")),
    ]
    assert plan.unchanged == 0 and plan.problems == ()


def test_only_changed_prices_are_written_and_a_missing_tier_is_left_alone() -> None:
    last = {"gbp-list": Decimal("12.50"), "gbp-outlet": Decimal("12.50"), "jpy-list": Decimal("2000")}
    plan = plan_prices({"Tier 1": Decimal("12.50"), "Tier 2": Decimal("2100")}, LISTS, last)
    assert [(w.price_list.list_id, w.amount) for w in plan.writes] == [("jpy-list", Decimal("2100"))]
    assert plan.unchanged == 2  # the two GBP books; KWD has no Tier 3 price: not written, not cleared


def test_a_negative_price_never_travels() -> None:
    plan = plan_prices({"Tier 1": Decimal("-1")}, LISTS[:1], {})
    assert plan.writes == () and plan.problems == ("tier 'Tier 1' price -1 is negative",)
