"""How an order posts to a target whose totals must equal the source's to the minor unit. Pure.

A storefront (SFCC) hands over authoritative totals: `orderTotal`, `taxTotal`, `shippingTotal`. The
target (an ERP such as Cin7 Core) recomputes each line from quantity x unit price (less a discount) and
sums. Recomputing the shop's tax or discounts would drift from what the customer paid, so the plan
passes the source's figures through: each line's total after order discounts (prorated as the source
prorated them) and its tax, shipping as a charge with its own tax, and one rounding line (a configured
service product) for the minor units the target's own line arithmetic cannot reproduce.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import StrEnum

from pydantic import Field

from shared.models import Order
from shared.models.base import Model
from shared.models.currency import minor_unit_exponent, quantize, to_minor


class DiscountMode(StrEnum):
    """How the target takes a line's share of order discounts."""

    IN_PRICE = "in_price"  # folded into the unit price: the target sees the net price only
    AMOUNT = "amount"  # a discount amount on the line
    PERCENT = "percent"  # a percentage of quantity x unit price (Cin7 Core's line `Discount`, 0-100)


class TotalsReason(StrEnum):
    """Why an order cannot be posted with totals equal to its source's. Stable values for operators."""

    CURRENCY_INVALID = "totals_currency_invalid"
    AMOUNT_FINER_THAN_MINOR_UNIT = "totals_amount_finer_than_minor_unit"
    QUANTITY_INVALID = "totals_quantity_invalid"
    ROUNDING_TOO_LARGE = "totals_rounding_too_large"


class PostingRules(Model):
    """What the target accepts and how it rounds; one set per target account."""

    rounding_product: str = Field(min_length=1, description="service product that carries the rounding line")
    shipping_product: str = Field("Shipping", min_length=1, description="service product for the shipping charge")
    price_decimals: int = Field(4, ge=0, le=8, description="decimals the target keeps on a unit price (Cin7: 4)")
    percent_decimals: int = Field(2, ge=0, le=6, description="decimals the target keeps on a discount percent")
    discount_mode: DiscountMode = DiscountMode.IN_PRICE
    max_rounding_minor_units: int | None = Field(
        None, ge=0, description="a larger rounding line means the source totals do not add up: refuse, not post"
    )


class PlannedLine(Model):
    sku: str
    name: str = ""
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal = Decimal("0")  # amount (DiscountMode.AMOUNT)
    discount_percent: Decimal = Decimal("0")  # DiscountMode.PERCENT
    total: Decimal = Field(description="what the target computes for the line, at the minor unit")
    tax: Decimal
    tax_rate: Decimal | None = None


class ChargeKind(StrEnum):
    SHIPPING = "shipping"
    ROUNDING = "rounding"


class PlannedCharge(Model):
    """An additional charge of quantity 1 (a service product)."""

    kind: ChargeKind
    description: str
    price: Decimal
    tax: Decimal


class PostingPlan(Model):
    currency: str
    tax_inclusive: bool
    lines: tuple[PlannedLine, ...]
    charges: tuple[PlannedCharge, ...] = ()

    @property
    def rounding(self) -> PlannedCharge | None:
        return next((charge for charge in self.charges if charge.kind is ChargeKind.ROUNDING), None)

    def totals(self) -> tuple[Decimal, Decimal, Decimal]:
        """(order total, tax total, shipping total) as the target will sum them."""
        amounts = sum((line.total for line in self.lines), Decimal(0)) + sum(
            (charge.price for charge in self.charges), Decimal(0)
        )
        tax = sum((line.tax for line in self.lines), Decimal(0)) + sum(
            (charge.tax for charge in self.charges), Decimal(0)
        )
        shipping = sum((c.price for c in self.charges if c.kind is ChargeKind.SHIPPING), Decimal(0))
        order_total = amounts if self.tax_inclusive else amounts + tax
        return order_total, tax, shipping


class TotalsDecision(Model):
    plan: PostingPlan | None = None
    reason: TotalsReason | None = None
    detail: str = ""


def prorate(amount: Decimal, weights: Sequence[Decimal], currency: str) -> tuple[Decimal, ...]:
    """Split `amount` over `weights` in proportion, at the minor unit, summing exactly to `amount`.

    Largest remainder: each share is floored to the minor unit and the units left over go to the largest
    remainders (ties to the earlier line). SFCC prorates order discounts over lines by their price after
    item discounts; this reproduces it for a source that reports the order-level discount only.
    """
    if not weights:
        return ()
    exponent = minor_unit_exponent(currency)
    units = to_minor(amount, currency)
    total_weight = sum(weights, Decimal(0))
    if total_weight == 0:
        raw = [Decimal(units) / len(weights)] * len(weights)
    else:
        raw = [Decimal(units) * weight / total_weight for weight in weights]
    floors = [int(share.to_integral_value(rounding=ROUND_FLOOR)) for share in raw]
    left = units - sum(floors)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - floors[i]), i))
    for index in order[:left]:
        floors[index] += 1
    return tuple(Decimal(share).scaleb(-exponent) for share in floors)


def target_line_total(line: PlannedLine, mode: DiscountMode, currency: str) -> Decimal:
    """The line total the target computes from what we send it, at the minor unit."""
    gross = line.quantity * line.unit_price
    match mode:
        case DiscountMode.IN_PRICE:
            value = gross
        case DiscountMode.AMOUNT:
            value = gross - line.discount
        case DiscountMode.PERCENT:
            value = gross * (1 - line.discount_percent / 100)
    return quantize(value, currency)


