"""Price tiers to single-currency price lists, changes only: pure, no I/O.

The master keeps a price per tier (Cin7 Core's price tiers); a storefront keeps one price list per currency
(SFCC price books are single-currency). The client configures which tier feeds which list in which
currency, one list per (tier, currency). Only a price that differs from the one last written goes out, so
an unchanged catalogue costs no call; a tier the product has no price in is left alone at the target
(clearing a price is not a sync).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from shared.models.currency import quantize
from shared.models.product import PriceList


@dataclass(frozen=True)
class PriceWrite:
    price_list: PriceList
    amount: Decimal  # at the list currency's minor unit


@dataclass(frozen=True)
class PricePlan:
    writes: tuple[PriceWrite, ...]
    unchanged: int
    problems: tuple[str, ...]  # prices that may not travel (negative), named for the exception inbox


def plan_prices(
    prices: Mapping[str, Decimal], lists: Sequence[PriceList], last_written: Mapping[str, Decimal]
) -> PricePlan:
    """What to write to each configured list: the tier's price at the currency's minor unit (half away from
    zero: Cin7 keeps four decimals), only where it differs from `last_written` (list id -> amount)."""
    writes: list[PriceWrite] = []
    problems: list[str] = []
    unchanged = 0
    for price_list in lists:
        price = prices.get(price_list.tier)
        if price is None:
            continue
        if price < 0:
            problems.append(f"tier {price_list.tier!r} price {price} is negative")
            continue
        amount = quantize(price, price_list.currency)
        if last_written.get(price_list.list_id) == amount:
            unchanged += 1
            continue
        writes.append(PriceWrite(price_list, amount))
    return PricePlan(tuple(writes), unchanged, tuple(problems))
