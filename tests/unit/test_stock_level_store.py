"""The stock-level store's push view: states, drift caps and pending SKUs in the same BatchGetItem."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3

from sandbox.local import create_table
from shared import topology
from shared.stores.stock_levels import StockLevelStore

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class CountingClient:
    """The DynamoDB client, counting its BatchGetItems."""

    def __init__(self, client: Any):
        self.client = client
        self.batches = 0

    def batch_get_item(self, **kwargs: Any) -> Any:
        self.batches += 1
        return self.client.batch_get_item(**kwargs)


def _store(aws: None) -> tuple[StockLevelStore, CountingClient]:
    spec = next(t for t in topology.TABLES if t.name == "stock-levels")
    create_table(boto3.client("dynamodb"), "levels", spec)
    counted = CountingClient(boto3.resource("dynamodb"))
    store = StockLevelStore(boto3.resource("dynamodb").Table("levels"), counted, "acme")
    return store, counted


def test_one_batch_read_answers_what_three_reads_did(aws: None) -> None:
    store, counted = _store(aws)
    rows = [
        {"sku": "A", "location": "3", "quantity": 5, "explanation": "x", "trigger": "t"},
        {"sku": "B", "location": "3", "quantity": 0, "explanation": "x", "trigger": "t"},
    ]
    store.record("scend", rows, now=NOW)
    store.replace_caps("scend", {"A": 2, "C": 1}, reason="drift", now=NOW)
    store.mark_pending("scend-refused", add={"B#3"}, remove=(), now=NOW)
    keys = [("A", "3"), ("B", "3"), ("Z", "3")]

    view = store.push_view("scend", keys, caps_of=["A", "B"], pending_of="scend-refused")

    assert counted.batches == 1
    assert view.states == store.states("scend", keys)
    assert set(view.states) == {("A", "3"), ("B", "3")}
    assert view.caps == store.caps("scend", ["A", "B"]) == {"A": 2}
    assert view.pending == store.pending_skus("scend-refused") == {"B#3"}


def test_without_caps_or_pending_asked_only_states_are_read(aws: None) -> None:
    store, counted = _store(aws)
    view = store.push_view("scend", [("A", "3")])
    assert (view.states, view.caps, view.pending) == ({}, {}, set())
    assert counted.batches == 1