def _finer_than_minor(order: Order) -> str | None:
    figures = [
        ("total", order.total),
        ("tax_total", order.tax_total),
        ("shipping_total", order.shipping_total),
        ("shipping_tax", order.shipping_tax),
        ("order_discount", order.order_discount),
    ]
    for number, line in enumerate(order.lines, start=1):
        figures += [
            (f"line {number} total", line.total),
            (f"line {number} tax", line.tax),
            (f"line {number} order_discount", line.order_discount),
        ]
    for name, value in figures:
        try:
            to_minor(value, order.currency)
        except ValueError:
            return f"{name} {value} has more decimals than {order.currency} allows"
    return None


def _shares(order: Order) -> tuple[tuple[Decimal, Decimal], ...]:
    """(line total after order discounts, that line's share of them) per line.

    Lines that carry shares (SFCC: priceAfterItemDiscount - priceAfterOrderDiscount) are the source's own
    proration and are used as they are. When the order reports a discount at order level only, its lines
    are before it, and it is prorated here the way SFCC does.
    """
    if order.order_discount and not any(line.order_discount for line in order.lines):
        shares = prorate(order.order_discount, [line.total for line in order.lines], order.currency)
        return tuple((line.total - share, share) for line, share in zip(order.lines, shares, strict=True))
    return tuple((line.total, line.order_discount) for line in order.lines)


def _planned_line(order: Order, index: int, net_total: Decimal, share: Decimal, rules: PostingRules) -> PlannedLine:
    line = order.lines[index]
    price_quantum = Decimal(1).scaleb(-rules.price_decimals)
    if rules.discount_mode is DiscountMode.IN_PRICE:
        unit_price = (net_total / line.quantity).quantize(price_quantum, rounding=ROUND_HALF_UP)
        discount, percent = Decimal(0), Decimal(0)
    else:
        unit_price = ((net_total + share) / line.quantity).quantize(price_quantum, rounding=ROUND_HALF_UP)
        discount = share if rules.discount_mode is DiscountMode.AMOUNT else Decimal(0)
        gross = line.quantity * unit_price
        percent = Decimal(0)
        if rules.discount_mode is DiscountMode.PERCENT and gross:
            percent_quantum = Decimal(1).scaleb(-rules.percent_decimals)
            percent = (share / gross * 100).quantize(percent_quantum, rounding=ROUND_HALF_UP)
            percent = min(max(percent, Decimal(0)), Decimal(100))
    draft = PlannedLine(
        sku=line.sku,
        name=line.name,
        quantity=line.quantity,
        unit_price=unit_price,
        discount=discount,
        discount_percent=percent,
        total=Decimal(0),
        tax=line.tax,
        tax_rate=line.tax_rate,
    )
    return draft.model_copy(update={"total": target_line_total(draft, rules.discount_mode, order.currency)})


def plan_posting(order: Order, rules: PostingRules) -> TotalsDecision:
    """Lines, shipping charge and (when needed) a rounding line whose sums equal the order's totals exactly."""
    try:
        minor_unit_exponent(order.currency)
    except ValueError as error:
        return TotalsDecision(reason=TotalsReason.CURRENCY_INVALID, detail=str(error))
    finer = _finer_than_minor(order)
    if finer:
        return TotalsDecision(reason=TotalsReason.AMOUNT_FINER_THAN_MINOR_UNIT, detail=finer)
    bad = [line.sku for line in order.lines if line.quantity <= 0]
    if bad:
        return TotalsDecision(
            reason=TotalsReason.QUANTITY_INVALID,
            detail=f"lines with a quantity of zero or less cannot carry a unit price: {bad}",
        )
    lines = tuple(_planned_line(order, index, net, share, rules) for index, (net, share) in enumerate(_shares(order)))
    charges: list[PlannedCharge] = []
    if order.shipping_total or order.shipping_tax:
        charges.append(
            PlannedCharge(
                kind=ChargeKind.SHIPPING,
                description=rules.shipping_product,
                price=order.shipping_total,
                tax=order.shipping_tax,
            )
        )
    draft = PostingPlan(currency=order.currency, tax_inclusive=order.tax_inclusive, lines=lines, charges=tuple(charges))
    posted_total, posted_tax, _ = draft.totals()
    rounding_tax = order.tax_total - posted_tax
    # Net prices: the order total counts tax on top, so the rounding line's own tax is part of what it closes.
    rounding_price = order.total - posted_total - (Decimal(0) if order.tax_inclusive else rounding_tax)
    if rounding_price or rounding_tax:
        limit = rules.max_rounding_minor_units
        largest = max(abs(to_minor(rounding_price, order.currency)), abs(to_minor(rounding_tax, order.currency)))
        if limit is not None and largest > limit:
            return TotalsDecision(
                reason=TotalsReason.ROUNDING_TOO_LARGE,
                detail=(
                    f"lines and shipping miss the source totals by {rounding_price} {order.currency} "
                    f"(tax {rounding_tax}); more than {limit} minor units means the totals do not add up"
                ),
            )
        charges.append(
            PlannedCharge(
                kind=ChargeKind.ROUNDING, description=rules.rounding_product, price=rounding_price, tax=rounding_tax
            )
        )
    return TotalsDecision(plan=draft.model_copy(update={"charges": tuple(charges)}))
