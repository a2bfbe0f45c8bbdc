"""Posting an order so the target's totals equal the source's to the minor unit (shared/flows/totals.py)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.flows.totals import (
    ChargeKind,
    DiscountMode,
    PostingRules,
    TotalsReason,
    plan_posting,
    prorate,
)
from shared.models import Order, OrderLine
from shared.models.currency import from_minor, minor_unit_exponent, quantize, quantum, to_minor

RULES = PostingRules(rounding_product="Rounding")
CURRENCIES = ("JPY", "KRW", "GBP", "EUR", "USD", "KWD", "BHD", "JOD")
RATES = (Decimal("0"), Decimal("0.05"), Decimal("0.075"), Decimal("0.1"), Decimal("0.2"), Decimal("0.21"))


def order(**fields: object) -> Order:
    base: dict[str, object] = {
        "source": "sfcc",
        "source_id": "00000410",
        "order_number": "00000410",
        "status": "new",
        "authorised": True,
    }
    return Order.model_validate({**base, **fields})


def half_up(value: Decimal, currency: str) -> Decimal:
    """The target's arithmetic, written out independently of the module under test."""
    return value.quantize(Decimal(1).scaleb(-minor_unit_exponent(currency)), rounding=ROUND_HALF_UP)


def tax_of(amount_minor: int, rate: Decimal, gross: bool) -> int:
    """Tax in minor units as a shop computes it per line: on the net price, or inside a gross one."""
    value = Decimal(amount_minor) * (rate / (1 + rate) if gross else rate)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@st.composite
