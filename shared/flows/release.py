"""Is this order ready for the warehouse, and is it fit to travel? One pure decision.

Order of checks matters: readiness first (a not-yet-authorised sale is not an error, it is early),
then location (the shop's sales are not the 3PL's), then data quality, collecting every problem at once
so the owner fixes them in one pass rather than replay by replay.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING

from shared.flows.postcodes import postcode_valid
from shared.flows.problems import Problem
from shared.flows.skus import sku_format_problem
from shared.models import Order, ReasonCode
from shared.models.base import Model

if TYPE_CHECKING:
    from shared.config import OrdersPipeline


class Outcome(StrEnum):
    RELEASE = "release"  # send to the warehouse
    HOLD = "hold"  # ready later by itself (e.g. backordered): wait for the next event
    NOT_READY = "not_ready"  # not authorised yet: ignore, a later event will bring it back
    SKIP = "skip"  # never the warehouse's (excluded location)
    QUARANTINE = "quarantine"  # bad data: park with reasons for its owner


class ReleaseDecision(Model):
    outcome: Outcome
    detail: str = ""
    problems: tuple[Problem, ...] = ()
    courier_service: str | None = None
    pending_skus: tuple[str, ...] = ()

    @property
    def primary_reason(self) -> ReasonCode | None:
        return self.problems[0].reason if self.problems else None


class SkuStatus(StrEnum):
    LIVE = "live"
    MISSING = "missing"


def validate_order(order: Order, rules: OrdersPipeline, skus: Mapping[str, SkuStatus]) -> list[Problem]:
    """Every reason this order cannot travel; empty when it can. `skus` covers every line's SKU."""
    problems: list[Problem] = []
    if not order.lines:
        problems.append(Problem(reason=ReasonCode.NO_LINES, detail="order has no lines"))
    for line in order.lines:
        bad_format = sku_format_problem(line.sku)
        if line.custom and not line.sku:
            # A charge or service line (gift wrap, a fee) no warehouse can pick: its owner maps or removes it.
            problems.append(
                Problem(
                    reason=ReasonCode.SKU_INVALID,
                    detail=f"custom line {line.name or line.line_id!r} has no warehouse SKU mapped",
                )
            )
        elif bad_format:
            problems.append(Problem(reason=ReasonCode.SKU_INVALID, detail=bad_format))
        elif skus.get(line.sku) != SkuStatus.LIVE:
            problems.append(
                Problem(reason=ReasonCode.SKU_UNKNOWN, detail=f"SKU {line.sku!r} is not in the warehouse catalogue")
            )
        if line.quantity <= 0 or line.quantity != line.quantity.to_integral_value():
            problems.append(
                Problem(
                    reason=ReasonCode.QUANTITY_INVALID,
                    detail=f"SKU {line.sku!r}: quantity {line.quantity} is not a positive whole number",
                )
            )
    address = order.shipping_address
    missing = [name for name in ("name", "line1", "city", "country") if not getattr(address, name).strip()]
    if missing:
        problems.append(
            Problem(reason=ReasonCode.ADDRESS_INCOMPLETE, detail=f"shipping address lacks {', '.join(missing)}")
        )
    if address.country and address.country not in rules.supported_countries:
        problems.append(
            Problem(
                reason=ReasonCode.COUNTRY_UNSUPPORTED,
                detail=f"country {address.country!r} is not shipped by this warehouse "
                f"(supported: {', '.join(rules.supported_countries)})",
            )
        )
    elif address.country and not postcode_valid(address.country, address.postcode):
        problems.append(
            Problem(
                reason=ReasonCode.POSTCODE_INVALID,
                detail=f"shipping address postcode is not a valid {address.country} postcode: correct it "
                "on the order at its source",
            )  # the value stays out: it is personal data
        )
    if courier_service_for(order, rules) is None:
        problems.append(
            Problem(
                reason=ReasonCode.DELIVERY_SERVICE_UNMAPPED,
                detail=f"delivery service {order.delivery_service!r} has no warehouse mapping",
            )
        )
    return problems


def courier_service_for(order: Order, rules: OrdersPipeline) -> str | None:
    return rules.delivery_services.get(order.delivery_service.strip(), rules.default_delivery_service)


def readiness(order: Order, rules: OrdersPipeline) -> ReleaseDecision | None:
    """Hold, not-ready or skip before any data check (and before any catalogue call); None when ready."""
    source = rules
    if order.status in source.hold_statuses:
        return ReleaseDecision(outcome=Outcome.HOLD, detail=f"status {order.status}: waiting for stock")
    if not order.authorised or order.status not in source.release_statuses:
        return ReleaseDecision(
            outcome=Outcome.NOT_READY,
            detail=f"status {order.status}, authorised={order.authorised}: not released",
        )
    if order.location in source.excluded_locations:
        return ReleaseDecision(outcome=Outcome.SKIP, detail=f"location {order.location!r} is excluded")
    return None


def decide_release(order: Order, rules: OrdersPipeline, skus: Mapping[str, SkuStatus]) -> ReleaseDecision:
    """Release, hold, skip, ignore or quarantine one order."""
    early = readiness(order, rules)
    if early is not None:
        return early
    problems = validate_order(order, rules, skus)
    if problems and all(p.reason == ReasonCode.SKU_UNKNOWN for p in problems):
        # Nothing is wrong with the order itself: its SKUs are not at the warehouse yet. Hold it; the
        # product sync releases it when they are live (an alert fires if that takes too long).
        pending = tuple(sorted({line.sku for line in order.lines if skus.get(line.sku) != SkuStatus.LIVE}))
        return ReleaseDecision(
            outcome=Outcome.HOLD,
            pending_skus=pending,
            detail=f"waiting for SKUs {', '.join(pending)}",
            problems=(
                Problem(reason=ReasonCode.SKU_PENDING, detail=f"SKUs not yet at the warehouse: {', '.join(pending)}"),
            ),
        )
    if problems:
        return ReleaseDecision(
            outcome=Outcome.QUARANTINE, problems=tuple(problems), detail="; ".join(p.detail for p in problems)
        )
    return ReleaseDecision(outcome=Outcome.RELEASE, courier_service=courier_service_for(order, rules))


def client_reference(rules: OrdersPipeline, order: Order) -> str:
    """The target-enforced duplicate guard: stable per (client, source order), readable by people."""
    return f"{rules.reference_prefix}-{order.order_number}"
