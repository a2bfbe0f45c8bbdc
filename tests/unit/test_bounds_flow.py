"""Bounds on what may travel: pure decisions over config `bounds:` (shared/flows/bounds.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.config import BoundsConfig, ClientConfig
from shared.connectors.cin7_core.settings import ID_PATTERN
from shared.flows.bounds import exact_figure, message_problem, order_bound_problems, source_id_problem, text_problem
from shared.models import Order, OrderLine, ReasonCode
from shared.models.messages import IntakeMessage, ProductMessage, SubmitMessage
from shared.models.product import Product
from shared.models.stock import StockSyncMessage
from shared.stores.archive import key_part

GUID = "91ee7b1d-bd35-4e43-b98a-db86be777624"
BOUNDS = BoundsConfig()


def an_order(*lines: OrderLine, **changes: object) -> Order:
    fields: dict[str, object] = {
        "source": "cin7_core",
        "source_id": GUID,
        "order_number": "SO-1",
        "status": "ORDERED",
        "authorised": True,
        "lines": lines or (OrderLine(sku="TEE-BLK-M", quantity=Decimal(2)),),
    }
    fields.update(changes)
    return Order.model_validate(fields)


def reasons(order: Order) -> list[str]:
    return [p.reason.value for p in order_bound_problems(order, BOUNDS, id_pattern=ID_PATTERN)]


def test_defaults_are_sane_and_configurable() -> None:
    assert BOUNDS.max_sku_length == 50 and BOUNDS.max_quantity_per_line == 100_000
    assert BoundsConfig(max_lines_per_order=10).max_lines_per_order == 10
    # The format of a platform's ids is its connector's, not a bound: the old key says where it went
    with pytest.raises(ValueError, match=r"ConnectorSpec\.id_pattern"):
        BoundsConfig.model_validate({"source_id_pattern": "^x$"})
    with pytest.raises(ValueError):
        BoundsConfig(max_quantity_per_line=10**20)  # above the ceiling that keeps Decimal sums exact


def test_a_good_order_is_within_bounds() -> None:
    assert reasons(an_order()) == []


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (OrderLine(sku="A", quantity=Decimal("1E+200")), "quantity_out_of_bounds"),
        (OrderLine(sku="A", quantity=Decimal(100_001)), "quantity_out_of_bounds"),
        (OrderLine(sku="A", quantity=Decimal(-1)), "quantity_out_of_bounds"),
        (OrderLine(sku="A", quantity=Decimal("1E-1000000")), "quantity_out_of_bounds"),
        (OrderLine(sku="A", quantity=Decimal(1), unit_price=Decimal("1E+40")), "price_out_of_bounds"),
        (OrderLine(sku="A", quantity=Decimal(1), unit_price=Decimal(1_000_001)), "price_out_of_bounds"),
        (OrderLine(sku="A", quantity=Decimal(1), discount_percent=Decimal(150)), "price_out_of_bounds"),
        (OrderLine(sku="", quantity=Decimal(1)), "sku_blank"),
        (OrderLine(sku="  ", quantity=Decimal(1)), "sku_blank"),
        (OrderLine(sku="S" * 51, quantity=Decimal(1)), "sku_invalid"),
        (OrderLine(sku="A\ud800", quantity=Decimal(1)), "sku_invalid"),
        (OrderLine(sku="A", name="x\x00", quantity=Decimal(1)), "payload_invalid"),
    ],
)
def test_each_broken_bound_has_its_own_reason(line: OrderLine, reason: str) -> None:
    assert reasons(an_order(line)) == [reason]


def test_too_many_lines_is_one_reason_not_one_per_line() -> None:
    order = an_order(*[OrderLine(sku=f"S{i}", quantity=Decimal("1E+200")) for i in range(501)])
    assert reasons(order) == ["too_many_lines"]


def test_a_source_id_must_be_a_guid_of_bounded_length() -> None:
    assert source_id_problem(GUID, BOUNDS, pattern=ID_PATTERN) is None
    assert source_id_problem(GUID.upper(), BOUNDS, pattern=ID_PATTERN) is None
    for bad in ("abc", "A" * 300_000, f"{GUID}\x00", f" {GUID}", "\ud800", "../../x"):
        problem = source_id_problem(bad, BOUNDS, pattern=ID_PATTERN)
        assert problem is not None and problem.reason == ReasonCode.ID_MALFORMED
        problem.detail.encode("utf-8")  # storable: never carries the bad character itself
        assert len(problem.detail) < 200


def test_text_problem_names_surrogates_nul_and_length() -> None:
    assert text_problem("fine", 10) is None
    assert "surrogate" in (text_problem("\udfff", 10) or "")
    assert "NUL" in (text_problem("a\x00", 10) or "")
    assert "longer" in (text_problem("x" * 11, 10) or "")


def test_a_message_for_another_client_or_source_is_not_served(example_config: ClientConfig) -> None:
    client = example_config.client
    served = IntakeMessage(client=client, source="cin7_core", source_id=GUID, trigger="webhook")
    assert message_problem(served, example_config) is None
    for changes in ({"client": "another-brand"}, {"source": "🙂"}, {"source": "shopify"}):
        problem = message_problem(served.model_copy(update=changes), example_config)
        assert problem is not None and problem.reason == ReasonCode.MESSAGE_NOT_SERVED
    product = Product(source="other", source_id="p1", sku="A", name="A", updated_at=datetime.now(UTC))
    problem = message_problem(ProductMessage(client=client, trigger="poll", product=product), example_config)
    assert problem is not None and problem.reason == ReasonCode.MESSAGE_NOT_SERVED


def test_a_message_s_source_id_is_held_to_its_connector_s_format(example_config: ClientConfig) -> None:
    # Cin7 Core declares GUID ids (its spec's id_pattern); a message naming a sale by anything else is refused
    assert example_config.id_pattern("cin7_core") == ID_PATTERN
    message = IntakeMessage(client=example_config.client, source="cin7_core", source_id="SO-1", trigger="webhook")
    problem = message_problem(message, example_config)
    assert problem is not None and problem.reason == ReasonCode.ID_MALFORMED
    # A platform that declares no format has its ids judged by the neutral bounds alone
    assert example_config.id_pattern("scend") is None


def test_a_submit_message_is_judged_by_its_order_bounds(example_config: ClientConfig) -> None:
    order = an_order(OrderLine(sku="A", quantity=Decimal("1E+200")))
    message = SubmitMessage(
        client=example_config.client,
        source="cin7_core",
        source_id=GUID,
        client_reference="EX-1",
        courier_service="RM48",
        order=order,
    )
    problem = message_problem(message, example_config)
    assert problem is not None and problem.reason == ReasonCode.QUANTITY_OUT_OF_BOUNDS
    elsewhere = message.model_copy(update={"order": an_order(source_id=str(GUID[::-1]))})
    assert message_problem(elsewhere, example_config) is not None


def test_a_stock_message_names_bounded_non_blank_skus(example_config: ClientConfig) -> None:
    def stock(skus: list[str]) -> StockSyncMessage:
        return StockSyncMessage(client=example_config.client, trigger="event", skus=skus, read_at=datetime.now(UTC))

    assert message_problem(stock(["A"]), example_config) is None
    assert message_problem(stock([" "]), example_config).reason == ReasonCode.SKU_BLANK  # type: ignore[union-attr]
    assert message_problem(stock([f"S{i}" for i in range(1001)]), example_config).reason == ReasonCode.TOO_MANY_LINES  # type: ignore[union-attr]


@given(st.text(st.characters(exclude_categories=()), max_size=3000))
@settings(max_examples=200, deadline=None)
def test_any_id_becomes_a_short_safe_archive_key_part(value: str) -> None:
    part = key_part(value)
    assert 1 <= len(part.encode("utf-8")) <= 80
    assert part == key_part(value)  # stable: one id's payloads always list together
    assert "/" not in part and part not in (".", "..")


@given(st.decimals(allow_nan=False, allow_infinity=False), st.decimals(allow_nan=False, allow_infinity=False))
@settings(max_examples=200, deadline=None)
def test_bound_checks_never_raise_whatever_the_figures(quantity: Decimal, price: Decimal) -> None:
    problems = order_bound_problems(an_order(OrderLine(sku="A", quantity=quantity, unit_price=price)), BOUNDS)
    # Whatever the figures, the answer is a list of reasons, and a quantity no store keeps exactly is one of them
    assert all(isinstance(problem.reason, ReasonCode) and problem.detail for problem in problems)
    if not exact_figure(quantity):
        assert ReasonCode.QUANTITY_OUT_OF_BOUNDS in {problem.reason for problem in problems}
