"""What may travel: bounds on ids, text, quantities, prices and sizes, judged where input enters.

Pure decisions over config `bounds:`. A value outside them is quarantined with its own reason before any
write (warehouse, ledger, SKU map, archive key), because the stores and platforms fail on it later in ways
that look transient: a 300,000-character id breaks the DynamoDB key limit, a quantity of 10^200 overflows
DynamoDB's number context after the warehouse order exists, a lone surrogate cannot be encoded at all.
Only comparisons are used on numbers here, never arithmetic, so an absurd figure cannot raise.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from shared.connectors.roles import Role
from shared.flows.problems import Problem
from shared.models import ReasonCode
from shared.models.base import Model

if TYPE_CHECKING:
    from shared.config import BoundsConfig, ClientConfig
    from shared.models.order import Order

# Fields that name a record (ids and references): short, printable, no whitespace at the ends.
_ID_FIELDS = frozenset(
    {
        "client",
        "source",
        "source_id",
        "client_reference",
        "warehouse",
        "parcel_id",
        "warehouse_order_id",
        "order_number",
        "sku",
        "task_id",
        "item_id",
    }
)


@lru_cache(maxsize=1)
def _number_ceiling() -> Decimal:
    """Any number a message carries is at most this big (a quantity, a price, a weight, a stock figure).
    Read from the config module when first judged: importing this module does not load the config models."""
    from shared.config import MAX_PRICE_CEILING, MAX_QUANTITY_CEILING

    return Decimal(MAX_PRICE_CEILING) * MAX_QUANTITY_CEILING


@lru_cache(maxsize=8)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _shown(value: str, limit: int = 60) -> str:
    """A value for a detail line: cut short and made encodable (the detail is stored and logged)."""
    cut = value[:limit] + (f"... ({len(value)} characters)" if len(value) > limit else "")
    return repr(cut.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace"))


def text_problem(value: str, limit: int) -> str | None:
    """Why a piece of text cannot be stored or sent: not encodable, a NUL, or longer than `limit`."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return f"text {_shown(value)} holds a lone surrogate (not encodable as UTF-8)"
    if "\x00" in value:
        return f"text {_shown(value)} holds a NUL character"
    if len(value) > limit:
        return f"text {_shown(value)} is longer than {limit} characters"
    return None


def id_problem(value: str, bounds: BoundsConfig, what: str, *, pattern: str | None = None) -> Problem | None:
    """An id (or reference) is printable, bounded and, with `pattern`, of its platform's format."""
    bad = text_problem(value, bounds.max_id_length)
    if bad is None and any(ord(c) < 0x20 or c == "\x7f" for c in value):
        bad = f"text {_shown(value)} holds control characters"
    if bad is None and value != value.strip():
        bad = f"text {_shown(value)} has leading or trailing whitespace"
    if bad is None and pattern is not None and value and not _compiled(pattern).match(value):
        bad = f"{_shown(value)} is not of the expected format"
    return Problem(reason=ReasonCode.ID_MALFORMED, detail=f"{what}: {bad}") if bad else None


def source_id_problem(
    value: str, bounds: BoundsConfig, what: str = "source id", *, pattern: str | None = None
) -> Problem | None:
    """A source record's id: bounded like any id, and of the format its connector declares (`pattern`)."""
    return id_problem(value, bounds, what, pattern=pattern)


def exact_figure(value: Decimal) -> bool:
    """A figure every store keeps exactly: finite, under 10^24, at most 30 digits, none below 10^-12.

    DynamoDB holds 38 digits with exponents -130..125 and traps any rounding, clamping or overflow, so a
    figure outside these would fail its write after the warehouse already had the order.
    """
    if not value.is_finite():
        return False
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    return (
        len(value.as_tuple().digits) <= 30
        and exponent >= -12
        and (not value or value.adjusted() < 24)
        and exponent < 24
    )


def sane_magnitude(value: Decimal) -> bool:
    """Finite and under 10^24: no sum or product an order needs can overflow (prices may carry any number
    of decimal places; they are never written to DynamoDB)."""
    return value.is_finite() and (not value or value.adjusted() < 24)


def _number_problem(
    value: Decimal, limit: int, what: str, reason: ReasonCode, *, allow_negative: bool = False
) -> Problem | None:
    exact = exact_figure if reason == ReasonCode.QUANTITY_OUT_OF_BOUNDS else sane_magnitude
    if not exact(value):
        return Problem(reason=reason, detail=f"{what} {_decimal_text(value)} is not a figure we can keep exactly")
    if value > limit or (not allow_negative and value < 0) or (allow_negative and value < -limit):
        return Problem(reason=reason, detail=f"{what} {_decimal_text(value)} is outside 0..{limit}")
    return None