def sfcc_orders(draw: st.DrawFn) -> tuple[Order, PostingRules, int]:
    """An order shaped the way SFCC reports one, and the most the source's own rounding is off by."""
    currency = draw(st.sampled_from(CURRENCIES))
    gross = draw(st.booleans())
    scale = 10 ** minor_unit_exponent(currency)
    raw_lines = []
    for _ in range(draw(st.integers(1, 6))):
        quantity = draw(st.integers(1, 12))
        unit_minor = draw(st.integers(0, 500 * scale))
        item_discount = draw(st.integers(0, unit_minor * quantity // 2))
        raw_lines.append((quantity, unit_minor * quantity - item_discount, draw(st.sampled_from(RATES))))
    subtotal = sum(after_item for _, after_item, _ in raw_lines)
    order_discount = draw(st.integers(0, subtotal // 3))
    prorated_on_lines = draw(st.booleans())
    # SFCC's own split of the order discount: proportional, each share rounded on its own, so the shares
    # may miss the order-level figure by a unit or two (that is the shop's rounding, not ours).
    shares = [
        int((Decimal(order_discount) * after_item / subtotal).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        if subtotal
        else 0
        for _, after_item, _ in raw_lines
    ]
    lines = []
    for number, ((quantity, after_item, rate), share) in enumerate(zip(raw_lines, shares, strict=True), start=1):
        after_order = after_item - share
        lines.append(
            OrderLine(
                sku=f"SKU-{number}",
                quantity=Decimal(quantity),
                tax_rate=rate,
                total=from_minor(after_order if prorated_on_lines else after_item, currency),
                order_discount=from_minor(share if prorated_on_lines else 0, currency),
                tax=from_minor(tax_of(after_order, rate, gross), currency),
            )
        )
    shipping = draw(st.integers(0, 40 * scale))
    shipping_tax = tax_of(shipping, draw(st.sampled_from(RATES)), gross)
    noise_total, noise_tax = draw(st.integers(-2, 2)), draw(st.integers(-2, 2))
    line_totals = sum(to_minor(line.total, currency) for line in lines) - (0 if prorated_on_lines else order_discount)
    tax_total = sum(to_minor(line.tax, currency) for line in lines) + shipping_tax + noise_tax
    order_total = line_totals + shipping + (0 if gross else tax_total) + noise_total
    source = order(
        currency=currency,
        tax_inclusive=gross,
        lines=tuple(lines),
        shipping_total=from_minor(shipping, currency),
        shipping_tax=from_minor(shipping_tax, currency),
        tax_total=from_minor(tax_total, currency),
        total=from_minor(order_total, currency),
        order_discount=from_minor(order_discount, currency),
    )
    exponent = minor_unit_exponent(currency)
    rules = PostingRules(
        rounding_product="Rounding",
        discount_mode=draw(st.sampled_from(list(DiscountMode))),
        price_decimals=draw(st.integers(exponent, 4)),
        percent_decimals=draw(st.integers(2, 4)),
    )
    # What the target's unit-price and percent precision can cost per line, in minor units, plus the noise.
    slack = 4 + abs(noise_total) + abs(noise_tax)
    for quantity, after_item, _ in raw_lines:
        slack += int(quantity * Decimal(10) ** (exponent - rules.price_decimals)) + 1
        if rules.discount_mode is DiscountMode.PERCENT:
            slack += int(after_item * Decimal(10) ** -rules.percent_decimals / 100) + 1
    return source, rules, slack


@settings(max_examples=200, deadline=None)
@given(sfcc_orders())
def test_the_planned_posting_sums_to_the_source_totals_to_the_minor_unit(case: tuple[Order, PostingRules, int]) -> None:
    source, rules, slack = case
    # When the posting is planned
    decision = plan_posting(source, rules)
    # Then there is a plan, and the target's sums equal the source's totals exactly, at the minor unit
    assert decision.plan is not None, decision.detail
    plan = decision.plan
    assert plan.totals() == (source.total, source.tax_total, source.shipping_total)
    currency = source.currency
    for value in (*plan.totals(), *(c.price for c in plan.charges), *(c.tax for c in plan.charges)):
        to_minor(value, currency)  # raises when an amount is finer than the currency's minor unit
    # Each line is what the target computes from what it is sent, with the source's own tax
    assert [(line.sku, line.quantity, line.tax) for line in plan.lines] == [
        (line.sku, line.quantity, line.tax) for line in source.lines
    ]
    for line in plan.lines:
        gross_amount = line.quantity * line.unit_price
        expected = {
            DiscountMode.IN_PRICE: gross_amount,
            DiscountMode.AMOUNT: gross_amount - line.discount,
            DiscountMode.PERCENT: gross_amount - gross_amount * line.discount_percent / 100,
        }[rules.discount_mode]
        assert line.total == half_up(expected, currency)
        assert line.unit_price == line.unit_price.quantize(Decimal(1).scaleb(-rules.price_decimals))
    # Shipping travels as it came, and the rounding line stays within what rounding can explain
    shipping = [c for c in plan.charges if c.kind is ChargeKind.SHIPPING]
    assert sum((c.tax for c in shipping), Decimal(0)) == source.shipping_tax
    if plan.rounding is not None:
        assert plan.rounding.description == "Rounding"
        assert abs(to_minor(plan.rounding.price, currency)) <= slack
        assert abs(to_minor(plan.rounding.tax, currency)) <= slack


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(CURRENCIES), st.integers(0, 10**7), st.lists(st.integers(0, 10**6), min_size=1, max_size=8))
def test_prorating_an_order_discount_sums_exactly_and_stays_within_a_unit_of_proportion(
    currency: str, amount_minor: int, weights_minor: list[int]
) -> None:
    amount = from_minor(amount_minor, currency)
    weights = [from_minor(weight, currency) for weight in weights_minor]
    shares = prorate(amount, weights, currency)
    assert sum(shares, Decimal(0)) == amount
    total_weight = sum(weights, Decimal(0))
    for share, weight in zip(shares, weights, strict=True):
        exact = amount * weight / total_weight if total_weight else amount / len(weights)
        assert abs(share - exact) < quantum(currency)


def test_the_card_example_posts_without_a_rounding_line() -> None:
    # Given the card's gross GBP order: 2 x 45.00 after discounts, tax 15.00, shipping 4.99 with 0.83 tax
    source = order(
        currency="GBP",
        tax_inclusive=True,
        total=Decimal("94.99"),
        tax_total=Decimal("15.83"),
        shipping_total=Decimal("4.99"),
        shipping_tax=Decimal("0.83"),
        lines=(
            OrderLine(
                sku="701643632930",
                quantity=Decimal(2),
                total=Decimal("90.00"),
                tax=Decimal("15.00"),
                tax_rate=Decimal("0.2"),
            ),
        ),
    )
    plan = plan_posting(source, RULES).plan
    assert plan is not None
    # Then one line at 45.0000 a unit, a shipping charge, and nothing to round
    assert plan.lines[0].unit_price == Decimal("45.0000") and plan.lines[0].total == Decimal("90.00")
    assert [(c.kind, c.price, c.tax) for c in plan.charges] == [(ChargeKind.SHIPPING, Decimal("4.99"), Decimal("0.83"))]
    assert plan.totals() == (Decimal("94.99"), Decimal("15.83"), Decimal("4.99"))


def test_the_spec_example_net_order_adds_tax_on_top() -> None:
    # Given the Orders API example: net USD, 99.00 + tax 4.95, shipping 5.99 + tax 0.30, total 110.24
    source = order(
        currency="USD",
        tax_inclusive=False,
        total=Decimal("110.24"),
        tax_total=Decimal("5.25"),
        shipping_total=Decimal("5.99"),
        shipping_tax=Decimal("0.3"),
        lines=(
            OrderLine(
                sku="701643632930",
                quantity=Decimal(1),
                total=Decimal("99"),
                tax=Decimal("4.95"),
                tax_rate=Decimal("0.05"),
            ),
        ),
    )
    plan = plan_posting(source, RULES).plan
    assert plan is not None and plan.rounding is None
    assert plan.totals() == (Decimal("110.24"), Decimal("5.25"), Decimal("5.99"))


def test_a_line_the_unit_price_cannot_reproduce_gets_a_rounding_line_of_one_minor_unit() -> None:
    # Given 3 units for 10.00 at a target that keeps 2 decimals on a unit price (3 x 3.33 = 9.99)
    source = order(
        currency="GBP",
        tax_inclusive=True,
        total=Decimal("10.00"),
        tax_total=Decimal("1.67"),
        lines=(OrderLine(sku="A", quantity=Decimal(3), total=Decimal("10.00"), tax=Decimal("1.67")),),
    )
    plan = plan_posting(source, PostingRules(rounding_product="Rounding", price_decimals=2)).plan
    # Then the lines post 9.99 and the rounding service product carries the missing 0.01, without tax
    assert plan is not None and plan.lines[0].total == Decimal("9.99")
    assert plan.rounding is not None and (plan.rounding.price, plan.rounding.tax) == (Decimal("0.01"), Decimal("0"))
    # And at four decimals (Cin7 Core) the same line needs no rounding: 3 x 3.3333 rounds to 10.00
    four = plan_posting(source, RULES).plan
    assert four is not None and four.rounding is None


@pytest.mark.parametrize(("currency", "total"), [("JPY", "1000"), ("KWD", "10.000"), ("GBP", "10.00")])
def test_zero_and_three_decimal_currencies_keep_their_minor_unit(currency: str, total: str) -> None:
    source = order(
        currency=currency,
        tax_inclusive=True,
        total=Decimal(total),
        tax_total=Decimal(0),
        lines=(OrderLine(sku="A", quantity=Decimal(7), total=Decimal(total), tax=Decimal(0)),),
    )
    plan = plan_posting(source, PostingRules(rounding_product="Rounding", price_decimals=minor_unit_exponent(currency)))
    assert plan.plan is not None
    line_total = plan.plan.lines[0].total
    assert line_total == quantize(line_total, currency) and line_total.as_tuple().exponent == -minor_unit_exponent(
        currency
    )
    assert plan.plan.totals()[0] == Decimal(total)


def test_an_order_level_discount_is_prorated_over_the_lines_in_percent_mode() -> None:
    # Given lines of 30.00 and 10.00 before a 4.00 order discount the source did not split
    source = order(
        currency="GBP",
        tax_inclusive=True,
        total=Decimal("36.00"),
        tax_total=Decimal("6.00"),
        order_discount=Decimal("4.00"),
        lines=(
            OrderLine(sku="A", quantity=Decimal(1), total=Decimal("30.00"), tax=Decimal("4.50")),
            OrderLine(sku="B", quantity=Decimal(2), total=Decimal("10.00"), tax=Decimal("1.50")),
        ),
    )
    plan = plan_posting(source, PostingRules(rounding_product="R", discount_mode=DiscountMode.PERCENT)).plan
    # Then each line keeps its price and takes 10 % off, the way SFCC would have split it (3.00 and 1.00)
    assert plan is not None
    assert [(line.unit_price, line.discount_percent, line.total) for line in plan.lines] == [
        (Decimal("30.0000"), Decimal("10.00"), Decimal("27.00")),
        (Decimal("5.0000"), Decimal("10.00"), Decimal("9.00")),
    ]
    assert plan.rounding is None


@pytest.mark.parametrize(
    ("fields", "rules", "reason"),
    [
        ({"currency": "POUNDS"}, RULES, TotalsReason.CURRENCY_INVALID),
        ({"total": Decimal("10.001")}, RULES, TotalsReason.AMOUNT_FINER_THAN_MINOR_UNIT),
        ({"currency": "JPY", "total": Decimal("10.5")}, RULES, TotalsReason.AMOUNT_FINER_THAN_MINOR_UNIT),
        (
            {"lines": (OrderLine(sku="A", quantity=Decimal(0), total=Decimal("10.00")),)},
            RULES,
            TotalsReason.QUANTITY_INVALID,
        ),
        (
            {"total": Decimal("12.00")},
            PostingRules(rounding_product="R", max_rounding_minor_units=5),
            TotalsReason.ROUNDING_TOO_LARGE,
        ),
    ],
)
def test_what_cannot_post_to_the_minor_unit_is_refused_with_a_reason(
    fields: dict[str, object], rules: PostingRules, reason: TotalsReason
) -> None:
    base = {
        "currency": "GBP",
        "tax_inclusive": True,
        "total": Decimal("10.00"),
        "lines": (OrderLine(sku="A", quantity=Decimal(1), total=Decimal("10.00")),),
    }
    decision = plan_posting(order(**{**base, **fields}), rules)
    assert decision.plan is None and decision.reason is reason and decision.detail
