"""The sandbox summary counts each order once, and lists no SKU, parcel or webhook as an order."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.scenario import _order_outcomes


@dataclass
class _Stage:
    value: str


@dataclass
class _Entry:
    stage: _Stage


@dataclass
class _Reason:
    value: str


@dataclass
class _Exception:
    flow: str
    business_key: str
    reason: _Reason
    status: str = "open"


def test_outcomes_add_up_and_other_exceptions_are_not_orders() -> None:
    ledger = {
        "c#1": _Entry(_Stage("shipped")),
        "c#2": _Entry(_Stage("submitted")),
        "c#3": _Entry(_Stage("held")),
        "c#4": _Entry(_Stage("skipped")),
        "c#5": _Entry(_Stage("quarantined")),
        "c#6": _Entry(_Stage("quarantined")),
        "c#7": _Entry(_Stage("cancelled")),
    }
    exceptions = [
        _Exception("order_intake", "c#5", _Reason("postcode_invalid")),
        _Exception("order_intake", "c#3", _Reason("sku_pending")),  # a held order flagged: not quarantined
        _Exception("product_sync", "sku#NEW-1", _Reason("product_invalid")),
        _Exception("shipment_writeback", "scend#parcel#9", _Reason("writeback_rejected")),
        _Exception("order_intake", "archive/abc", _Reason("payload_invalid")),  # a refused webhook
        _Exception("cancellation", "c#2", _Reason("cancel_too_late")),
        _Exception("order_intake", "c#6", _Reason("sku_invalid"), status="resolved"),
    ]
    orders, quarantined, other = _order_outcomes(ledger, exceptions)
    assert orders == {
        "received": 7,
        "released": 2,
        "held": 1,
        "skipped": 1,
        "quarantined": 2,
        "cancelled": 1,
        "undecided": 0,
    }
    assert orders["received"] == sum(v for k, v in orders.items() if k != "received")
    # Only quarantined orders, one reason each (c#6's exception was resolved: its reason is unrecorded)
    assert quarantined == {"postcode_invalid": 1, "unrecorded": 1}
    assert other == {
        "cancels": {"cancel_too_late": 1},
        "orders_not_quarantined": {"sku_pending": 1},
        "skus": {"product_invalid": 1},
        "webhooks": {"payload_invalid": 1},
        "write_backs": {"writeback_rejected": 1},
    }