def _decimal_text(value: Decimal) -> str:
    """A number for a detail line without expanding 10^200 into 200 digits."""
    if not value.is_finite():
        return str(value)
    return f"{value:.6E}" if not -12 <= value.adjusted() <= 15 or len(value.as_tuple().digits) > 30 else str(value)


def order_bound_problems(order: Order, bounds: BoundsConfig, *, id_pattern: str | None = None) -> list[Problem]:
    """Every bound a source order breaks; checked before the ledger, SKU map or warehouse sees it.
    `id_pattern` is the source connector's id format (ClientConfig.id_pattern)."""
    problems: list[Problem] = []
    bad_id = source_id_problem(order.source_id, bounds, "order source id", pattern=id_pattern)
    if bad_id:
        problems.append(bad_id)
    if len(order.lines) > bounds.max_lines_per_order:
        problems.append(
            Problem(
                reason=ReasonCode.TOO_MANY_LINES,
                detail=f"order has {len(order.lines)} lines; at most {bounds.max_lines_per_order}",
            )
        )
        return problems  # judging each of 100,000 lines would only bury the reason
    for index, line in enumerate(order.lines, start=1):
        where = f"line {index}"
        if not line.sku.strip():
            problems.append(Problem(reason=ReasonCode.SKU_BLANK, detail=f"{where}: SKU is blank"))
        else:
            bad = text_problem(line.sku, bounds.max_sku_length)
            if bad:
                problems.append(Problem(reason=ReasonCode.SKU_INVALID, detail=f"{where}: SKU {bad}"))
            where = f"{where} (SKU {_shown(line.sku)})"
        quantity = _number_problem(
            line.quantity, bounds.max_quantity_per_line, f"{where}: quantity", ReasonCode.QUANTITY_OUT_OF_BOUNDS
        )
        if quantity:
            problems.append(quantity)
        for label, amount, limit in (
            ("unit price", line.unit_price, bounds.max_unit_price),
            ("tax", line.tax, _line_money_limit(bounds)),
            ("total", line.total, _line_money_limit(bounds)),
        ):
            bad_amount = _number_problem(
                amount, limit, f"{where}: {label}", ReasonCode.PRICE_OUT_OF_BOUNDS, allow_negative=label != "unit price"
            )
            if bad_amount:
                problems.append(bad_amount)
                break
        if not line.discount_percent.is_finite() or not Decimal(0) <= line.discount_percent <= 100:
            problems.append(
                Problem(
                    reason=ReasonCode.PRICE_OUT_OF_BOUNDS,
                    detail=f"{where}: discount {line.discount_percent}% is outside 0..100",
                )
            )
    for label, amount in (("shipping", order.shipping_total), ("tax total", order.tax_total), ("total", order.total)):
        bad_amount = _number_problem(
            amount, _order_money_limit(bounds), f"order {label}", ReasonCode.PRICE_OUT_OF_BOUNDS, allow_negative=True
        )
        if bad_amount:
            problems.append(bad_amount)
    for name, value in _texts(order.model_dump(exclude={"lines"})):
        bad = text_problem(value, bounds.max_text_length)
        if bad:
            problems.append(Problem(reason=ReasonCode.PAYLOAD_INVALID, detail=f"order field '{name}': {bad}"))
    for index, line in enumerate(order.lines, start=1):
        for name, value in (("name", line.name),):
            bad = text_problem(value, bounds.max_text_length)
            if bad:
                problems.append(Problem(reason=ReasonCode.PAYLOAD_INVALID, detail=f"line {index} {name}: {bad}"))
    return problems


def _line_money_limit(bounds: BoundsConfig) -> int:
    """A line's total may be its price times its quantity."""
    return bounds.max_unit_price * bounds.max_quantity_per_line


def _order_money_limit(bounds: BoundsConfig) -> int:
    return _line_money_limit(bounds) * bounds.max_lines_per_order


def _texts(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a dumped model, with its dotted path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            key_text = str(key)
            yield from _texts(key_text, f"{path}.{key_text}(key)" if path else f"{key_text}(key)")
            yield from _texts(item, f"{path}.{key_text}" if path else key_text)
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            yield from _texts(item, f"{path}[{index}]")


def _numbers(value: Any, path: str = "") -> Iterator[tuple[str, Decimal | int | float]]:
    if isinstance(value, bool):
        return
    if isinstance(value, Decimal | int | float):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _numbers(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _numbers(item, f"{path}[{index}]")


def message_problem(message: Model, config: ClientConfig) -> Problem | None:
    """Why a queue message may not be processed by this stack, or None when it may.

    Checked before the step runs (and before idempotency hashes it): a message for another client or
    another source platform is never this stack's to act on (`source: "x"` would open a second ledger
    entry and idempotency key for the same sale); ids, text, numbers and sizes must be within bounds.
    """
    bounds = config.bounds
    data = message.model_dump()
    for name, value in _texts(data):
        limit = bounds.max_id_length if name.rsplit(".", 1)[-1].split("[")[0] in _ID_FIELDS else bounds.max_text_length
        if name.rsplit(".", 1)[-1] == "sku" and not value.strip():
            return Problem(reason=ReasonCode.SKU_BLANK, detail=f"field '{name}': SKU is blank")
        bad = text_problem(value, limit)
        if bad:
            reason = ReasonCode.ID_MALFORMED if limit == bounds.max_id_length else ReasonCode.PAYLOAD_INVALID
            return Problem(reason=reason, detail=f"field '{name}': {bad}")
    client = data.get("client")
    if client != config.client:
        return Problem(
            reason=ReasonCode.MESSAGE_NOT_SERVED,
            detail=f"message is for client {_shown(str(client))}; this stack serves {config.client!r}",
        )
    source = data.get("source", (data.get("product") or {}).get("source"))
    sources = _served(config, (Role.ORDER_SOURCE, Role.CATALOGUE_SOURCE, Role.CANCEL_SOURCE, Role.STOCK_MASTER))
    if source is not None and source not in sources:
        return Problem(
            reason=ReasonCode.MESSAGE_NOT_SERVED,
            detail=f"message is from source {_shown(str(source))}; this stack serves "
            f"{', '.join(repr(s) for s in sorted(sources))}",
        )
    warehouse = (data.get("shipment") or {}).get("warehouse")
    warehouses = _served(config, (Role.SHIPMENT_SOURCE,))
    if warehouse is not None and warehouse not in warehouses:
        return Problem(
            reason=ReasonCode.MESSAGE_NOT_SERVED,
            detail=f"shipment is from warehouse {_shown(str(warehouse))}; this stack serves "
            f"{', '.join(repr(w) for w in sorted(warehouses))}",
        )
    source_id = data.get("source_id")
    id_pattern = config.id_pattern(source) if isinstance(source, str) else None
    if isinstance(source_id, str) and "source" in data:
        bad_id = source_id_problem(source_id, bounds, pattern=id_pattern)
        if bad_id:
            return bad_id
    order = _carried_order(message)
    if order is not None:
        if order.source_id != source_id or order.source != source:
            return Problem(
                reason=ReasonCode.PAYLOAD_INVALID,
                detail="the order inside the message is not the order the message names",
            )
        problems = order_bound_problems(order, bounds, id_pattern=id_pattern)
        if problems:
            return problems[0]
    for name, number in _numbers(data):
        exact = Decimal(str(number)) if isinstance(number, float) else Decimal(number)
        judge = exact_figure if _number_reason(name) == ReasonCode.QUANTITY_OUT_OF_BOUNDS else sane_magnitude
        if not judge(exact) or abs(exact) > _number_ceiling():
            return Problem(
                reason=_number_reason(name), detail=f"field '{name}': {_decimal_text(exact)} is out of bounds"
            )
    skus = data.get("skus")
    if isinstance(skus, list):
        if len(skus) > bounds.max_skus_per_message:
            return Problem(
                reason=ReasonCode.TOO_MANY_LINES,
                detail=f"message names {len(skus)} SKUs; at most {bounds.max_skus_per_message}",
            )
        if any(not sku.strip() for sku in skus):
            return Problem(reason=ReasonCode.SKU_BLANK, detail="message names a blank SKU")
    return None


def _carried_order(message: Model) -> Order | None:
    """The order a message carries (a submit message's), if any. The order models load only for a message
    that has an order: one that carries none (stock, products, cancellations) never needs them."""
    order = getattr(message, "order", None)
    if order is None:
        return None
    from shared.models.order import Order

    return order if isinstance(order, Order) else None


def _number_reason(name: str) -> ReasonCode:
    leaf = name.rsplit(".", 1)[-1]
    if "quantity" in leaf or "available" in leaf or name.startswith("caps"):
        return ReasonCode.QUANTITY_OUT_OF_BOUNDS
    if any(word in leaf for word in ("price", "total", "tax", "discount")):
        return ReasonCode.PRICE_OUT_OF_BOUNDS
    return ReasonCode.PAYLOAD_INVALID


def _served(config: ClientConfig, roles: tuple[Role, ...]) -> set[str]:
    """The platform types that play these roles in this client's pipelines (what a message may name)."""
    return {config.settings_for(role).type for role in roles if config.plays(role)}
